//! Approvals: a request bound to one exact action (its hash), decided once by a named
//! person before it expires, and consumed once by the write that it allows.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
    /// Approved, then consumed by the write it allowed.
    Used,
}

impl ApprovalStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
            ApprovalStatus::Used => "used",
        }
    }
}

/// An approval request. The task token that resumes the workflow is kept by the store
/// beside it and never serialized with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: String,
    pub investigation_id: String,
    /// The tool-use id of the proposal.
    pub call_id: String,
    /// The question that started the investigation.
    pub question: String,
    pub tool: String,
    pub args: Value,
    pub summary: String,
    /// SHA-256 of the tool, namespace, name and canonical arguments: what the approval binds to.
    pub action_hash: String,
    /// The plan (dry run) this approval is for.
    pub plan_id: String,
    /// The dry-run diff, human-readable.
    pub diff: String,
    /// The finding and evidence behind the proposal.
    pub evidence: Vec<String>,
    /// The object's resourceVersion the plan was made against.
    pub resource_version: String,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: ApprovalStatus,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    /// A rejection's reason.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Where the waiting execution can be seen (Step Functions console link, or local id).
    #[serde(default)]
    pub execution_link: Option<String>,
}

/// A decision on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approve: bool,
    /// Who decided: the caller's IAM principal, or `local:<user>`.
    pub by: String,
    /// Required for a rejection.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The hash an approval binds to: tool, and the arguments in canonical (key-sorted) JSON.
pub fn action_hash(tool: &str, args: &Value) -> String {
    let canonical = serde_json::to_string(&canonicalize(args)).unwrap_or_default();
    hex::encode(Sha256::digest(format!("{tool}\n{canonical}").as_bytes()))
}

fn canonicalize(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: std::collections::BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonicalize(v))).collect();
            serde_json::to_value(sorted).unwrap_or(Value::Null)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonicalize).collect()),
        other => other.clone(),
    }
}

/// How a request that is no longer pending came to be so, for refusals:
/// "was already approved by alice at 2025-11-30T10:00:00Z". Shared by every approval store so
/// their refusals read the same.
pub fn decided_state(r: &ApprovalRequest) -> String {
    let by = r.decided_by.as_deref().unwrap_or("an unknown decider");
    let at = r.decided_at.map_or_else(|| "an unknown time".to_string(), |t| t.to_string());
    match r.status {
        ApprovalStatus::Pending => "is still pending".to_string(),
        ApprovalStatus::Approved => format!("was already approved by {by} at {at}"),
        ApprovalStatus::Rejected => match &r.reason {
            Some(reason) => format!("was already rejected by {by} at {at} (reason: {reason})"),
            None => format!("was already rejected by {by} at {at}"),
        },
        ApprovalStatus::Expired => format!("expired at {}", r.expires_at),
        ApprovalStatus::Used => format!("was already approved by {by} at {at} and used"),
    }
}

/// The first characters of a hash, enough to tell two apart in a message.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Why `r` cannot be consumed for `action_hash`, or `None` when it can. Shared by every
/// approval store.
pub fn consume_refusal(r: &ApprovalRequest, action_hash: &str) -> Option<String> {
    let id = &r.id;
    match r.status {
        ApprovalStatus::Approved if r.action_hash == action_hash => None,
        ApprovalStatus::Approved => Some(format!(
            "approval {id} is bound to a different action (hash {}…), not to this one (hash {}…)",
            short(&r.action_hash),
            short(action_hash)
        )),
        ApprovalStatus::Used => Some(format!("approval {id} was already used: an approval allows one write")),
        ApprovalStatus::Pending => Some(format!("approval {id} is not approved: it is still pending")),
        ApprovalStatus::Rejected => Some(format!(
            "approval {id} is not approved: it was rejected by {} at {}",
            r.decided_by.as_deref().unwrap_or("an unknown decider"),
            r.decided_at.map_or_else(|| "an unknown time".to_string(), |t| t.to_string())
        )),
        ApprovalStatus::Expired => Some(format!("approval {id} is not approved: it expired at {}", r.expires_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hash_binds_to_exact_action_not_key_order() {
        let a = action_hash("scale_deployment", &json!({"namespace": "p", "deployment": "web", "replicas": 3}));
        let b = action_hash("scale_deployment", &json!({"replicas": 3, "deployment": "web", "namespace": "p"}));
        let c = action_hash("scale_deployment", &json!({"namespace": "p", "deployment": "web", "replicas": 0}));
        let d = action_hash("restart_deployment", &json!({"namespace": "p", "deployment": "web", "replicas": 3}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
