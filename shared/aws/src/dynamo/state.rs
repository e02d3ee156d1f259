//! [`StateStore`] over the state table.

use std::collections::{BTreeMap, HashMap};

use aiops_core::agent::{Investigation, InvestigationStatus, Message};
use aiops_core::ports::StateStore;
use aiops_core::{Error, ErrorClass, Result};
use serde_json::Value;

use super::blob::Mode;
use super::{DynamoStore, Item, ddb_error, from_json, n, req_s, s, sortable, to_json};

/// The partition of the `by_created` index that lists investigations.
const INVESTIGATIONS: &str = "INVESTIGATIONS";

fn inv_pk(id: &str) -> String {
    format!("INV#{id}")
}

fn msg_sk(index: u32) -> String {
    format!("MSG#{index:010}")
}

/// The listing's sort key, also the cursor after an investigation.
fn created_key(inv: &Investigation) -> String {
    format!("{}#{}", sortable(inv.created_at), inv.id)
}

/// Checks that a cursor is one [`created_key`] made.
fn check_cursor(cursor: &str) -> Result<()> {
    let valid = cursor
        .split_once('#')
        .is_some_and(|(at, id)| !id.is_empty() && at.len() == 30 && at.parse::<jiff::Timestamp>().is_ok());
    if valid {
        Ok(())
    } else {
        Err(Error::backend(
            ErrorClass::InvalidInput,
            "list investigations",
            format!("{cursor:?} is not a cursor this store returned"),
        ))
    }
}

#[async_trait::async_trait]
impl StateStore for DynamoStore {
    /// Puts `INV#<id>` / `META` (replacing it), with the listing attributes. Idempotent.
    async fn put_investigation(&self, investigation: &Investigation) -> Result<()> {
        let json = to_json("an investigation", investigation)?;
        let status = investigation.status.as_str();
        let extra: Item = HashMap::from([
            ("gsi1pk".to_string(), s(INVESTIGATIONS)),
            ("gsi1sk".to_string(), s(created_key(investigation))),
            ("gsi2pk".to_string(), s(format!("{INVESTIGATIONS}#{status}"))),
            ("status".to_string(), s(status)),
            ("created_at".to_string(), s(investigation.created_at.to_string())),
        ]);
        self.put_blob(&inv_pk(&investigation.id), "META", extra, json, Mode::Upsert).await?;
        Ok(())
    }

    async fn get_investigation(&self, id: &str) -> Result<Option<Investigation>> {
        match self.get_blob(&inv_pk(id), "META").await? {
            Some((_, json)) => Ok(Some(from_json(&self.state_table, "investigation", &json)?)),
            None => Ok(None),
        }
    }

    /// Newest first (by `created_at`, then id, both descending), `limit` at a time, from the
    /// `by_created` index (or `by_status` for one status). The second value is the cursor to
    /// pass as `after` for the next page, `None` on the last page. The indexes are eventually
    /// consistent: an investigation put a moment ago may not be listed yet.
    ///
    /// # Errors
    /// `InvalidInput` when `limit` is 0 or `after` is not a cursor this store returned.
    async fn list_investigations(
        &self,
        status: Option<InvestigationStatus>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Investigation>, Option<String>)> {
        if limit == 0 {
            return Err(Error::backend(ErrorClass::InvalidInput, "list investigations", "limit must be at least 1"));
        }
        if let Some(cursor) = after {
            check_cursor(cursor)?;
        }
        let table = self.state_table.as_str();
        let (index, partition_attr, partition) = match status {
            None => ("by_created", "gsi1pk", INVESTIGATIONS.to_string()),
            Some(st) => ("by_status", "gsi2pk", format!("{INVESTIGATIONS}#{}", st.as_str())),
        };
        let condition = if after.is_some() { "#p = :p AND gsi1sk < :after" } else { "#p = :p" };
        // One more than asked, to know whether another page follows.
        let want = limit.saturating_add(1);
        let mut heads: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = i32::try_from(want - heads.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(table)
                .index_name(index)
                .key_condition_expression(condition)
                .expression_attribute_names("#p", partition_attr)
                .expression_attribute_values(":p", s(partition.clone()))
                .set_exclusive_start_key(start.take())
                .scan_index_forward(false)
                .limit(page);
            let out = match after {
                Some(cursor) => out.expression_attribute_values(":after", s(cursor)),
                None => out,
            };
            let out = out.send().await.map_err(|e| ddb_error("dynamodb:Query", table, e))?;
            heads.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if heads.len() >= want || start.is_none() {
                break;
            }
        }
        heads.truncate(want);
        let more = heads.len() > limit;
        heads.truncate(limit);
        let mut items = Vec::with_capacity(heads.len());
        for head in heads {
            if let Some((_, json)) = self.payload_of(head).await? {
                items.push(from_json::<Investigation>(table, "investigation", &json)?);
            }
        }
        let next = if more { items.last().map(created_key) } else { None };
        Ok((items, next))
    }

    /// Puts `INV#<id>` / `MSG#<index>` only if it does not exist.
    ///
    /// # Errors
    /// `Conflict` when message `index` of `id` exists already.
    async fn append_message(&self, id: &str, index: u32, message: &Message) -> Result<()> {
        let json = to_json("a message", message)?;
        let extra: Item = HashMap::from([("index".to_string(), n(index))]);
        if self.put_blob(&inv_pk(id), &msg_sk(index), extra, json, Mode::CreateOnly).await? {
            Ok(())
        } else {
            Err(Error::backend(
                ErrorClass::Conflict,
                format!("append message {index} of investigation {id}"),
                format!("message {index} of investigation {id} exists already"),
            ))
        }
    }

    async fn messages(&self, id: &str) -> Result<Vec<Message>> {
        let table = self.state_table.as_str();
        self.query_blobs(&inv_pk(id), "MSG#").await?.iter().map(|(_, json)| from_json(table, "message", json)).collect()
    }

    /// Puts `INV#<id>` / `RES#<key>` (replacing it). Idempotent.
    async fn put_result(&self, id: &str, key: &str, data: &Value) -> Result<()> {
        let json = to_json("a tool result", data)?;
        let extra: Item = HashMap::from([("key".to_string(), s(key))]);
        self.put_blob(&inv_pk(id), &format!("RES#{key}"), extra, json, Mode::Upsert).await?;
        Ok(())
    }

    async fn results(&self, id: &str) -> Result<BTreeMap<String, Value>> {
        let table = self.state_table.as_str();
        let mut out = BTreeMap::new();
        for (head, json) in self.query_blobs(&inv_pk(id), "RES#").await? {
            let key = req_s(table, &head, "key")?.to_string();
            out.insert(key, from_json(table, "tool result", &json)?);
        }
        Ok(out)
    }

    /// Puts `DOC#<key>` / `DOC` (replacing it). Idempotent.
    async fn put_doc(&self, key: &str, doc: &Value) -> Result<()> {
        let json = to_json("a document", doc)?;
        let extra: Item = HashMap::from([("key".to_string(), s(key))]);
        self.put_blob(&format!("DOC#{key}"), "DOC", extra, json, Mode::Upsert).await?;
        Ok(())
    }

    async fn get_doc(&self, key: &str) -> Result<Option<Value>> {
        match self.get_blob(&format!("DOC#{key}"), "DOC").await? {
            Some((_, json)) => Ok(Some(from_json(&self.state_table, "document", &json)?)),
            None => Ok(None),
        }
    }

    /// Puts `DOC#<key>` / `DOC` with `attribute_not_exists(pk)`: the first writer wins.
    async fn create_doc(&self, key: &str, doc: &Value) -> Result<bool> {
        let json = to_json("a document", doc)?;
        let extra: Item = HashMap::from([("key".to_string(), s(key))]);
        self.put_blob(&format!("DOC#{key}"), "DOC", extra, json, Mode::CreateOnly).await
    }
}
