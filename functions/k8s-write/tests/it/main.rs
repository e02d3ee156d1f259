//! Integration tests of the k8s-write function: hostile approvals through the real handlers.
//!
//! The approval function records each request, decisions go through
//! `aiops_core::workflow::approval::decide` (what the API and the CLI call), and the k8s-write
//! handler must refuse every execution that an approval does not allow exactly: nothing changes
//! in the simulated cluster (a real Kubernetes API server on loopback, reached with kube-rs),
//! and the refusal is on the audit trail, whose hash chain still verifies. Every case runs on
//! the local stores (SQLite) and on the cloud stores (DynamoDB on moto, through the real SDK).
//!
//! Run: `cargo nextest run -p aiops-fn-k8s-write`.

mod approvals;

use std::sync::{Arc, Mutex};

use aiops_core::Kind;
use aiops_core::agent::approval::{ApprovalRequest, Decision};
use aiops_core::agent::audit::{AuditEvent, AuditKind, verify_chain};
use aiops_core::policy::Policy;
use aiops_core::ports::{ApprovalStore, AuditLog, LockStore, StateStore, TaskCallback};
use aiops_core::snapshot::Snapshot;
use aiops_core::workflow::approval::{ApprovalLinks, decide};
use aiops_core::workflow::{FnError, StartRequest, start_investigation};
use aiops_sim::SimCluster;
use jiff::Timestamp;
use serde_json::{Value, json};

/// Which stores a case runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Dynamo,
}

pub const NS: &str = "production";
pub const DEPLOYMENT: &str = "payment-service";

/// Task results the decision path sent to the waiting workflow (SendTaskSuccess).
#[derive(Default)]
pub struct Callbacks {
    pub sent: Mutex<Vec<(String, Value)>>,
}

#[async_trait::async_trait]
impl TaskCallback for Callbacks {
    async fn succeed(&self, token: &str, output: &Value) -> aiops_core::Result<()> {
        self.sent.lock().expect("lock").push((token.to_string(), output.clone()));
        Ok(())
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> aiops_core::Result<()> {
        self.sent.lock().expect("lock").push((token.to_string(), json!({"error": error, "cause": cause})));
        Ok(())
    }
}

/// The four stores the handlers use, all backed by one store of `backend`.
struct Stores {
    state: Arc<dyn StateStore>,
    audit: Arc<dyn AuditLog>,
    approvals: Arc<dyn ApprovalStore>,
    locks: Arc<dyn LockStore>,
}

impl Stores {
    async fn new(backend: Backend) -> Stores {
        match backend {
            Backend::Sqlite => {
                let s = Arc::new(aiops_local::SqliteStore::in_memory().expect("sqlite"));
                Stores { state: s.clone(), audit: s.clone(), approvals: s.clone(), locks: s }
            }
            Backend::Dynamo => {
                let moto = aiops_testkit::moto::shared().expect("moto (scripts/setup installs it)");
                let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .endpoint_url(moto.endpoint())
                    .region(aws_config::Region::new("eu-west-1"))
                    .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
                    .load()
                    .await;
                let s = Arc::new(aiops_aws::dynamo::DynamoStore::new(
                    &sdk,
                    aiops_aws::dynamo::TableNames::prefixed(&unique("k8s-write")),
                ));
                s.create_tables().await.expect("tables");
                Stores { state: s.clone(), audit: s.clone(), approvals: s.clone(), locks: s }
            }
        }
    }
}

/// One simulated cluster over the demo snapshot, the stores, and both handlers' dependencies.
pub struct World {
    pub sim: SimCluster,
    pub write: aiops_fn_k8s_write::Deps,
    pub approval: aiops_fn_approval::Deps,
    pub callbacks: Callbacks,
    pub investigation_id: String,
}

/// A proposal: tool, arguments and summary, as the reason step hands it on.
pub fn action(tool: &str, args: Value) -> Value {
    json!({"tool": tool, "args": args, "summary": format!("{tool} {args}")})
}

/// Sets the memory limit of payment-service's container (512Mi in the demo) to `limit`.
pub fn raise_memory(limit: &str) -> Value {
    action(
        "set_container_resources",
        json!({"namespace": NS, "deployment": DEPLOYMENT, "container": "app", "memory_limit": limit}),
    )
}

impl World {
    pub async fn new(backend: Backend) -> World {
        let dir = std::path::Path::new(&manifest_dir()).join("../../tests/snapshots/demo-oom-crashloop");
        let snapshot = Snapshot::load(&dir).expect("demo snapshot");
        let now = snapshot.captured_at;
        let sim = SimCluster::start(snapshot).await.expect("sim starts");
        let client = aiops_kube::from_url(&sim.url()).await.expect("client");
        let Stores { state, audit, approvals, locks } = Stores::new(backend).await;
        let write = aiops_fn_k8s_write::Deps {
            reader: Arc::new(aiops_kube::KubeReader::new(client.clone(), Some(now))),
            actuator: Arc::new(aiops_kube::KubeActuator::new(client)),
            state: state.clone(),
            audit: audit.clone(),
            approvals: approvals.clone(),
            locks,
            policy: Policy::default(),
        };
        let approval = aiops_fn_approval::Deps {
            state: state.clone(),
            audit: audit.clone(),
            approvals,
            notifier: Arc::new(aiops_local::RecordingNotifier::new()),
            links: ApprovalLinks::default(),
        };
        let inv = start_investigation(
            state.as_ref(),
            audit.as_ref(),
            StartRequest {
                question: "Why is the payment-service pod crashing?".into(),
                actor: "local:asker".into(),
                writes: true,
                ..StartRequest::default()
            },
            Timestamp::now(),
        )
        .await
        .expect("investigation");
        World { sim, write, approval, callbacks: Callbacks::default(), investigation_id: inv.id }
    }

    /// PlanAction: the policy, the dry run, the diff; returns the plan id.
    pub async fn plan(&self, call_id: &str, action: &Value) -> String {
        let out = aiops_fn_k8s_write::handle(
            &self.write,
            json!({"mode": "plan", "investigation_id": self.investigation_id, "call_id": call_id, "action": action}),
        )
        .await
        .expect("plan");
        assert_eq!(out["ok"], true, "the plan was refused: {out}");
        out["plan_id"].as_str().expect("plan id").to_string()
    }

    /// RequestApproval: records the request (pending) with its task token; returns its id.
    pub async fn request(&self, call_id: &str, action: &Value, plan_id: &str) -> String {
        let out = aiops_fn_approval::handle(
            &self.approval,
            json!({"mode": "request", "investigation_id": self.investigation_id, "call_id": call_id,
                   "action": action, "plan_id": plan_id, "timeout_seconds": 900,
                   "task_token": format!("token-{call_id}")}),
        )
        .await
        .expect("request");
        out["approval_id"].as_str().expect("approval id").to_string()
    }

    /// A decision by `by` at `now`, through the path the API and the CLI use.
    pub async fn decide_at(
        &self,
        approval_id: &str,
        approve: bool,
        by: &str,
        now: Timestamp,
    ) -> aiops_core::Result<ApprovalRequest> {
        let d = Decision {
            approve,
            by: by.into(),
            reason: (!approve).then(|| "not during the sale".into()),
            comment: None,
        };
        let a = &self.approval;
        decide(a.state.as_ref(), a.audit.as_ref(), a.approvals.as_ref(), &self.callbacks, approval_id, &d, now).await
    }

    pub async fn decide(&self, approval_id: &str, approve: bool, by: &str) -> aiops_core::Result<ApprovalRequest> {
        self.decide_at(approval_id, approve, by, Timestamp::now()).await
    }

    /// ExecuteAction with these ids.
    pub async fn execute(
        &self,
        call_id: &str,
        action: &Value,
        plan_id: Option<&str>,
        approval_id: Option<&str>,
    ) -> Result<Value, FnError> {
        aiops_fn_k8s_write::handle(
            &self.write,
            json!({"mode": "execute", "investigation_id": self.investigation_id, "call_id": call_id,
                   "action": action, "plan_id": plan_id, "approval_id": approval_id}),
        )
        .await
    }

    /// Plan, request and approve (by alice) one action; returns (plan id, approval id).
    pub async fn approved(&self, call_id: &str, action: &Value) -> (String, String) {
        let plan_id = self.plan(call_id, action).await;
        let approval_id = self.request(call_id, action, &plan_id).await;
        self.decide(&approval_id, true, "local:alice").await.expect("approve");
        (plan_id, approval_id)
    }

    /// payment-service as the simulated cluster holds it.
    pub fn deployment(&self) -> Value {
        self.sim.get(Kind::Deployment, Some(NS), DEPLOYMENT).expect("payment-service exists")
    }

    pub async fn events(&self) -> Vec<AuditEvent> {
        self.write.audit.events(&self.investigation_id).await.expect("events")
    }

    pub async fn approval(&self, id: &str) -> ApprovalRequest {
        self.write.approvals.get(id).await.expect("get").expect("approval exists")
    }
}

/// What a refused write must leave behind: the refusal (its stable error type, its reason),
/// the deployment's spec exactly as it was, and an `action_refused` event naming the reason on
/// a chain that verifies.
pub async fn assert_refused(w: &World, result: Result<Value, FnError>, error_type: &str, reason: &str, before: &Value) {
    let err = result.expect_err("the execution must be refused");
    assert_eq!(err.error_type, error_type, "{err}");
    assert!(err.message.contains(reason), "want {reason:?} in: {}", err.message);
    let after = w.deployment();
    assert_eq!(after["spec"], before["spec"], "the deployment's spec changed");
    assert_eq!(after["metadata"]["generation"], before["metadata"]["generation"], "the deployment changed");
    let events = w.events().await;
    assert!(
        events.iter().any(|e| matches!(&e.event,
            AuditKind::ActionRefused { reason: r, .. } if r.starts_with("execution refused") && r.contains(reason))),
        "no action_refused event naming {reason:?} in the trail: {:#?}",
        events.iter().map(|e| &e.event).collect::<Vec<_>>()
    );
    assert_eq!(verify_chain(&w.investigation_id, &events), Ok(()));
}

/// The memory limit of payment-service's container.
pub fn memory_limit(dep: &Value) -> Value {
    dep.pointer("/spec/template/spec/containers/0/resources/limits/memory").cloned().unwrap_or(Value::Null)
}

/// How many events of a type the trail holds.
pub fn count(events: &[AuditEvent], name: &str) -> usize {
    events.iter().filter(|e| e.event.name() == name).count()
}

/// A table prefix no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
