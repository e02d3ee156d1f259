//! [`SweepStore`] over the DynamoDB state table (the same table as investigations; see
//! [`crate::dynamo`] for the rest of its items).
//!
//! # Key scheme
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | pointer to the latest sweep | `SWEEP#latest` | `LATEST` | `sweep_id`, `at`, `parts`, `bytes` |
//! | a sweep's head | `SWEEP#<sweep id>` | `META` | `at`, `parts`, `bytes`, `new`, `ongoing`, `resolved` |
//! | part `n` of a sweep's report | `SWEEP#<sweep id>` | `PART#<n, 5 digits>` | `data` (binary) |
//! | a root cause's investigation claim | `SWEEPCLAIM#<finding identity>` | `CLAIM` | `investigation_id`, `sweep_id`, `claimed_at`, `claim` (JSON) |
//!
//! Sweep ids carry their time (`sweep-20251130T100000Z…`), so `SWEEP#<sweep id>` is the
//! `SWEEP#<ts>` history of every sweep; every item has `expires_at` (the table's TTL
//! attribute) 30 days after it was written ([`DEFAULT_STATE_TTL_SECONDS`]), so the history
//! keeps a month.
//!
//! **A report of any size fits.** Its JSON (compact) is cut into parts of at most
//! [`PART_SIZE`] bytes (350 KiB; an item may hold 400 KB), each its own item: a sweep of
//! thousands of findings is a few parts. Saving writes the head first, conditionally
//! (`attribute_not_exists(pk)`, so a sweep id is stored once and an existing sweep's parts are
//! never overwritten), then the parts, then moves the pointer with the compare-and-swap
//! `sweep_id = :previous` (`attribute_not_exists(pk)` for the first sweep). A sweep that loses
//! that race deletes its own items (best effort; the TTL removes any left). Parts of the latest
//! sweep are never deleted; reading it is a consistent `GetItem` of the pointer and a
//! consistent `Query` of its parts.
//!
//! A claim is put with `attribute_not_exists(pk)` (nobody claimed the root cause) or
//! `investigation_id = :replaced` (the claim read is still the stored one): of two concurrent
//! sweeps exactly one writes. Releasing is a `DeleteItem` with `investigation_id = :mine`.
//!
//! IAM: `dynamodb:GetItem`, `PutItem`, `DeleteItem` and `Query` on the state table.

use std::collections::HashMap;

use aiops_core::ports::SweepStore;
use aiops_core::sweep::{InvestigationClaim, SweepReport, check_report};
use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;

use crate::dynamo::{DEFAULT_STATE_TTL_SECONDS, DynamoStore, PART_SIZE};
use crate::error::{HttpStatus, backend_error, error_code};

type Item = HashMap<String, AttributeValue>;

const LATEST_PK: &str = "SWEEP#latest";
const LATEST_SK: &str = "LATEST";
const HEAD_SK: &str = "META";

fn sweep_pk(sweep_id: &str) -> String {
    format!("SWEEP#{sweep_id}")
}

fn part_sk(n: usize) -> String {
    format!("PART#{n:05}")
}

fn claim_pk(identity: &str) -> String {
    format!("SWEEPCLAIM#{identity}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn expiry() -> AttributeValue {
    n(Timestamp::now().as_second().saturating_add(DEFAULT_STATE_TTL_SECONDS))
}

/// An SDK error of a call on `table`, classified, with the table named.
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

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    error_code(err) == Some("ConditionalCheckFailedException")
}

fn corrupt(table: &str, what: impl std::fmt::Display) -> Error {
    Error::backend(ErrorClass::Fatal, format!("read table {table}"), format!("a stored sweep cannot be read: {what}"))
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn num_attr(item: &Item, name: &str) -> Option<usize> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

impl DynamoStore {
    /// Deletes a sweep's head and parts (best effort, logged; the TTL is the backstop).
    async fn delete_sweep_items(&self, table: &str, sweep_id: &str, parts: usize) {
        let pk = sweep_pk(sweep_id);
        let sks = std::iter::once(HEAD_SK.to_string()).chain((0..parts).map(part_sk));
        for sk in sks {
            let del = self.client().delete_item().table_name(table).set_key(Some(key(&pk, &sk))).send().await;
            if let Err(e) = del {
                let error = ddb_error("dynamodb:DeleteItem", table, e);
                tracing::warn!(table, pk = %pk, sk = %sk, error = %error, "could not delete an unused sweep item; its TTL will");
            }
        }
    }

    /// The parts of a sweep, in order, concatenated; `None` when some are missing.
    async fn read_parts(&self, table: &str, sweep_id: &str, parts: usize) -> Result<Option<Vec<u8>>> {
        let mut bytes = Vec::new();
        let mut count = 0usize;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :part)")
                .expression_attribute_values(":pk", s(sweep_pk(sweep_id)))
                .expression_attribute_values(":part", s("PART#"))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
            for item in out.items() {
                let expected = part_sk(count);
                if str_attr(item, "sk") != Some(expected.as_str()) {
                    return Ok(None);
                }
                let data = item.get("data").and_then(|v| v.as_b().ok()).ok_or_else(|| {
                    corrupt(table, format_args!("part {count} of sweep {sweep_id} has no binary data"))
                })?;
                bytes.extend_from_slice(data.as_ref());
                count += 1;
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        Ok((count == parts).then_some(bytes))
    }
}

#[async_trait::async_trait]
impl SweepStore for DynamoStore {
    /// A missing part (the history's TTL removed a sweep not followed by another for a month)
    /// is logged and reads as no latest sweep: the next sweep starts afresh.
    async fn latest_sweep(&self) -> Result<Option<SweepReport>> {
        let table = self.tables().state;
        let out = self
            .client()
            .get_item()
            .table_name(&table)
            .set_key(Some(key(LATEST_PK, LATEST_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ddb_error("dynamodb:GetItem", &table, e))?;
        let Some(pointer) = out.item() else { return Ok(None) };
        let sweep_id = str_attr(pointer, "sweep_id")
            .ok_or_else(|| corrupt(&table, "the latest-sweep pointer has no sweep_id"))?
            .to_string();
        let parts =
            num_attr(pointer, "parts").ok_or_else(|| corrupt(&table, "the latest-sweep pointer has no parts"))?;
        let Some(bytes) = self.read_parts(&table, &sweep_id, parts).await? else {
            tracing::warn!(table = %table, sweep_id = %sweep_id, "the latest sweep's parts are gone; starting afresh");
            return Ok(None);
        };
        let report: SweepReport = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(&table, format_args!("sweep {sweep_id} is not a sweep report: {e}")))?;
        check_report(&report)?;
        Ok(Some(report))
    }

    async fn save_sweep(&self, report: &SweepReport, previous: Option<&str>) -> Result<bool> {
        let table = self.tables().state;
        let json = serde_json::to_vec(report).map_err(|e| Error::Backend {
            class: ErrorClass::Fatal,
            operation: format!("serialize sweep {}", report.sweep_id),
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        let chunks: Vec<&[u8]> = json.chunks(PART_SIZE).collect();
        let pk = sweep_pk(&report.sweep_id);
        let mut head = key(&pk, HEAD_SK);
        head.extend([
            ("at".to_string(), s(report.at.to_string())),
            ("parts".to_string(), n(chunks.len())),
            ("bytes".to_string(), n(json.len())),
            ("new".to_string(), n(report.new.len())),
            ("ongoing".to_string(), n(report.ongoing.len())),
            ("resolved".to_string(), n(report.resolved.len())),
            ("expires_at".to_string(), expiry()),
        ]);
        let put = self
            .client()
            .put_item()
            .table_name(&table)
            .set_item(Some(head))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e) if is_condition_failure(&e) => {
                return Err(Error::backend(
                    ErrorClass::Conflict,
                    format!("store sweep {}", report.sweep_id),
                    format!("a sweep with id {} is stored already", report.sweep_id),
                ));
            }
            Err(e) => return Err(ddb_error("dynamodb:PutItem", &table, e)),
        }
        for (i, chunk) in chunks.iter().enumerate() {
            let mut item = key(&pk, &part_sk(i));
            item.insert("data".into(), AttributeValue::B(Blob::new(chunk.to_vec())));
            item.insert("expires_at".into(), expiry());
            if let Err(e) = self.client().put_item().table_name(&table).set_item(Some(item)).send().await {
                let error = ddb_error("dynamodb:PutItem", &table, e);
                self.delete_sweep_items(&table, &report.sweep_id, i).await;
                return Err(error);
            }
        }
        let mut pointer = key(LATEST_PK, LATEST_SK);
        pointer.extend([
            ("sweep_id".to_string(), s(report.sweep_id.clone())),
            ("at".to_string(), s(report.at.to_string())),
            ("parts".to_string(), n(chunks.len())),
            ("bytes".to_string(), n(json.len())),
            ("expires_at".to_string(), expiry()),
        ]);
        let put = self.client().put_item().table_name(&table).set_item(Some(pointer));
        let put = match previous {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(p) => put.condition_expression("sweep_id = :previous").expression_attribute_values(":previous", s(p)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let lost = is_condition_failure(&e);
                self.delete_sweep_items(&table, &report.sweep_id, chunks.len()).await;
                if lost { Ok(false) } else { Err(ddb_error("dynamodb:PutItem", &table, e)) }
            }
        }
    }

    async fn get_claim(&self, identity: &str) -> Result<Option<InvestigationClaim>> {
        let table = self.tables().state;
        let out = self
            .client()
            .get_item()
            .table_name(&table)
            .set_key(Some(key(&claim_pk(identity), "CLAIM")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ddb_error("dynamodb:GetItem", &table, e))?;
        let Some(item) = out.item() else { return Ok(None) };
        let json =
            str_attr(item, "claim").ok_or_else(|| corrupt(&table, format_args!("claim {identity} has no claim")))?;
        serde_json::from_str(json)
            .map(Some)
            .map_err(|e| corrupt(&table, format_args!("claim {identity} is not a claim: {e}")))
    }

    async fn put_claim(&self, claim: &InvestigationClaim, replacing: Option<&str>) -> Result<bool> {
        let table = self.tables().state;
        let json = serde_json::to_string(claim).map_err(|e| Error::Backend {
            class: ErrorClass::Fatal,
            operation: format!("serialize the claim on {}", claim.identity),
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        let mut item = key(&claim_pk(&claim.identity), "CLAIM");
        item.extend([
            ("investigation_id".to_string(), s(claim.investigation_id.clone())),
            ("sweep_id".to_string(), s(claim.sweep_id.clone())),
            ("claimed_at".to_string(), s(claim.claimed_at.to_string())),
            ("claim".to_string(), s(json)),
            ("expires_at".to_string(), expiry()),
        ]);
        let put = self.client().put_item().table_name(&table).set_item(Some(item));
        let put = match replacing {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(old) => put
                .condition_expression("investigation_id = :replaced")
                .expression_attribute_values(":replaced", s(old)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(ddb_error("dynamodb:PutItem", &table, e)),
        }
    }

    async fn release_claim(&self, identity: &str, investigation_id: &str) -> Result<()> {
        let table = self.tables().state;
        let del = self
            .client()
            .delete_item()
            .table_name(&table)
            .set_key(Some(key(&claim_pk(identity), "CLAIM")))
            .condition_expression("investigation_id = :mine")
            .expression_attribute_values(":mine", s(investigation_id))
            .send()
            .await;
        match del {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(ddb_error("dynamodb:DeleteItem", &table, e)),
        }
    }
}
