//! The k8s-write function: plans a write (`mode: plan`: policy, dry run, diff) and executes it
//! (`mode: execute`) only with an approved approval record for exactly this action. Thin: the
//! logic is `aiops_core::workflow::write`.

use std::sync::Arc;

use aiops_core::policy::Policy;
use aiops_core::ports::{ApprovalStore, AuditLog, ClusterActuator, ClusterReader, LockStore, StateStore};
use aiops_core::workflow::write::{self, WriteDeps, WriteEvent};
use aiops_core::workflow::{self, FnError};
use serde_json::Value;

/// What the function needs, built once per container.
#[derive(Clone)]
pub struct Deps {
    pub reader: Arc<dyn ClusterReader>,
    pub actuator: Arc<dyn ClusterActuator>,
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    pub approvals: Arc<dyn ApprovalStore>,
    pub locks: Arc<dyn LockStore>,
    pub policy: Policy,
}

impl Deps {
    /// The borrowed form the workflow functions take.
    pub fn write_deps(&self) -> WriteDeps<'_> {
        WriteDeps {
            reader: self.reader.as_ref(),
            actuator: self.actuator.as_ref(),
            state: self.state.as_ref(),
            audit: self.audit.as_ref(),
            approvals: self.approvals.as_ref(),
            locks: self.locks.as_ref(),
            policy: &self.policy,
        }
    }
}

/// Handles one event.
///
/// # Errors
/// A [`FnError`]: `Aiops.Forbidden` when no matching approval allows the action,
/// `Aiops.Conflict` when the object changed or is locked, throttled/transient (retried).
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, FnError> {
    let ev: WriteEvent = workflow::parse_event(event)?;
    let now = jiff::Timestamp::now();
    match ev.mode.as_str() {
        "plan" => Ok(write::plan(&deps.write_deps(), &ev, now).await?),
        "execute" => Ok(write::execute(&deps.write_deps(), &ev, now).await?),
        other => Err(FnError {
            error_type: "Aiops.InvalidInput".into(),
            message: format!("unknown mode {other:?}: expected plan or execute"),
        }),
    }
}
