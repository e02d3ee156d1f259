//! Ports: the traits adapters implement (kube-rs, AWS SDK, SQLite, …). Object-safe, used as
//! `Arc<dyn Port>`.

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Result;
use crate::kinds::Kind;

/// Which objects a list covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// A namespace, or every namespace when `None` (ignored for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// A Kubernetes label selector (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// A Kubernetes field selector (`involvedObject.name=web-1`).
    pub field_selector: Option<String>,
}

impl Scope {
    /// Every object of a kind in every namespace.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Every object of a kind in one namespace, or everywhere for `None`.
    pub fn namespace(ns: Option<&str>) -> Scope {
        Scope { namespace: ns.map(str::to_string), ..Scope::default() }
    }
}

/// A request for a container's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRequest {
    pub namespace: String,
    pub pod: String,
    /// The container; the pod's only (or default) container when `None`.
    pub container: Option<String>,
    /// The previous, terminated instance of the container.
    pub previous: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub timestamps: bool,
    /// Ask the server to stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

/// Read access to a cluster: the only way tools and analyzers fetch Kubernetes objects.
///
/// Implementations return objects as the API server serves them (JSON with `apiVersion` and
/// `kind`), follow pagination, and never return Secret values (metadata only). All methods are
/// read-only and idempotent.
#[async_trait::async_trait]
pub trait ClusterReader: Send + Sync {
    /// Lists objects of `kind` in `scope`, following `continue` tokens.
    ///
    /// # Errors
    /// `Error::Backend` classified as throttled, transient, forbidden or fatal.
    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Value>>;

    /// Gets one object; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// `Error::Backend` as for [`ClusterReader::list`].
    async fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>>;

    /// Reads a container log as text.
    ///
    /// # Errors
    /// `Error::NotFound` when the pod or container (or its previous instance) does not exist.
    async fn logs(&self, request: &LogRequest) -> Result<String>;

    /// "Now" for ages and windows: the wall clock for a live cluster, the capture time for a
    /// snapshot.
    fn now(&self) -> Timestamp;
}

/// Decides the next step of an investigation (Bedrock, or the offline reasoner).
#[async_trait::async_trait]
pub trait Reasoner: Send + Sync {
    /// `offline` or the model id.
    fn name(&self) -> String;

    /// One reasoning step. Not idempotent for a model (sampling); deterministic offline.
    ///
    /// # Errors
    /// `Error::Backend` classified throttled/transient (retryable by the workflow) or fatal.
    async fn next(&self, input: &crate::agent::ReasonInput<'_>) -> Result<crate::agent::ReasonOutput>;
}

/// Investigation state: records, transcripts and tool results. Mutable (unlike the audit
/// trail); keyed by investigation id.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// Creates or replaces an investigation record. Idempotent.
    async fn put_investigation(&self, investigation: &crate::agent::Investigation) -> Result<()>;

    /// Reads an investigation record.
    async fn get_investigation(&self, id: &str) -> Result<Option<crate::agent::Investigation>>;

    /// Lists investigations, newest first, optionally by status; `after` is the cursor a
    /// previous page returned.
    async fn list_investigations(
        &self,
        status: Option<crate::agent::InvestigationStatus>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<crate::agent::Investigation>, Option<String>)>;

    /// Appends message `index` (0-based) of a transcript.
    ///
    /// # Errors
    /// `Conflict` when that index exists already (a replayed step never overwrites).
    async fn append_message(&self, id: &str, index: u32, message: &crate::agent::Message) -> Result<()>;

    /// The transcript, in order.
    async fn messages(&self, id: &str) -> Result<Vec<crate::agent::Message>>;

    /// Stores a tool result's typed data under `key`. Idempotent.
    async fn put_result(&self, id: &str, key: &str, data: &Value) -> Result<()>;

    /// Every stored tool result of an investigation, by key.
    async fn results(&self, id: &str) -> Result<std::collections::BTreeMap<String, Value>>;

    /// Stores a document (sweep state, locks' metadata, …) under a global key. Idempotent.
    async fn put_doc(&self, key: &str, doc: &Value) -> Result<()>;

    /// Reads a document.
    async fn get_doc(&self, key: &str) -> Result<Option<Value>>;

    /// Stores a document under `key` only if none is stored there (a conditional write, so
    /// of two concurrent calls exactly one wins); `Ok(false)`, writing nothing, when one is.
    /// The API's idempotency keys use it.
    async fn create_doc(&self, key: &str, doc: &Value) -> Result<bool>;
}

/// The append-only, hash-chained audit trail.
#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an event after the investigation's last one (conditional write; retried on a
    /// concurrent append, so no event is lost or duplicated). Also emits it as one JSON log
    /// line.
    async fn append(
        &self,
        investigation_id: &str,
        actor: &str,
        event: crate::agent::audit::AuditKind,
    ) -> Result<crate::agent::audit::AuditEvent>;

    /// Every event of an investigation, by sequence.
    async fn events(&self, investigation_id: &str) -> Result<Vec<crate::agent::audit::AuditEvent>>;

    /// Events of one UTC day (`2025-11-30`) across investigations.
    async fn events_on(&self, day: &str) -> Result<Vec<crate::agent::audit::AuditEvent>>;

    /// A page of an investigation's trail: at most `limit` events whose sequence number is
    /// above `after`, by sequence (`after = 0` for the first page, the last event's `seq` for
    /// the next). Read-only.
    ///
    /// # Errors
    /// `InvalidInput` when `limit` is 0; store errors.
    async fn events_after(
        &self,
        investigation_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::agent::audit::AuditEvent>>;
}

/// Sends notifications (SNS in the cloud, the terminal locally).
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one message. Not idempotent (a retry may notify twice).
    async fn notify(&self, subject: &str, body: &str) -> Result<()>;
}

/// Approval requests and their decisions. The store keeps each request's task token
/// server-side; decisions are conditional writes, so a request is decided once.
#[async_trait::async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Stores a new pending request with the token that resumes its workflow.
    ///
    /// # Errors
    /// `Conflict` when the id exists.
    async fn create(&self, request: &crate::agent::approval::ApprovalRequest, task_token: &str) -> Result<()>;

    /// Reads a request.
    async fn get(&self, id: &str) -> Result<Option<crate::agent::approval::ApprovalRequest>>;

    /// Lists requests, newest first, optionally by status.
    async fn list(
        &self,
        status: Option<crate::agent::approval::ApprovalStatus>,
    ) -> Result<Vec<crate::agent::approval::ApprovalRequest>>;

    /// Decides a pending request at `now`; returns the decided request and its task token.
    /// A request past its expiry becomes Expired instead and the decision is refused.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` when it is not pending (a second decision) or has expired.
    async fn decide(
        &self,
        id: &str,
        decision: &crate::agent::approval::Decision,
        now: Timestamp,
    ) -> Result<(crate::agent::approval::ApprovalRequest, String)>;

    /// Marks a pending request expired (the workflow's approval timeout). Idempotent.
    async fn expire(&self, id: &str, now: Timestamp) -> Result<crate::agent::approval::ApprovalRequest>;

    /// Consumes an approved request for exactly `action_hash`: Approved → Used, once.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` when it is not approved, already used, or bound to another hash.
    async fn consume(
        &self,
        id: &str,
        action_hash: &str,
        now: Timestamp,
    ) -> Result<crate::agent::approval::ApprovalRequest>;
}

/// Resumes a workflow waiting on a task token (Step Functions SendTask*, or the local engine).
#[async_trait::async_trait]
pub trait TaskCallback: Send + Sync {
    /// SendTaskSuccess.
    async fn succeed(&self, token: &str, output: &Value) -> Result<()>;
    /// SendTaskFailure.
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<()>;
}

/// A patch to apply to an object.
#[derive(Debug, Clone, PartialEq)]
pub enum WritePatch {
    /// RFC 7386 JSON merge patch.
    Merge(Value),
    /// Kubernetes strategic merge patch.
    Strategic(Value),
    /// RFC 6902 JSON patch.
    Json(Value),
}

/// Write access to a cluster, used only by the write Lambda after an approval was checked.
/// A separate identity from the reader in the cloud.
#[async_trait::async_trait]
pub trait ClusterActuator: Send + Sync {
    /// Patches a Deployment. With `dry_run` the API server validates and returns the result
    /// without persisting it (dryRun=All). A patch carrying `metadata.resourceVersion` fails
    /// with `Conflict` when the object changed since.
    ///
    /// # Errors
    /// `NotFound`, `Conflict`, `Forbidden`, `InvalidInput` (the server refused the change).
    async fn patch_deployment(&self, namespace: &str, name: &str, patch: &WritePatch, dry_run: bool) -> Result<Value>;
}

/// One action at a time per object: locks taken with a conditional write, with an expiry.
#[async_trait::async_trait]
pub trait LockStore: Send + Sync {
    /// Takes the lock on `key` for `owner` until `now + ttl_seconds`; `Ok(false)` when someone
    /// else holds an unexpired lock. Taking a lock one already holds renews it.
    async fn try_lock(&self, key: &str, owner: &str, ttl_seconds: i64, now: Timestamp) -> Result<bool>;

    /// Releases the lock if `owner` holds it. Idempotent.
    async fn unlock(&self, key: &str, owner: &str) -> Result<()>;
}

/// Starts an execution of the investigation state machine: StartExecution in the cloud, the
/// local engine on a laptop. Used by [`crate::workflow::launch`] (the API, the sweep, the CLI).
#[async_trait::async_trait]
pub trait ExecutionStarter: Send + Sync {
    /// Starts an execution named `name` (unique per question of an investigation) with `input`;
    /// returns its id (an execution ARN in the cloud).
    ///
    /// # Errors
    /// `Conflict` when an execution of that name exists; backend errors.
    async fn start_execution(&self, name: &str, input: &Value) -> Result<String>;
}

/// Asks for a health sweep to run now, elsewhere: in the cloud, an asynchronous invocation of
/// the sweep function (the API answers 202 and the sweep's report lands where the scheduled
/// ones do). Locally the API runs the sweep itself and needs none.
#[async_trait::async_trait]
pub trait SweepTrigger: Send + Sync {
    /// Queues one sweep with `event` (see [`crate::sweep::requested_event`]); returns the id the
    /// backend gave the request.
    ///
    /// # Errors
    /// Backend errors (a missing function, a caller without permission to invoke it).
    async fn trigger(&self, event: &Value) -> Result<String>;
}

/// Health sweeps' storage: the latest sweep (to diff the next against) and the claims that keep
/// one investigation per root cause. SQLite locally, the DynamoDB state table in the cloud.
#[async_trait::async_trait]
pub trait SweepStore: Send + Sync {
    /// The latest stored sweep; `None` before the first. Read-only.
    ///
    /// # Errors
    /// Store errors; `Fatal` when the stored sweep cannot be read back.
    async fn latest_sweep(&self) -> Result<Option<crate::sweep::SweepReport>>;

    /// Stores `report` as the latest sweep (and keeps it in the history) only if the latest is
    /// still the sweep `previous` names (`None`: there is none): a compare-and-swap, so of two
    /// concurrent sweeps that read the same latest, one is stored. `Ok(false)`, changing
    /// nothing the next sweep reads, when another sweep got there first.
    ///
    /// # Errors
    /// `Conflict` when a sweep with this id is stored already; store errors.
    async fn save_sweep(&self, report: &crate::sweep::SweepReport, previous: Option<&str>) -> Result<bool>;

    /// The claim on a root cause (a finding identity), if any. Read-only.
    async fn get_claim(&self, identity: &str) -> Result<Option<crate::sweep::InvestigationClaim>>;

    /// Writes `claim` only if the root cause's stored claim is still the one for investigation
    /// `replacing` (`None`: there is none): a conditional write, so of two concurrent sweeps
    /// exactly one takes a root cause. `Ok(false)`, writing nothing, when it lost.
    async fn put_claim(&self, claim: &crate::sweep::InvestigationClaim, replacing: Option<&str>) -> Result<bool>;

    /// Deletes the root cause's claim if it is still the one for `investigation_id` (an
    /// investigation that failed to start). Idempotent.
    async fn release_claim(&self, identity: &str, investigation_id: &str) -> Result<()>;
}

/// One pod's usage as a monitoring service outside the cluster reports it: on EKS, Container
/// Insights' share of the pod's limits (the last datapoint of a short window).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PodUsageSample {
    pub namespace: String,
    /// The pod (`per_pod`), or the workload whose pods the figure averages (Container
    /// Insights publishes pod metrics under the workload's name unless enhanced observability
    /// adds `FullPodName`).
    pub pod: String,
    /// Whether `pod` names one pod rather than a workload.
    pub per_pod: bool,
    /// CPU used, percent of the pod's CPU limit.
    pub cpu_pct_of_limit: Option<f64>,
    /// Memory working set, percent of the pod's memory limit.
    pub memory_pct_of_limit: Option<f64>,
    /// When the newest datapoint was taken.
    pub at: Option<Timestamp>,
}

/// Usage from outside the cluster, for when the cluster serves no resource metrics API
/// (metrics-server): Container Insights on EKS. check_resource_usage asks it then.
#[async_trait::async_trait]
pub trait UsageSource: Send + Sync {
    /// Its name in results (`Container Insights`).
    fn name(&self) -> &str;

    /// The pods of a namespace (every namespace for `None`) that it has figures for in the
    /// last `minutes`.
    ///
    /// # Errors
    /// Backend errors (access denied names the IAM action).
    async fn pod_usage(&self, namespace: Option<&str>, minutes: i64) -> Result<Vec<PodUsageSample>>;
}
