//! Health sweeps in local mode: `aiops sweep` over two snapshots of one cluster (new, ongoing
//! with since, resolved; text and JSON), its bad inputs, and the investigation rules — one open
//! investigation per root cause, the cooldown, and two concurrent sweeps — with investigations
//! started on the local engine and stored in SQLite.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use aiops_cli::source::Source;
use aiops_core::agent::InvestigationStatus;
use aiops_core::agent::offline::OfflineReasoner;
use aiops_core::fixtures::{self, pod};
use aiops_core::ports::{StateStore, SweepStore};
use aiops_core::snapshot::Snapshot;
use aiops_core::sweep::{self, Investigator, OutcomeStatus, SweepConfig, SweepPorts, SweepRequest, SweepRun};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::support::harness_on;

/// A cluster at two moments. Before: payment's pod OOM-crashlooping, worker unable to pull its
/// image, a crashlooping pod in kube-system (denied by default). After: payment still crashing
/// (more restarts), worker fixed, a batch pod in staging that cannot be scheduled. `healthy`:
/// everything running.
fn cluster(moment: &str) -> Vec<Value> {
    let mut objects = vec![
        fixtures::namespace("prod"),
        fixtures::namespace("staging"),
        fixtures::namespace("kube-system"),
        fixtures::node("node-1", "4", "16Gi"),
        pod("web").in_ns("staging").build(),
        pod("coredns-5d78c9869d-abcde").in_ns("kube-system").crashlooping(4).exit_code(1).build(),
    ];
    let payment = pod("payment-7d9f8b6c5d-x2k4p").in_ns("prod").memory_limit("512Mi");
    let worker = pod("worker").in_ns("prod");
    match moment {
        "before" => {
            objects.push(payment.crashlooping(5).oom_killed().build());
            objects.push(
                worker
                    .waiting("ImagePullBackOff", "Back-off pulling image \"registry.example.com/worker:2.0\"")
                    .build(),
            );
        }
        "after" => {
            objects.push(payment.crashlooping(9).oom_killed().build());
            objects.push(worker.build());
            objects.push(
                pod("batch").in_ns("staging").unschedulable("0/1 nodes are available: 1 Insufficient memory.").build(),
            );
        }
        _ => {
            objects.push(payment.build());
            objects.push(worker.build());
        }
    }
    objects
}

fn snapshot(moment: &str) -> Snapshot {
    Snapshot::from_objects(cluster(moment), fixtures::NOW.parse().ok())
}

async fn source(moment: &str) -> Source {
    Source::from_snapshot(snapshot(moment), format!("the cluster {moment}")).await.expect("sim")
}

fn aiops(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aiops")).args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn sweep_json(data: &Path, snap: &Path) -> Value {
    let (code, out, err) = aiops(&[
        "--data-dir",
        data.to_str().expect("path"),
        "sweep",
        "--snapshot",
        snap.to_str().expect("path"),
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `(name, reason)` of a section's findings.
fn section(v: &Value, name: &str) -> Vec<(String, String)> {
    v[name]
        .as_array()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .iter()
        .map(|f| (f["name"].as_str().unwrap_or_default().into(), f["reason"].as_str().unwrap_or_default().into()))
        .collect()
}

#[test]
fn two_sweeps_over_two_snapshots_through_the_cli() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let (data, before, after) = (dirs.path().join("data"), dirs.path().join("before"), dirs.path().join("after"));
    snapshot("before").write(&before).expect("write");
    snapshot("after").write(&after).expect("write");

    let first = sweep_json(&data, &before);
    assert_eq!(first["previous"], Value::Null);
    let mut new = section(&first, "new");
    new.sort();
    assert_eq!(
        new,
        [
            ("payment-7d9f8b6c5d-x2k4p".to_string(), "OOMKilled".to_string()),
            ("worker".into(), "ImagePullBackOff".into())
        ],
        "{first}"
    );
    assert!(section(&first, "ongoing").is_empty() && section(&first, "resolved").is_empty());
    assert_eq!(first["scope"]["excluded"], json!(["kube-system"]));
    for key in ["id", "kind", "namespace", "name", "severity", "reason", "message", "evidence", "actions", "since"] {
        assert!(first["new"][0].get(key).is_some(), "a finding lacks {key}: {}", first["new"][0]);
    }
    assert_eq!(first["investigations"], json!([]), "investigations are off by default");

    // Text: sections, one line per finding with its severity.
    let (code, text, err) =
        aiops(&["--data-dir", data.to_str().expect("path"), "sweep", "--snapshot", after.to_str().expect("path")]);
    assert_eq!(code, 0, "{err}");
    let since: Timestamp = first["at"].as_str().expect("at").parse().expect("a time");
    let since = sweep::when(since);
    assert!(text.starts_with("Sweep sweep-"), "{text}");
    assert!(text.contains(": 1 new, 1 ongoing, 1 resolved (compared with the sweep at "), "{text}");
    assert!(text.contains("note: the previous sweep was of snapshot"), "another folder, same data dir: {text}");
    assert!(text.contains("(left out: kube-system)"), "{text}");
    // Each section's lines follow its title: `  SEVERITY Kind ns/name [Reason] message`.
    let lines_of = |title: &str| -> Vec<String> {
        text.split(&format!("\n{title}\n")).nth(1).map_or_else(Vec::new, |rest| {
            rest.lines().take_while(|l| l.starts_with("  ")).map(str::to_string).collect()
        })
    };
    let one_line = |title: &str, subject: &str| -> String {
        let lines = lines_of(title);
        assert_eq!(lines.len(), 1, "{title}: {text}");
        let words: Vec<&str> = lines[0].split_whitespace().collect();
        assert!(["CRITICAL", "ERROR", "WARNING", "INFO"].contains(&words[0]), "severity first: {}", lines[0]);
        assert!(lines[0].contains(subject), "{title} names {subject}: {}", lines[0]);
        lines[0].clone()
    };
    let batch = one_line("New (1):", "Pod staging/batch [");
    assert!(batch.contains("memory"), "{batch}");
    let payment = one_line("Ongoing (1):", "Pod prod/payment-7d9f8b6c5d-x2k4p [OOMKilled]");
    assert!(payment.ends_with(&format!("(since {since})")), "{payment}");
    // The message changed (more restarts); the identity did not.
    assert!(payment.contains("restarted 9 times"), "{payment}");
    assert!(first["new"].to_string().contains("restarted 5 times"), "{first}");
    one_line("Resolved (1):", "Pod prod/worker [ImagePullBackOff]");

    // Back to the first state: worker is new again, batch resolved, payment still ongoing.
    let third = sweep_json(&data, &before);
    assert_eq!(section(&third, "new"), [("worker".to_string(), "ImagePullBackOff".to_string())]);
    assert_eq!(section(&third, "ongoing"), [("payment-7d9f8b6c5d-x2k4p".to_string(), "OOMKilled".to_string())]);
    assert_eq!(third["ongoing"][0]["since"], first["at"], "since is the first sighting");
    assert_eq!(section(&third, "resolved").iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["batch"]);
    assert_eq!(third["saved"], true);
}

#[test]
fn bad_sweep_input_exits_2_and_stores_nothing() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let data = dirs.path().join("data");
    let data = data.to_str().expect("path");
    let (code, _, err) = aiops(&["--data-dir", data, "sweep", "--snapshot", "/no/such/folder"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/no/such/folder"), "{err}");
    let snap = dirs.path().join("before");
    snapshot("before").write(&snap).expect("write");
    let snap = snap.to_str().expect("path");
    let (code, _, err) = aiops(&["--data-dir", data, "sweep", "--snapshot", snap, "--deny-namespace", "Not_Valid"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("RFC 1123"), "{err}");
    let (code, _, err) = aiops(&["--data-dir", data, "sweep", "--snapshot", snap, "--severity", "loud"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = aiops(&["--data-dir", data, "sweep", "--snapshot", snap, "--reasoner", "offline"]);
    assert_eq!(code, 2, "--reasoner needs --investigate: {err}");
    // Nothing was swept: the next sweep is the first.
    let first = sweep_json(Path::new(data), Path::new(snap));
    assert_eq!(first["previous"], Value::Null);
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_764_496_800 + secs).expect("time")
}

/// One sweep over `src` with investigations started on the stack's local engine, each awaited.
async fn sweep_at(
    stack: &aiops_cli::local::LocalStack,
    store: &aiops_local::SqliteStore,
    src: &Source,
    config: &SweepConfig,
    at: i64,
) -> SweepRun {
    let ports = SweepPorts {
        reader: src.reader(),
        sweeps: store,
        notifier: None,
        investigator: Some(Investigator { state: store, audit: store, starter: stack }),
    };
    let run = sweep::run(&ports, config, SweepRequest { trigger: "test".into(), sweep_id: None }, t(at))
        .await
        .expect("sweep");
    for o in run.report.investigations.iter().filter(|o| o.status == OutcomeStatus::Started) {
        let execution = o.execution.as_deref().expect("execution");
        stack.engine.execution(execution).expect("execution exists").await_result().await;
    }
    run
}

/// `(subject's name, status, investigation)` of each candidate.
fn outcomes(run: &SweepRun) -> Vec<(String, OutcomeStatus, Option<String>)> {
    let mut v: Vec<_> = run
        .report
        .investigations
        .iter()
        .map(|o| {
            let name = o.subject.split(['/', ' ']).nth(2).unwrap_or_default().to_string();
            (name, o.status, o.investigation_id.clone())
        })
        .collect();
    v.sort();
    v
}

async fn sweep_investigations(store: &aiops_local::SqliteStore) -> Vec<aiops_core::agent::Investigation> {
    let (all, _) = store.list_investigations(None, 100, None).await.expect("list");
    all.into_iter().filter(|i| i.actor == sweep::SWEEP_ACTOR).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_open_investigation_per_root_cause_and_a_cooldown() {
    let h = harness_on(source("before").await, Arc::new(OfflineReasoner), |_| {});
    let store = h.stack.store.clone();
    let (before, healthy) = (source("before").await, source("healthy").await);
    let config = SweepConfig { cooldown_seconds: 3600, ..SweepConfig::default() };

    let first = sweep_at(&h.stack, &store, &before, &config, 0).await;
    let started = outcomes(&first);
    assert_eq!(
        started.iter().map(|(n, s, _)| (n.as_str(), *s)).collect::<Vec<_>>(),
        [("payment-7d9f8b6c5d-x2k4p", OutcomeStatus::Started), ("worker", OutcomeStatus::Started)],
        "{started:?}"
    );
    let ids: Vec<String> = started.iter().filter_map(|(_, _, id)| id.clone()).collect();
    assert!(first.report.new.iter().all(|f| f.investigation.as_ref().is_some_and(|i| ids.contains(i))));
    for id in &ids {
        let inv = store.get_investigation(id).await.expect("get").expect("recorded");
        assert!(inv.answer.is_some(), "the offline reasoner answered {id}: {inv:?}");
    }

    // Resolved, then back a minute later: new again, but within the cooldown.
    let healed = sweep_at(&h.stack, &store, &healthy, &config, 60).await;
    assert_eq!(healed.report.resolved.len(), 2);
    let back = sweep_at(&h.stack, &store, &before, &config, 120).await;
    assert_eq!(back.report.new.len(), 2);
    let o = outcomes(&back);
    assert!(
        o.iter().all(|(_, s, id)| *s == OutcomeStatus::Cooldown && id.as_ref().is_some_and(|i| ids.contains(i))),
        "{o:?}"
    );
    assert!(back.report.new.iter().all(|f| f.investigation.is_some()), "linked to the earlier investigation");
    assert_eq!(sweep_investigations(&store).await.len(), 2, "none started in the cooldown");

    // After the cooldown, with the first investigations finished, a recurrence starts new ones.
    sweep_at(&h.stack, &store, &healthy, &config, 7200).await;
    let later = sweep_at(&h.stack, &store, &before, &config, 7300).await;
    let o = outcomes(&later);
    assert!(
        o.iter().all(|(_, s, id)| *s == OutcomeStatus::Started && id.as_ref().is_some_and(|i| !ids.contains(i))),
        "{o:?}"
    );
    assert_eq!(sweep_investigations(&store).await.len(), 4);

    // An investigation still open (waiting for an approval) blocks another after the cooldown.
    let payment = o.iter().find(|(n, _, _)| n.starts_with("payment")).and_then(|(_, _, id)| id.clone()).expect("id");
    let mut inv = store.get_investigation(&payment).await.expect("get").expect("recorded");
    inv.status = InvestigationStatus::WaitingApproval;
    store.put_investigation(&inv).await.expect("put");
    sweep_at(&h.stack, &store, &healthy, &config, 14_400).await;
    let again = sweep_at(&h.stack, &store, &before, &config, 14_500).await;
    let o = outcomes(&again);
    assert_eq!(o[0].0, "payment-7d9f8b6c5d-x2k4p");
    assert_eq!((o[0].1, o[0].2.as_deref()), (OutcomeStatus::Open, Some(payment.as_str())), "{o:?}");
    assert_eq!((o[1].0.as_str(), o[1].1), ("worker", OutcomeStatus::Started), "{o:?}");
    assert_eq!(sweep_investigations(&store).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_sweeps_start_one_investigation_per_root_cause() {
    let h = harness_on(source("before").await, Arc::new(OfflineReasoner), |_| {});
    // Two handles on one database file, as two processes would have.
    let one = h.stack.store.clone();
    let two = aiops_local::SqliteStore::open(&h._dir.path().join("aiops.db")).expect("second handle");
    let (a, b) = (source("before").await, source("before").await);
    let config = SweepConfig::default();
    let (x, y) = tokio::join!(sweep_at(&h.stack, &one, &a, &config, 0), sweep_at(&h.stack, &two, &b, &config, 0));
    let mut started: Vec<String> = [&x, &y]
        .iter()
        .flat_map(|r| r.report.investigations.iter())
        .filter(|o| o.status == OutcomeStatus::Started)
        .map(|o| o.finding.clone())
        .collect();
    started.sort();
    let mut identities: Vec<String> = x
        .report
        .new
        .iter()
        .chain(&x.report.ongoing)
        .filter(|f| f.finding.severity >= config.investigate_at)
        .map(|f| f.id.clone())
        .collect();
    identities.sort();
    assert_eq!(started, identities, "exactly one start per root cause: {:?} / {:?}", outcomes(&x), outcomes(&y));
    assert_eq!(sweep_investigations(&one).await.len(), identities.len());
    assert!(x.saved || y.saved, "one of them is the latest");
    let latest = one.latest_sweep().await.expect("latest").expect("stored");
    assert!([&x.report.sweep_id, &y.report.sweep_id].contains(&&latest.sweep_id));
}
