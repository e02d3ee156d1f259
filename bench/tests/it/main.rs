//! Smoke tests of the bench with tiny counts: the Runtime API serves a real lambda_runtime
//! binary, and the end-to-end runs count what the investigation did. No timing is asserted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aiops_bench::fake_aws::FakeAws;
use aiops_bench::process::{Running, Target};
use serde_json::json;

fn hello() -> Target {
    Target { name: "hello".into(), program: PathBuf::from(env!("CARGO_BIN_EXE_hello")), args: Vec::new() }
}

fn demo_snapshot() -> PathBuf {
    Path::new(&manifest_dir()).join("../tests/snapshots/demo-oom-crashloop")
}

#[tokio::test]
async fn hello_runs_against_the_runtime_api_and_echoes_its_event() {
    let fake = FakeAws::start("http://127.0.0.1:9", None).await.expect("fake aws");
    let running = Running::start(&hello(), &fake.url()).await.expect("hello starts");
    assert!(running.init_ms > 0.0);
    let payload = json!({"question": "ping", "n": 3});
    let reply = running.api.invoke(payload.clone(), Duration::from_secs(20)).await.expect("an answer");
    assert!(reply.ok, "{:?}", reply.body);
    assert_eq!(reply.body, payload);
    assert!(running.peak_rss_mib().is_some_and(|m| m > 0.0));
    running.stop().await;
}

#[tokio::test]
async fn cold_start_rows_have_one_sample_each_and_hello_is_the_baseline() {
    let fake = FakeAws::start("http://127.0.0.1:9", None).await.expect("fake aws");
    let table = aiops_bench::cold_start::measure(&[hello()], &fake.url(), 1, "hello").await.expect("measured");
    let row = &table["rows"][0];
    assert_eq!(row["name"], "hello");
    assert_eq!(row["init_ms"]["n"], 1);
    assert_eq!(row["ratio_to_hello"], 1.0);
}

#[tokio::test]
async fn a_function_that_fails_its_init_is_reported_with_its_message() {
    let fake = FakeAws::start("http://127.0.0.1:9", None).await.expect("fake aws");
    let sh = Target {
        name: "broken".into(),
        program: "/bin/sh".into(),
        args: vec!["-c".into(), "echo AIOPS_STATE_TABLE is not set >&2; exit 3".into()],
    };
    let err = Running::start(&sh, &fake.url()).await.err().expect("an error");
    assert!(format!("{err:#}").contains("AIOPS_STATE_TABLE is not set"), "{err:#}");
}

#[tokio::test]
async fn the_demo_in_local_mode_executes_the_approved_fix_and_counts_its_steps() {
    let figures = aiops_bench::e2e::local(&demo_snapshot()).await.expect("demo runs");
    assert_eq!(figures["status"], "Succeeded", "{figures}");
    assert!(figures["invocations_by_function"]["aiops-k8s-write"].as_u64().unwrap_or(0) >= 1, "{figures}");
    assert!(figures["invocations_by_function"]["aiops-reason"].as_u64().unwrap_or(0) >= 2, "{figures}");
    assert_eq!(figures["approvals"], 1, "{figures}");
    assert!(figures["state_transitions"].as_u64().unwrap_or(0) > figures["lambda_invocations"].as_u64().unwrap_or(0));
    assert!(figures["audit_writes"].as_u64().unwrap_or(0) >= 5, "{figures}");
}

#[tokio::test]
async fn the_aws_shaped_demo_counts_a_dynamodb_write_for_every_audit_event() {
    let moto = aiops_testkit::moto::shared().expect("moto (scripts/setup installs it)");
    let sim = aiops_sim::SimCluster::start(aiops_core::snapshot::Snapshot::load(&demo_snapshot()).expect("snapshot"))
        .await
        .expect("sim");
    let fake = FakeAws::start(&sim.url(), Some(moto.endpoint())).await.expect("fake aws");
    aiops_bench::e2e::create_tables(&fake).await.expect("tables");
    let figures = aiops_bench::e2e::aws_shaped(&demo_snapshot(), &fake).await.expect("demo runs on DynamoDB");
    assert_eq!(figures["status"], "Succeeded", "{figures}");
    let audit = figures["audit_writes"].as_u64().unwrap_or(0);
    let puts = figures["dynamodb"]["by_operation"]["PutItem"].as_u64().unwrap_or(0);
    assert!(audit >= 5 && puts >= audit, "{figures}");
    assert!(figures["dynamodb"]["write_request_units"].as_u64().unwrap_or(0) >= puts, "{figures}");
    assert_eq!(figures["approvals_left_pending"], 0, "{figures}");
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
