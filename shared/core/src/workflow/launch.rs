//! Starting an investigation end to end: the record, the question, and the execution that
//! works on it. One copy for every entry point (the API, the sweep, the CLI's local mode).

use jiff::Timestamp;
use serde_json::json;

use super::reason::{StartRequest, start_investigation};
use crate::agent::Investigation;
use crate::error::Result;
use crate::ports::{AuditLog, ExecutionStarter, StateStore};

/// An investigation and the execution started for its latest question.
#[derive(Debug, Clone)]
pub struct Launched {
    pub investigation: Investigation,
    /// The execution's name: `<investigation id>-<number of messages>`, unique per question.
    pub execution_name: String,
    /// What the starter returned (an execution ARN in the cloud).
    pub execution_id: String,
}

/// Records the question (see [`start_investigation`]) and starts the state machine on it with
/// the input the ASL expects.
///
/// # Errors
/// As [`start_investigation`]; the starter's errors.
pub async fn launch(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    starter: &dyn ExecutionStarter,
    req: StartRequest,
    approval_timeout_seconds: u64,
    now: Timestamp,
) -> Result<Launched> {
    let investigation = start_investigation(state, audit, req, now).await?;
    let n = state.messages(&investigation.id).await?.len();
    let execution_name = format!("{}-{n}", investigation.id);
    let input = json!({"investigation_id": investigation.id, "approval_timeout_seconds": approval_timeout_seconds});
    let execution_id = starter.start_execution(&execution_name, &input).await?;
    Ok(Launched { investigation, execution_name, execution_id })
}
