//! The local stack: local mode's equivalent of the deployed one (our `sam local`).
//!
//! One process holds the cluster source (the simulated cluster for a snapshot, or a real
//! cluster), the SQLite stores under the data directory, the reasoner, and an
//! [`aiops_engine::Engine`] executing `statemachine/investigation.asl.json` — the same file,
//! with the same DefinitionSubstitutions keys the template uses — whose tasks call, in
//! process, the same handler functions the Lambdas run.
//!
//! Task tokens: the approval handler stores each request with its token; a decision (this
//! process's prompt, or `aiops approve` in another process) goes through
//! [`aiops_core::workflow::approval::decide`], whose callback writes the result beside the
//! token in SQLite. [`LocalStack::deliver_decisions`] hands such results to the engine, as
//! Step Functions' SendTaskSuccess would.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aiops_core::agent::approval::{ApprovalRequest, Decision};
use aiops_core::agent::{Budget, Investigation};
use aiops_core::policy::Policy;
use aiops_core::ports::{ExecutionStarter, LockStore, Notifier, Reasoner, StateStore, TaskCallback};
use aiops_core::workflow::approval::{ApprovalLinks, decide};
use aiops_core::workflow::{FnError, StartRequest, WorkflowConfig, launch};
use aiops_engine::{Definition, Engine, EngineOptions, ExecutionHandle, TaskError, TaskHandler, TaskRequest};
use aiops_local::SqliteStore;
use anyhow::Context;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::source::Source;

/// The state machine definition, the same file the template deploys.
pub const INVESTIGATION_ASL: &str = include_str!("../../statemachine/investigation.asl.json");

/// The function names the local substitutions point at.
const FUNCTIONS: &[(&str, &str)] = &[
    ("ReasonFunctionArn", "aiops-reason"),
    ("K8sReadFunctionArn", "aiops-k8s-read"),
    ("AwsReadFunctionArn", "aiops-aws-read"),
    ("DiagnoseFunctionArn", "aiops-diagnose"),
    ("ApprovalFunctionArn", "aiops-approval"),
    ("K8sWriteFunctionArn", "aiops-k8s-write"),
];

/// The DefinitionSubstitutions of local mode: every function ARN the template substitutes,
/// pointing at the in-process handlers.
pub fn substitutions() -> BTreeMap<String, String> {
    FUNCTIONS.iter().map(|(k, f)| (k.to_string(), format!("arn:aws:lambda:local:000000000000:function:{f}"))).collect()
}

/// The default data directory: `$XDG_DATA_HOME/aiops`, else `~/.local/share/aiops`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("aiops");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/aiops")
}

/// Opens the SQLite store of a data directory.
///
/// # Errors
/// When the directory or the database cannot be created.
pub fn open_store(data_dir: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let store = SqliteStore::open(&data_dir.join("aiops.db"))
        .with_context(|| format!("cannot open {}", data_dir.join("aiops.db").display()))?;
    Ok(Arc::new(store))
}

/// Settings of a local run.
#[derive(Clone)]
pub struct LocalOptions {
    pub data_dir: PathBuf,
    pub approval_timeout_seconds: u64,
    pub policy: Policy,
    pub budget: Budget,
    /// Who acts: `local:<user>`.
    pub actor: String,
    /// Multiplies the definition's waits, retries and timeouts (1.0 real time; tests use less).
    pub time_scale: f64,
}

impl LocalOptions {
    /// Defaults for a data directory.
    pub fn new(data_dir: PathBuf) -> LocalOptions {
        let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
        LocalOptions {
            data_dir,
            approval_timeout_seconds: 900,
            policy: Policy::default(),
            budget: Budget::default(),
            actor: format!("local:{user}"),
            time_scale: 1.0,
        }
    }
}

/// In-process object locks (local mode runs one write task at a time per process).
#[derive(Default)]
pub struct MemoryLocks {
    held: Mutex<HashMap<String, (String, Timestamp)>>,
}

#[async_trait::async_trait]
impl LockStore for MemoryLocks {
    async fn try_lock(&self, key: &str, owner: &str, ttl_seconds: i64, now: Timestamp) -> aiops_core::Result<bool> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match held.get(key) {
            Some((o, until)) if o != owner && *until > now => Ok(false),
            _ => {
                held.insert(key.to_string(), (owner.to_string(), now + jiff::SignedDuration::from_secs(ttl_seconds)));
                Ok(true)
            }
        }
    }

    async fn unlock(&self, key: &str, owner: &str) -> aiops_core::Result<()> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.get(key).is_some_and(|(o, _)| o == owner) {
            held.remove(key);
        }
        Ok(())
    }
}

/// Delivers task results by writing them beside the token in SQLite, where the process
/// running the execution picks them up.
pub struct LocalCallback {
    pub store: Arc<SqliteStore>,
}

#[async_trait::async_trait]
impl TaskCallback for LocalCallback {
    async fn succeed(&self, token: &str, output: &Value) -> aiops_core::Result<()> {
        self.store.put_doc(&format!("TASK#{token}"), &json!({"status": "success", "output": output})).await
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> aiops_core::Result<()> {
        self.store
            .put_doc(&format!("TASK#{token}"), &json!({"status": "failure", "error": error, "cause": cause}))
            .await
    }
}

struct Handlers {
    reason: aiops_fn_reason::Deps,
    read: aiops_fn_k8s_read::Deps,
    /// The AWS tools, when the source is an EKS cluster.
    aws: Option<aiops_fn_aws_read::Deps>,
    diagnose: aiops_fn_diagnose::Deps,
    approval: aiops_fn_approval::Deps,
    write: aiops_fn_k8s_write::Deps,
    tokens: Arc<Mutex<BTreeSet<String>>>,
}

#[async_trait::async_trait]
impl TaskHandler for Handlers {
    async fn invoke(&self, req: TaskRequest) -> Result<Value, TaskError> {
        let target = req.function_name.clone().unwrap_or_else(|| req.resource.clone());
        let function = target.rsplit(':').next().unwrap_or_default().to_string();
        let payload = req.payload;
        let result: Result<Value, FnError> = match function.as_str() {
            "aiops-reason" => aiops_fn_reason::handle(&self.reason, payload).await,
            "aiops-k8s-read" => aiops_fn_k8s_read::handle(&self.read, payload).await,
            "aiops-aws-read" => match &self.aws {
                Some(aws) => aiops_fn_aws_read::handle(aws, payload).await,
                // Without an EKS source the AWS tools are not offered; a call that comes anyway
                // gets the k8s-read handler's clear "needs AWS access" result.
                None => aiops_fn_k8s_read::handle(&self.read, payload).await,
            },
            "aiops-diagnose" => aiops_fn_diagnose::handle(&self.diagnose, payload).await,
            "aiops-approval" => {
                if let Some(t) = payload.get("task_token").and_then(Value::as_str) {
                    self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(t.to_string());
                }
                aiops_fn_approval::handle(&self.approval, payload).await
            }
            "aiops-k8s-write" => aiops_fn_k8s_write::handle(&self.write, payload).await,
            other => Err(FnError { error_type: "Aiops.Fatal".into(), message: format!("no local function {other}") }),
        };
        result.map_err(|e| {
            TaskError::new(
                e.error_type.clone(),
                json!({"errorMessage": e.message, "errorType": e.error_type}).to_string(),
            )
        })
    }
}

/// The local engine as the workflow's execution starter.
#[async_trait::async_trait]
impl ExecutionStarter for LocalStack {
    async fn start_execution(&self, name: &str, input: &Value) -> aiops_core::Result<String> {
        match self.engine.start_execution(name, input.clone()) {
            Ok(_) => Ok(name.to_string()),
            Err(e) => {
                Err(aiops_core::Error::backend(aiops_core::ErrorClass::Conflict, "StartExecution", e.to_string()))
            }
        }
    }
}

/// Local mode's stack.
pub struct LocalStack {
    pub store: Arc<SqliteStore>,
    pub engine: Engine,
    pub source: Source,
    pub options: LocalOptions,
    pub reasoner_name: String,
    tokens: Arc<Mutex<BTreeSet<String>>>,
}

impl LocalStack {
    /// Builds the stack over a cluster source.
    ///
    /// # Errors
    /// When the store cannot be opened or the definition does not load.
    pub fn new(
        source: Source,
        reasoner: Arc<dyn Reasoner>,
        notifier: Arc<dyn Notifier>,
        options: LocalOptions,
    ) -> anyhow::Result<LocalStack> {
        let store = open_store(&options.data_dir)?;
        let definition = Definition::from_json(INVESTIGATION_ASL, &substitutions())
            .context("statemachine/investigation.asl.json does not load")?;
        let tokens = Arc::new(Mutex::new(BTreeSet::new()));
        let reader = source.reader_arc();
        let inspector = source.aws();
        // On EKS, Container Insights is check_resource_usage's usage when there is no metrics API.
        let usage = inspector
            .as_ref()
            .and_then(|i| i.container_insights())
            .map(|u| Arc::new(u) as Arc<dyn aiops_core::ports::UsageSource>);
        let config = WorkflowConfig {
            budget: options.budget,
            approval_timeout_seconds: options.approval_timeout_seconds,
            aws_tools: inspector.is_some(),
        };
        let handlers = Handlers {
            reason: aiops_fn_reason::Deps {
                state: store.clone(),
                audit: store.clone(),
                reasoner: reasoner.clone(),
                notifier: notifier.clone(),
                config,
            },
            read: aiops_fn_k8s_read::Deps {
                reader: reader.clone(),
                state: store.clone(),
                audit: store.clone(),
                max_result_bytes: options.budget.max_result_bytes,
            },
            aws: inspector.map(|inspector| aiops_fn_aws_read::Deps {
                inspector,
                reader: Some(reader.clone() as Arc<dyn aiops_core::ports::ClusterReader>),
                state: store.clone(),
                audit: store.clone(),
                max_result_bytes: options.budget.max_result_bytes,
            }),
            diagnose: aiops_fn_diagnose::Deps {
                reader: reader.clone(),
                state: store.clone(),
                audit: store.clone(),
                usage,
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
                actuator: source.actuator_arc(),
                state: store.clone(),
                audit: store.clone(),
                approvals: store.clone(),
                locks: store.clone(),
                policy: options.policy.clone(),
            },
            tokens: tokens.clone(),
        };
        let engine = Engine::new(
            definition,
            Arc::new(handlers),
            EngineOptions {
                state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:aiops-investigation".into(),
                time_scale: options.time_scale,
                ..EngineOptions::default()
            },
        );
        Ok(LocalStack { store, engine, source, options, reasoner_name: reasoner.name(), tokens })
    }

    /// Records the question and starts an execution of the investigation state machine.
    ///
    /// # Errors
    /// A bad question (empty, too long), an unknown investigation to continue, store errors.
    pub async fn start(&self, req: StartRequest) -> anyhow::Result<(Investigation, ExecutionHandle)> {
        let store = self.store.as_ref();
        let launched = launch(store, store, self, req, self.options.approval_timeout_seconds, Timestamp::now()).await?;
        let handle = self
            .engine
            .execution(&launched.execution_name)
            .with_context(|| format!("execution {} vanished", launched.execution_name))?;
        Ok((launched.investigation, handle))
    }

    /// Decides an approval on behalf of a person in this process.
    ///
    /// # Errors
    /// As [`decide`].
    pub async fn decide(&self, approval_id: &str, decision: &Decision) -> aiops_core::Result<ApprovalRequest> {
        let callback = LocalCallback { store: self.store.clone() };
        let req = decide(
            self.store.as_ref(),
            self.store.as_ref(),
            self.store.as_ref(),
            &callback,
            approval_id,
            decision,
            Timestamp::now(),
        )
        .await?;
        self.deliver_decisions().await;
        Ok(req)
    }

    /// Hands decisions recorded in SQLite (by this or another process) to the engine.
    pub async fn deliver_decisions(&self) {
        let pending: Vec<String> =
            self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().cloned().collect();
        for token in pending {
            let Ok(Some(doc)) = self.store.get_doc(&format!("TASK#{token}")).await else { continue };
            let sent = match doc.get("status").and_then(Value::as_str) {
                Some("success") => {
                    self.engine.send_task_success(&token, doc.get("output").cloned().unwrap_or(Value::Null))
                }
                _ => self.engine.send_task_failure(
                    &token,
                    doc.get("error").and_then(Value::as_str).unwrap_or("Aiops.Rejected"),
                    doc.get("cause").and_then(Value::as_str).unwrap_or_default(),
                ),
            };
            if let Err(e) = sent {
                tracing::debug!(error = %e, "task token no longer waiting");
            }
            self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&token);
        }
    }

    /// The pending approval of an investigation, if it waits on one.
    ///
    /// # Errors
    /// Store errors.
    pub async fn pending_approval(&self, investigation_id: &str) -> aiops_core::Result<Option<ApprovalRequest>> {
        use aiops_core::ports::ApprovalStore;
        Ok(self
            .store
            .list(Some(aiops_core::agent::approval::ApprovalStatus::Pending))
            .await?
            .into_iter()
            .find(|a| a.investigation_id == investigation_id))
    }
}

/// Runs one question to its end with no approver (writes off), returning the investigation.
/// Used by the corpus tests and the token benchmark.
///
/// # Errors
/// As [`LocalStack::start`].
pub async fn run_unattended(
    stack: &LocalStack,
    question: &str,
) -> anyhow::Result<(Investigation, aiops_engine::ExecutionResult)> {
    let req = StartRequest { question: question.into(), actor: stack.options.actor.clone(), ..StartRequest::default() };
    let (inv, handle) = stack.start(req).await?;
    let result = handle.await_result().await;
    let inv = stack.store.get_investigation(&inv.id).await?.unwrap_or(inv);
    Ok((inv, result))
}

/// Bytes of everything a model would have been sent over an investigation: for each turn, the
/// system prompt, the tools and the transcript up to that turn.
///
/// # Errors
/// Store errors.
pub async fn model_bytes(stack: &LocalStack, id: &str) -> anyhow::Result<u64> {
    let messages = stack.store.messages(id).await?;
    let inv = stack.store.get_investigation(id).await?.with_context(|| format!("no investigation {id}"))?;
    let tools = aiops_core::agent::tool_list_bytes(&aiops_core::workflow::offered_tools(
        inv.writes,
        stack.source.aws().is_some(),
    ));
    let fixed = aiops_core::agent::prompt::SYSTEM_PROMPT.len() as u64 + tools;
    let mut total = 0u64;
    let mut so_far = 0u64;
    for m in &messages {
        if m.role == aiops_core::agent::Role::Assistant {
            total += fixed + so_far;
        }
        so_far += serde_json::to_string(&m.content).map_or(0, |s| s.len() as u64);
    }
    Ok(total)
}
