//! The aws-read function: one AWS inspection tool call of the Map state (describe_cluster,
//! list_nodegroups, get_node_health, get_cloudwatch_metrics, get_cloudwatch_logs). Thin: the
//! tools are `aiops_aws::inspector::AwsInspector`; recording is
//! `aiops_core::workflow::record_tool_result`.

use std::sync::Arc;

use aiops_aws::inspector::AwsInspector;
use aiops_core::ports::{AuditLog, ClusterReader, StateStore};
use aiops_core::workflow::{self, FnError, ToolEvent};
use serde_json::Value;

/// What the function needs, built once per container.
#[derive(Clone)]
pub struct Deps {
    pub inspector: Arc<AwsInspector>,
    /// Kubernetes node conditions for get_node_health, when the cluster is reachable.
    pub reader: Option<Arc<dyn ClusterReader>>,
    pub state: Arc<dyn StateStore>,
    pub audit: Arc<dyn AuditLog>,
    pub max_result_bytes: usize,
}

/// Handles one tool call.
///
/// # Errors
/// Throttled/transient failures (retried by the state machine); other failures are results.
pub async fn handle(deps: &Deps, event: Value) -> Result<Value, FnError> {
    let ev: ToolEvent = workflow::parse_event(event)?;
    let result = deps.inspector.run(deps.reader.as_deref(), &ev.call.tool, &ev.call.args).await;
    let out =
        workflow::record_tool_result(deps.state.as_ref(), deps.audit.as_ref(), deps.max_result_bytes, &ev, result)
            .await?;
    Ok(workflow::to_output(&out))
}
