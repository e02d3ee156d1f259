//! The JSON the state machine passes between states (kept small: ids and descriptors).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::ProposedAction;

/// A Step Functions error caught by a `Catch` (`{"Error": …, "Cause": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// One tool call as the Map state routes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallDescriptor {
    pub id: String,
    pub tool: String,
    pub args: Value,
    /// Which Lambda serves it: `k8s-read`, `aws-read` or `diagnose`.
    pub home: String,
}

/// What the Reason state returns: the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepDescriptor {
    /// Run these tools (possibly none, when every call was refused), then reason again.
    Tools { calls: Vec<CallDescriptor> },
    /// Plan this write and ask for approval.
    Propose { call_id: String, action: ProposedAction },
    /// The answer is stored; finalize.
    Answer,
}

/// The output of the Reason task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonOut {
    pub investigation_id: String,
    pub step: StepDescriptor,
    /// Carried through the execution for the approval task's timeout.
    pub approval_timeout_seconds: u64,
}

/// The outcome of one tool call (the Map's item result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutcome {
    pub call_id: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Key of the stored result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_ref: Option<String>,
}

/// The input of a tool task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolEvent {
    pub investigation_id: String,
    pub call: CallDescriptor,
}

/// The input of the Reason task: the whole (small) execution state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasonEvent {
    pub investigation_id: String,
    /// `finalize` or `fail` for the closing tasks; absent for a reasoning step.
    #[serde(default)]
    pub mode: Option<String>,
    /// The previous step (present after tools or an approval).
    #[serde(default)]
    pub step: Option<StepDescriptor>,
    /// Results of the tools the previous step asked for.
    #[serde(default)]
    pub outcomes: Option<Vec<ToolOutcome>>,
    /// The write plan (dry run), or its refusal.
    #[serde(default)]
    pub plan: Option<Value>,
    /// The approval decision.
    #[serde(default)]
    pub decision: Option<Value>,
    /// The approval timed out.
    #[serde(default)]
    pub approval_timeout: Option<ErrorInfo>,
    /// The executed action's result.
    #[serde(default)]
    pub executed: Option<Value>,
    /// The write failed.
    #[serde(default)]
    pub action_error: Option<ErrorInfo>,
    /// A failure caught by the catch-all.
    #[serde(default)]
    pub failure: Option<ErrorInfo>,
    /// How long an approval may wait (from the execution input, carried along).
    #[serde(default)]
    pub approval_timeout_seconds: Option<u64>,
}
