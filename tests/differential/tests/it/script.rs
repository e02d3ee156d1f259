//! Scripts: what each Lambda returns, in invocation order, and what the approver does. The
//! outputs are built from aiops-core's workflow types, so they have the shapes the real
//! handlers return.

use aiops_core::agent::ProposedAction;
use aiops_core::workflow::{CallDescriptor, ReasonOut, StepDescriptor, ToolOutcome};
use serde_json::{Value, json};

/// One Lambda invocation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The function returned this payload.
    Returns(Value),
    /// The function failed: `errorType` (what Retry/Catch match) and `errorMessage`.
    Fails { error_type: String, message: String },
}

/// What the approver does once the approval task waits on its token.
#[derive(Debug, Clone, PartialEq)]
pub enum Approver {
    /// `SendTaskSuccess` with this decision (the output of `workflow::approval::decide`).
    Decides(Value),
    /// Nothing: the task's `TimeoutSecondsPath` fires.
    Silent,
}

/// One execution: its name, its input, every reply in invocation order, the approver.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The execution name (executions are always named).
    pub name: &'static str,
    /// The execution input, as local mode and the API start it.
    pub input: Value,
    /// The Lambda outputs, in the order the tasks are invoked. Tasks of a Map's concurrent
    /// iterations take the next reply in whatever order they run, on both sides (moto's queue
    /// is one FIFO for every function of a region), so such replies should be interchangeable.
    pub replies: Vec<Reply>,
    /// Set when the execution reaches RequestApproval.
    pub approver: Option<Approver>,
}

/// The investigation every scenario works on.
pub const INVESTIGATION: &str = "inv-20261130T100000-3f9a1c";

/// The execution input (`{"investigation_id", "approval_timeout_seconds"}`, as `cli/src/local.rs`
/// and the API start executions).
pub fn input(approval_timeout_seconds: u64) -> Value {
    json!({"investigation_id": INVESTIGATION, "approval_timeout_seconds": approval_timeout_seconds})
}

fn reason(step: StepDescriptor, approval_timeout_seconds: u64) -> Reply {
    let out = ReasonOut { investigation_id: INVESTIGATION.to_owned(), step, approval_timeout_seconds };
    Reply::Returns(aiops_core::workflow::to_output(&out))
}

/// Reason: run these tools, `(call id, tool, args, home)`.
pub fn reason_tools(calls: &[(&str, &str, Value, &str)]) -> Reply {
    let calls = calls
        .iter()
        .map(|(id, tool, args, home)| CallDescriptor {
            id: (*id).to_owned(),
            tool: (*tool).to_owned(),
            args: args.clone(),
            home: (*home).to_owned(),
        })
        .collect();
    reason(StepDescriptor::Tools { calls }, 900)
}

/// Reason: propose raising the payment service's memory limit (the demo's OOMKilled pod), with
/// this approval timeout.
pub fn reason_propose(call_id: &str, approval_timeout_seconds: u64) -> Reply {
    let action = ProposedAction {
        tool: "set_container_resources".to_owned(),
        args: json!({"namespace": "shop", "deployment": "payment-service", "container": "app", "memory_limit": "1Gi"}),
        summary: "Raise the memory limit of shop/payment-service (app) from 512Mi to 1Gi".to_owned(),
    };
    reason(StepDescriptor::Propose { call_id: call_id.to_owned(), action }, approval_timeout_seconds)
}

/// Reason: the answer is stored.
pub fn reason_answer(approval_timeout_seconds: u64) -> Reply {
    reason(StepDescriptor::Answer, approval_timeout_seconds)
}

/// A read or diagnostic tool that ran; its result is stored under the call id.
pub fn tool_ok(call_id: &str) -> Reply {
    let out = ToolOutcome {
        call_id: call_id.to_owned(),
        ok: true,
        error: None,
        cause: None,
        data_ref: Some(call_id.to_owned()),
    };
    Reply::Returns(aiops_core::workflow::to_output(&out))
}

/// A handler failing as `parse_event` fails it: `Aiops.InvalidInput`.
pub fn invalid_input(message: &str) -> Reply {
    Reply::Fails {
        error_type: "Aiops.InvalidInput".to_owned(),
        message: format!("the event does not have the expected shape: {message}"),
    }
}

/// The write function's plan: the dry run passed.
pub fn plan_ok() -> Reply {
    Reply::Returns(json!({
        "ok": true,
        "plan_id": "plan-5d2c0e7a91b84f36",
        "text": "Dry run passed. Diff:\n  spec.template.spec.containers[app].resources.limits.memory: 512Mi -> 1Gi",
    }))
}

/// The approval function's request: recorded, approvers notified.
pub fn approval_pending() -> Reply {
    Reply::Returns(json!({"approval_id": APPROVAL, "status": "pending"}))
}

/// The approval function's expiry.
pub fn approval_expired() -> Reply {
    Reply::Returns(json!({"approval_id": APPROVAL, "status": "expired"}))
}

/// The write function's execution: patched and verified.
pub fn executed() -> Reply {
    Reply::Returns(json!({
        "ok": true,
        "action_id": "act-0b9e44c1d7a2f35e",
        "text": "Patched deployment shop/payment-service: memory limit of app 512Mi -> 1Gi.",
        "verification": "rollout complete: 2/2 pods ready",
    }))
}

/// The reason function's finalize step.
pub fn finalized() -> Reply {
    Reply::Returns(json!({"investigation_id": INVESTIGATION, "status": "succeeded"}))
}

/// The approval every proposal here waits on.
pub const APPROVAL: &str = "apr-7c1e2a9b40d3";

/// What `workflow::approval::decide` sends with the task token.
pub fn decision(approve: bool) -> Value {
    let (word, reason) = if approve { ("approved", None) } else { ("rejected", Some("not during the sale")) };
    json!({
        "approved": approve,
        "decision": word,
        "approval_id": APPROVAL,
        "by": "arn:aws:iam::123456789012:user/alice",
        "reason": reason,
        "comment": null,
    })
}
