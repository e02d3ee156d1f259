//! The DynamoDB stores: [`DynamoStore`] implements [`StateStore`], [`AuditLog`] and
//! [`ApprovalStore`] over three tables, plus a per-object lock ([`DynamoStore::try_lock`]).
//!
//! Every write that must not be lost or repeated is a conditional write; reads that follow
//! writes of the same workflow use consistent reads (base-table queries and `GetItem`); only
//! the listings read global secondary indexes, which are eventually consistent.
//!
//! # Table design
//!
//! All keys are strings. Items carry their payload as JSON text (the record exactly as
//! `serde_json` writes it), plus the few attributes keys, indexes and conditions need.
//!
//! ## State table (`pk`, `sk`)
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | investigation | `INV#<id>` | `META` | `gsi1pk = INVESTIGATIONS`, `gsi1sk = <created_at>#<id>`, `gsi2pk = INVESTIGATIONS#<status>`, `status`, `created_at` |
//! | transcript message | `INV#<id>` | `MSG#<index, 10 digits>` | `index` |
//! | tool result | `INV#<id>` | `RES#<key>` | `key` |
//! | document | `DOC#<key>` | `DOC` | `key` |
//! | lock | `LOCK#<object key>` | `LOCK` | `owner`, `acquired_at`, `expires_at` |
//! | part of a large payload | same `pk` | `PART#<sk of its head>#<version>#<n, 5 digits>` | `data` (binary) |
//!
//! `<created_at>` is written `2025-11-30T10:00:00.000000000Z` (fixed width, so it sorts as
//! time). Global secondary indexes, both projecting all attributes:
//! - `by_created` (`gsi1pk`, `gsi1sk`): every investigation, newest first with
//!   `ScanIndexForward = false`;
//! - `by_status` (`gsi2pk`, `gsi1sk`): the investigations of one status, newest first (the
//!   partition key changes with the status, so a filter never reads what it drops).
//!
//! The listing's cursor is the `gsi1sk` of the last item of a page; the next page asks for
//! `gsi1sk < cursor`.
//!
//! **Large payloads are split, not compressed.** A payload (investigation, message, result,
//! document) whose JSON is at most [`INLINE_LIMIT`] bytes (350 KiB) is stored inline in the
//! `data` string attribute of its item. A larger one is cut into parts of at most
//! [`PART_SIZE`] bytes, each its own item (`data` as binary, so a cut may fall inside a UTF-8
//! character), written first; then the head item is written with `parts`, `bytes` and a
//! random `version` instead of `data`. Part keys carry the version, so a reader never mixes
//! the parts of two writes: it reads the head, then exactly the parts it names (consistent
//! `GetItem`s), and if one is gone (a newer write replaced the head and removed the old
//! parts in between) it reads the head again. After a head is replaced, the parts of the
//! previous version are deleted (best effort; their TTL removes any that remain). A 1 MB tool
//! result is a head and three parts.
//!
//! Every state item carries `expires_at` (epoch seconds, the table's TTL attribute): 30 days
//! after its last write by default ([`DynamoStore::with_state_ttl`]). A lock's `expires_at`
//! is the end of its lease.
//!
//! ## Audit table (`pk`, `sk`): append-only
//!
//! One item per event: `pk = INV#<id>`, `sk = EVT#<seq, 20 digits>`, with `investigation_id`,
//! `seq`, `at` (RFC 3339), `actor`, `type`, `event` (the [`AuditKind`] as JSON),
//! `prev_hash`, `hash`, `day` (`2025-11-30`, UTC) and
//! `at_key = <at, fixed width>#<id>#<seq, 20 digits>`. Global secondary index `by_day`
//! (`day`, `at_key`, all attributes) serves [`AuditLog::events_on`] in time order.
//!
//! An append reads the last event (consistent query, `ScanIndexForward = false`, `Limit = 1`),
//! builds the next one with [`AuditEvent::next`] and puts it with
//! `attribute_not_exists(pk) AND attribute_not_exists(sk)`. When a concurrent append took that
//! sequence number first, it waits a short jittered while and starts over from the new last
//! event (at most [`MAX_APPEND_ATTEMPTS`] times): no event is lost, none is duplicated, none
//! is overwritten. Nothing in this crate updates or deletes an audit item; the deployed roles
//! are not allowed to either, and the hash chain exposes an item edited or deleted by anyone
//! with direct table access ([`verify_chain`]). `create_tables` turns point-in-time recovery
//! on for this table.
//!
//! ## Approvals table (`pk`)
//!
//! One item per request: `pk = APR#<id>`, `request` (the request as created, JSON), the
//! mutable fields as attributes (`status`, `decided_by`, `decided_at`, `reason`, `comment`,
//! `used_at`), `action_hash`, `expires_at_ns` (the request's expiry in epoch nanoseconds, for
//! conditions; not a TTL), and `task_token`. The token is read only by
//! [`ApprovalStore::decide`]: `get` and `list` project it away, and the indexes do not
//! include it. Global secondary indexes (`INCLUDE` projections without the token):
//! `by_created` (`gsi1pk = APPROVALS`, `gsi1sk = <requested_at>#<id>`) and `by_status`
//! (`gsi2pk = APPROVALS#<status>`, `gsi1sk`).
//!
//! State changes are single conditional `UpdateItem`s: decide needs `status = pending AND
//! expires_at_ns >= now`; expire needs `status = pending`; consume needs `status = approved
//! AND action_hash = :hash`. When a condition fails, the item is read to say exactly why
//! (decided by whom and when, expired, used, bound to another action), and a pending request
//! found past its expiry is marked expired (conditionally).
//!
//! # Testing on the emulator
//!
//! moto 5 evaluates a condition and then writes without a lock, on one thread per request,
//! so concurrent conditional writes are not atomic there (DynamoDB's are). The tests that race
//! appends or locks therefore run on a moto whose DynamoDB writes are serialized
//! (`tests/it/dynamo/atomic_moto.rs`); against plain moto, 40 concurrent appends produce
//! duplicate sequence numbers.
//!
//! [`StateStore`]: aiops_core::ports::StateStore
//! [`AuditLog`]: aiops_core::ports::AuditLog
//! [`AuditLog::events_on`]: aiops_core::ports::AuditLog::events_on
//! [`ApprovalStore`]: aiops_core::ports::ApprovalStore
//! [`ApprovalStore::decide`]: aiops_core::ports::ApprovalStore::decide
//! [`AuditKind`]: aiops_core::agent::audit::AuditKind
//! [`AuditEvent::next`]: aiops_core::agent::audit::AuditEvent::next
//! [`verify_chain`]: aiops_core::agent::audit::verify_chain

mod approvals;
mod audit;
mod blob;
mod lock;
mod state;
mod tables;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;

pub use audit::MAX_APPEND_ATTEMPTS;
pub use blob::{INLINE_LIMIT, PART_SIZE};

use crate::error::{HttpStatus, backend_error};

/// A DynamoDB item.
type Item = HashMap<String, AttributeValue>;

/// How long state items live after their last write, by default: 30 days.
pub const DEFAULT_STATE_TTL_SECONDS: i64 = 30 * 24 * 3600;

/// The names of the three tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Investigations, transcripts, tool results, documents, locks.
    pub state: String,
    /// The append-only audit trail.
    pub audit: String,
    /// Approval requests and their task tokens.
    pub approvals: String,
}

impl TableNames {
    /// `<prefix>-state`, `<prefix>-audit`, `<prefix>-approvals`.
    pub fn prefixed(prefix: &str) -> TableNames {
        TableNames {
            state: format!("{prefix}-state"),
            audit: format!("{prefix}-audit"),
            approvals: format!("{prefix}-approvals"),
        }
    }
}

/// The state store, audit trail and approval store over DynamoDB (see the module docs for
/// the table design). Cheap to clone: clones share one SDK client.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    state_table: String,
    audit_table: String,
    approvals_table: String,
    state_ttl_seconds: i64,
}

impl DynamoStore {
    /// A store whose client is built from `config` (the standard chain the caller loaded,
    /// honouring `AWS_ENDPOINT_URL`).
    pub fn new(config: &aws_config::SdkConfig, tables: TableNames) -> DynamoStore {
        DynamoStore::with_client(Client::new(config), tables)
    }

    /// A store over an existing client.
    pub fn with_client(client: Client, tables: TableNames) -> DynamoStore {
        DynamoStore {
            client,
            state_table: tables.state,
            audit_table: tables.audit,
            approvals_table: tables.approvals,
            state_ttl_seconds: DEFAULT_STATE_TTL_SECONDS,
        }
    }

    /// Sets how long state items live after their last write (the `expires_at` TTL).
    #[must_use]
    pub fn with_state_ttl(mut self, seconds: i64) -> DynamoStore {
        self.state_ttl_seconds = seconds;
        self
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table names.
    pub fn tables(&self) -> TableNames {
        TableNames {
            state: self.state_table.clone(),
            audit: self.audit_table.clone(),
            approvals: self.approvals_table.clone(),
        }
    }

    /// `expires_at` for a state item written now.
    fn state_expiry(&self) -> AttributeValue {
        n(Timestamp::now().as_second().saturating_add(self.state_ttl_seconds))
    }
}

// ---- attribute values -------------------------------------------------------------------

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute, or `None` when absent or not a string.
fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn corrupt(table: &str, what: impl std::fmt::Display) -> Error {
    Error::backend(ErrorClass::Fatal, format!("read table {table}"), format!("a stored item cannot be read: {what}"))
}

/// A required string attribute.
fn req_s<'a>(table: &str, item: &'a Item, name: &str) -> Result<&'a str> {
    opt_s(item, name)
        .ok_or_else(|| corrupt(table, format_args!("{} has no string attribute {name}", describe_key(item))))
}

/// A required number attribute.
fn req_n<T: std::str::FromStr>(table: &str, item: &Item, name: &str) -> Result<T> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(table, format_args!("{} has no numeric attribute {name}", describe_key(item))))
}

/// `pk`/`sk` of an item, for messages.
fn describe_key(item: &Item) -> String {
    match (opt_s(item, "pk"), opt_s(item, "sk")) {
        (Some(pk), Some(sk)) => format!("item {pk} / {sk}"),
        (Some(pk), None) => format!("item {pk}"),
        _ => "an item".to_string(),
    }
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// `2025-11-30T10:00:00.000000000Z`: fixed width, so string order is time order.
fn sortable(ts: Timestamp) -> String {
    format!("{}.{:09}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"), ts.subsec_nanosecond().max(0))
}

// ---- errors -----------------------------------------------------------------------------

/// An SDK error of a call on `table`, classified, with the table named in the message.
fn ddb_error<E, R>(operation: &str, table: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: HttpStatus + std::fmt::Debug + Send + Sync + 'static,
{
    match backend_error(operation, err) {
        Error::Backend { class, operation, message, source } => {
            Error::Backend { class, operation, message: format!("{message} (table {table})"), source }
        }
        other => other,
    }
}

/// Whether the call failed only because its condition did not hold.
fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    crate::error::error_code(err) == Some("ConditionalCheckFailedException")
}

/// A request the SDK refused to build (a required field missing): a bug of ours.
fn build_error(what: &str, err: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Backend {
        class: ErrorClass::Fatal,
        operation: what.to_string(),
        message: "the request could not be built".to_string(),
        source: Some(Box::new(err)),
    }
}

fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Backend {
        class: ErrorClass::Fatal,
        operation: format!("serialize {what}"),
        message: e.to_string(),
        source: Some(Box::new(e)),
    })
}

fn from_json<T: serde::de::DeserializeOwned>(table: &str, what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Backend {
        class: ErrorClass::Fatal,
        operation: format!("read table {table}"),
        message: format!("a stored {what} cannot be read: {e}"),
        source: Some(Box::new(e)),
    })
}

/// A random number (for versions and jitter), without a global generator.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Timestamp::now().as_nanosecond().unsigned_abs());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_timestamps_sort_as_time() {
        let a: Timestamp = "2025-11-30T10:00:00Z".parse().expect("ts");
        let b: Timestamp = "2025-11-30T10:00:00.5Z".parse().expect("ts");
        let c: Timestamp = "2025-11-30T10:00:01Z".parse().expect("ts");
        assert_eq!(sortable(a), "2025-11-30T10:00:00.000000000Z");
        assert!(sortable(a) < sortable(b) && sortable(b) < sortable(c));
    }
}
