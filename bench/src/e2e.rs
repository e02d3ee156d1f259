//! End to end: the demo investigation ("Why is the payment-service pod crashing?", writes on,
//! approved), run twice in one process:
//! - in local mode, exactly as `aiops demo --yes` runs it (the aiops-cli `LocalStack`: SQLite
//!   stores, the simulated cluster, the offline reasoner, the local engine executing
//!   statemachine/investigation.asl.json): wall time, state transitions, Lambda invocations,
//!   audit writes;
//! - AWS-shaped: the same definition and handlers with the DynamoDB stores the Lambdas use, on
//!   moto behind the counting endpoint, so the DynamoDB requests and their sizes are counted
//!   rather than guessed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aiops_aws::dynamo::{DynamoStore, TableNames};
use aiops_cli::local::{INVESTIGATION_ASL, LocalOptions, LocalStack, substitutions};
use aiops_core::agent::approval::{ApprovalStatus, Decision};
use aiops_core::agent::offline::OfflineReasoner;
use aiops_core::ports::{ApprovalStore, AuditLog, ExecutionStarter, Notifier, StateStore, TaskCallback};
use aiops_core::workflow::approval::{ApprovalLinks, decide};
use aiops_core::workflow::{FnError, StartRequest, WorkflowConfig, launch};
use aiops_engine::{
    Definition, Engine, EngineOptions, EventType, ExecutionResult, ExecutionStatus, TaskError, TaskHandler, TaskRequest,
};
use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::fake_aws::{Call, FakeAws};
use crate::process::round2;

/// The demo's question.
pub const QUESTION: &str = "Why is the payment-service pod crashing?";

/// What the execution history says: transitions, invocations per function, handler time.
pub fn history_figures(result: &ExecutionResult) -> Value {
    let events = result.history.events();
    let states_entered = events.iter().filter(|e| e.event_type.is_state_entered()).count();
    let mut invocations: BTreeMap<String, u64> = BTreeMap::new();
    let mut handler_ms: BTreeMap<String, f64> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        if e.event_type != EventType::TaskScheduled {
            continue;
        }
        let function = function_of(e.resource.as_deref().unwrap_or_default(), e.input.as_ref());
        *invocations.entry(function.clone()).or_default() += 1;
        let end = events[i + 1..].iter().find(|x| {
            x.state_name == e.state_name
                && matches!(x.event_type, EventType::TaskSucceeded | EventType::TaskFailed | EventType::TaskSubmitted)
        });
        if let Some(end) = end {
            let ms = end.timestamp.duration_since(e.timestamp).as_secs_f64() * 1000.0;
            *handler_ms.entry(function).or_default() += ms;
        }
    }
    let handler_ms: BTreeMap<String, f64> = handler_ms.into_iter().map(|(k, v)| (k, round2(v))).collect();
    json!({
        "status": format!("{:?}", result.status),
        "history_events": events.len(),
        "state_transitions": states_entered,
        "lambda_invocations": invocations.values().sum::<u64>(),
        "invocations_by_function": invocations,
        "handler_ms_by_function": handler_ms,
    })
}

/// `aiops-reason` from a task's resource or its `FunctionName` parameter.
fn function_of(resource: &str, input: Option<&Value>) -> String {
    let target =
        input.and_then(|i| i.get("FunctionName")).and_then(Value::as_str).map_or(resource.to_string(), str::to_string);
    target.rsplit(':').next().unwrap_or_default().to_string()
}

/// The demo in local mode, approved as soon as it asks. Returns the figures of one run.
///
/// # Errors
/// When the snapshot cannot be served or the investigation does not succeed.
pub async fn local(snapshot: &Path) -> anyhow::Result<Value> {
    let data = tempfile::tempdir()?;
    let snap = aiops_core::snapshot::Snapshot::load(snapshot)?;
    let started = Instant::now();
    let source = aiops_cli::source::Source::from_snapshot(snap, snapshot.display().to_string()).await?;
    let notifier: Arc<dyn Notifier> = Arc::new(aiops_local::RecordingNotifier::new());
    let stack = LocalStack::new(source, Arc::new(OfflineReasoner), notifier, LocalOptions::new(data.path().into()))?;
    let req = StartRequest {
        question: QUESTION.into(),
        actor: stack.options.actor.clone(),
        writes: true,
        ..StartRequest::default()
    };
    let investigation_started = Instant::now();
    let (inv, handle) = stack.start(req).await?;
    let mut approvals = 0;
    let result = loop {
        tokio::select! {
            r = handle.await_result() => break r,
            () = tokio::time::sleep(Duration::from_millis(2)) => {
                if let Some(req) = stack.pending_approval(&inv.id).await? {
                    let by = stack.options.actor.clone();
                    stack.decide(&req.id, &Decision { approve: true, by, reason: None, comment: None }).await?;
                    approvals += 1;
                }
            }
        }
    };
    let wall_ms = investigation_started.elapsed().as_secs_f64() * 1000.0;
    let with_setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    if result.status != ExecutionStatus::Succeeded {
        bail!("the demo investigation ended {:?}: {:?} {:?}", result.status, result.error, result.cause);
    }
    let inv = stack.store.get_investigation(&inv.id).await?.context("the investigation vanished")?;
    let audit = stack.store.events(&inv.id).await?;
    let mut figures = history_figures(&result);
    figures["wall_ms"] = json!(round2(wall_ms));
    figures["wall_ms_with_cluster_start"] = json!(round2(with_setup_ms));
    figures["audit_writes"] = json!(audit.len());
    figures["approvals"] = json!(approvals);
    figures["turns"] = json!(inv.turns);
    figures["usage"] = serde_json::to_value(inv.usage)?;
    figures["executed_actions"] = json!(result.output.as_ref().map(|o| o.to_string().matches("EXECUTED").count()));
    Ok(figures)
}

/// The handlers of the AWS-shaped run, each with the Deps its Lambda builds.
struct Functions {
    reason: aiops_fn_reason::Deps,
    read: aiops_fn_k8s_read::Deps,
    diagnose: aiops_fn_diagnose::Deps,
    approval: aiops_fn_approval::Deps,
    write: aiops_fn_k8s_write::Deps,
}

struct Handlers {
    functions: Functions,
    approvals_seen: Arc<Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl TaskHandler for Handlers {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskError> {
        let function =
            function_of(&req.resource, req.function_name.as_ref().map(|f| json!({"FunctionName": f})).as_ref());
        let d = &self.functions;
        let payload = req.payload;
        let result: Result<Value, FnError> = match function.as_str() {
            "aiops-reason" => aiops_fn_reason::handle(&d.reason, payload).await,
            "aiops-k8s-read" | "aiops-aws-read" => aiops_fn_k8s_read::handle(&d.read, payload).await,
            "aiops-diagnose" => aiops_fn_diagnose::handle(&d.diagnose, payload).await,
            "aiops-approval" => {
                let out = aiops_fn_approval::handle(&d.approval, payload).await;
                if let Ok(id) = out.as_ref().map(|o| o.get("approval_id").and_then(Value::as_str).unwrap_or_default()) {
                    self.approvals_seen.lock().unwrap_or_else(PoisonError::into_inner).push(id.to_string());
                }
                out
            }
            "aiops-k8s-write" => aiops_fn_k8s_write::handle(&d.write, payload).await,
            other => Err(FnError { error_type: "Aiops.Fatal".into(), message: format!("no function {other}") }),
        };
        result.map_err(|e| {
            TaskError::new(
                e.error_type.clone(),
                json!({"errorMessage": e.message, "errorType": e.error_type}).to_string(),
            )
        })
    }
}

struct Starter(Arc<Engine>);

#[async_trait::async_trait]
impl ExecutionStarter for Starter {
    async fn start_execution(&self, name: &str, input: &Value) -> aiops_core::Result<String> {
        self.0
            .start_execution(name, input.clone())
            .map(|_| name.to_string())
            .map_err(|e| aiops_core::Error::backend(aiops_core::ErrorClass::Conflict, "StartExecution", e.to_string()))
    }
}

/// SendTaskSuccess/Failure, as the API Lambda sends them to Step Functions.
struct Callback(Arc<Engine>);

#[async_trait::async_trait]
impl TaskCallback for Callback {
    async fn succeed(&self, token: &str, output: &Value) -> aiops_core::Result<()> {
        let _ = self.0.send_task_success(token, output.clone());
        Ok(())
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> aiops_core::Result<()> {
        let _ = self.0.send_task_failure(token, error, cause);
        Ok(())
    }
}

/// The demo with the DynamoDB stores on moto (through `fake`), counting every request.
///
/// # Errors
/// When the tables cannot be made or the investigation does not succeed.
pub async fn aws_shaped(snapshot: &Path, fake: &FakeAws) -> anyhow::Result<Value> {
    let sim = aiops_sim::SimCluster::start(aiops_core::snapshot::Snapshot::load(snapshot)?).await?;
    let client = aiops_kube::from_url(&sim.url()).await?;
    let reader: Arc<dyn aiops_core::ports::ClusterReader> = Arc::new(aiops_kube::KubeReader::new(client.clone(), None));
    let actuator: Arc<dyn aiops_core::ports::ClusterActuator> = Arc::new(aiops_kube::KubeActuator::new(client));
    let store = Arc::new(store(fake));
    let notifier: Arc<dyn Notifier> = Arc::new(aiops_local::RecordingNotifier::new());
    let options = LocalOptions::new(std::env::temp_dir());
    let config = WorkflowConfig { budget: options.budget, approval_timeout_seconds: 900, ..WorkflowConfig::default() };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let functions = Functions {
        reason: aiops_fn_reason::Deps {
            state: store.clone(),
            audit: store.clone(),
            reasoner: Arc::new(OfflineReasoner),
            notifier: notifier.clone(),
            config,
        },
        read: aiops_fn_k8s_read::Deps {
            reader: reader.clone(),
            state: store.clone(),
            audit: store.clone(),
            max_result_bytes: options.budget.max_result_bytes,
        },
        diagnose: aiops_fn_diagnose::Deps {
            reader: reader.clone(),
            state: store.clone(),
            audit: store.clone(),
            usage: None,
            max_result_bytes: options.budget.max_result_bytes,
        },
        approval: aiops_fn_approval::Deps {
            state: store.clone(),
            audit: store.clone(),
            approvals: store.clone(),
            notifier,
            links: ApprovalLinks { execution_link: None, page_url: None, cli_prefix: String::new() },
        },
        write: aiops_fn_k8s_write::Deps {
            reader,
            actuator,
            state: store.clone(),
            audit: store.clone(),
            approvals: store.clone(),
            locks: store.clone(),
            policy: options.policy.clone(),
        },
    };
    let definition = Definition::from_json(INVESTIGATION_ASL, &substitutions())?;
    let engine = Arc::new(Engine::new(
        definition,
        Arc::new(Handlers { functions, approvals_seen: seen.clone() }),
        EngineOptions {
            state_machine_arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:aiops-investigation".into(),
            ..EngineOptions::default()
        },
    ));
    let _ = fake.take_calls();
    let req = StartRequest {
        question: QUESTION.into(),
        actor: "arn:aws:iam::123456789012:user/bench".into(),
        writes: true,
        ..StartRequest::default()
    };
    let starter = Starter(engine.clone());
    let launched = launch(store.as_ref(), store.as_ref(), &starter, req, 900, jiff::Timestamp::now()).await?;
    let handle = engine.execution(&launched.execution_name).context("execution vanished")?;
    let callback = Callback(engine.clone());
    let result = loop {
        tokio::select! {
            r = handle.await_result() => break r,
            () = tokio::time::sleep(Duration::from_millis(2)) => {
                let pending: Vec<String> = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
                for id in pending {
                    let decision = Decision { approve: true, by: "arn:aws:iam::123456789012:user/approver".into(), reason: None, comment: None };
                    decide(store.as_ref(), store.as_ref(), store.as_ref(), &callback, &id, &decision, jiff::Timestamp::now()).await?;
                }
            }
        }
    };
    let calls = fake.take_calls();
    if result.status != ExecutionStatus::Succeeded {
        bail!("the AWS-shaped investigation ended {:?}: {:?} {:?}", result.status, result.error, result.cause);
    }
    let id = launched.investigation.id.clone();
    let audit = AuditLog::events(store.as_ref(), &id).await?;
    let inv = StateStore::get_investigation(store.as_ref(), &id).await?.context("investigation vanished")?;
    let pending = ApprovalStore::list(store.as_ref(), Some(ApprovalStatus::Pending)).await?;
    let mut figures = history_figures(&result);
    figures["audit_writes"] = json!(audit.len());
    figures["turns"] = json!(inv.turns);
    figures["usage"] = serde_json::to_value(inv.usage)?;
    figures["approvals_left_pending"] = json!(pending.len());
    figures["dynamodb"] = dynamodb_figures(&calls);
    Ok(figures)
}

/// The DynamoDB store the functions use (their table names), through `fake`.
fn store(fake: &FakeAws) -> DynamoStore {
    let tables =
        TableNames { state: "aiops-state".into(), audit: "aiops-audit".into(), approvals: "aiops-approvals".into() };
    DynamoStore::new(&crate::sdk_config(&fake.url()), tables)
}

/// Creates the functions' tables on moto, through `fake` (idempotent).
///
/// # Errors
/// When moto refuses.
pub async fn create_tables(fake: &FakeAws) -> anyhow::Result<()> {
    store(fake).create_tables().await.context("create the tables on moto")
}

/// DynamoDB requests by operation, with request units estimated from the bytes on the wire
/// (an item's size is close to its JSON size: a write unit per started KiB of the request, a
/// strongly consistent read unit per started 4 KiB of the response; an upper bound).
pub fn dynamodb_figures(calls: &[Call]) -> Value {
    let mut by_op: BTreeMap<String, u64> = BTreeMap::new();
    let (mut wru, mut rru) = (0u64, 0u64);
    for c in calls.iter().filter(|c| c.operation.starts_with("dynamodb:")) {
        *by_op.entry(c.operation.trim_start_matches("dynamodb:").to_string()).or_default() += 1;
        match c.operation.as_str() {
            "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem" => {
                wru += c.request_bytes.div_ceil(1024).max(1) as u64;
            }
            "dynamodb:GetItem" | "dynamodb:Query" | "dynamodb:Scan" => {
                rru += c.response_bytes.div_ceil(4096).max(1) as u64;
            }
            _ => {}
        }
    }
    json!({"requests": by_op.values().sum::<u64>(), "by_operation": by_op, "write_request_units": wru, "read_request_units": rru})
}
