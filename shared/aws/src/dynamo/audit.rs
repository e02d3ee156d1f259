//! [`AuditLog`] over the audit table: conditional puts only, never an update or a delete.

use std::collections::HashMap;
use std::time::Duration;

use aiops_core::agent::audit::{AuditEvent, AuditKind};
use aiops_core::ports::AuditLog;
use aiops_core::{Error, ErrorClass, Result};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{
    DynamoStore, Item, ddb_error, from_json, is_condition_failure, n, random_u64, req_n, req_s, s, sortable, to_json,
};

/// How many times an append starts over after a concurrent append took its sequence number.
/// Each loss means another append succeeded, so this bounds how many concurrent appenders
/// one append can outwait.
pub const MAX_APPEND_ATTEMPTS: u32 = 100;

fn inv_pk(id: &str) -> String {
    format!("INV#{id}")
}

fn evt_sk(seq: u64) -> String {
    format!("EVT#{seq:020}")
}

/// The UTC day (`2025-11-30`) of a timestamp: the `day` attribute.
fn utc_day(at: Timestamp) -> String {
    at.to_zoned(TimeZone::UTC).date().to_string()
}

/// The item of an event.
fn to_item(e: &AuditEvent) -> Result<Item> {
    Ok(HashMap::from([
        ("pk".to_string(), s(inv_pk(&e.investigation_id))),
        ("sk".to_string(), s(evt_sk(e.seq))),
        ("investigation_id".to_string(), s(&e.investigation_id)),
        ("seq".to_string(), n(e.seq)),
        ("at".to_string(), s(e.at.to_string())),
        ("actor".to_string(), s(&e.actor)),
        ("type".to_string(), s(e.event.name())),
        ("event".to_string(), s(to_json("an audit event", &e.event)?)),
        ("prev_hash".to_string(), s(&e.prev_hash)),
        ("hash".to_string(), s(&e.hash)),
        ("day".to_string(), s(utc_day(e.at))),
        ("at_key".to_string(), s(format!("{}#{}#{:020}", sortable(e.at), e.investigation_id, e.seq))),
    ]))
}

/// The event an item holds, exactly as stored: [`aiops_core::agent::audit::verify_chain`]
/// judges whether it was tampered with.
fn from_item(table: &str, item: &Item) -> Result<AuditEvent> {
    let at = req_s(table, item, "at")?;
    let at: Timestamp =
        at.parse().map_err(|e: jiff::Error| super::corrupt(table, format_args!("bad time {at:?}: {e}")))?;
    let event: AuditKind = from_json(table, "audit event", req_s(table, item, "event")?)?;
    Ok(AuditEvent {
        investigation_id: req_s(table, item, "investigation_id")?.to_string(),
        seq: req_n(table, item, "seq")?,
        at,
        actor: req_s(table, item, "actor")?.to_string(),
        event,
        prev_hash: req_s(table, item, "prev_hash")?.to_string(),
        hash: req_s(table, item, "hash")?.to_string(),
    })
}

/// A jittered pause before attempt `attempt` (1-based) of an append: up to 5 ms × 2^attempt,
/// at most 160 ms.
fn backoff(attempt: u32) -> Duration {
    let ceiling = 5u64 << attempt.min(5);
    Duration::from_millis(1 + random_u64() % ceiling)
}

impl DynamoStore {
    /// The last event of an investigation (consistent read).
    async fn last_event(&self, investigation_id: &str) -> Result<Option<AuditEvent>> {
        let table = self.audit_table.as_str();
        let out = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(inv_pk(investigation_id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
        out.items().first().map(|item| from_item(table, item)).transpose()
    }
}

#[async_trait::async_trait]
impl AuditLog for DynamoStore {
    /// Reads the last event, builds the next one with [`AuditEvent::next`] (sequence + 1,
    /// chained to its hash) and puts it with `attribute_not_exists(pk) AND
    /// attribute_not_exists(sk)`. When another append took that sequence number first, waits
    /// a short jittered while and starts over from the new last event: no event is lost,
    /// duplicated or overwritten. Then emits the event's JSON line on the `audit` tracing
    /// target. Not idempotent: retrying after an unknown outcome may append twice.
    ///
    /// # Errors
    /// `Transient` after [`MAX_APPEND_ATTEMPTS`] lost races; the SDK's classified error
    /// otherwise (`InvalidInput` when the event exceeds DynamoDB's 400 KB item limit).
    async fn append(&self, investigation_id: &str, actor: &str, event: AuditKind) -> Result<AuditEvent> {
        let table = self.audit_table.as_str();
        for attempt in 1..=MAX_APPEND_ATTEMPTS {
            let last = self.last_event(investigation_id).await?;
            let next = AuditEvent::next(last.as_ref(), investigation_id, Timestamp::now(), actor, event.clone());
            let put = self
                .client
                .put_item()
                .table_name(table)
                .set_item(Some(to_item(&next)?))
                .condition_expression("attribute_not_exists(pk) AND attribute_not_exists(sk)")
                .send()
                .await;
            match put {
                Ok(_) => {
                    // The message is the record itself, one JSON line, as CloudWatch keeps it.
                    tracing::info!(target: "audit", "{}", next.log_line());
                    return Ok(next);
                }
                Err(e) if is_condition_failure(&e) => tokio::time::sleep(backoff(attempt)).await,
                Err(e) => return Err(ddb_error("dynamodb:PutItem", table, e)),
            }
        }
        Err(Error::backend(
            ErrorClass::Transient,
            format!("append an audit event to investigation {investigation_id}"),
            format!("lost the race for the next sequence number {MAX_APPEND_ATTEMPTS} times"),
        ))
    }

    /// Every event, by sequence (consistent query of the investigation's partition).
    async fn events(&self, investigation_id: &str) -> Result<Vec<AuditEvent>> {
        let table = self.audit_table.as_str();
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(inv_pk(investigation_id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
        items.iter().map(|item| from_item(table, item)).collect()
    }

    /// Events whose `at` falls on the UTC day `day`, in time order (then by investigation and
    /// sequence), from the `by_day` index (eventually consistent).
    ///
    /// # Errors
    /// `InvalidInput` when `day` is not a `yyyy-mm-dd` date.
    async fn events_on(&self, day: &str) -> Result<Vec<AuditEvent>> {
        let date: jiff::civil::Date = day.parse().map_err(|e: jiff::Error| {
            Error::backend(
                ErrorClass::InvalidInput,
                "read audit events by day",
                format!("{day:?} is not a yyyy-mm-dd date: {e}"),
            )
        })?;
        let table = self.audit_table.as_str();
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(table)
            .index_name("by_day")
            .key_condition_expression("#day = :day")
            .expression_attribute_names("#day", "day")
            .expression_attribute_values(":day", s(date.to_string()))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
        let mut events = items.iter().map(|item| from_item(table, item)).collect::<Result<Vec<_>>>()?;
        events.sort_by(|a, b| (a.at, &a.investigation_id, a.seq).cmp(&(b.at, &b.investigation_id, b.seq)));
        Ok(events)
    }

    /// A consistent query of the investigation's partition for `sk` from `EVT#<after + 1>`,
    /// `limit` items at most (following DynamoDB's own pages until that many are read).
    ///
    /// # Errors
    /// `InvalidInput` when `limit` is 0; the SDK's classified error.
    async fn events_after(&self, investigation_id: &str, after: u64, limit: usize) -> Result<Vec<AuditEvent>> {
        if limit == 0 {
            return Err(Error::backend(ErrorClass::InvalidInput, "read audit events", "limit must be at least 1"));
        }
        let table = self.audit_table.as_str();
        let mut events = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = i32::try_from(limit - events.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(inv_pk(investigation_id)))
                .expression_attribute_values(":from", s(evt_sk(after.saturating_add(1))))
                .expression_attribute_values(":to", s(evt_sk(u64::MAX)))
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .limit(page)
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
            for item in out.items() {
                events.push(from_item(table, item)?);
            }
            start = out.last_evaluated_key().cloned();
            if events.len() >= limit || start.is_none() {
                break;
            }
        }
        events.truncate(limit);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_its_item() {
        let e = AuditEvent::next(None, "inv-1", Timestamp::now(), "local:ann", AuditKind::Answer { text: "ok".into() });
        let back = from_item("t", &to_item(&e).expect("item")).expect("event");
        assert_eq!(back, e);
        assert_eq!(back.compute_hash(), e.hash);
    }
}
