//! [`AuditLog`] over SQLite: INSERT only, retried on a concurrent append.

use aiops_core::agent::audit::{AuditEvent, AuditKind};
use aiops_core::ports::AuditLog;
use aiops_core::{Error as CoreError, ErrorClass};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, from_json, to_json};
use crate::error::{Error, is_key_conflict};

/// How many times an append re-reads the chain's end after losing a race for the next
/// sequence number. Each loss means another append succeeded, so this bounds the number of
/// concurrent appenders one append can outwait, not the time it waits.
const MAX_APPEND_ATTEMPTS: usize = 1000;

/// The UTC day (`2025-11-30`) of a timestamp: the `day` column.
fn utc_day(at: Timestamp) -> String {
    at.to_zoned(TimeZone::UTC).date().to_string()
}

fn last_event(conn: &Connection, investigation_id: &str) -> crate::Result<Option<AuditEvent>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT json FROM audit WHERE investigation_id = ?1 ORDER BY seq DESC LIMIT 1",
            [investigation_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| Error::sqlite(format!("read the last audit event of investigation {investigation_id}"), e))?;
    json.map(|j| from_json("an audit event", &j)).transpose()
}

fn read_events(conn: &Connection, sql: &str, key: &str, operation: &str) -> crate::Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| Error::sqlite(operation, e))?;
    let rows = stmt
        .query_map([key], |row| row.get::<_, String>(0))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
        .map_err(|e| Error::sqlite(operation, e))?;
    rows.iter().map(|j| from_json("an audit event", j)).collect()
}

#[async_trait::async_trait]
impl AuditLog for SqliteStore {
    /// Reads the investigation's last event, builds the next one with
    /// [`AuditEvent::next`] (sequence + 1, chained to its hash) and INSERTs it. The primary
    /// key (investigation, sequence) refuses a second event with the same number, so when
    /// another connection appended in between, the INSERT fails and the append starts over
    /// from the new last event: no event is lost, none is duplicated, the chain stays
    /// linear. Then emits the event's JSON line on the `audit` tracing target.
    ///
    /// # Errors
    /// `Transient` when the database stays locked past the busy timeout, or after
    /// [`MAX_APPEND_ATTEMPTS`] lost races; `Fatal` when a stored event cannot be read.
    async fn append(&self, investigation_id: &str, actor: &str, event: AuditKind) -> aiops_core::Result<AuditEvent> {
        let operation = format!("append an audit event to investigation {investigation_id}");
        let (id, actor) = (investigation_id.to_string(), actor.to_string());
        let appended = self
            .run(operation.clone(), move |conn| {
                for _ in 0..MAX_APPEND_ATTEMPTS {
                    let last = last_event(conn, &id)?;
                    let next = AuditEvent::next(last.as_ref(), &id, Timestamp::now(), &actor, event.clone());
                    let json = to_json("an audit event", &next)?;
                    let seq = i64::try_from(next.seq).unwrap_or(i64::MAX);
                    match conn.execute(
                        "INSERT INTO audit (investigation_id, seq, day, json, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![id, seq, utc_day(next.at), json, next.hash],
                    ) {
                        Ok(_) => return Ok(next),
                        Err(e) if is_key_conflict(&e) => continue,
                        Err(e) => return Err(Error::sqlite(operation, e).into()),
                    }
                }
                Err(CoreError::backend(
                    ErrorClass::Transient,
                    operation,
                    format!("lost the race for the next sequence number {MAX_APPEND_ATTEMPTS} times"),
                ))
            })
            .await?;
        // The message is the record itself, one JSON line, as CloudWatch keeps it in the cloud.
        tracing::info!(target: "audit", "{}", appended.log_line());
        Ok(appended)
    }

    async fn events(&self, investigation_id: &str) -> aiops_core::Result<Vec<AuditEvent>> {
        let operation = format!("read the audit trail of investigation {investigation_id}");
        let id = investigation_id.to_string();
        self.run(operation.clone(), move |conn| {
            Ok(read_events(conn, "SELECT json FROM audit WHERE investigation_id = ?1 ORDER BY seq", &id, &operation)?)
        })
        .await
    }

    /// Events whose `at` falls on the UTC day `day`, in time order (then by investigation
    /// and sequence).
    ///
    /// # Errors
    /// `InvalidInput` when `day` is not a `yyyy-mm-dd` date.
    async fn events_on(&self, day: &str) -> aiops_core::Result<Vec<AuditEvent>> {
        let date: jiff::civil::Date = day.parse().map_err(|e: jiff::Error| {
            CoreError::backend(
                ErrorClass::InvalidInput,
                "read audit events by day",
                format!("{day:?} is not a yyyy-mm-dd date: {e}"),
            )
        })?;
        let day = date.to_string();
        let operation = format!("read the audit events of {day}");
        let mut events = self
            .run(operation.clone(), move |conn| {
                Ok(read_events(conn, "SELECT json FROM audit WHERE day = ?1", &day, &operation)?)
            })
            .await?;
        events.sort_by(|a, b| (a.at, &a.investigation_id, a.seq).cmp(&(b.at, &b.investigation_id, b.seq)));
        Ok(events)
    }

    async fn events_after(
        &self,
        investigation_id: &str,
        after: u64,
        limit: usize,
    ) -> aiops_core::Result<Vec<AuditEvent>> {
        if limit == 0 {
            return Err(CoreError::backend(ErrorClass::InvalidInput, "read audit events", "limit must be at least 1"));
        }
        let operation = format!("read the audit trail of investigation {investigation_id}");
        let id = investigation_id.to_string();
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(operation.clone(), move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT json FROM audit WHERE investigation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")
                .map_err(|e| Error::sqlite(operation.clone(), e))?;
            let rows = stmt
                .query_map(params![id, after, limit], |row| row.get::<_, String>(0))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(rows.iter().map(|j| from_json("an audit event", j)).collect::<crate::Result<Vec<AuditEvent>>>()?)
        })
        .await
    }
}
