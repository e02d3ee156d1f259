//! Every read tool through the real kube client against the simulated cluster, and the CLI
//! contract of `aiops tools`, `aiops analyze` and `aiops snapshot` (the built binary).

use std::process::Command;

use aiops_cli::source::Source;
use aiops_core::snapshot::Snapshot;
use serde_json::{Value, json};

use crate::support::corpus;

async fn source(name: &str) -> Source {
    Source::from_snapshot(Snapshot::load(&corpus(name)).expect("loads"), name.into()).await.expect("sim")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_tool_answers_from_the_simulated_cluster() {
    let s = source("demo-oom-crashloop").await;
    let r = s.reader();
    const POD: &str = "payment-service-7d9f8b6c5d-x2k4p";
    let pod = POD;
    struct Case {
        tool: &'static str,
        args: Value,
        must: &'static [&'static str],
    }
    let cases = [
        Case {
            tool: "get_pods",
            args: json!({"namespace": "production"}),
            must: &[POD, "CrashLoopBackOff", "OOMKilled", "512Mi"],
        },
        Case {
            tool: "get_pod_logs",
            args: json!({"namespace": "production", "pod": pod, "previous": true}),
            must: &["OutOfMemoryError"],
        },
        Case {
            tool: "describe_pod",
            args: json!({"namespace": "production", "pod": pod}),
            must: &["memory=512Mi", "OOMKilled", "BackOff"],
        },
        Case {
            tool: "get_events",
            args: json!({"namespace": "production", "object_name": pod}),
            must: &["BackOff", "Warning"],
        },
        Case { tool: "get_deployments", args: json!({"namespace": "production"}), must: &["payment-service", "0/1"] },
        Case { tool: "get_nodes", args: json!({}), must: &["Ready", "eu-west-1"] },
        Case {
            tool: "get_services",
            args: json!({"namespace": "production", "name": "payment-service"}),
            must: &["no ready endpoints"],
        },
        Case {
            tool: "analyze_pod_issues",
            args: json!({"namespace": "production", "pod": pod}),
            must: &["OOMKilled", "1Gi"],
        },
    ];
    for c in cases {
        let out = aiops_core::tools::run(r, c.tool, &c.args).await.unwrap_or_else(|e| panic!("{}: {e}", c.tool));
        for m in c.must {
            assert!(out.text.contains(m), "{}: the result lacks {m:?}:\n{}", c.tool, out.text);
        }
        assert!(out.text.len() <= aiops_core::tools::MAX_TEXT_BYTES, "{} is over its bound", c.tool);
    }
}

/// The pod tools take a workload or partial name, with or without a namespace, and say which
/// pod they resolved it to; get_pod_logs picks the failing container and its crashed instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_tools_resolve_workload_and_partial_names() {
    const POD: &str = "payment-service-7d9f8b6c5d-x2k4p";
    let s = source("demo-oom-crashloop").await;
    let r = s.reader();
    let run = |tool: &'static str, args: Value| async move { aiops_core::tools::run(r, tool, &args).await };
    let resolved = format!("resolved to pod production/{POD}");

    let d = run("describe_pod", json!({"pod": "payment-service"})).await.expect("describe by workload");
    assert_eq!(d.data["name"], POD);
    assert!(d.text.contains(&resolved) && d.text.contains("memory=512Mi"), "{}", d.text);

    let exact = run("describe_pod", json!({"namespace": "production", "pod": POD})).await.expect("exact");
    assert!(exact.data.get("resolved").is_none() && !exact.text.contains("resolved"), "{}", exact.text);

    // Partial, no namespace, no container, no `previous`: the crashed instance of the only container.
    let l = run("get_pod_logs", json!({"pod": "payment"})).await.expect("logs by partial name");
    assert_eq!((l.data["pod"].as_str(), l.data["previous"].as_bool()), (Some(POD), Some(true)), "{}", l.text);
    assert!(l.text.contains("OutOfMemoryError"), "{}", l.text);
    let current = run("get_pod_logs", json!({"pod": "payment-service", "previous": false})).await;
    assert_eq!(current.ok().map(|c| c.data["previous"].clone()), Some(json!(false)));

    let a = run("analyze_pod_issues", json!({"pod": "payment-service"})).await.expect("analyze by workload");
    assert_eq!(a.data["scope"], format!("pod production/{POD}"));
    assert!(a.text.contains("OOMKilled"), "{}", a.text);

    // A workload's name brings its pods' events; an exact pod name only its own.
    let e =
        run("get_events", json!({"namespace": "production", "object_name": "payment-service"})).await.expect("events");
    assert!(e.text.contains(&format!("Pod/{POD}")), "{}", e.text);
    let none = run("get_events", json!({"namespace": "production", "object_name": "service"})).await.expect("events");
    assert!(!none.text.contains(POD), "the middle of a name is not a workload's name: {}", none.text);

    let missing = run("describe_pod", json!({"pod": "no-such-thing"})).await.expect_err("nothing matches");
    assert!(missing.to_string().contains("pod no-such-thing in any namespace"), "{missing}");

    // The same pod name in two namespaces needs the namespace.
    let mut snap = Snapshot::load(&corpus("demo-oom-crashloop")).expect("loads");
    let mut twin =
        snap.objects.iter().find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == POD).cloned().expect("the pod");
    twin["metadata"]["namespace"] = json!("staging");
    snap.objects.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "staging"}}));
    snap.objects.push(twin);
    let two = Source::from_snapshot(snap, "twins".into()).await.expect("sim");
    let err = aiops_core::tools::run(two.reader(), "describe_pod", &json!({"pod": POD})).await.expect_err("ambiguous");
    assert!(err.to_string().contains("exists in namespaces production, staging"), "{err}");
    let ok = aiops_core::tools::run(two.reader(), "describe_pod", &json!({"namespace": "staging", "pod": POD}))
        .await
        .expect("with its namespace");
    assert_eq!(ok.data["namespace"], "staging");

    // A pod stuck in Init: the failing init container is the one read, from its crashed instance.
    let init = source("init-container-failing").await;
    let l = aiops_core::tools::run(init.reader(), "get_pod_logs", &json!({"pod": "invoice-service"}))
        .await
        .expect("init logs");
    assert_eq!(
        (l.data["container"].as_str(), l.data["previous"].as_bool()),
        (Some("db-migrate"), Some(true)),
        "{}",
        l.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_writes_a_snapshot_that_loads_again() {
    let s = source("demo-oom-crashloop").await;
    let (snap, report) = aiops_core::capture::capture(s.reader(), Some("production")).await.expect("capture");
    let dir = tempfile::tempdir().expect("tempdir");
    snap.write(dir.path()).expect("write");
    let back = Snapshot::load(dir.path()).expect("reload");
    assert_eq!(back.objects.len(), snap.objects.len());
    assert!(report.logs >= 2, "{report:?}");
    assert!(
        back.log("production", "payment-service-7d9f8b6c5d-x2k4p", "app", true)
            .is_some_and(|l| l.contains("OutOfMemoryError"))
    );
    assert!(back.of_kind(aiops_core::Kind::Pod).all(|p| p["metadata"]["namespace"] == "production"));
}

fn aiops(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aiops")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn cli_contract_exit_codes_and_json() {
    let snap = corpus("demo-oom-crashloop");
    let snap = snap.to_str().expect("path");
    let (code, out, _) =
        aiops(&["tools", "call", "get_pods", "--snapshot", snap, "--args", r#"{"namespace":"production"}"#]);
    assert_eq!(code, 0);
    assert!(out.contains("payment-service-7d9f8b6c5d-x2k4p") && out.contains("OOMKilled"), "{out}");

    let (code, out, _) = aiops(&["analyze", "--snapshot", snap, "--namespace", "production", "--output", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("json");
    let f = &v["findings"][0];
    for key in ["kind", "namespace", "name", "severity", "reason", "message", "evidence", "actions"] {
        assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
    }
    assert_eq!(f["reason"], "OOMKilled");

    let (code, _, err) = aiops(&["tools", "call", "get_pods", "--snapshot", "/no/such/folder"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/no/such/folder"), "{err}");

    let bad = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        bad.path().join("cluster.yaml"),
        "kind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: x\n",
    )
    .expect("write");
    let (code, _, err) = aiops(&["analyze", "--snapshot", bad.path().to_str().expect("path")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cluster.yaml") && err.contains("item 0") && err.contains("Pod x"), "{err}");

    let (code, _, err) =
        aiops(&["tools", "call", "get_pods", "--snapshot", snap, "--args", r#"{"namespace":"Not_Valid"}"#]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("RFC 1123"), "{err}");

    let (code, _, err) = aiops(&["tools", "call", "delete_everything", "--snapshot", snap]);
    assert_eq!(code, 2, "{err}");

    let (code, out, _) = aiops(&["tools", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("scale_deployment") && out.contains("write"), "{out}");
}
