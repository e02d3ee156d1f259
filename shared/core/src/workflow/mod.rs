//! The investigation workflow's steps as library functions. The Lambda handlers in
//! `functions/*` call these (and the local engine calls those same handlers), so there is one
//! copy of the logic whether an investigation runs in Step Functions or on a laptop.
//!
//! The state machine passes only ids and small descriptors; transcripts and tool outputs live
//! in the [`StateStore`](crate::ports::StateStore).

pub mod approval;
mod events;
mod launch;
mod reason;
mod tool;
pub mod write;

pub use events::{CallDescriptor, ErrorInfo, ReasonEvent, ReasonOut, StepDescriptor, ToolEvent, ToolOutcome};
pub use launch::{Launched, launch};
pub use reason::{
    MAX_QUESTION_BYTES, StartRequest, fail, finalize, new_id, offered_tools, reason_step, start_investigation,
};
pub use tool::{record_tool_result, run_tool_call};

/// The actor the workflow's own events are recorded under.
pub const SYSTEM_ACTOR: &str = "system";

/// Workflow settings shared by the handlers.
#[derive(Debug, Clone)]
pub struct WorkflowConfig {
    pub budget: crate::agent::Budget,
    /// How long an approval may wait before it counts as rejected.
    pub approval_timeout_seconds: u64,
    /// Whether the AWS inspection tools (describe_cluster, CloudWatch, …) can run here: an EKS
    /// cluster is configured and the aws-read function has credentials. When they cannot, they
    /// are not offered to the model (they would only cost tokens and a turn).
    pub aws_tools: bool,
}

impl Default for WorkflowConfig {
    fn default() -> WorkflowConfig {
        WorkflowConfig { budget: crate::agent::Budget::default(), approval_timeout_seconds: 900, aws_tools: false }
    }
}

/// A handler's error as Step Functions sees it: a stable error type (`Aiops.Throttled`, …,
/// never `States.*`) that the ASL's `Retry` and `Catch` match, and a message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FnError {
    pub error_type: String,
    pub message: String,
}

impl From<crate::error::Error> for FnError {
    fn from(e: crate::error::Error) -> FnError {
        FnError { error_type: e.class().error_type().to_string(), message: e.to_string() }
    }
}

impl std::fmt::Display for FnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for FnError {}

/// Decodes a handler's event, or says what is wrong with it.
///
/// # Errors
/// An `Aiops.InvalidInput` [`FnError`].
pub fn parse_event<T: serde::de::DeserializeOwned>(event: serde_json::Value) -> Result<T, FnError> {
    serde_json::from_value(event).map_err(|e| FnError {
        error_type: crate::ErrorClass::InvalidInput.error_type().to_string(),
        message: format!("the event does not have the expected shape: {e}"),
    })
}

/// Encodes a handler's output.
pub fn to_output<T: serde::Serialize>(out: &T) -> serde_json::Value {
    serde_json::to_value(out).unwrap_or(serde_json::Value::Null)
}
