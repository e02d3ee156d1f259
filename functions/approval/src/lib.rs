//! The approval function: the `.waitForTaskToken` task that records an approval request bound
//! to the planned action and notifies approvers (`mode: request`), and the expiry of a request
//! whose wait timed out (`mode: expire`). Thin: the logic is `aiops_core::workflow::approval`.

use std::sync::Arc;

use aiops_core::ports::{ApprovalStore, AuditLog, Notifier, StateStore};
use aiops_core::workflow::approval::{self, ApprovalEvent, ApprovalLinks};
use aiops_core::workflow::{self, FnError};
use serde_json::Value;

/// What the function needs, built once per container.
#[derive(Clone)]
pub struct Deps {
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    pub approvals: Arc<dyn ApprovalStore>,
    pub notifier: Arc<dyn Notifier>,
    pub links: ApprovalLinks,
}

/// Handles one event.
///
/// # Errors
/// A [`FnError`] with a stable `Aiops.*` type.
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, FnError> {
    let ev: ApprovalEvent = workflow::parse_event(event)?;
    let now = jiff::Timestamp::now();
    match ev.mode.as_str() {
        "request" => Ok(approval::request(
            deps.state.as_ref(),
            deps.audit.as_ref(),
            deps.approvals.as_ref(),
            deps.notifier.as_ref(),
            &deps.links,
            &ev,
            now,
        )
        .await?),
        "expire" => {
            Ok(approval::expire(deps.state.as_ref(), deps.audit.as_ref(), deps.approvals.as_ref(), &ev, now).await?)
        }
        other => Err(FnError {
            error_type: "Aiops.InvalidInput".into(),
            message: format!("unknown mode {other:?}: expected request or expire"),
        }),
    }
}
