//! [`LockStore`] over SQLite: one action at a time per object, across every process that
//! shares the database file (the CLI, `serve-api`, a second `aiops ask`).
//!
//! A lock is a row of the `locks` table, taken with one conditional statement (an INSERT that,
//! on an existing key, takes the row over only when its lease ended or the owner already holds
//! it). SQLite runs each statement under the database's write lock, so of two processes racing
//! for one object exactly one wins; the loser sees `Ok(false)`.

use aiops_core::ports::LockStore;
use aiops_core::{Error as CoreError, ErrorClass};
use jiff::{SignedDuration, Timestamp};
use rusqlite::params;

use super::{SqliteStore, micros};
use crate::error::Error;

#[async_trait::async_trait]
impl LockStore for SqliteStore {
    /// Takes `key` for `owner` until `now + ttl_seconds` (at least one second). Succeeds when
    /// nobody holds it, when the holder's lease ended (`expires_at <= now`), or when `owner`
    /// holds it already (the lease is renewed).
    ///
    /// # Errors
    /// `InvalidInput` for an empty owner; `Transient` when the database stays locked past the
    /// busy timeout.
    async fn try_lock(&self, key: &str, owner: &str, ttl_seconds: i64, now: Timestamp) -> aiops_core::Result<bool> {
        let operation = format!("lock {key}");
        if owner.trim().is_empty() {
            return Err(CoreError::backend(ErrorClass::InvalidInput, operation, "a lock needs an owner"));
        }
        let until = now.saturating_add(SignedDuration::from_secs(ttl_seconds.max(1))).unwrap_or(Timestamp::MAX);
        let (key, owner) = (key.to_string(), owner.to_string());
        let (now, until) = (micros(now), micros(until));
        self.run(operation.clone(), move |conn| {
            let changed = conn
                .execute(
                    "INSERT INTO locks (key, owner, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (key) DO UPDATE SET owner = excluded.owner,
                         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                     WHERE locks.expires_at <= excluded.acquired_at OR locks.owner = excluded.owner",
                    params![key, owner, now, until],
                )
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(changed == 1)
        })
        .await
    }

    /// Deletes the row if `owner` holds it. Idempotent.
    async fn unlock(&self, key: &str, owner: &str) -> aiops_core::Result<()> {
        let operation = format!("unlock {key}");
        let (key, owner) = (key.to_string(), owner.to_string());
        self.run(operation.clone(), move |conn| {
            conn.execute("DELETE FROM locks WHERE key = ?1 AND owner = ?2", params![key, owner])
                .map_err(|e| Error::sqlite(operation, e))?;
            Ok(())
        })
        .await
    }
}
