//! The JSON event fixtures of every function (what `cargo lambda invoke --data-file` sends):
//! each decodes into its function's event type, and the tool fixtures run through their real
//! handlers against the simulated cluster.

use std::path::Path;
use std::sync::Arc;

use aiops_core::workflow::approval::ApprovalEvent;
use aiops_core::workflow::write::WriteEvent;
use aiops_core::workflow::{ReasonEvent, ToolEvent, parse_event};
use serde_json::Value;

fn fixtures(function: &str) -> Vec<(String, Value)> {
    let dir = Path::new(&crate::support::manifest_dir()).join("../functions").join(function).join("fixtures");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (p.display().to_string(), serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "{function} has no fixtures");
    out
}

#[test]
fn every_fixture_decodes_into_its_event() {
    for (name, v) in fixtures("reason") {
        parse_event::<ReasonEvent>(v).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for f in ["k8s-read", "diagnose", "aws-read"] {
        for (name, v) in fixtures(f) {
            parse_event::<ToolEvent>(v).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    for (name, v) in fixtures("approval") {
        parse_event::<ApprovalEvent>(v).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, v) in fixtures("k8s-write") {
        parse_event::<WriteEvent>(v).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let bad = parse_event::<ToolEvent>(serde_json::json!({"investigation_id": "x"})).expect_err("no call");
    assert_eq!(bad.error_type, "Aiops.InvalidInput");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_fixtures_run_through_their_handlers() {
    let snap = aiops_core::snapshot::Snapshot::load(&crate::support::corpus("demo-oom-crashloop")).expect("snapshot");
    let source = aiops_cli::source::Source::from_snapshot(snap, "demo".into()).await.expect("sim");
    let store = Arc::new(aiops_local::SqliteStore::in_memory().expect("store"));
    let read = aiops_fn_k8s_read::Deps {
        reader: source.reader_arc(),
        state: store.clone(),
        audit: store.clone(),
        max_result_bytes: 8192,
    };
    for (name, v) in fixtures("k8s-read") {
        let out = aiops_fn_k8s_read::handle(&read, v).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out["ok"], true, "{name}: {out}");
    }
    let diag = aiops_fn_diagnose::Deps {
        reader: source.reader_arc(),
        state: store.clone(),
        audit: store.clone(),
        usage: None,
        max_result_bytes: 8192,
    };
    for (name, v) in fixtures("diagnose") {
        let out = aiops_fn_diagnose::handle(&diag, v).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out["ok"], true, "{name}: {out}");
        let stored = aiops_core::ports::StateStore::results(store.as_ref(), "inv-20251130T100000-0a1b2c3d")
            .await
            .expect("results");
        assert!(stored["t2-0"]["text"].as_str().is_some_and(|t| t.contains("OOMKilled")), "{stored:?}");
    }
}
