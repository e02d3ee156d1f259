//! The audit trail's events and its hash chain. Each event carries the hash of the one before
//! it, so a gap, an edit or a reordering is detectable by [`verify_chain`] without trusting the
//! store. Stores ([`crate::ports::AuditLog`]) append with a conditional write that refuses to
//! overwrite an existing sequence number.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The hash the first event of an investigation chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuditKind {
    /// The question that started (or continued) the investigation.
    Question { text: String },
    /// One reasoning step.
    ReasoningStep { model: String, step: String, input_tokens: u64, output_tokens: u64 },
    /// A tool call and a digest of its result.
    ToolCall { tool: String, args: Value, ok: bool, result_digest: String, result_bytes: usize },
    /// A proposed action the policy refused before any approval.
    ActionRefused { tool: String, args: Value, reason: String },
    /// An approval was requested.
    ApprovalRequested {
        approval_id: String,
        tool: String,
        args: Value,
        action_hash: String,
        diff: String,
        expires_at: String,
    },
    /// An approval was decided (or expired).
    ApprovalDecided { approval_id: String, decision: String, by: String, reason: Option<String> },
    /// An approved action was executed.
    ActionExecuted { action_id: String, tool: String, args: Value, before: Value, after: Value, verification: String },
    /// An action was undone.
    ActionUndone { action_id: String, by: String },
    /// The answer.
    Answer { text: String },
    /// A failure.
    Error { error: String, message: String },
}

impl AuditKind {
    /// The event's type name.
    pub fn name(&self) -> &'static str {
        match self {
            AuditKind::Question { .. } => "question",
            AuditKind::ReasoningStep { .. } => "reasoning_step",
            AuditKind::ToolCall { .. } => "tool_call",
            AuditKind::ActionRefused { .. } => "action_refused",
            AuditKind::ApprovalRequested { .. } => "approval_requested",
            AuditKind::ApprovalDecided { .. } => "approval_decided",
            AuditKind::ActionExecuted { .. } => "action_executed",
            AuditKind::ActionUndone { .. } => "action_undone",
            AuditKind::Answer { .. } => "answer",
            AuditKind::Error { .. } => "error",
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub investigation_id: String,
    /// 1-based, gapless.
    pub seq: u64,
    pub at: Timestamp,
    /// Who caused it: an IAM principal, `local:<user>`, or `system`.
    pub actor: String,
    pub event: AuditKind,
    /// Hash of the previous event ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 over the previous hash and this event's canonical content.
    pub hash: String,
}

impl AuditEvent {
    /// Builds the next event after `prev` (or the first one) with its hash.
    pub fn next(
        prev: Option<&AuditEvent>,
        investigation_id: &str,
        at: Timestamp,
        actor: &str,
        event: AuditKind,
    ) -> AuditEvent {
        let mut e = AuditEvent {
            investigation_id: investigation_id.to_string(),
            seq: prev.map_or(1, |p| p.seq + 1),
            at,
            actor: actor.to_string(),
            event,
            prev_hash: prev.map_or_else(|| GENESIS.to_string(), |p| p.hash.clone()),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// The hash this event should carry.
    pub fn compute_hash(&self) -> String {
        let content = serde_json::json!({
            "investigation_id": self.investigation_id, "seq": self.seq, "at": self.at.to_string(),
            "actor": self.actor, "event": self.event, "prev_hash": self.prev_hash,
        });
        // serde_json maps are ordered by key, so this is canonical.
        let bytes = serde_json::to_vec(&content).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The JSON log line for CloudWatch.
    pub fn log_line(&self) -> String {
        serde_json::json!({"audit": self}).to_string()
    }
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// No events at all.
    #[error("no audit events for investigation {0}")]
    Empty(String),
    /// A sequence number is missing (an event was deleted).
    #[error("gap: expected event {expected}, found {found} (an event was deleted)")]
    Gap { expected: u64, found: u64 },
    /// An event's content does not match its hash (it was edited).
    #[error("event {seq} was edited: its content does not match its hash")]
    Edited { seq: u64 },
    /// The trail ends before the head recorded on the investigation (its last events were
    /// deleted).
    #[error(
        "the trail ends at event {last} but the investigation recorded event {head} as its last: events were deleted from the end"
    )]
    Truncated { head: u64, last: u64 },
    /// The event at the recorded head is another one: the trail was rewritten from there on,
    /// hashes and all.
    #[error("event {seq} is not the one the investigation recorded as its last: the trail was rewritten from there on")]
    Rewritten { seq: u64 },
    /// An event does not chain to the one before it.
    #[error("event {seq} does not chain to event {prev}: an event before it was edited or replaced")]
    Broken { seq: u64, prev: u64 },
}

/// Checks a chain: sequence 1..n without gaps, every hash correct, every link intact.
///
/// # Errors
/// The first [`ChainError`] found.
pub fn verify_chain(investigation_id: &str, events: &[AuditEvent]) -> Result<(), ChainError> {
    if events.is_empty() {
        return Err(ChainError::Empty(investigation_id.to_string()));
    }
    let mut prev_hash = GENESIS.to_string();
    for (i, e) in events.iter().enumerate() {
        let expected = i as u64 + 1;
        if e.seq != expected {
            return Err(ChainError::Gap { expected, found: e.seq });
        }
        if e.compute_hash() != e.hash {
            return Err(ChainError::Edited { seq: e.seq });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainError::Broken { seq: e.seq, prev: expected.saturating_sub(1) });
        }
        prev_hash = e.hash.clone();
    }
    Ok(())
}

/// Where a trail stood when it was anchored: its last event's sequence and hash, kept on the
/// investigation record (another table than the trail, written by the step that ends it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

impl AuditHead {
    /// The anchor of a trail whose last event is `e`.
    pub fn of(e: &AuditEvent) -> AuditHead {
        AuditHead { seq: e.seq, hash: e.hash.clone() }
    }
}

/// [`verify_chain`], then the anchor: a trail that ends before its recorded head, or holds
/// another event at the head's place, lost its tail (events deleted after the last one kept,
/// which leave no gap) or was rewritten from there on. Events after the head (a follow-up
/// question under way) are fine.
///
/// # Errors
/// The first [`ChainError`] found.
pub fn verify_trail(investigation_id: &str, events: &[AuditEvent], head: Option<&AuditHead>) -> Result<(), ChainError> {
    verify_chain(investigation_id, events)?;
    if let Some(head) = head {
        let at = usize::try_from(head.seq).ok().and_then(|s| s.checked_sub(1)).and_then(|i| events.get(i));
        match at {
            None => return Err(ChainError::Truncated { head: head.seq, last: events.len() as u64 }),
            Some(e) if e.hash != head.hash => return Err(ChainError::Rewritten { seq: head.seq }),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A short digest of a tool result for the trail.
pub fn digest(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let e = AuditEvent::next(
                out.last(),
                "inv-1",
                Timestamp::UNIX_EPOCH,
                "local:test",
                AuditKind::Answer { text: format!("a{i}") },
            );
            out.push(e);
        }
        out
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify_chain("inv-1", &chain(4)), Ok(()));
    }

    #[test]
    fn edit_gap_and_reorder_are_detected() {
        let mut edited = chain(4);
        edited[1].event = AuditKind::Answer { text: "forged".into() };
        assert_eq!(verify_chain("inv-1", &edited), Err(ChainError::Edited { seq: 2 }));

        let mut gap = chain(4);
        gap.remove(2);
        assert_eq!(verify_chain("inv-1", &gap), Err(ChainError::Gap { expected: 3, found: 4 }));

        let mut rehashed = chain(4);
        rehashed[1].event = AuditKind::Answer { text: "forged".into() };
        rehashed[1].hash = rehashed[1].compute_hash();
        assert_eq!(verify_chain("inv-1", &rehashed), Err(ChainError::Broken { seq: 3, prev: 2 }));

        assert!(matches!(verify_chain("inv-1", &[]), Err(ChainError::Empty(_))));
    }

    #[test]
    fn a_deleted_tail_is_detected_only_with_the_anchor() {
        let full = chain(5);
        let head = AuditHead::of(&full[3]);
        // Events after the head (a follow-up under way) are fine; so is the trail ending there.
        assert_eq!(verify_trail("inv-1", &full, Some(&head)), Ok(()));
        assert_eq!(verify_trail("inv-1", &full[..4], Some(&head)), Ok(()));
        // The last two deleted: the chain alone still verifies, the anchor does not.
        let cut = &full[..3];
        assert_eq!(verify_chain("inv-1", cut), Ok(()));
        assert_eq!(verify_trail("inv-1", cut, None), Ok(()));
        assert_eq!(verify_trail("inv-1", cut, Some(&head)), Err(ChainError::Truncated { head: 4, last: 3 }));
        // The tail replaced by a consistent forged one, hashes recomputed: the head names it.
        let mut forged = full[..3].to_vec();
        let next = AuditEvent::next(
            forged.last(),
            "inv-1",
            Timestamp::UNIX_EPOCH,
            "local:mallory",
            AuditKind::Answer { text: "all fine".into() },
        );
        forged.push(next);
        assert_eq!(verify_chain("inv-1", &forged), Ok(()));
        assert_eq!(verify_trail("inv-1", &forged, Some(&head)), Err(ChainError::Rewritten { seq: 4 }));
    }
}
