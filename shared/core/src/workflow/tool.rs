//! One tool call of the Map state: run it, redact and bound its output, store it, audit it.

use serde_json::json;

use super::SYSTEM_ACTOR;
use super::events::{ToolEvent, ToolOutcome};
use crate::agent::audit::{AuditKind, digest};
use crate::agent::redact::{redact, redact_json};
use crate::error::Result;
use crate::ports::{AuditLog, ClusterReader, StateStore};
use crate::tools::{self, ToolOutput, bound_text};

/// Runs a read or diagnostic tool against the cluster. A retryable failure (throttled,
/// transient) is returned as an error so the workflow's Retry applies; any other failure is a
/// result the model sees (`ok: false` with the message). `usage` is the usage source outside
/// the cluster (Container Insights) that check_resource_usage falls back on; `None` for tools
/// that need none.
///
/// # Errors
/// Throttled or transient backend errors, and store errors.
pub async fn run_tool_call(
    reader: &dyn ClusterReader,
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    usage: Option<&dyn crate::ports::UsageSource>,
    max_bytes: usize,
    ev: ToolEvent,
) -> Result<ToolOutcome> {
    let result = tools::run_with(reader, usage, &ev.call.tool, &ev.call.args).await;
    record_tool_result(state, audit, max_bytes, &ev, result).await
}

/// Redacts, bounds, stores and audits a tool's result (any tool runner's: the Kubernetes read
/// tools, the AWS tools). A retryable failure is returned as an error for the workflow's Retry.
///
/// # Errors
/// Throttled or transient backend errors, and store errors.
pub async fn record_tool_result(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    max_bytes: usize,
    ev: &ToolEvent,
    result: Result<ToolOutput>,
) -> Result<ToolOutcome> {
    let call = &ev.call;
    let inv = &ev.investigation_id;
    let (ok, text, data, error) = match result {
        Ok(out) => {
            let mut data = out.data;
            redact_json(&mut data);
            (true, bound_text(redact(&out.text).into_owned(), max_bytes), Some(data), None)
        }
        Err(e) if e.class().is_retryable() => return Err(e),
        Err(e) => (false, format!("error: {}", redact(&e.to_string())), None, Some(e.class().error_type().to_string())),
    };
    let mut stored = json!({"ok": ok, "text": text});
    if let Some(d) = data {
        stored["data"] = d;
    }
    state.put_result(inv, &call.id, &stored).await?;
    audit
        .append(
            inv,
            SYSTEM_ACTOR,
            AuditKind::ToolCall {
                tool: call.tool.clone(),
                args: call.args.clone(),
                ok,
                result_digest: digest(&text),
                result_bytes: text.len(),
            },
        )
        .await?;
    Ok(ToolOutcome {
        call_id: call.id.clone(),
        ok,
        error,
        cause: (!ok).then(|| text.clone()),
        data_ref: Some(call.id.clone()),
    })
}
