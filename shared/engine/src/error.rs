//! The errors of aiops-engine: loading a definition, starting an execution, answering a task
//! token. Failures *inside* an execution are not Rust errors: they are ASL errors (an error name
//! and a cause) that Retry and Catch see, and that end up in [`crate::ExecutionResult`].

use std::fmt;

/// A definition that cannot run here: not JSON, not valid ASL, or ASL this engine does not
/// support. Every variant names where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The text names a `${Name}` definition substitution that was not given.
    #[error("unknown definition substitution ${{{name}}} at {location}")]
    UnknownSubstitution {
        /// The substitution's name (without `${` and `}`).
        name: String,
        /// Where it is.
        location: Location,
    },
    /// The text (after substitution) is not JSON.
    #[error("the definition is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// A field is missing, has a wrong value, is unknown, or is not supported by this engine.
    #[error("{location}: {message}")]
    Invalid {
        /// Where the problem is.
        location: Location,
        /// What is wrong, in words.
        message: String,
    },
}

impl LoadError {
    pub(crate) fn invalid(state: Option<&str>, field: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError::Invalid {
            location: Location { state: state.map(str::to_owned), field: field.into(), line: None },
            message: message.into(),
        }
    }

    /// The state the error is about, if it is inside a state.
    pub fn state(&self) -> Option<&str> {
        self.location().and_then(|l| l.state.as_deref())
    }

    /// The field the error is about (a dotted path inside the state, such as
    /// `Parameters.Payload.token.$` or `Retry[0].ErrorEquals`), if known.
    pub fn field(&self) -> Option<&str> {
        self.location().map(|l| l.field.as_str()).filter(|f| !f.is_empty())
    }

    fn location(&self) -> Option<&Location> {
        match self {
            LoadError::UnknownSubstitution { location, .. } | LoadError::Invalid { location, .. } => Some(location),
            LoadError::Json(_) => None,
        }
    }
}

/// Where in a definition a load error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The state's name; `None` for the state machine's own fields.
    pub state: Option<String>,
    /// The field, as a dotted path inside the state (or the state machine); empty when unknown.
    pub field: String,
    /// The 1-based line in the definition text, when the field could not be located otherwise.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, "state {state:?}")?,
            None => write!(f, "the state machine")?,
        }
        if !self.field.is_empty() {
            write!(f, ", field {:?}", self.field)?;
        }
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// The answer of `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`, named after the
/// errors of the Step Functions API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskTokenError {
    /// The token was never issued by this engine.
    #[error("invalid task token")]
    InvalidToken,
    /// The token's task has already completed, failed or timed out (or its execution ended).
    #[error("task timed out: the task of this token is already closed")]
    TaskTimedOut,
    /// The output is larger than the payload limit.
    #[error("task output is {size} bytes, over the {limit}-byte payload limit")]
    InvalidOutput {
        /// The output's size, serialized.
        size: usize,
        /// The engine's payload limit.
        limit: usize,
    },
}

/// Errors of the engine's API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The definition could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// An execution with this name was already started on this engine (names are never reused,
    /// as in Step Functions).
    #[error("execution {name:?} already exists")]
    ExecutionAlreadyExists {
        /// The execution name.
        name: String,
    },
    /// The execution name is not one Step Functions accepts.
    #[error("invalid execution name {name:?}: {reason}")]
    InvalidExecutionName {
        /// The execution name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// The execution input is larger than the payload limit.
    #[error("execution input is {size} bytes, over the {limit}-byte payload limit")]
    InputTooLarge {
        /// The input's size, serialized.
        size: usize,
        /// The engine's payload limit.
        limit: usize,
    },
    /// `start_execution` was called outside a tokio runtime.
    #[error("start_execution must be called inside a tokio runtime")]
    NoRuntime,
    /// A task token call failed.
    #[error(transparent)]
    TaskToken(#[from] TaskTokenError),
}

/// The result type of the engine's API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An ASL error raised inside an execution: a name matched by Retry/Catch, and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) error: String,
    pub(crate) cause: String,
}

/// Error names defined by the States language.
pub(crate) mod names {
    pub(crate) const ALL: &str = "States.ALL";
    pub(crate) const TASK_FAILED: &str = "States.TaskFailed";
    pub(crate) const TIMEOUT: &str = "States.Timeout";
    pub(crate) const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub(crate) const RUNTIME: &str = "States.Runtime";
    pub(crate) const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub(crate) const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub(crate) const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
}

impl Failure {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure { error: error.into(), cause: cause.into() }
    }

    /// `States.Runtime`: never retried, never caught, fails the execution.
    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Failure::new(names::RUNTIME, cause)
    }

    pub(crate) fn intrinsic(cause: impl Into<String>) -> Self {
        Failure::new(names::INTRINSIC_FAILURE, cause)
    }

    pub(crate) fn data_limit(what: &str, size: usize, limit: usize) -> Self {
        Failure::new(
            names::DATA_LIMIT_EXCEEDED,
            format!("The {what} has a size of {size} bytes, over the maximum of {limit} bytes."),
        )
    }
}
