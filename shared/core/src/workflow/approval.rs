//! The approval task: records a request bound to the planned action and notifies approvers;
//! expires it when the workflow's timeout fires; and the decision path used by the API and
//! the CLI (decide once, record who, resume the workflow).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SYSTEM_ACTOR;
use super::write::Plan;
use crate::agent::approval::{ApprovalRequest, ApprovalStatus, Decision, action_hash};
use crate::agent::audit::AuditKind;
use crate::agent::{InvestigationStatus, ProposedAction};
use crate::error::{Error, ErrorClass, Result};
use crate::ports::{ApprovalStore, AuditLog, Notifier, StateStore, TaskCallback};

/// The event of the approval task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalEvent {
    /// `request` or `expire`.
    pub mode: String,
    pub investigation_id: String,
    pub call_id: String,
    #[serde(default)]
    pub action: Option<ProposedAction>,
    #[serde(default)]
    pub plan_id: Option<String>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    #[serde(default)]
    pub execution_id: Option<String>,
    /// Only in `request`: kept server-side, never logged or returned.
    #[serde(default)]
    pub task_token: Option<String>,
}

/// How approvers are told: links and commands for the notification.
#[derive(Debug, Clone, Default)]
pub struct ApprovalLinks {
    /// Builds a console link for an execution id (Step Functions console in the cloud).
    pub execution_link: Option<fn(&str) -> String>,
    /// The approvals page, if served.
    pub page_url: Option<String>,
    /// `aiops --api URL` prefix for commands, or empty for local mode.
    pub cli_prefix: String,
}

/// The id of the approval for an investigation's proposal (deterministic, so a retried task
/// and the expiry path find the same request).
pub fn approval_id(investigation_id: &str, call_id: &str) -> String {
    format!("apr-{}", &action_hash("approval", &json!([investigation_id, call_id]))[..12])
}

/// Records the approval request and notifies approvers. Idempotent for a retried task.
///
/// # Errors
/// `InvalidArgs` for a malformed event, store errors.
pub async fn request(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    approvals: &dyn ApprovalStore,
    notifier: &dyn Notifier,
    links: &ApprovalLinks,
    ev: &ApprovalEvent,
    now: Timestamp,
) -> Result<Value> {
    let bad = |m: &str| Error::InvalidArgs { tool: "approval".into(), message: m.into() };
    let token = ev.task_token.as_deref().ok_or_else(|| bad("a request needs the task token"))?;
    let action = ev.action.clone().ok_or_else(|| bad("a request needs the action"))?;
    let plan_id = ev.plan_id.clone().ok_or_else(|| bad("a request needs the plan id"))?;
    let plan: Plan = state
        .get_doc(&format!("PLAN#{plan_id}"))
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| Error::NotFound { what: format!("plan {plan_id}") })?;
    let id = approval_id(&ev.investigation_id, &ev.call_id);
    if approvals.get(&id).await?.is_some() {
        return Ok(json!({"approval_id": id, "status": "already requested"}));
    }
    let mut inv = state
        .get_investigation(&ev.investigation_id)
        .await?
        .ok_or_else(|| Error::NotFound { what: format!("investigation {}", ev.investigation_id) })?;
    let evidence: Vec<String> = inv
        .answer
        .iter()
        .flat_map(|a| a.findings.iter())
        .chain(latest_findings(state, &ev.investigation_id).await.iter())
        .take(1)
        .flat_map(|f| {
            std::iter::once(format!("{} {}/{}: {}", f.kind, f.namespace, f.name, f.message))
                .chain(f.evidence.iter().take(6).cloned())
        })
        .collect();
    let timeout = ev.timeout_seconds.unwrap_or(900);
    let req = ApprovalRequest {
        id: id.clone(),
        investigation_id: ev.investigation_id.clone(),
        call_id: ev.call_id.clone(),
        question: inv.question.clone(),
        tool: action.tool.clone(),
        args: action.args.clone(),
        summary: action.summary.clone(),
        action_hash: action_hash(&action.tool, &action.args),
        plan_id,
        diff: plan.diff.clone(),
        evidence,
        resource_version: plan.resource_version.clone(),
        requested_by: inv.actor.clone(),
        requested_at: now,
        expires_at: now + SignedDuration::from_secs(i64::try_from(timeout).unwrap_or(900)),
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
        reason: None,
        comment: None,
        execution_link: ev
            .execution_id
            .as_deref()
            .map(|e| links.execution_link.map_or_else(|| e.to_string(), |f| f(e))),
    };
    approvals.create(&req, token).await?;
    audit
        .append(
            &ev.investigation_id,
            SYSTEM_ACTOR,
            AuditKind::ApprovalRequested {
                approval_id: id.clone(),
                tool: req.tool.clone(),
                args: req.args.clone(),
                action_hash: req.action_hash.clone(),
                diff: req.diff.clone(),
                expires_at: req.expires_at.to_string(),
            },
        )
        .await?;
    inv.status = InvestigationStatus::WaitingApproval;
    inv.updated_at = now;
    state.put_investigation(&inv).await?;
    let (subject, body) = notification(&req, links);
    if let Err(e) = notifier.notify(&subject, &body).await {
        tracing::warn!(approval_id = %id, error = %e, "approval notification failed");
    }
    Ok(json!({"approval_id": id, "status": "pending"}))
}

async fn latest_findings(state: &dyn StateStore, id: &str) -> Vec<crate::analyze::Finding> {
    let Ok(results) = state.results(id).await else { return Vec::new() };
    results
        .values()
        .rev()
        .filter_map(|r| r.pointer("/data/findings"))
        .find_map(|f| serde_json::from_value::<Vec<crate::analyze::Finding>>(f.clone()).ok())
        .unwrap_or_default()
}

/// The notification an approver needs to decide without digging.
pub fn notification(req: &ApprovalRequest, links: &ApprovalLinks) -> (String, String) {
    let subject = format!("Approval needed: {}", req.summary);
    let mut body = format!(
        "Question: {}\nInvestigation: {}\n\nProposed action: {}\n  tool {} {}\n\nDry-run diff:\n{}\n",
        req.question, req.investigation_id, req.summary, req.tool, req.args, req.diff
    );
    if !req.evidence.is_empty() {
        body.push_str("\nFinding and evidence:\n");
        for e in &req.evidence {
            body.push_str(&format!("  - {e}\n"));
        }
    }
    body.push_str(&format!("\nExpires at {} (no decision by then counts as a rejection).\n", req.expires_at));
    if let Some(l) = &req.execution_link {
        body.push_str(&format!("Waiting execution: {l}\n"));
    }
    let p = if links.cli_prefix.is_empty() { "aiops".to_string() } else { format!("aiops {}", links.cli_prefix) };
    body.push_str(&format!("\nApprove: {p} approve {}\nReject:  {p} reject {} --reason \"…\"\n", req.id, req.id));
    if let Some(page) = &links.page_url {
        body.push_str(&format!("Approvals page: {page}\n"));
    }
    (subject, body)
}

/// Expires the approval of a proposal whose wait timed out; a timeout is a rejection.
///
/// # Errors
/// Store errors.
pub async fn expire(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    approvals: &dyn ApprovalStore,
    ev: &ApprovalEvent,
    now: Timestamp,
) -> Result<Value> {
    let id = approval_id(&ev.investigation_id, &ev.call_id);
    let Some(existing) = approvals.get(&id).await? else {
        return Ok(json!({"approval_id": id, "status": "none"}));
    };
    if existing.status == ApprovalStatus::Pending {
        approvals.expire(&id, now).await?;
        audit
            .append(
                &ev.investigation_id,
                SYSTEM_ACTOR,
                AuditKind::ApprovalDecided {
                    approval_id: id.clone(),
                    decision: "expired".into(),
                    by: SYSTEM_ACTOR.into(),
                    reason: Some("no decision before the timeout".into()),
                },
            )
            .await?;
    }
    if let Some(mut inv) = state.get_investigation(&ev.investigation_id).await? {
        inv.status = InvestigationStatus::Running;
        state.put_investigation(&inv).await?;
    }
    Ok(json!({"approval_id": id, "status": "expired"}))
}

/// Decides an approval (API, CLI, approvals page): once, by a named person, before expiry;
/// records it and resumes the waiting workflow. A rejection needs a reason. A refused
/// decision (the request was decided already, or expired) is recorded in the investigation's
/// trail as an `error` event by the one who tried.
///
/// # Errors
/// `NotFound`, `Conflict` (already decided, or expired), `InvalidArgs` (no reason).
pub async fn decide(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    approvals: &dyn ApprovalStore,
    callback: &dyn TaskCallback,
    id: &str,
    decision: &Decision,
    now: Timestamp,
) -> Result<ApprovalRequest> {
    if !decision.approve && decision.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::InvalidArgs { tool: "reject".into(), message: "a rejection needs a reason".into() });
    }
    if decision.by.trim().is_empty() {
        return Err(Error::InvalidArgs {
            tool: "approve".into(),
            message: "a decision needs the name of who decides".into(),
        });
    }
    let word = if decision.approve { "approved" } else { "rejected" };
    let (req, token) = match approvals.decide(id, decision, now).await {
        Ok(decided) => decided,
        Err(e) if e.class() == ErrorClass::Conflict => {
            // A second decision, or one after the expiry: refused, the first decision (or the
            // expiry) stands, and the attempt goes on the investigation's record.
            if let Some(existing) = approvals.get(id).await? {
                let verb = if decision.approve { "approve" } else { "reject" };
                let event = AuditKind::Error {
                    error: e.class().error_type().to_string(),
                    message: format!("{} tried to {verb} approval {id}: refused: {e}", decision.by),
                };
                audit.append(&existing.investigation_id, &decision.by, event).await?;
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    audit
        .append(
            &req.investigation_id,
            &decision.by,
            AuditKind::ApprovalDecided {
                approval_id: id.to_string(),
                decision: word.into(),
                by: decision.by.clone(),
                reason: decision.reason.clone().or_else(|| decision.comment.clone()),
            },
        )
        .await?;
    if let Some(mut inv) = state.get_investigation(&req.investigation_id).await? {
        inv.status = InvestigationStatus::Running;
        inv.updated_at = now;
        state.put_investigation(&inv).await?;
    }
    let output = json!({
        "approved": decision.approve, "decision": word, "approval_id": id, "by": decision.by,
        "reason": decision.reason, "comment": decision.comment,
    });
    callback.succeed(&token, &output).await?;
    Ok(req)
}
