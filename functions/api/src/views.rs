//! What the API reads and returns: request bodies (unknown fields refused) and the views of
//! investigations, approvals and audit events. The OpenAPI document is generated from these
//! types, and the CLI's remote mode reads them back, so its JSON matches local mode's.

use aiops_core::agent::approval::ApprovalRequest;
use aiops_core::agent::audit::{AuditEvent, AuditKind};
use aiops_core::agent::{Investigation, InvestigationStatus};
use aiops_core::ports::{ApprovalStore, AuditLog, StateStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /investigations`: a question about the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInvestigation {
    /// The question in plain language; at most 4096 bytes (UTF-8), not blank.
    #[schema(min_length = 1, max_length = 4096)]
    pub question: String,
    /// The cluster to investigate: must be the one this deployment serves (RFC 1123 name).
    #[serde(default)]
    #[schema(max_length = 100, pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    pub cluster: Option<String>,
    /// Only this namespace (an RFC 1123 label).
    #[serde(default)]
    #[schema(max_length = 63, pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    pub namespace: Option<String>,
    /// Whether write tools may be proposed (each still needs a human's approval). Default false.
    #[serde(default)]
    pub writes: Option<bool>,
}

/// `POST /investigations/{id}/messages`: a follow-up question in the same conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// The question; at most 4096 bytes (UTF-8), not blank.
    #[schema(min_length = 1, max_length = 4096)]
    pub question: String,
}

/// `POST /approvals/{id}/approve`: an optional comment (the body may be empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Recorded with the decision.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub comment: Option<String>,
}

/// `POST /approvals/{id}/reject`: why (required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why the action is rejected; not blank.
    #[schema(min_length = 1, max_length = 2048)]
    pub reason: String,
}

/// Where to find an investigation's parts (paths relative to the API's base URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Links {
    /// `GET` the investigation.
    #[serde(rename = "self")]
    pub this: String,
    /// `GET` its audit trail.
    pub audit: String,
    /// `POST` a follow-up question.
    pub messages: String,
}

impl Links {
    /// The links of investigation `id`.
    pub fn of(id: &str) -> Links {
        Links {
            this: format!("/investigations/{id}"),
            audit: format!("/investigations/{id}/audit"),
            messages: format!("/investigations/{id}/messages"),
        }
    }
}

/// Where an investigation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    WaitingApproval,
    Succeeded,
    Failed,
}

impl From<InvestigationStatus> for Status {
    fn from(s: InvestigationStatus) -> Status {
        match s {
            InvestigationStatus::Running => Status::Running,
            InvestigationStatus::WaitingApproval => Status::WaitingApproval,
            InvestigationStatus::Succeeded => Status::Succeeded,
            InvestigationStatus::Failed => Status::Failed,
        }
    }
}

impl From<Status> for InvestigationStatus {
    fn from(s: Status) -> InvestigationStatus {
        match s {
            Status::Running => InvestigationStatus::Running,
            Status::WaitingApproval => InvestigationStatus::WaitingApproval,
            Status::Succeeded => InvestigationStatus::Succeeded,
            Status::Failed => InvestigationStatus::Failed,
        }
    }
}

/// 202 to `POST /investigations` and `POST /investigations/{id}/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Started {
    pub investigation_id: String,
    pub status: Status,
    /// The execution working on this question (`<id>-<n>`).
    pub execution_name: String,
    /// Whether this answers an earlier request with the same Idempotency-Key.
    pub replayed: bool,
    pub links: Links,
}

/// One investigation in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvestigationSummary {
    pub investigation_id: String,
    pub question: String,
    pub status: Status,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    /// Who asked.
    pub actor: String,
    pub namespace: Option<String>,
    pub writes: bool,
}

impl From<&Investigation> for InvestigationSummary {
    fn from(i: &Investigation) -> InvestigationSummary {
        InvestigationSummary {
            investigation_id: i.id.clone(),
            question: i.question.clone(),
            status: i.status.into(),
            created_at: i.created_at,
            updated_at: i.updated_at,
            actor: i.actor.clone(),
            namespace: i.namespace.clone(),
            writes: i.writes,
        }
    }
}

/// `GET /investigations`: a page, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvestigationPage {
    pub investigations: Vec<InvestigationSummary>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next: Option<String>,
}

/// A proposed action: `{tool, args, summary}` as in the CLI contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Action {
    pub tool: String,
    #[schema(value_type = Object)]
    pub args: Value,
    pub summary: String,
}

/// An executed action: the CLI contract's action plus its result and ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExecutedAction {
    pub tool: String,
    #[schema(value_type = Object)]
    pub args: Value,
    pub summary: String,
    /// What happened: the verification outcome.
    pub result: String,
    /// `aiops undo ACTION_ID` restores the prior state.
    pub action_id: String,
    pub approval_id: String,
}

/// Tokens used by the latest question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
}

/// `GET /investigations/{id}`: where it stands, the steps so far, the findings, the answer
/// and any approval it waits on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvestigationDetail {
    pub investigation_id: String,
    /// The latest question.
    pub question: String,
    pub status: Status,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    pub actor: String,
    pub namespace: Option<String>,
    pub writes: bool,
    /// The model (or `offline`) of the latest reasoning step.
    pub reasoner: Option<String>,
    /// Step kinds taken so far (`tools:get_pods,describe_pod`, `propose:…`, `answer`).
    pub steps: Vec<String>,
    /// The findings the answer rests on, or, before the answer, the latest a tool reported:
    /// `{kind, namespace, name, severity, reason, message, evidence, actions}`.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Value>,
    /// The answer, once there is one.
    pub answer: Option<String>,
    pub proposed_actions: Vec<Action>,
    pub executed_actions: Vec<ExecutedAction>,
    pub tokens: Tokens,
    pub error: Option<String>,
    /// The approval the investigation waits on.
    pub pending_approval: Option<Approval>,
    /// Where the audit trail stood when the investigation last ended or an action of it was
    /// undone; `aiops audit verify` checks the trail still reaches it (a deleted tail).
    #[serde(default)]
    pub audit_head: Option<AuditHead>,
    pub links: Links,
}

/// The last audit event when the trail was anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditHead {
    pub seq: u64,
    /// Its hash (hex SHA-256).
    pub hash: String,
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Expired,
    Used,
}

/// An approval request: the exact action, its dry-run diff, the evidence, and the decision.
/// The same fields as the CLI's `approvals list --output json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub id: String,
    pub investigation_id: String,
    pub call_id: String,
    /// The question that started the investigation.
    pub question: String,
    pub tool: String,
    #[schema(value_type = Object)]
    pub args: Value,
    pub summary: String,
    /// What the approval binds to: SHA-256 of the tool and its canonical arguments.
    pub action_hash: String,
    pub plan_id: String,
    /// The dry-run diff.
    pub diff: String,
    /// The finding and evidence behind the proposal.
    pub evidence: Vec<String>,
    pub resource_version: String,
    pub requested_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
    pub status: ApprovalState,
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<jiff::Timestamp>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub execution_link: Option<String>,
}

impl From<ApprovalRequest> for Approval {
    fn from(r: ApprovalRequest) -> Approval {
        use aiops_core::agent::approval::ApprovalStatus as S;
        Approval {
            id: r.id,
            investigation_id: r.investigation_id,
            call_id: r.call_id,
            question: r.question,
            tool: r.tool,
            args: r.args,
            summary: r.summary,
            action_hash: r.action_hash,
            plan_id: r.plan_id,
            diff: r.diff,
            evidence: r.evidence,
            resource_version: r.resource_version,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            expires_at: r.expires_at,
            status: match r.status {
                S::Pending => ApprovalState::Pending,
                S::Approved => ApprovalState::Approved,
                S::Rejected => ApprovalState::Rejected,
                S::Expired => ApprovalState::Expired,
                S::Used => ApprovalState::Used,
            },
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason,
            comment: r.comment,
            execution_link: r.execution_link,
        }
    }
}

/// `GET /approvals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalList {
    pub approvals: Vec<Approval>,
}

/// One audit event, exactly as stored (its hash can be checked by the reader).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub investigation_id: String,
    /// 1-based, gapless.
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    /// Who caused it: an IAM principal, `local:<user>`, or `system`.
    pub actor: String,
    /// What happened: an object whose `type` names the kind (`question`, `tool_call`,
    /// `approval_decided`, …).
    #[schema(value_type = Object)]
    pub event: Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEvent> for AuditEntry {
    fn from(e: AuditEvent) -> AuditEntry {
        AuditEntry {
            investigation_id: e.investigation_id,
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            event: serde_json::to_value(&e.event).unwrap_or(Value::Null),
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

impl AuditEntry {
    /// The event as the audit trail's type, to verify or render.
    ///
    /// # Errors
    /// When `event` is not an event this build knows.
    pub fn to_event(&self) -> Result<AuditEvent, serde_json::Error> {
        Ok(AuditEvent {
            investigation_id: self.investigation_id.clone(),
            seq: self.seq,
            at: self.at,
            actor: self.actor.clone(),
            event: serde_json::from_value::<AuditKind>(self.event.clone())?,
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        })
    }
}

/// `GET /investigations/{id}/audit`: a page of the trail, by sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub investigation_id: String,
    pub events: Vec<AuditEntry>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<u64>,
}

/// Builds the detail view of an investigation from the stores (the API's
/// `GET /investigations/{id}`, and the CLI's `investigations show` in local mode).
///
/// # Errors
/// Store errors.
pub async fn investigation_detail(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    approvals: &dyn ApprovalStore,
    id: &str,
) -> aiops_core::Result<Option<InvestigationDetail>> {
    let Some(inv) = state.get_investigation(id).await? else { return Ok(None) };
    let answer = inv.answer.clone();
    let findings: Vec<Value> = match &answer {
        Some(a) if !a.findings.is_empty() => a.findings.iter().filter_map(|f| serde_json::to_value(f).ok()).collect(),
        _ => latest_findings(state, id).await?,
    };
    let reasoner = audit.events(id).await?.into_iter().rev().find_map(|e| match e.event {
        AuditKind::ReasoningStep { model, .. } => Some(model),
        _ => None,
    });
    let pending = if inv.status == InvestigationStatus::WaitingApproval {
        approvals
            .list(Some(aiops_core::agent::approval::ApprovalStatus::Pending))
            .await?
            .into_iter()
            .find(|a| a.investigation_id == inv.id)
            .map(Approval::from)
    } else {
        None
    };
    Ok(Some(InvestigationDetail {
        investigation_id: inv.id.clone(),
        question: inv.question.clone(),
        status: inv.status.into(),
        created_at: inv.created_at,
        updated_at: inv.updated_at,
        actor: inv.actor.clone(),
        namespace: inv.namespace.clone(),
        writes: inv.writes,
        reasoner,
        steps: inv.steps.clone(),
        findings,
        answer: answer.as_ref().map(|a| a.text.clone()),
        proposed_actions: answer
            .iter()
            .flat_map(|a| a.proposed_actions.iter())
            .map(|a| Action { tool: a.tool.clone(), args: a.args.clone(), summary: a.summary.clone() })
            .collect(),
        executed_actions: inv
            .executed_actions
            .iter()
            .map(|a| ExecutedAction {
                tool: a.tool.clone(),
                args: a.args.clone(),
                summary: a.summary.clone(),
                result: a.result.clone(),
                action_id: a.action_id.clone(),
                approval_id: a.approval_id.clone(),
            })
            .collect(),
        tokens: Tokens { input: inv.usage.input_tokens, output: inv.usage.output_tokens },
        error: inv.error.clone(),
        pending_approval: pending,
        audit_head: inv.audit_head.as_ref().map(|h| AuditHead { seq: h.seq, hash: h.hash.clone() }),
        links: Links::of(&inv.id),
    }))
}

/// The findings of the most recent tool result that reported some.
async fn latest_findings(state: &dyn StateStore, id: &str) -> aiops_core::Result<Vec<Value>> {
    let results = state.results(id).await?;
    Ok(results
        .values()
        .rev()
        .filter_map(|r| r.pointer("/data/findings").and_then(Value::as_array))
        .find(|f| !f.is_empty())
        .cloned()
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_view_serializes_as_the_stored_request() {
        let at: jiff::Timestamp = "2025-11-30T10:00:00Z".parse().expect("ts");
        let req = ApprovalRequest {
            id: "apr-1".into(),
            investigation_id: "inv-1".into(),
            call_id: "c1".into(),
            question: "q".into(),
            tool: "scale_deployment".into(),
            args: serde_json::json!({"namespace": "prod", "name": "web", "replicas": 3}),
            summary: "scale web to 3".into(),
            action_hash: "h".into(),
            plan_id: "p".into(),
            diff: "- 1\n+ 3".into(),
            evidence: vec!["e".into()],
            resource_version: "7".into(),
            requested_by: "local:ann".into(),
            requested_at: at,
            expires_at: at,
            status: aiops_core::agent::approval::ApprovalStatus::Rejected,
            decided_by: Some("arn:aws:iam::1:user/bob".into()),
            decided_at: Some(at),
            reason: Some("no".into()),
            comment: None,
            execution_link: None,
        };
        let stored = serde_json::to_value(&req).expect("json");
        assert_eq!(serde_json::to_value(Approval::from(req)).expect("json"), stored);
    }

    #[test]
    fn an_audit_entry_round_trips_with_its_hash() {
        let e = AuditEvent::next(
            None,
            "inv-1",
            jiff::Timestamp::now(),
            "local:ann",
            AuditKind::Question { text: "why?".into() },
        );
        let entry = AuditEntry::from(e.clone());
        assert_eq!(serde_json::to_value(&entry).expect("json"), serde_json::to_value(&e).expect("json"));
        let back = entry.to_event().expect("event");
        assert_eq!(back, e);
        assert_eq!(back.compute_hash(), e.hash);
    }
}
