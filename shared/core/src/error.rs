//! The error type of aiops-core, and the classification every adapter maps its errors to.

use crate::snapshot::SnapshotError;

/// How an error is to be treated: retried, shown to the model, or fatal. The workflow's
/// `Retry` and `Catch` lists match on [`ErrorClass::error_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Rate limited; retry with backoff.
    Throttled,
    /// A transient failure (timeout, 5xx, connection reset); retry.
    Transient,
    /// The request was wrong (bad argument, invalid name); do not retry.
    InvalidInput,
    /// The object or resource does not exist.
    NotFound,
    /// The caller is not allowed to do this.
    Forbidden,
    /// The object changed underneath us (resourceVersion conflict) or a decision was already made.
    Conflict,
    /// The tool exists in the catalog but is not built yet.
    NotImplemented,
    /// Anything else; not retryable.
    Fatal,
}

impl ErrorClass {
    /// The stable error name Lambda handlers report to Step Functions.
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "Aiops.Throttled",
            ErrorClass::Transient => "Aiops.Transient",
            ErrorClass::InvalidInput => "Aiops.InvalidInput",
            ErrorClass::NotFound => "Aiops.NotFound",
            ErrorClass::Forbidden => "Aiops.Forbidden",
            ErrorClass::Conflict => "Aiops.Conflict",
            ErrorClass::NotImplemented => "Aiops.NotImplemented",
            ErrorClass::Fatal => "Aiops.Fatal",
        }
    }

    /// Whether the workflow should retry.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Throttled | ErrorClass::Transient)
    }
}

/// Errors of aiops-core and of the ports it defines.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tool name is not in the catalog.
    #[error("unknown tool {name:?}; `aiops tools list` shows the catalog")]
    UnknownTool { name: String },
    /// The arguments do not match the tool's schema.
    #[error("invalid arguments for {tool}: {message}")]
    InvalidArgs { tool: String, message: String },
    /// The tool is in the catalog but not built yet.
    #[error("{tool} is not implemented yet")]
    NotImplemented { tool: String },
    /// The object asked for does not exist.
    #[error("{what} not found")]
    NotFound { what: String },
    /// A call to the cluster (or another backend) failed.
    #[error("{operation} failed: {message}")]
    Backend {
        class: ErrorClass,
        operation: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A snapshot folder could not be read or written.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

impl Error {
    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::UnknownTool { .. } | Error::InvalidArgs { .. } | Error::Snapshot(_) => ErrorClass::InvalidInput,
            Error::NotImplemented { .. } => ErrorClass::NotImplemented,
            Error::NotFound { .. } => ErrorClass::NotFound,
            Error::Backend { class, .. } => *class,
        }
    }

    /// A backend error without an underlying cause.
    pub fn backend(class: ErrorClass, operation: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Backend { class, operation: operation.into(), message: message.into(), source: None }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
