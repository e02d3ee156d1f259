//! Integration tests of aiops-local, one harness (see STYLE.md).

mod approvals;
mod audit;
mod locks;
mod notify;
mod state;

use std::path::Path;

use aiops_local::SqliteStore;

/// A store on a file in a fresh temporary folder (kept alive by the returned guard).
pub fn file_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("aiops.db")).expect("open store");
    (dir, store)
}

/// A second, raw connection to the same file: what someone with the file could do.
pub fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw connection")
}

/// The class of an error, for assertions.
pub fn class<T: std::fmt::Debug>(r: aiops_core::Result<T>) -> (aiops_core::ErrorClass, String) {
    let e = r.expect_err("expected an error");
    (e.class(), e.to_string())
}
