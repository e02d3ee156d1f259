//! The diagnose function: one diagnostic tool call of the Map state — analyze_pod_issues (the
//! analyzers over a pod, deployment or namespace), check_resource_usage (requests and limits
//! against metrics-server usage, else Container Insights; OOM history, node allocation) and
//! connectivity_test (the path from a client to a Service, hop by hop); sized for gathering a
//! whole namespace. Thin: the logic is `aiops_core::workflow::run_tool_call` over the
//! `ClusterReader` port.

use std::sync::Arc;

use aiops_core::ports::{AuditLog, ClusterReader, StateStore, UsageSource};
use aiops_core::workflow::{self, FnError, ToolEvent};
use serde_json::Value;

/// What the function needs, built once per container.
#[derive(Clone)]
pub struct Deps {
    pub reader: Arc<dyn ClusterReader>,
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    /// Usage from outside the cluster (Container Insights) for check_resource_usage when the
    /// cluster serves no metrics API; `None` without one (local snapshots).
    pub usage: Option<Arc<dyn UsageSource>>,
    /// Bytes of a result the model sees.
    pub max_result_bytes: usize,
}

/// Handles one tool call.
///
/// # Errors
/// Throttled/transient failures (retried by the state machine); other failures are results.
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, FnError> {
    let ev: ToolEvent = workflow::parse_event(event)?;
    let out = workflow::run_tool_call(
        deps.reader.as_ref(),
        deps.state.as_ref(),
        deps.audit.as_ref(),
        deps.usage.as_deref(),
        deps.max_result_bytes,
        ev,
    )
    .await?;
    Ok(workflow::to_output(&out))
}
