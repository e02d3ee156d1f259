//! [`SqliteStore`]: local mode's state store, audit trail, approval store and object locks in
//! one SQLite file.

mod approvals;
mod audit;
mod lock;
mod state;
mod sweeps;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// How long a statement waits for another connection's write lock (another process on the
/// same file, or another handle in this one) before failing as transient.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// The schema. Timestamps used for ordering or comparison are kept as integer microseconds
/// since the Unix epoch beside the JSON document, which is the record itself.
///
/// The audit table is append-only: the crate never updates or deletes its rows, and two
/// triggers refuse anyone who tries through SQL (with `recursive_triggers` on, an
/// `INSERT OR REPLACE` that would delete a row is refused too).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS investigations (
    id          TEXT PRIMARY KEY NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    json        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS investigations_newest ON investigations (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS investigations_status ON investigations (status, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS messages (
    investigation_id TEXT NOT NULL,
    idx              INTEGER NOT NULL,
    json             TEXT NOT NULL,
    PRIMARY KEY (investigation_id, idx)
);

CREATE TABLE IF NOT EXISTS results (
    investigation_id TEXT NOT NULL,
    key              TEXT NOT NULL,
    json             TEXT NOT NULL,
    PRIMARY KEY (investigation_id, key)
);

CREATE TABLE IF NOT EXISTS docs (
    key  TEXT PRIMARY KEY NOT NULL,
    json TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit (
    investigation_id TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    day              TEXT NOT NULL,
    json             TEXT NOT NULL,
    hash             TEXT NOT NULL,
    PRIMARY KEY (investigation_id, seq)
);
CREATE INDEX IF NOT EXISTS audit_day ON audit (day);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be updated');
END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only: events cannot be deleted');
END;

CREATE TABLE IF NOT EXISTS approvals (
    id            TEXT PRIMARY KEY NOT NULL,
    status        TEXT NOT NULL,
    json          TEXT NOT NULL,
    task_token    TEXT NOT NULL,
    action_hash   TEXT NOT NULL,
    requested_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX IF NOT EXISTS approvals_newest ON approvals (requested_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS sweeps (
    id    TEXT PRIMARY KEY NOT NULL,
    at    INTEGER NOT NULL,
    json  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_latest (
    slot      INTEGER PRIMARY KEY NOT NULL CHECK (slot = 0),
    sweep_id  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_claims (
    identity          TEXT PRIMARY KEY NOT NULL,
    investigation_id  TEXT NOT NULL,
    json              TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS locks (
    key          TEXT PRIMARY KEY NOT NULL,
    owner        TEXT NOT NULL,
    acquired_at  INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
";

/// Local mode's state store ([`aiops_core::ports::StateStore`]), audit trail
/// ([`aiops_core::ports::AuditLog`]), approval store ([`aiops_core::ports::ApprovalStore`])
/// and object locks ([`aiops_core::ports::LockStore`]) in one SQLite file.
///
/// Cloning is cheap and shares the connection. Several `SqliteStore`s (or processes: the CLI
/// approving while `serve-api` runs) may open the same file: every write that must happen
/// once is a conditional statement (an INSERT on a primary key, an UPDATE … WHERE
/// status = 'pending'), so the database, not this process, decides who wins.
///
/// Threading: SQLite calls block (disk, fsync, and up to the busy timeout while another
/// connection writes), so each port method runs its statements on tokio's blocking pool
/// (`spawn_blocking`) holding the connection's mutex, and never holds it across an await.
/// The port methods therefore need a tokio runtime, as everything in aiops has.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`: creates the parent folders and the schema,
    /// turns on write-ahead logging (readers do not block the writer, and other processes can
    /// read while one writes) and sets a busy timeout. Opening an existing file keeps its data.
    ///
    /// # Errors
    /// [`Error::CreateDir`] when the folder cannot be created, [`Error::Sqlite`] when the file
    /// cannot be opened or is not a database, [`Error::SchemaTooNew`] when a newer build
    /// created it.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir { path: dir.to_path_buf(), source })?;
        }
        let what = || format!("open the SQLite database {}", path.display());
        let conn = Connection::open(path).map_err(|e| Error::sqlite(what(), e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| Error::sqlite(what(), e))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| Error::sqlite(what(), e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // A file system without shared memory (some network mounts) refuses WAL; SQLite
            // then keeps its rollback journal, which is slower but equally correct.
            tracing::warn!(path = %path.display(), mode, "SQLite refused write-ahead logging");
        }
        SqliteStore::init(conn)
    }

    /// A private in-memory database, for tests: nothing is written to disk and nothing is
    /// shared with another `SqliteStore` (clones share it).
    ///
    /// # Errors
    /// [`Error::Sqlite`] when SQLite cannot allocate it.
    pub fn in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory().map_err(|e| Error::sqlite("open an in-memory SQLite database", e))?;
        SqliteStore::init(conn)
    }

    fn init(conn: Connection) -> Result<SqliteStore> {
        let what = "create the SQLite schema";
        conn.pragma_update(None, "recursive_triggers", true).map_err(|e| Error::sqlite(what, e))?;
        let version: i64 =
            conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(|e| Error::sqlite(what, e))?;
        if version > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew { found: version, supported: SCHEMA_VERSION });
        }
        // One transaction, so two processes opening a new file at once do not interleave.
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))
            .map_err(|e| Error::sqlite(what, e))?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `op` with the connection on the blocking pool.
    async fn run<T, F>(&self, operation: String, op: F) -> aiops_core::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> aiops_core::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let task = tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave the connection half-written: an
            // open transaction rolls back when dropped. So a poisoned lock is still usable.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            op(&mut guard)
        });
        task.await.map_err(|source| Error::Task { operation, source })?
    }
}

/// Encodes a value as JSON for a column.
fn to_json<T: serde::Serialize + ?Sized>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::json(what, e))
}

/// Decodes a JSON column.
fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::json(what, e))
}

/// Microseconds since the Unix epoch: the sortable form of a timestamp in a column.
fn micros(t: jiff::Timestamp) -> i64 {
    t.as_microsecond()
}
