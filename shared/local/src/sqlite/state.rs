//! [`StateStore`] over SQLite: investigations, transcripts, tool results and documents.

use std::collections::BTreeMap;

use aiops_core::agent::{Investigation, InvestigationStatus, Message};
use aiops_core::ports::StateStore;
use aiops_core::{Error as CoreError, ErrorClass};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::{SqliteStore, from_json, micros, to_json};
use crate::error::{Error, is_key_conflict};

/// The cursor after an investigation: its creation time (microseconds) and id, the sort key
/// of the listing. Opaque to callers.
fn cursor(inv: &Investigation) -> String {
    format!("{}.{}", micros(inv.created_at), inv.id)
}

fn parse_cursor(cursor: &str) -> aiops_core::Result<(i64, String)> {
    cursor.split_once('.').and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string()))).ok_or_else(|| {
        CoreError::backend(
            ErrorClass::InvalidInput,
            "list investigations",
            format!("{cursor:?} is not a cursor this store returned"),
        )
    })
}

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    /// Upserts the record (its status and creation time are also kept in columns for
    /// listing). Idempotent.
    async fn put_investigation(&self, investigation: &Investigation) -> aiops_core::Result<()> {
        let operation = format!("store investigation {}", investigation.id);
        let json = to_json("an investigation", investigation)?;
        let (id, status, created) =
            (investigation.id.clone(), investigation.status.as_str(), micros(investigation.created_at));
        self.run(operation.clone(), move |conn| {
            conn.execute(
                "INSERT INTO investigations (id, status, created_at, json) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, created_at = excluded.created_at,
                 json = excluded.json",
                params![id, status, created, json],
            )
            .map_err(|e| Error::sqlite(operation, e))?;
            Ok(())
        })
        .await
    }

    async fn get_investigation(&self, id: &str) -> aiops_core::Result<Option<Investigation>> {
        let operation = format!("read investigation {id}");
        let id = id.to_string();
        self.run(operation.clone(), move |conn| {
            let json: Option<String> = conn
                .query_row("SELECT json FROM investigations WHERE id = ?1", [&id], |row| row.get(0))
                .optional()
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(json.map(|j| from_json("an investigation", &j)).transpose()?)
        })
        .await
    }

    /// Newest first (by `created_at`, then id), `limit` at a time. The second value is the
    /// cursor to pass as `after` for the next page, `None` on the last page.
    ///
    /// # Errors
    /// `InvalidInput` when `limit` is 0 or `after` is not a cursor this store returned.
    async fn list_investigations(
        &self,
        status: Option<InvestigationStatus>,
        limit: usize,
        after: Option<&str>,
    ) -> aiops_core::Result<(Vec<Investigation>, Option<String>)> {
        if limit == 0 {
            return Err(CoreError::backend(
                ErrorClass::InvalidInput,
                "list investigations",
                "limit must be at least 1",
            ));
        }
        let after = after.map(parse_cursor).transpose()?;
        let status = status.map(InvestigationStatus::as_str);
        // One more than asked, to know whether another page follows.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let operation = "list investigations".to_string();
        let mut items: Vec<Investigation> = self
            .run(operation.clone(), move |conn| {
                let (after_at, after_id) = after.map_or((None, None), |(at, id)| (Some(at), Some(id)));
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT json FROM investigations
                         WHERE (?1 IS NULL OR status = ?1)
                           AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3))
                         ORDER BY created_at DESC, id DESC
                         LIMIT ?4",
                    )
                    .map_err(|e| Error::sqlite(operation.clone(), e))?;
                let rows = stmt
                    .query_map(params![status, after_at, after_id, fetch], |row| row.get::<_, String>(0))
                    .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
                    .map_err(|e| Error::sqlite(operation, e))?;
                let items = rows
                    .iter()
                    .map(|j| from_json("an investigation", j))
                    .collect::<crate::Result<Vec<Investigation>>>()?;
                Ok(items)
            })
            .await?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(cursor)
        } else {
            None
        };
        Ok((items, next))
    }

    /// A plain INSERT on (investigation, index): a replayed step is refused, never written
    /// over.
    ///
    /// # Errors
    /// `Conflict` when message `index` of `id` exists already.
    async fn append_message(&self, id: &str, index: u32, message: &Message) -> aiops_core::Result<()> {
        let operation = format!("append message {index} of investigation {id}");
        let json = to_json("a message", message)?;
        let id = id.to_string();
        self.run(operation.clone(), move |conn| {
            match conn.execute(
                "INSERT INTO messages (investigation_id, idx, json) VALUES (?1, ?2, ?3)",
                params![id, index, json],
            ) {
                Ok(_) => Ok(()),
                Err(e) if is_key_conflict(&e) => Err(CoreError::Backend {
                    class: ErrorClass::Conflict,
                    operation,
                    message: format!("message {index} of investigation {id} exists already"),
                    source: Some(Box::new(e)),
                }),
                Err(e) => Err(Error::sqlite(operation, e).into()),
            }
        })
        .await
    }

    async fn messages(&self, id: &str) -> aiops_core::Result<Vec<Message>> {
        let operation = format!("read the transcript of investigation {id}");
        let id = id.to_string();
        self.run(operation.clone(), move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT json FROM messages WHERE investigation_id = ?1 ORDER BY idx")
                .map_err(|e| Error::sqlite(operation.clone(), e))?;
            let rows = stmt
                .query_map([&id], |row| row.get::<_, String>(0))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(rows.iter().map(|j| from_json("a message", j)).collect::<crate::Result<Vec<Message>>>()?)
        })
        .await
    }

    /// Upserts. Idempotent.
    async fn put_result(&self, id: &str, key: &str, data: &Value) -> aiops_core::Result<()> {
        let operation = format!("store result {key} of investigation {id}");
        let json = to_json("a tool result", data)?;
        let (id, key) = (id.to_string(), key.to_string());
        self.run(operation.clone(), move |conn| {
            conn.execute(
                "INSERT INTO results (investigation_id, key, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (investigation_id, key) DO UPDATE SET json = excluded.json",
                params![id, key, json],
            )
            .map_err(|e| Error::sqlite(operation, e))?;
            Ok(())
        })
        .await
    }

    async fn results(&self, id: &str) -> aiops_core::Result<BTreeMap<String, Value>> {
        let operation = format!("read the results of investigation {id}");
        let id = id.to_string();
        self.run(operation.clone(), move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key, json FROM results WHERE investigation_id = ?1")
                .map_err(|e| Error::sqlite(operation.clone(), e))?;
            let rows = stmt
                .query_map([&id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<(String, String)>>>)
                .map_err(|e| Error::sqlite(operation, e))?;
            let mut out = BTreeMap::new();
            for (key, json) in rows {
                let value = from_json("a tool result", &json)?;
                out.insert(key, value);
            }
            Ok(out)
        })
        .await
    }

    /// Upserts. Idempotent.
    async fn put_doc(&self, key: &str, doc: &Value) -> aiops_core::Result<()> {
        let operation = format!("store document {key}");
        let json = to_json("a document", doc)?;
        let key = key.to_string();
        self.run(operation.clone(), move |conn| {
            conn.execute(
                "INSERT INTO docs (key, json) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET json = excluded.json",
                params![key, json],
            )
            .map_err(|e| Error::sqlite(operation, e))?;
            Ok(())
        })
        .await
    }

    async fn get_doc(&self, key: &str) -> aiops_core::Result<Option<Value>> {
        let operation = format!("read document {key}");
        let key = key.to_string();
        self.run(operation.clone(), move |conn| {
            let json: Option<String> = conn
                .query_row("SELECT json FROM docs WHERE key = ?1", [&key], |row| row.get(0))
                .optional()
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(json.map(|j| from_json("a document", &j)).transpose()?)
        })
        .await
    }

    /// `INSERT … ON CONFLICT DO NOTHING`: the first writer of a key wins.
    async fn create_doc(&self, key: &str, doc: &Value) -> aiops_core::Result<bool> {
        let operation = format!("create document {key}");
        let json = to_json("a document", doc)?;
        let key = key.to_string();
        self.run(operation.clone(), move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO docs (key, json) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                    params![key, json],
                )
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(inserted == 1)
        })
        .await
    }
}
