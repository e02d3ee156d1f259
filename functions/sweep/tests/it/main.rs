//! The sweep handler against the emulator and the simulated cluster, through the real clients:
//! DynamoDB (sweeps, claims, investigations, audit), Step Functions (StartExecution), SNS (the
//! summary, read back from moto), and an EventBridge Scheduler schedule whose `Target.Input` is
//! the one the template uses. The cluster is `aiops-sim` over loopback, read with kube-rs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aiops_aws::dynamo::{DynamoStore, TableNames};
use aiops_aws::notify::SnsNotifier;
use aiops_aws::sfn::SfnStarter;
use aiops_core::fixtures::{self, pod};
use aiops_core::ports::{ClusterReader, ExecutionStarter, StateStore, SweepStore};
use aiops_core::snapshot::Snapshot;
use aiops_core::sweep::{SweepConfig, SweepLinks};
use aiops_fn_sweep::{Deps, SCHEDULE_INPUT, handle};
use aiops_sim::SimCluster;
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// The emulator's resources one test uses: fresh tables, topic and state machine.
struct Cloud {
    config: aws_config::SdkConfig,
    store: Arc<DynamoStore>,
    topic_arn: String,
    state_machine_arn: String,
}

async fn cloud() -> anyhow::Result<Cloud> {
    let moto = aiops_testkit::moto::shared()?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(REGION)
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    let store = DynamoStore::new(&config, TableNames::prefixed(&unique("sweep")));
    store.create_tables().await?;
    let topic = aws_sdk_sns::Client::new(&config).create_topic().name(unique("sweeps")).send().await?;
    let definition = json!({"StartAt": "Reason", "States": {"Reason": {"Type": "Pass", "End": true}}});
    let machine = aws_sdk_sfn::Client::new(&config)
        .create_state_machine()
        .name(unique("investigation"))
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/aiops-states")
        .send()
        .await?;
    Ok(Cloud {
        topic_arn: topic.topic_arn().unwrap_or_default().to_string(),
        state_machine_arn: machine.state_machine_arn().to_string(),
        store: Arc::new(store),
        config,
    })
}

impl Cloud {
    /// The handler's dependencies as main.rs builds them, over `reader`.
    fn deps(&self, reader: Arc<dyn ClusterReader>, state_machine_arn: &str) -> Deps {
        let starter: Arc<dyn ExecutionStarter> = Arc::new(SfnStarter::new(&self.config, state_machine_arn));
        Deps {
            reader,
            sweeps: self.store.clone(),
            state: self.store.clone(),
            audit: self.store.clone(),
            starter: Some(starter),
            notifier: Arc::new(SnsNotifier::new(&self.config, &self.topic_arn)),
            config: SweepConfig {
                cluster: "test-eks".into(),
                links: SweepLinks {
                    execution_link: Some(aiops_aws::locks::execution_link),
                    api_url: Some("https://api.example".into()),
                    cli_prefix: String::new(),
                },
                ..SweepConfig::default()
            },
        }
    }

    /// What moto recorded as published to the topic: (subject, message).
    fn published(&self) -> anyhow::Result<Vec<(String, String)>> {
        let data: Value =
            serde_json::from_str(&aiops_testkit::moto::shared()?.request("GET", "/moto-api/data.json", "")?)?;
        let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
        let topic = topics
            .iter()
            .find(|t| t["arn"] == self.topic_arn.as_str())
            .ok_or_else(|| anyhow::anyhow!("topic {} not in moto's data", self.topic_arn))?;
        // Each notification is [message_id, message, subject, attributes, group_id].
        Ok(topic["sent_notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|n| (n[2].as_str().unwrap_or_default().to_string(), n[1].as_str().unwrap_or_default().to_string()))
            .collect())
    }

    /// The executions started on the state machine: (name, input).
    async fn executions(&self) -> anyhow::Result<Vec<(String, Value)>> {
        let sfn = aws_sdk_sfn::Client::new(&self.config);
        let list = sfn.list_executions().state_machine_arn(&self.state_machine_arn).send().await?;
        let mut out = Vec::new();
        for e in list.executions() {
            let d = sfn.describe_execution().execution_arn(e.execution_arn()).send().await?;
            out.push((e.name().to_string(), serde_json::from_str(d.input().unwrap_or("null"))?));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// A cluster at two moments. Before: payment's pod OOM-crashlooping, worker unable to pull its
/// image, a crashlooping pod in kube-system (denied by default). After: payment still crashing
/// (more restarts), worker fixed, a batch pod in staging that cannot be scheduled.
fn cluster(after: bool) -> Vec<Value> {
    let mut objects = vec![
        fixtures::namespace("prod"),
        fixtures::namespace("staging"),
        fixtures::namespace("kube-system"),
        fixtures::node("node-1", "4", "16Gi"),
        pod("payment-7d9f8b6c5d-x2k4p")
            .in_ns("prod")
            .memory_limit("512Mi")
            .crashlooping(if after { 9 } else { 5 })
            .oom_killed()
            .build(),
        pod("web").in_ns("staging").build(),
        pod("coredns-5d78c9869d-abcde").in_ns("kube-system").crashlooping(4).exit_code(1).build(),
    ];
    if after {
        objects.push(pod("worker").in_ns("prod").build());
        objects.push(
            pod("batch").in_ns("staging").unschedulable("0/1 nodes are available: 1 Insufficient memory.").build(),
        );
    } else {
        objects.push(
            pod("worker")
                .in_ns("prod")
                .waiting("ImagePullBackOff", "Back-off pulling image \"registry.example.com/worker:2.0\"")
                .build(),
        );
    }
    objects
}

/// The simulated cluster serving `objects`, and a reader over it.
async fn serve(objects: Vec<Value>) -> anyhow::Result<(SimCluster, Arc<dyn ClusterReader>)> {
    let now = fixtures::NOW.parse()?;
    let sim = SimCluster::start(Snapshot::from_objects(objects, Some(now))).await?;
    let client = aiops_kube::from_url(&sim.url()).await?;
    Ok((sim, Arc::new(aiops_kube::KubeReader::new(client, Some(now)))))
}

/// The names of a report section's findings.
fn names(report: &Value, section: &str) -> Vec<String> {
    report[section]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_read_back_from_the_scheduler_drives_two_sweeps() -> anyhow::Result<()> {
    let cloud = cloud().await?;
    // The schedule as the template declares it, created and read back through the Scheduler API.
    let scheduler = aws_sdk_scheduler::Client::new(&cloud.config);
    let name = unique("aiops-sweep");
    let target = aws_sdk_scheduler::types::Target::builder()
        .arn("arn:aws:lambda:eu-west-1:123456789012:function:aiops-sweep")
        .role_arn("arn:aws:iam::123456789012:role/aiops-scheduler")
        .input(SCHEDULE_INPUT)
        .build()?;
    let window = aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
        .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
        .build()?;
    scheduler
        .create_schedule()
        .name(&name)
        .schedule_expression("rate(15 minutes)")
        .flexible_time_window(window)
        .target(target)
        .send()
        .await?;
    let schedule = scheduler.get_schedule().name(&name).send().await?;
    assert_eq!(schedule.schedule_expression(), Some("rate(15 minutes)"));
    let input = schedule.target().and_then(|t| t.input()).ok_or_else(|| anyhow::anyhow!("no input"))?;
    assert_eq!(input, SCHEDULE_INPUT);
    let event: Value = serde_json::from_str(input)?;

    // First sweep: two new serious findings (kube-system left out), two investigations.
    let (_before, reader) = serve(cluster(false)).await?;
    let out = handle(&cloud.deps(reader, &cloud.state_machine_arn), event.clone()).await?;
    assert_eq!(out["counts"], json!({"new": 2, "ongoing": 0, "resolved": 0}), "{out}");
    assert_eq!(out["trigger"], "schedule");
    assert_eq!(out["scope"]["excluded"], json!(["kube-system"]), "{out}");
    assert_eq!((out["saved"].as_bool(), out["notified"].as_bool()), (Some(true), Some(true)), "{out}");
    let started: Vec<&Value> =
        out["investigations"].as_array().into_iter().flatten().filter(|o| o["status"] == "started").collect();
    assert_eq!(started.len(), 2, "{out}");
    let executions = cloud.executions().await?;
    assert_eq!(executions.len(), 2, "{executions:?}");
    for (name, input) in &executions {
        let id = input["investigation_id"].as_str().unwrap_or_default();
        assert_eq!(name, &format!("{id}-1"), "{input}");
        let inv = cloud.store.get_investigation(id).await?.ok_or_else(|| anyhow::anyhow!("no record {id}"))?;
        assert_eq!(inv.actor, "sweep");
        assert!(inv.question.starts_with("A health sweep found a new"), "{}", inv.question);
    }
    let sent = cloud.published()?;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "aiops sweep of test-eks: 2 new, 0 resolved, 0 ongoing");
    let body = &sent[0].1;
    assert!(body.contains("Pod prod/payment-7d9f8b6c5d-x2k4p [OOMKilled]"), "{body}");
    assert!(body.contains("Pod prod/worker [ImagePullBackOff]"), "{body}");
    assert!(body.contains("execution: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:"), "{body}");
    assert!(body.contains("Latest sweep: https://api.example/sweeps/latest"), "{body}");
    let first = cloud.store.latest_sweep().await?.ok_or_else(|| anyhow::anyhow!("not stored"))?;

    // Second sweep of the same schedule, the cluster moved on: payment ongoing (its message
    // changed), worker resolved, batch new; only batch starts an investigation.
    let (_after, reader) = serve(cluster(true)).await?;
    let out = handle(&cloud.deps(reader, &cloud.state_machine_arn), event).await?;
    assert_eq!(out["counts"], json!({"new": 1, "ongoing": 1, "resolved": 1}), "{out}");
    let report = serde_json::to_value(cloud.store.latest_sweep().await?)?;
    assert_eq!(names(&report, "new"), ["batch"]);
    assert_eq!(names(&report, "ongoing"), ["payment-7d9f8b6c5d-x2k4p"]);
    assert_eq!(names(&report, "resolved"), ["worker"]);
    assert_eq!(report["ongoing"][0]["since"], json!(first.at), "since is the first sighting");
    assert!(report["ongoing"][0]["message"].as_str().is_some_and(|m| m.contains('9')), "{report}");
    assert_eq!(
        report["ongoing"][0]["investigation"].as_str(),
        first.new.iter().find(|f| f.finding.name.starts_with("payment")).and_then(|f| f.investigation.as_deref()),
        "the investigation carries over"
    );
    assert_eq!(report["previous"]["sweep_id"], json!(first.sweep_id));
    assert_eq!(cloud.executions().await?.len(), 3, "one more, for batch");
    let sent = cloud.published()?;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].0, "aiops sweep of test-eks: 1 new, 1 resolved, 1 ongoing");
    let resolved = sent[1].1.split("Resolved (1):\n").nth(1).and_then(|r| r.lines().next()).unwrap_or_default();
    assert!(resolved.starts_with("  - CRITICAL Pod prod/worker [ImagePullBackOff]"), "{}", sent[1].1);
    Ok(())
}

fn fixtures_of_the_function() -> anyhow::Result<Vec<(String, Value)>> {
    let dir = Path::new(&manifest_dir()).join("fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "json") {
            out.push((path.display().to_string(), serde_json::from_str(&std::fs::read_to_string(&path)?)?));
        }
    }
    anyhow::ensure!(!out.is_empty(), "no fixtures in {}", dir.display());
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fixture_sweeps_once_however_often_it_is_delivered() -> anyhow::Result<()> {
    let (_sim, reader) = serve(cluster(false)).await?;
    for (name, event) in fixtures_of_the_function()? {
        let cloud = cloud().await?;
        let deps = cloud.deps(reader.clone(), &cloud.state_machine_arn);
        let first = handle(&deps, event.clone()).await.map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        assert_eq!(first["sweep_id"], "sweep-20251130T100000Z", "{name}: {first}");
        assert_eq!((first["saved"].as_bool(), first["duplicate"].as_bool()), (Some(true), Some(false)), "{name}");
        let again = handle(&deps, event).await.map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        assert_eq!(again["duplicate"], true, "{name}: {again}");
        assert_eq!(again["counts"], first["counts"], "{name}: the stored report");
        assert_eq!(cloud.published()?.len(), 1, "{name}: one summary");
        assert_eq!(cloud.executions().await?.len(), 2, "{name}: no second investigation");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_is_reported_released_and_retried_by_the_next_sweep() -> anyhow::Result<()> {
    let cloud = cloud().await?;
    let (_sim, reader) = serve(cluster(false)).await?;
    let missing = cloud.state_machine_arn.replace(":stateMachine:", ":stateMachine:missing-");
    let out = handle(&cloud.deps(reader.clone(), &missing), json!({})).await?;
    let failed: Vec<&Value> =
        out["investigations"].as_array().into_iter().flatten().filter(|o| o["status"] == "failed").collect();
    assert_eq!(failed.len(), 2, "{out}");
    assert!(failed.iter().all(|o| o["message"].as_str().is_some_and(|m| m.contains("states:StartExecution"))), "{out}");
    for o in &failed {
        let identity = o["finding"].as_str().unwrap_or_default();
        assert_eq!(cloud.store.get_claim(identity).await?, None, "the claim is released");
        let id = o["investigation_id"].as_str().unwrap_or_default();
        let record = cloud.store.get_investigation(id).await?.ok_or_else(|| anyhow::anyhow!("no record {id}"))?;
        assert_eq!(record.status, aiops_core::agent::InvestigationStatus::Failed, "not left running");
    }
    assert_eq!(out["saved"], true, "the sweep itself succeeded");
    assert!(cloud.published()?[0].1.contains("failed to start"));

    // The next sweep (same cluster, a working state machine): the findings are ongoing, yet
    // uninvestigated, so they start now.
    let out = handle(&cloud.deps(reader, &cloud.state_machine_arn), json!({"trigger": "api"})).await?;
    assert_eq!(out["counts"], json!({"new": 0, "ongoing": 2, "resolved": 0}), "{out}");
    let started = out["investigations"].as_array().into_iter().flatten().filter(|o| o["status"] == "started").count();
    assert_eq!(started, 2, "{out}");
    assert_eq!(out["trigger"], "api");
    assert_eq!(cloud.executions().await?.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_event_is_invalid_input_and_stores_nothing() -> anyhow::Result<()> {
    let cloud = cloud().await?;
    let (_sim, reader) = serve(cluster(false)).await?;
    let deps = cloud.deps(reader, &cloud.state_machine_arn);
    for event in [json!({"scheduled_time": "yesterday"}), json!("sweep please"), json!({"trigger": 7})] {
        let err = handle(&deps, event.clone()).await.expect_err("malformed");
        assert_eq!(err.error_type, "Aiops.InvalidInput", "{event}: {err}");
    }
    assert_eq!(cloud.store.latest_sweep().await?, None);
    assert!(cloud.published()?.is_empty());
    Ok(())
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
