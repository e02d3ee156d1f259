//! [`ApprovalStore`] over SQLite. Every state change is one conditional UPDATE (… WHERE
//! status = the state it was read in), so of two deciders, or two consumers, exactly one
//! wins, even across processes sharing the file. The task token lives in its own column and
//! is returned only by [`ApprovalStore::decide`].

use aiops_core::agent::approval::{ApprovalRequest, ApprovalStatus, Decision, consume_refusal, decided_state};
use aiops_core::ports::ApprovalStore;
use aiops_core::{Error as CoreError, ErrorClass};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, from_json, micros, to_json};
use crate::error::{Error, is_key_conflict};

/// A stored request and the token that resumes its workflow.
struct Row {
    request: ApprovalRequest,
    token: String,
}

fn read(conn: &Connection, id: &str) -> crate::Result<Option<Row>> {
    let row: Option<(String, String)> = conn
        .query_row("SELECT json, task_token FROM approvals WHERE id = ?1", [id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(|e| Error::sqlite(format!("read approval {id}"), e))?;
    row.map(|(json, token)| Ok(Row { request: from_json("an approval request", &json)?, token })).transpose()
}

fn read_existing(conn: &Connection, id: &str) -> aiops_core::Result<Row> {
    read(conn, id)?.ok_or_else(|| CoreError::NotFound { what: format!("approval {id}") })
}

/// Replaces the request with `new` only if it is still in state `from`; whether it did.
fn update_if(
    conn: &Connection,
    from: ApprovalStatus,
    new: &ApprovalRequest,
    used_at: Option<Timestamp>,
    action_hash: Option<&str>,
) -> aiops_core::Result<bool> {
    let json = to_json("an approval request", new)?;
    let changed = conn
        .execute(
            "UPDATE approvals SET status = ?1, json = ?2, used_at = COALESCE(?3, used_at)
             WHERE id = ?4 AND status = ?5 AND (?6 IS NULL OR action_hash = ?6)",
            params![new.status.as_str(), json, used_at.map(micros), new.id, from.as_str(), action_hash],
        )
        .map_err(|e| Error::sqlite(format!("update approval {}", new.id), e))?;
    Ok(changed == 1)
}

fn conflict(operation: &str, message: String) -> CoreError {
    CoreError::backend(ErrorClass::Conflict, operation, message)
}

fn invalid(operation: &str, message: &str) -> CoreError {
    CoreError::backend(ErrorClass::InvalidInput, operation, message)
}

#[async_trait::async_trait]
impl ApprovalStore for SqliteStore {
    /// INSERTs the request beside its token.
    ///
    /// # Errors
    /// `Conflict` when the id exists; `InvalidInput` when the request is not pending.
    async fn create(&self, request: &ApprovalRequest, task_token: &str) -> aiops_core::Result<()> {
        let operation = format!("create approval {}", request.id);
        if request.status != ApprovalStatus::Pending {
            return Err(invalid(
                &operation,
                &format!("a new request must be pending, not {}", request.status.as_str()),
            ));
        }
        let json = to_json("an approval request", request)?;
        let (id, token, hash) = (request.id.clone(), task_token.to_string(), request.action_hash.clone());
        let (requested, expires) = (micros(request.requested_at), micros(request.expires_at));
        self.run(operation.clone(), move |conn| {
            match conn.execute(
                "INSERT INTO approvals (id, status, json, task_token, action_hash, requested_at, expires_at)
                 VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6)",
                params![id, json, token, hash, requested, expires],
            ) {
                Ok(_) => Ok(()),
                Err(e) if is_key_conflict(&e) => Err(CoreError::Backend {
                    class: ErrorClass::Conflict,
                    operation,
                    message: format!("approval {id} exists already"),
                    source: Some(Box::new(e)),
                }),
                Err(e) => Err(Error::sqlite(operation, e).into()),
            }
        })
        .await
    }

    /// The request, without its task token.
    async fn get(&self, id: &str) -> aiops_core::Result<Option<ApprovalRequest>> {
        let id = id.to_string();
        self.run(format!("read approval {id}"), move |conn| Ok(read(conn, &id)?.map(|row| row.request))).await
    }

    /// Newest first (by `requested_at`), without task tokens.
    async fn list(&self, status: Option<ApprovalStatus>) -> aiops_core::Result<Vec<ApprovalRequest>> {
        let operation = "list approvals".to_string();
        let status = status.map(ApprovalStatus::as_str);
        self.run(operation.clone(), move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT json FROM approvals WHERE (?1 IS NULL OR status = ?1) ORDER BY requested_at DESC, id DESC",
                )
                .map_err(|e| Error::sqlite(operation.clone(), e))?;
            let rows = stmt
                .query_map([status], |row| row.get::<_, String>(0))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(rows
                .iter()
                .map(|j| from_json("an approval request", j))
                .collect::<crate::Result<Vec<ApprovalRequest>>>()?)
        })
        .await
    }

    /// Records the decision (`decided_by`, `decided_at = now`, reason, comment) with one
    /// conditional UPDATE from pending. A request whose `expires_at` is before `now` is
    /// marked Expired instead (an expired approval is a rejection).
    ///
    /// # Errors
    /// `NotFound`; `InvalidInput` when the decider is empty or a rejection has no reason;
    /// `Conflict` "approval X expired at T", or "approval X was already approved by Y at T"
    /// (or rejected, or used) when it is no longer pending.
    async fn decide(
        &self,
        id: &str,
        decision: &Decision,
        now: Timestamp,
    ) -> aiops_core::Result<(ApprovalRequest, String)> {
        let operation = format!("decide approval {id}");
        if decision.by.trim().is_empty() {
            return Err(invalid(&operation, "a decision must name who decided"));
        }
        let reason = decision.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        if !decision.approve && reason.is_none() {
            return Err(invalid(&operation, &format!("rejecting approval {id} needs a reason")));
        }
        let (id, decision) = (id.to_string(), decision.clone());
        self.run(operation.clone(), move |conn| {
            let Row { request, token } = read_existing(conn, &id)?;
            if request.status != ApprovalStatus::Pending {
                return Err(conflict(&operation, format!("approval {id} {}", decided_state(&request))));
            }
            let mut next = request.clone();
            next.decided_at = Some(now);
            if now > request.expires_at {
                next.status = ApprovalStatus::Expired;
                if update_if(conn, ApprovalStatus::Pending, &next, None, None)? {
                    return Err(conflict(&operation, format!("approval {id} expired at {}", request.expires_at)));
                }
            } else {
                next.status = if decision.approve { ApprovalStatus::Approved } else { ApprovalStatus::Rejected };
                next.decided_by = Some(decision.by);
                next.reason = reason;
                next.comment = decision.comment;
                if update_if(conn, ApprovalStatus::Pending, &next, None, None)? {
                    return Ok((next, token));
                }
            }
            // Another decision landed between our read and our update: report it.
            let current = read_existing(conn, &id)?.request;
            Err(conflict(&operation, format!("approval {id} {}", decided_state(&current))))
        })
        .await
    }

    /// Marks a pending request Expired (`decided_at = now`). Idempotent: an expired request is
    /// returned as it is; so is one decided in the meantime (approved, rejected or used) —
    /// its status says so, and it is not changed.
    ///
    /// # Errors
    /// `NotFound`.
    async fn expire(&self, id: &str, now: Timestamp) -> aiops_core::Result<ApprovalRequest> {
        let id = id.to_string();
        self.run(format!("expire approval {id}"), move |conn| {
            let request = read_existing(conn, &id)?.request;
            if request.status != ApprovalStatus::Pending {
                return Ok(request);
            }
            let mut next = request;
            next.status = ApprovalStatus::Expired;
            next.decided_at = Some(now);
            if update_if(conn, ApprovalStatus::Pending, &next, None, None)? {
                return Ok(next);
            }
            Ok(read_existing(conn, &id)?.request)
        })
        .await
    }

    /// Approved → Used with one conditional UPDATE on status and action hash; `now` is kept
    /// as the time of use. Expiry bounds the decision, not the write that follows an approval
    /// made in time, so an approved request past `expires_at` can still be consumed once.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` "approval X is not approved: it is still pending" (or was
    /// rejected, or expired), "approval X was already used", or "approval X is bound to a
    /// different action".
    async fn consume(&self, id: &str, action_hash: &str, now: Timestamp) -> aiops_core::Result<ApprovalRequest> {
        let operation = format!("consume approval {id}");
        let (id, hash) = (id.to_string(), action_hash.to_string());
        self.run(operation.clone(), move |conn| {
            let request = read_existing(conn, &id)?.request;
            if let Some(refusal) = consume_refusal(&request, &hash) {
                return Err(conflict(&operation, refusal));
            }
            let mut next = request;
            next.status = ApprovalStatus::Used;
            if update_if(conn, ApprovalStatus::Approved, &next, Some(now), Some(&hash))? {
                return Ok(next);
            }
            // Consumed by someone else between our read and our update.
            let current = read_existing(conn, &id)?.request;
            let refusal = consume_refusal(&current, &hash)
                .unwrap_or_else(|| format!("approval {id} changed while it was being consumed; try again"));
            Err(conflict(&operation, refusal))
        })
        .await
    }
}
