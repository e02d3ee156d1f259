//! The engine: starting executions, watching them, answering task tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::watch;

use crate::context::ExecutionInfo;
use crate::definition::Definition;
use crate::error::{Error, Failure, Result, TaskTokenError, names};
use crate::history::{EventType, History, HistoryEvent};
use crate::interpreter::{Run, run_machine};
use crate::rng::Rng;
use crate::task::{TaskCallbacks, TaskHandler, Tokens};

/// How an engine runs its executions.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineOptions {
    /// Multiplies every duration the definition states: Wait, Retry intervals, task and execution
    /// timeouts, heartbeats. 1.0 is real time; tests use 0.001 (a 10-second wait takes 10 ms).
    /// A negative or non-finite value is treated as 1.0.
    pub time_scale: f64,
    /// The history-length guard: an execution that would record more events fails with
    /// `States.Runtime`, as Step Functions fails executions at 25,000 events.
    pub max_events: usize,
    /// The largest payload (input, output, task parameters and results), in bytes of JSON, before
    /// `States.DataLimitExceeded`; Step Functions' quota is 256 KiB.
    pub max_payload_bytes: usize,
    /// Seeds retry jitter, task tokens, `States.UUID` and the Lambda request ids. `None` seeds from
    /// the clock; tests set a value to be deterministic.
    pub seed: Option<u64>,
    /// The ARN the executions report as `$$.StateMachine.Id`; execution ARNs derive from it.
    pub state_machine_arn: String,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            time_scale: 1.0,
            max_events: 25_000,
            max_payload_bytes: 256 * 1024,
            seed: None,
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:local".to_owned(),
        }
    }
}

/// What is shared by an engine and its running executions.
pub(crate) struct EngineInner {
    pub(crate) definition: Definition,
    pub(crate) handler: Arc<dyn TaskHandler>,
    pub(crate) options: EngineOptions,
    pub(crate) rng: Rng,
    pub(crate) tokens: Arc<Tokens>,
    executions: Mutex<HashMap<String, ExecutionHandle>>,
}

impl EngineInner {
    /// `seconds` of definition time, in real time.
    pub(crate) fn scaled(&self, seconds: f64) -> Duration {
        Duration::try_from_secs_f64(seconds.max(0.0) * self.options.time_scale).unwrap_or(Duration::MAX)
    }

    pub(crate) fn callbacks(&self) -> TaskCallbacks {
        TaskCallbacks::new(Arc::clone(&self.tokens), self.options.max_payload_bytes)
    }
}

/// A local Step Functions engine for one definition. Cheap to clone; clones share executions
/// and task tokens.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("start_at", &self.inner.definition.start_at()).finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine running `definition`, calling `handler` for every Task state.
    pub fn new(definition: Definition, handler: Arc<dyn TaskHandler>, options: EngineOptions) -> Engine {
        let mut options = options;
        if !(options.time_scale.is_finite() && options.time_scale >= 0.0) {
            tracing::warn!(time_scale = options.time_scale, "invalid time_scale, using 1.0");
            options.time_scale = 1.0;
        }
        let seed = options.seed.unwrap_or_else(|| {
            let nanos = Timestamp::now().as_nanosecond() as u64;
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        });
        Engine {
            inner: Arc::new(EngineInner {
                definition,
                handler,
                options,
                rng: Rng::new(seed),
                tokens: Arc::new(Tokens::new()),
                executions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The definition this engine runs.
    pub fn definition(&self) -> &Definition {
        &self.inner.definition
    }

    /// The options in effect.
    pub fn options(&self) -> &EngineOptions {
        &self.inner.options
    }

    /// Starts an execution named `name` with `input` (`StartExecution`) and returns at once; the
    /// execution runs on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::ExecutionAlreadyExists`] when this engine already ran an execution of that name
    /// (names are never reused), [`Error::InvalidExecutionName`] for a name Step Functions
    /// refuses, [`Error::InputTooLarge`], and [`Error::NoRuntime`] outside a tokio runtime.
    pub fn start_execution(&self, name: &str, input: Value) -> Result<ExecutionHandle> {
        check_execution_name(name)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let size = input.to_string().len();
        if size > self.inner.options.max_payload_bytes {
            return Err(Error::InputTooLarge { size, limit: self.inner.options.max_payload_bytes });
        }
        let arn = &self.inner.options.state_machine_arn;
        let execution_arn = match arn.split_once(":stateMachine:") {
            Some((prefix, machine)) => format!("{prefix}:execution:{machine}:{name}"),
            None => format!("{arn}:execution:{name}"),
        };
        let info = ExecutionInfo {
            execution_arn,
            name: name.to_owned(),
            state_machine_arn: arn.clone(),
            start_time: Timestamp::now(),
        };
        let handle = {
            let mut executions = self.inner.executions.lock().unwrap_or_else(PoisonError::into_inner);
            if executions.contains_key(name) {
                return Err(Error::ExecutionAlreadyExists { name: name.to_owned() });
            }
            let handle =
                ExecutionHandle { shared: Arc::new(ExecutionShared::new(info, input, self.inner.options.max_events)) };
            executions.insert(name.to_owned(), handle.clone());
            handle
        };
        let started = HistoryEvent::new(EventType::ExecutionStarted).input(handle.shared.input.clone());
        // The first event cannot hit the history limit unless max_events is 0 or 1; the worker
        // then fails on its first event with the limit's error.
        let _ = handle.shared.record(started);
        let run = Arc::new(Run { engine: Arc::clone(&self.inner), exec: Arc::clone(&handle.shared) });
        runtime.spawn(supervise(run));
        Ok(handle)
    }

    /// The execution of that name started on this engine, if any.
    pub fn execution(&self, name: &str) -> Option<ExecutionHandle> {
        self.inner.executions.lock().unwrap_or_else(PoisonError::into_inner).get(name).cloned()
    }

    /// `SendTaskSuccess`; see [`TaskCallbacks::send_task_success`].
    ///
    /// # Errors
    /// [`TaskTokenError::InvalidToken`], [`TaskTokenError::TaskTimedOut`],
    /// [`TaskTokenError::InvalidOutput`].
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), TaskTokenError> {
        self.inner.callbacks().send_task_success(token, output)
    }

    /// `SendTaskFailure`; see [`TaskCallbacks::send_task_failure`].
    ///
    /// # Errors
    /// [`TaskTokenError::InvalidToken`], [`TaskTokenError::TaskTimedOut`].
    pub fn send_task_failure(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskTokenError> {
        self.inner.callbacks().send_task_failure(token, error, cause)
    }

    /// `SendTaskHeartbeat`; see [`TaskCallbacks::send_task_heartbeat`].
    ///
    /// # Errors
    /// [`TaskTokenError::InvalidToken`], [`TaskTokenError::TaskTimedOut`].
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), TaskTokenError> {
        self.inner.callbacks().send_task_heartbeat(token)
    }

    /// A handle that answers this engine's task tokens without holding the engine.
    pub fn callbacks(&self) -> TaskCallbacks {
        self.inner.callbacks()
    }
}

/// Step Functions' rules for execution names: 1 to 80 characters, no whitespace, brackets,
/// wildcards, control characters or `" # % \ ^ | ~ ` $ & , ; : /`.
fn check_execution_name(name: &str) -> Result<()> {
    let refuse = |reason: &str| Err(Error::InvalidExecutionName { name: name.to_owned(), reason: reason.to_owned() });
    let length = name.chars().count();
    if length == 0 || length > 80 {
        return refuse("a name has 1 to 80 characters");
    }
    if let Some(c) =
        name.chars().find(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c))
    {
        return refuse(&format!("{c:?} is not allowed in a name"));
    }
    Ok(())
}

/// The status of an execution, named as `DescribeExecution` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// Not finished.
    Running,
    /// Reached a Succeed state or an `End: true` state.
    Succeeded,
    /// An error was not caught, or a Fail state was reached.
    Failed,
    /// The definition's `TimeoutSeconds` passed.
    TimedOut,
    /// Stopped through [`ExecutionHandle::stop`].
    Aborted,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExecutionResult {
    /// Never [`ExecutionStatus::Running`].
    pub status: ExecutionStatus,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error name, when it failed, timed out, or was stopped with one.
    pub error: Option<String>,
    /// The error cause.
    pub cause: Option<String>,
    /// Every event, the final one included.
    pub history: History,
}

#[derive(Debug, Clone)]
struct StopRequest {
    error: Option<String>,
    cause: Option<String>,
}

struct ExecState {
    events: Vec<HistoryEvent>,
    result: Option<ExecutionResult>,
}

/// One execution's state, shared by its handles, its event streams and the interpreter.
pub(crate) struct ExecutionShared {
    pub(crate) info: ExecutionInfo,
    pub(crate) input: Value,
    max_events: usize,
    state: Mutex<ExecState>,
    /// Bumped on every event and at the end.
    updates: watch::Sender<u64>,
    stop: watch::Sender<Option<StopRequest>>,
}

impl ExecutionShared {
    fn new(info: ExecutionInfo, input: Value, max_events: usize) -> Self {
        ExecutionShared {
            info,
            input,
            max_events,
            state: Mutex::new(ExecState { events: Vec::new(), result: None }),
            updates: watch::Sender::new(0),
            stop: watch::Sender::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ExecState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an event. Fails with `States.Runtime` when the history is full (one slot is kept
    /// for the final event) or the execution has already ended.
    pub(crate) fn record(&self, mut event: HistoryEvent) -> Result<(), Failure> {
        {
            let mut state = self.lock();
            if state.result.is_some() {
                return Err(Failure::runtime("the execution has already ended"));
            }
            if state.events.len() + 1 >= self.max_events {
                return Err(Failure::runtime(format!(
                    "The execution history reached the limit of {} events.",
                    self.max_events
                )));
            }
            event.id = state.events.len() as u64 + 1;
            event.timestamp = Timestamp::now();
            tracing::debug!(
                execution = %self.info.name,
                id = event.id,
                event = ?event.event_type,
                state = event.state_name.as_deref().unwrap_or(""),
                "history event"
            );
            state.events.push(event);
        }
        self.updates.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Records the final event and the result; later events are refused.
    fn finish(&self, mut event: HistoryEvent, status: ExecutionStatus) {
        {
            let mut state = self.lock();
            if state.result.is_some() {
                return;
            }
            event.id = state.events.len() as u64 + 1;
            event.timestamp = Timestamp::now();
            let result = ExecutionResult {
                status,
                output: event.output.clone(),
                error: event.error.clone().filter(|e| !e.is_empty()),
                cause: event.cause.clone().filter(|c| !c.is_empty()),
                history: History::default(),
            };
            tracing::debug!(execution = %self.info.name, status = ?status, "execution ended");
            state.events.push(event);
            let history = History::new(state.events.clone());
            state.result = Some(ExecutionResult { history, ..result });
        }
        self.updates.send_modify(|n| *n += 1);
    }
}

enum Ending {
    Succeeded(Value),
    Failed(Failure),
    TimedOut,
    Aborted(Option<StopRequest>),
}

/// Runs the execution's states and records how it ended: success, failure, the execution
/// timeout, or a stop request.
async fn supervise(run: Arc<Run>) {
    let exec = Arc::clone(&run.exec);
    let engine = Arc::clone(&run.engine);
    let machine = Arc::clone(&engine.definition.machine);
    let mut worker = tokio::spawn(run_machine(Arc::clone(&run), machine, exec.input.clone()));
    let timeout = engine.definition.timeout_seconds().map(|s| engine.scaled(s as f64));
    let mut stop = exec.stop.subscribe();
    let ending = tokio::select! {
        joined = &mut worker => match joined {
            Ok(Ok(output)) => Ending::Succeeded(output),
            Ok(Err(failure)) => Ending::Failed(failure),
            Err(e) => Ending::Failed(Failure::runtime(format!("the execution's task panicked or was cancelled: {e}"))),
        },
        () = sleep_or_forever(timeout) => Ending::TimedOut,
        stopped = stop.wait_for(Option::is_some) => {
            let request = stopped.ok().and_then(|r| r.clone());
            Ending::Aborted(request)
        }
    };
    if !matches!(ending, Ending::Succeeded(_) | Ending::Failed(_)) {
        // Stop the states (and, through their JoinSets, every Map iteration and branch) before
        // the final event, so that nothing is recorded after it.
        worker.abort();
        let _ = worker.await;
    }
    let (event, status) = match ending {
        Ending::Succeeded(output) => {
            let size = output.to_string().len();
            let limit = engine.options.max_payload_bytes;
            if size > limit {
                let failure = Failure::data_limit("execution output", size, limit);
                (
                    HistoryEvent::new(EventType::ExecutionFailed).error(&failure.error, &failure.cause),
                    ExecutionStatus::Failed,
                )
            } else {
                (HistoryEvent::new(EventType::ExecutionSucceeded).output(output), ExecutionStatus::Succeeded)
            }
        }
        Ending::Failed(failure) => (
            HistoryEvent::new(EventType::ExecutionFailed).error(&failure.error, &failure.cause),
            ExecutionStatus::Failed,
        ),
        Ending::TimedOut => {
            let cause = format!(
                "The execution ran longer than its TimeoutSeconds ({} s).",
                engine.definition.timeout_seconds().unwrap_or_default()
            );
            (HistoryEvent::new(EventType::ExecutionTimedOut).error(names::TIMEOUT, &cause), ExecutionStatus::TimedOut)
        }
        Ending::Aborted(request) => {
            let mut event = HistoryEvent::new(EventType::ExecutionAborted);
            if let Some(StopRequest { error, cause }) = request {
                event.error = error;
                event.cause = cause;
            }
            (event, ExecutionStatus::Aborted)
        }
    };
    exec.finish(event, status);
}

async fn sleep_or_forever(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// A started execution. Cheap to clone.
#[derive(Clone)]
pub struct ExecutionHandle {
    shared: Arc<ExecutionShared>,
}

impl std::fmt::Debug for ExecutionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionHandle").field("execution_arn", &self.shared.info.execution_arn).finish()
    }
}

impl ExecutionHandle {
    /// The execution's name.
    pub fn name(&self) -> &str {
        &self.shared.info.name
    }

    /// The execution's ARN, name, state machine and start time.
    pub fn info(&self) -> &ExecutionInfo {
        &self.shared.info
    }

    /// Running, or how it ended.
    pub fn status(&self) -> ExecutionStatus {
        self.shared.lock().result.as_ref().map_or(ExecutionStatus::Running, |r| r.status)
    }

    /// The events so far.
    pub fn history(&self) -> History {
        History::new(self.shared.lock().events.clone())
    }

    /// Every event from the first, then each new one as it is recorded; ends after the final
    /// event. Streams are independent: each starts from the beginning.
    pub fn events(&self) -> EventStream {
        EventStream { shared: Arc::clone(&self.shared), updates: self.shared.updates.subscribe(), next: 0 }
    }

    /// Waits until the execution ends and returns how. Can be called any number of times.
    pub async fn await_result(&self) -> ExecutionResult {
        let mut updates = self.shared.updates.subscribe();
        loop {
            updates.borrow_and_update();
            if let Some(result) = self.shared.lock().result.clone() {
                return result;
            }
            if updates.changed().await.is_err() {
                // Unreachable: `self.shared` owns the sender. Report what is known.
                return ExecutionResult {
                    status: ExecutionStatus::Failed,
                    output: None,
                    error: Some(names::RUNTIME.to_owned()),
                    cause: Some("the execution's history channel closed".to_owned()),
                    history: self.history(),
                };
            }
        }
    }

    /// Stops the execution (`StopExecution`): it ends as [`ExecutionStatus::Aborted`] with this
    /// error and cause, its running tasks are dropped and their tokens closed. Returns `false`
    /// when it had already ended (nothing changes). Idempotent.
    pub fn stop(&self, error: Option<&str>, cause: Option<&str>) -> bool {
        if self.shared.lock().result.is_some() {
            return false;
        }
        let request = StopRequest { error: error.map(str::to_owned), cause: cause.map(str::to_owned) };
        self.shared.stop.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(request);
            true
        });
        true
    }
}

/// The history of one execution as it is recorded; see [`ExecutionHandle::events`].
pub struct EventStream {
    shared: Arc<ExecutionShared>,
    updates: watch::Receiver<u64>,
    next: usize,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").field("next", &self.next).finish_non_exhaustive()
    }
}

impl EventStream {
    /// The next event, waiting for it if needed; `None` after the execution's final event.
    pub async fn next(&mut self) -> Option<HistoryEvent> {
        loop {
            self.updates.borrow_and_update();
            {
                let state = self.shared.lock();
                if let Some(event) = state.events.get(self.next) {
                    self.next += 1;
                    return Some(event.clone());
                }
                if state.result.is_some() {
                    return None;
                }
            }
            if self.updates.changed().await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_names_follow_step_functions_rules() {
        assert!(check_execution_name("inv-2024-05-01_abc").is_ok());
        for bad in ["", "has space", "a/b", "a:b", "x$", &"n".repeat(81)] {
            assert!(matches!(check_execution_name(bad), Err(Error::InvalidExecutionName { .. })), "{bad:?}");
        }
    }
}
