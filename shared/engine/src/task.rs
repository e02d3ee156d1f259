//! Tasks: the handler the engine calls for every Task state, what it receives, and the task
//! tokens of `.waitForTaskToken` integrations.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::context::ExecutionInfo;
use crate::error::TaskTokenError;
use crate::rng::Rng;

/// How a Task waits for its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum IntegrationPattern {
    /// The handler's return value is the result (`lambda:invoke`, a function ARN, `svc:action`).
    RequestResponse,
    /// `….waitForTaskToken`: the handler's return value is ignored; the result arrives through
    /// `send_task_success` / `send_task_failure` with the request's token.
    WaitForTaskToken,
}

/// A task failure as Step Functions sees it: `error` is the name `Retry`/`Catch` `ErrorEquals`
/// match (for a Lambda, its `errorType`), `cause` the details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{error}: {cause}")]
pub struct TaskError {
    /// The error name, such as `Aiops.Throttled`. Names starting with `States.` are reserved
    /// for the language, as in Step Functions.
    pub error: String,
    /// Details, often a JSON document (Lambda sends `{"errorMessage", "errorType", …}`).
    pub cause: String,
}

impl TaskError {
    /// A task error with this name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError { error: error.into(), cause: cause.into() }
    }
}

/// What a Task state asks its handler to do.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The `Resource` ARN as written (after substitution).
    pub resource: String,
    /// The Task state's name.
    pub state_name: String,
    /// For `lambda:invoke[.waitForTaskToken]`, the `FunctionName` parameter; for a function-ARN
    /// resource, that ARN; `None` for other service integrations.
    pub function_name: Option<String>,
    /// What the function receives: for `lambda:invoke[.waitForTaskToken]` the `Payload`
    /// parameter (`{}` when absent, as Lambda does); otherwise the effective input (the result of
    /// InputPath and Parameters).
    pub payload: Value,
    /// Request/response or callback.
    pub pattern: IntegrationPattern,
    /// The task token, for [`IntegrationPattern::WaitForTaskToken`] (also `$$.Task.Token`).
    pub task_token: Option<String>,
    /// How many times this state has been retried so far (`$$.State.RetryCount`).
    pub retry_count: u32,
    /// The execution this task belongs to.
    pub execution: ExecutionInfo,
    /// Answers task tokens: lets a callback handler complete its own token later (for example
    /// after asking a person), without holding the engine.
    pub callbacks: TaskCallbacks,
}

/// Runs the work of Task states. The engine knows nothing about what the work is: the local
/// mode injects the same handler functions the Lambdas run.
///
/// `invoke` is called once per attempt (Retry calls it again). It may run concurrently for Map
/// iterations and Parallel branches. An `Err` fails the attempt with that error name; a panic
/// fails the execution with `States.Runtime`.
#[async_trait::async_trait]
pub trait TaskHandler: Send + Sync {
    /// Performs one task attempt. For [`IntegrationPattern::WaitForTaskToken`] the returned
    /// value is ignored (the task waits for its token), but an `Err` still fails the attempt.
    async fn invoke(&self, request: TaskRequest) -> Result<Value, TaskError>;
}

struct FnHandler<F>(F);

#[async_trait::async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskError>> + Send,
{
    async fn invoke(&self, request: TaskRequest) -> Result<Value, TaskError> {
        (self.0)(request).await
    }
}

/// A handler from an async closure: `handler_fn(|req| async move { Ok(req.payload) })`.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// A message for a waiting task.
#[derive(Debug)]
pub(crate) enum Callback {
    Success(Value),
    Failure(TaskError),
    Heartbeat,
}

enum Slot {
    Open(mpsc::UnboundedSender<Callback>),
    Closed,
}

/// Every token this engine issued.
pub(crate) struct Tokens {
    slots: Mutex<HashMap<String, Slot>>,
    issued: AtomicU64,
}

impl Tokens {
    pub(crate) fn new() -> Self {
        Tokens { slots: Mutex::new(HashMap::new()), issued: AtomicU64::new(0) }
    }

    /// A fresh token, open until the returned guard drops.
    pub(crate) fn issue(self: &Arc<Self>, rng: &Rng) -> (TokenGuard, mpsc::UnboundedReceiver<Callback>) {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&self.issued.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        for _ in 0..3 {
            bytes.extend_from_slice(&rng.next_u64().to_be_bytes());
        }
        let token = format!("AQ{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let (tx, rx) = mpsc::unbounded_channel();
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).insert(token.clone(), Slot::Open(tx));
        (TokenGuard { tokens: Arc::clone(self), token }, rx)
    }

    fn deliver(&self, token: &str, callback: Callback) -> Result<(), TaskTokenError> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let closes = !matches!(callback, Callback::Heartbeat);
        match slots.get(token) {
            None => Err(TaskTokenError::InvalidToken),
            Some(Slot::Closed) => Err(TaskTokenError::TaskTimedOut),
            Some(Slot::Open(tx)) => {
                let sent = tx.send(callback).is_ok();
                if closes || !sent {
                    slots.insert(token.to_owned(), Slot::Closed);
                }
                if sent { Ok(()) } else { Err(TaskTokenError::TaskTimedOut) }
            }
        }
    }
}

/// Keeps a token open; dropping it (the task finished, timed out, or its execution stopped)
/// closes the token, so later calls get [`TaskTokenError::TaskTimedOut`].
pub(crate) struct TokenGuard {
    tokens: Arc<Tokens>,
    pub(crate) token: String,
}

impl Drop for TokenGuard {
    fn drop(&mut self) {
        self.tokens.slots.lock().unwrap_or_else(PoisonError::into_inner).insert(self.token.clone(), Slot::Closed);
    }
}

/// Answers task tokens of one engine: `SendTaskSuccess`, `SendTaskFailure`,
/// `SendTaskHeartbeat`. Cheap to clone; also available as [`TaskRequest::callbacks`] and through
/// [`crate::Engine`].
#[derive(Clone)]
pub struct TaskCallbacks {
    tokens: Arc<Tokens>,
    max_payload_bytes: usize,
}

impl fmt::Debug for TaskCallbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCallbacks").finish_non_exhaustive()
    }
}

impl TaskCallbacks {
    pub(crate) fn new(tokens: Arc<Tokens>, max_payload_bytes: usize) -> Self {
        TaskCallbacks { tokens, max_payload_bytes }
    }

    /// Completes the token's task with `output` as its result. Closes the token.
    ///
    /// # Errors
    /// [`TaskTokenError::InvalidToken`] for a token this engine never issued,
    /// [`TaskTokenError::TaskTimedOut`] when its task is already closed,
    /// [`TaskTokenError::InvalidOutput`] when `output` is over the payload limit (the token stays
    /// open).
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), TaskTokenError> {
        let size = output.to_string().len();
        if size > self.max_payload_bytes {
            return Err(TaskTokenError::InvalidOutput { size, limit: self.max_payload_bytes });
        }
        self.tokens.deliver(token, Callback::Success(output))
    }

    /// Fails the token's task with `error` (matched by Retry/Catch) and `cause`. Closes the token.
    ///
    /// # Errors
    /// As [`TaskCallbacks::send_task_success`], without the size check.
    pub fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError> {
        self.tokens.deliver(token, Callback::Failure(TaskError::new(error, cause)))
    }

    /// Reports that the token's task is still alive, restarting its `HeartbeatSeconds` clock.
    /// Idempotent; the token stays open.
    ///
    /// # Errors
    /// As [`TaskCallbacks::send_task_success`], without the size check.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), TaskTokenError> {
        self.tokens.deliver(token, Callback::Heartbeat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_answer_like_the_step_functions_api() {
        let tokens = Arc::new(Tokens::new());
        let callbacks = TaskCallbacks::new(Arc::clone(&tokens), 100);
        let rng = Rng::new(1);
        let (guard, mut rx) = tokens.issue(&rng);
        let token = guard.token.clone();
        assert_eq!(callbacks.send_task_heartbeat("nope"), Err(TaskTokenError::InvalidToken));
        assert_eq!(callbacks.send_task_heartbeat(&token), Ok(()));
        assert!(matches!(
            callbacks.send_task_success(&token, json!("x".repeat(200))),
            Err(TaskTokenError::InvalidOutput { limit: 100, .. })
        ));
        assert_eq!(callbacks.send_task_success(&token, json!({"ok": true})), Ok(()));
        assert_eq!(callbacks.send_task_success(&token, json!({})), Err(TaskTokenError::TaskTimedOut));
        assert_eq!(callbacks.send_task_failure(&token, "E", "c"), Err(TaskTokenError::TaskTimedOut));
        assert!(matches!(rx.try_recv(), Ok(Callback::Heartbeat)));
        assert!(matches!(rx.try_recv(), Ok(Callback::Success(v)) if v == json!({"ok": true})));

        let (guard, _rx) = tokens.issue(&rng);
        let second = guard.token.clone();
        assert_ne!(second, token);
        drop(guard);
        assert_eq!(callbacks.send_task_heartbeat(&second), Err(TaskTokenError::TaskTimedOut));
    }
}
