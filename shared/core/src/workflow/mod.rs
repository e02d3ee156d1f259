//! The investigation workflow's steps as library functions. The Lambda handlers in
//! `functions/*` call these (and the local engine calls those same handlers), so there is one
//! copy of the logic whether an investigation runs in Step Functions or on a laptop.
//!
//! The state machine passes only ids and small descriptors; transcripts and tool outputs live
//! in the [`StateStore`](crate::ports::StateStore).

mod events;
mod reason;
mod tool;
pub mod write;

pub use events::{CallDescriptor, ErrorInfo, ReasonEvent, ReasonOut, StepDescriptor, ToolEvent, ToolOutcome};
pub use reason::{StartRequest, fail, finalize, reason_step, start_investigation};
pub use tool::run_tool_call;

/// The actor the workflow's own events are recorded under.
pub const SYSTEM_ACTOR: &str = "system";

/// Workflow settings shared by the handlers.
#[derive(Debug, Clone)]
pub struct WorkflowConfig {
    pub budget: crate::agent::Budget,
    /// How long an approval may wait before it counts as rejected.
    pub approval_timeout_seconds: u64,
}

impl Default for WorkflowConfig {
    fn default() -> WorkflowConfig {
        WorkflowConfig { budget: crate::agent::Budget::default(), approval_timeout_seconds: 900 }
    }
}
