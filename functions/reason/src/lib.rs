//! The reason function: one reasoning step of an investigation (`mode` absent), or its
//! closing steps (`mode: finalize`, `mode: fail`). Thin: the logic is
//! `aiops_core::workflow::{reason_step, finalize, fail}`.

use std::sync::Arc;

use aiops_core::ports::{AuditLog, Notifier, Reasoner, StateStore};
use aiops_core::workflow::{self, FnError, ReasonEvent, WorkflowConfig};
use serde_json::Value;

/// What the reason function needs, built once per container.
#[derive(Clone)]
pub struct Deps {
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    pub reasoner: Arc<dyn Reasoner>,
    pub notifier: Arc<dyn Notifier>,
    pub config: WorkflowConfig,
}

/// Handles one event.
///
/// # Errors
/// A [`FnError`] with a stable `Aiops.*` type; throttled and transient ones are retried by
/// the state machine.
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, FnError> {
    let ev: ReasonEvent = workflow::parse_event(event)?;
    let now = jiff::Timestamp::now();
    match ev.mode.as_deref() {
        None => Ok(workflow::to_output(
            &workflow::reason_step(
                deps.state.as_ref(),
                deps.audit.as_ref(),
                deps.reasoner.as_ref(),
                &deps.config,
                ev,
                now,
            )
            .await?,
        )),
        Some("finalize") => {
            Ok(workflow::finalize(deps.state.as_ref(), deps.audit.as_ref(), deps.notifier.as_ref(), &ev, now).await?)
        }
        Some("fail") => Ok(workflow::fail(deps.state.as_ref(), deps.audit.as_ref(), &ev, now).await?),
        Some(other) => Err(FnError {
            error_type: "Aiops.InvalidInput".into(),
            message: format!("unknown mode {other:?}: expected finalize or fail"),
        }),
    }
}
