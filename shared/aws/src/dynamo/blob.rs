//! Payloads of state items: inline up to [`INLINE_LIMIT`], else split into parts (see the
//! parent module's docs for the layout and why a reader never mixes two writes).

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{DynamoStore, Item, ddb_error, is_condition_failure, key, n, opt_s, random_u64, req_n, req_s, s};
use aiops_core::{Error, ErrorClass, Result};

/// The largest JSON payload stored inline in its item (350 KiB; an item may hold 400 KB).
pub const INLINE_LIMIT: usize = 350 * 1024;

/// The size of one part of a larger payload.
pub const PART_SIZE: usize = 350 * 1024;

/// How many times a reader re-reads a head whose parts were replaced while it read them.
const READ_ATTEMPTS: usize = 5;

/// Whether a write may replace an existing item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Create or replace (idempotent writes).
    Upsert,
    /// Create only; an existing item is left as it is.
    CreateOnly,
}

fn part_sk(head_sk: &str, version: &str, index: usize) -> String {
    format!("PART#{head_sk}#{version}#{index:05}")
}

impl DynamoStore {
    /// Writes `json` as the payload of the state item (`pk`, `sk`) with `extra` attributes.
    /// Returns `false` (and writes nothing) when `mode` is [`Mode::CreateOnly`] and the item
    /// exists.
    pub(super) async fn put_blob(&self, pk: &str, sk: &str, extra: Item, json: String, mode: Mode) -> Result<bool> {
        let table = self.state_table.as_str();
        let mut head = extra;
        head.extend(key(pk, sk));
        head.insert("expires_at".into(), self.state_expiry());
        let mut written = Vec::new();
        if json.len() <= INLINE_LIMIT {
            head.insert("data".into(), s(json));
        } else {
            let version = format!("{:016x}", random_u64());
            for (i, chunk) in json.as_bytes().chunks(PART_SIZE).enumerate() {
                let part = part_sk(sk, &version, i);
                let mut item = key(pk, &part);
                item.insert("data".into(), AttributeValue::B(Blob::new(chunk.to_vec())));
                item.insert("expires_at".into(), self.state_expiry());
                let put = self.client.put_item().table_name(table).set_item(Some(item)).send().await;
                if let Err(e) = put {
                    self.delete_keys(pk, &written).await;
                    return Err(ddb_error("dynamodb:PutItem", table, e));
                }
                written.push(part);
            }
            head.insert("parts".into(), n(written.len()));
            head.insert("bytes".into(), n(json.len()));
            head.insert("version".into(), s(version));
        }
        let put = self.client.put_item().table_name(table).set_item(Some(head));
        let put = match mode {
            Mode::Upsert => put.return_values(ReturnValue::AllOld),
            Mode::CreateOnly => put.condition_expression("attribute_not_exists(pk)"),
        };
        match put.send().await {
            Ok(out) => {
                if let Some(old) = out.attributes() {
                    self.delete_parts_of(pk, sk, old).await;
                }
                Ok(true)
            }
            Err(e) if mode == Mode::CreateOnly && is_condition_failure(&e) => {
                self.delete_keys(pk, &written).await;
                Ok(false)
            }
            Err(e) => {
                self.delete_keys(pk, &written).await;
                Err(ddb_error("dynamodb:PutItem", table, e))
            }
        }
    }

    /// Deletes the parts a replaced head named (best effort: their TTL is the backstop).
    async fn delete_parts_of(&self, pk: &str, sk: &str, old: &Item) {
        let (Some(version), Some(parts)) =
            (opt_s(old, "version"), old.get("parts").and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<usize>().ok()))
        else {
            return;
        };
        let keys: Vec<String> = (0..parts).map(|i| part_sk(sk, version, i)).collect();
        self.delete_keys(pk, &keys).await;
    }

    /// Deletes state items by sort key (best effort, logged).
    async fn delete_keys(&self, pk: &str, sks: &[String]) {
        let table = self.state_table.as_str();
        for sk in sks {
            let del = self.client.delete_item().table_name(table).set_key(Some(key(pk, sk))).send().await;
            if let Err(e) = del {
                let error = ddb_error("dynamodb:DeleteItem", table, e);
                tracing::warn!(table, pk, sk = %sk, error = %error, "could not delete a stale payload part; its TTL will");
            }
        }
    }

    /// The JSON payload of a head item, reading its parts if it has any; `None` when a part
    /// is gone (the head was replaced while we read).
    async fn assemble(&self, pk: &str, sk: &str, head: &Item) -> Result<Option<String>> {
        let table = self.state_table.as_str();
        if let Some(data) = opt_s(head, "data") {
            return Ok(Some(data.to_string()));
        }
        let parts: usize = req_n(table, head, "parts")?;
        let version = req_s(table, head, "version")?;
        let mut bytes = Vec::with_capacity(req_n::<usize>(table, head, "bytes").unwrap_or(0));
        for i in 0..parts {
            let out = self
                .client
                .get_item()
                .table_name(table)
                .set_key(Some(key(pk, &part_sk(sk, version, i))))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:GetItem", table, e))?;
            let Some(item) = out.item() else { return Ok(None) };
            let data = item
                .get("data")
                .and_then(|v| v.as_b().ok())
                .ok_or_else(|| super::corrupt(table, format_args!("part {i} of {pk} / {sk} has no binary data")))?;
            bytes.extend_from_slice(data.as_ref());
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| super::corrupt(table, format_args!("the parts of {pk} / {sk} are not UTF-8: {e}")))
    }

    /// The head item (`pk`, `sk`) and its JSON payload, or `None` when there is no such item.
    pub(super) async fn get_blob(&self, pk: &str, sk: &str) -> Result<Option<(Item, String)>> {
        let table = self.state_table.as_str();
        for _ in 0..READ_ATTEMPTS {
            let out = self
                .client
                .get_item()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| ddb_error("dynamodb:GetItem", table, e))?;
            let Some(head) = out.item else { return Ok(None) };
            if let Some(json) = self.assemble(pk, sk, &head).await? {
                return Ok(Some((head, json)));
            }
        }
        Err(Error::backend(
            ErrorClass::Transient,
            format!("read {pk} / {sk} from table {table}"),
            format!("the payload was replaced {READ_ATTEMPTS} times while it was being read"),
        ))
    }

    /// The payload of a head item a query returned (re-read when it was replaced since).
    pub(super) async fn payload_of(&self, head: Item) -> Result<Option<(Item, String)>> {
        let table = self.state_table.as_str();
        let pk = req_s(table, &head, "pk")?.to_string();
        let sk = req_s(table, &head, "sk")?.to_string();
        if let Some(json) = self.assemble(&pk, &sk, &head).await? {
            return Ok(Some((head, json)));
        }
        self.get_blob(&pk, &sk).await
    }

    /// Every payload in partition `pk` whose sort key begins with `prefix`, in sort-key order.
    pub(super) async fn query_blobs(&self, pk: &str, prefix: &str) -> Result<Vec<(Item, String)>> {
        let table = self.state_table.as_str();
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ddb_error("dynamodb:Query", table, e))?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(payload) = self.payload_of(item).await? {
                out.push(payload);
            }
        }
        Ok(out)
    }
}
