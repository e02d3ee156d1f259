//! The error type of aiops-local, and its classification into [`aiops_core::ErrorClass`].
//!
//! Port methods return [`aiops_core::Error`]; failures of SQLite, of JSON encoding or of the
//! terminal are built as an [`Error`] (which keeps the cause) and converted once, here, with
//! their class. Refusals that are part of a port's contract (a replayed message index, a
//! second decision, an unknown approval) are built directly as [`aiops_core::Error`].

use std::path::PathBuf;

use aiops_core::ErrorClass;

/// Errors of the local adapters.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder that holds the database could not be created.
    #[error("failed to create the folder {} for the SQLite database", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A SQLite call failed; `operation` says what we were doing.
    #[error("failed to {operation}")]
    Sqlite {
        operation: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be encoded to or decoded from JSON.
    #[error("failed to encode or decode {what} as JSON")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The database was created by a newer build with a schema this one does not know.
    #[error("the SQLite database has schema version {found}; this build knows versions up to {supported}")]
    SchemaTooNew { found: i64, supported: i64 },
    /// A notification could not be written to the terminal (or the given writer).
    #[error("failed to write a notification to the terminal")]
    Notify {
        #[source]
        source: std::io::Error,
    },
    /// A blocking database task did not complete (it panicked or the runtime shut down).
    #[error("the database task for {operation} did not complete")]
    Task {
        operation: String,
        #[source]
        source: tokio::task::JoinError,
    },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn sqlite(operation: impl Into<String>, source: rusqlite::Error) -> Error {
        Error::Sqlite { operation: operation.into(), source }
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Error {
        Error::Json { what: what.into(), source }
    }

    /// How the workflow should treat this error: busy or locked database → transient
    /// (retryable); a refused constraint → conflict; everything else → fatal.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Sqlite { source, .. } => sqlite_class(source),
            Error::CreateDir { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                ErrorClass::Forbidden
            }
            Error::CreateDir { .. }
            | Error::Json { .. }
            | Error::SchemaTooNew { .. }
            | Error::Notify { .. }
            | Error::Task { .. } => ErrorClass::Fatal,
        }
    }
}

fn sqlite_class(e: &rusqlite::Error) -> ErrorClass {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ErrorClass::Transient,
        Some(ErrorCode::ConstraintViolation) => ErrorClass::Conflict,
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => ErrorClass::Forbidden,
        _ => ErrorClass::Fatal,
    }
}

/// Whether a SQLite error is an INSERT refused because the key exists.
pub(crate) fn is_key_conflict(e: &rusqlite::Error) -> bool {
    e.sqlite_error().is_some_and(|f| {
        f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    })
}

impl From<Error> for aiops_core::Error {
    fn from(e: Error) -> aiops_core::Error {
        let class = e.class();
        let (operation, message) = match &e {
            Error::Sqlite { operation, source } => (operation.clone(), source.to_string()),
            Error::Json { what, source } => (format!("encode or decode {what}"), source.to_string()),
            Error::Task { operation, source } => (operation.clone(), source.to_string()),
            Error::CreateDir { source, .. } | Error::Notify { source } => {
                ("local store".to_string(), format!("{e}: {source}"))
            }
            Error::SchemaTooNew { .. } => ("open the SQLite database".to_string(), e.to_string()),
        };
        aiops_core::Error::Backend { class, operation, message, source: Some(Box::new(e)) }
    }
}
