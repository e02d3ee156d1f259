//! Running states: input and output processing, each state type, Retry and Catch, Map and
//! Parallel concurrency.
//!
//! Processing order, as in Step Functions:
//! Task/Parallel: InputPath → Parameters → work → ResultSelector → ResultPath → OutputPath;
//! Map: InputPath → ItemsPath → ItemSelector (per item) → iterations → ResultSelector →
//! ResultPath → OutputPath; Pass: InputPath → Parameters → Result → ResultPath → OutputPath;
//! Choice, Wait, Succeed: InputPath → work → OutputPath. ResultPath and Catch's ResultPath write
//! into the state's raw input.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::context::{Context, Env, iso_millis};
use crate::definition::{
    Body, Count, Machine, MapState, Outcome, ParallelState, ResourceKind, State, TaskState, Text, WaitState,
};
use crate::engine::{EngineInner, ExecutionShared};
use crate::error::{Failure, names};
use crate::history::{EventType, HistoryEvent};
use crate::intrinsics::as_integer;
use crate::path::Path;
use crate::task::{Callback, IntegrationPattern, TaskRequest};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One execution being run.
pub(crate) struct Run {
    pub(crate) engine: Arc<EngineInner>,
    pub(crate) exec: Arc<ExecutionShared>,
}

impl Run {
    fn record(&self, event: HistoryEvent) -> Result<(), Failure> {
        self.exec.record(event)
    }

    /// The context object of `state`, entered at `entered`.
    fn context<'a>(&'a self, state: &'a State, entered: &'a str) -> Context<'a> {
        Context {
            execution: &self.exec.info,
            input: &self.exec.input,
            state_name: &state.name,
            entered_time: entered,
            retry_count: 0,
            task_token: None,
            map_item: None,
        }
    }

    fn env<'a>(&'a self, input: &'a Value, context: &'a Context<'a>) -> Env<'a> {
        Env { input, context, rng: &self.engine.rng }
    }

    fn check_size(&self, what: &str, value: &Value) -> Result<(), Failure> {
        let limit = self.engine.options.max_payload_bytes;
        let size = value.to_string().len();
        if size > limit { Err(Failure::data_limit(what, size, limit)) } else { Ok(()) }
    }
}

/// Where a state goes next.
enum Step {
    Next(String, Value),
    End(Value),
}

/// Runs a scope (the definition, a Map iteration, a Parallel branch) from its StartAt to a
/// terminal state; the output of that state, or the error that was not caught.
pub(crate) fn run_machine(run: Arc<Run>, machine: Arc<Machine>, input: Value) -> BoxFuture<Result<Value, Failure>> {
    Box::pin(async move {
        let mut name = machine.start_at.clone();
        let mut input = input;
        loop {
            let state = machine
                .states
                .get(&name)
                .ok_or_else(|| Failure::runtime(format!("there is no state named {name:?}")))?;
            match run_state(&run, state, input).await? {
                Step::Next(next, output) => {
                    name = next;
                    input = output;
                }
                Step::End(output) => return Ok(output),
            }
        }
    })
}

fn missing_path(state: &State, path: &Path) -> Failure {
    Failure::runtime(format!(
        "An error occurred while executing the state '{}'. Invalid path '{}' : No results for path: {}",
        state.name,
        path.text(),
        path.normalized()
    ))
}

/// InputPath (or OutputPath) applied to `value`: `null` gives `{}`, a path finding nothing is
/// `States.Runtime`.
fn select_path(
    run: &Run,
    state: &State,
    path: Option<&Path>,
    value: &Value,
    ctx: &Context<'_>,
) -> Result<Value, Failure> {
    match path {
        None => Ok(json!({})),
        Some(path) => run.env(value, ctx).resolve(path).ok_or_else(|| missing_path(state, path)),
    }
}

fn apply_result_path(result_path: Option<&Path>, raw_input: Value, result: Value) -> Result<Value, Failure> {
    match result_path {
        None => Ok(raw_input),
        Some(path) => path.insert(raw_input, result).map_err(Failure::runtime),
    }
}

/// Records the state's exit and picks the next state.
fn exit(run: &Run, state: &State, output: Value) -> Result<Step, Failure> {
    run.check_size(&format!("output of state '{}'", state.name), &output)?;
    run.record(HistoryEvent::new(EventType::exited(state.body.type_name())).state(&state.name).output(output.clone()))?;
    Ok(match &state.next {
        Some(next) => Step::Next(next.clone(), output),
        None => Step::End(output),
    })
}

async fn run_state(run: &Arc<Run>, state: &State, input: Value) -> Result<Step, Failure> {
    let entered = iso_millis(Timestamp::now());
    run.record(HistoryEvent::new(EventType::entered(state.body.type_name())).state(&state.name).input(input.clone()))?;
    let ctx = run.context(state, &entered);
    match &state.body {
        Body::Pass(pass) => {
            let effective = select_path(run, state, state.input_path.as_ref(), &input, &ctx)?;
            let mut result = match &pass.parameters {
                Some(template) => template.eval(&run.env(&effective, &ctx))?,
                None => effective,
            };
            if let Some(literal) = &pass.result {
                result = literal.clone();
            }
            let combined = apply_result_path(pass.result_path.as_ref(), input, result)?;
            let output = select_path(run, state, state.output_path.as_ref(), &combined, &ctx)?;
            exit(run, state, output)
        }
        Body::Wait(wait) => {
            let effective = select_path(run, state, state.input_path.as_ref(), &input, &ctx)?;
            let seconds = wait_seconds(run, state, wait, &effective, &ctx)?;
            tokio::time::sleep(run.engine.scaled(seconds)).await;
            let output = select_path(run, state, state.output_path.as_ref(), &effective, &ctx)?;
            exit(run, state, output)
        }
        Body::Choice(choice) => {
            let effective = select_path(run, state, state.input_path.as_ref(), &input, &ctx)?;
            let env = run.env(&effective, &ctx);
            let mut target = None;
            for rule in &choice.choices {
                if rule.rule.eval(&env)? {
                    target = Some(rule.next.clone());
                    break;
                }
            }
            let Some(target) = target.or_else(|| choice.default.clone()) else {
                return Err(Failure::new(
                    names::NO_CHOICE_MATCHED,
                    format!("No Choice Rules matched in state '{}' and no Default was specified.", state.name),
                ));
            };
            let output = select_path(run, state, state.output_path.as_ref(), &effective, &ctx)?;
            match exit(run, state, output)? {
                Step::Next(_, output) | Step::End(output) => Ok(Step::Next(target, output)),
            }
        }
        Body::Succeed => {
            let effective = select_path(run, state, state.input_path.as_ref(), &input, &ctx)?;
            let output = select_path(run, state, state.output_path.as_ref(), &effective, &ctx)?;
            exit(run, state, output).map(|step| match step {
                Step::Next(_, output) | Step::End(output) => Step::End(output),
            })
        }
        Body::Fail(fail) => {
            let env = run.env(&input, &ctx);
            let error = fail_text(state, fail.error.as_ref(), &env, "ErrorPath")?;
            let cause = fail_text(state, fail.cause.as_ref(), &env, "CausePath")?;
            Err(Failure::new(error, cause))
        }
        Body::Task(_) | Body::Map(_) | Body::Parallel(_) => run_with_recovery(run, state, input, &entered).await,
    }
}

fn fail_text(state: &State, text: Option<&Text>, env: &Env<'_>, field: &str) -> Result<String, Failure> {
    let value = match text {
        None => return Ok(String::new()),
        Some(Text::Literal(text)) => return Ok(text.clone()),
        Some(Text::Path(path)) => env.resolve(path).ok_or_else(|| missing_path(state, path))?,
        Some(Text::Call(call)) => call.eval(env)?,
    };
    match value {
        Value::String(text) => Ok(text),
        other => {
            Err(Failure::runtime(format!("The {field} of state '{}' must give a string, got {other}", state.name)))
        }
    }
}

fn wait_seconds(
    run: &Run,
    state: &State,
    wait: &WaitState,
    effective: &Value,
    ctx: &Context<'_>,
) -> Result<f64, Failure> {
    let env = run.env(effective, ctx);
    let until = |ts: Timestamp| ts.duration_since(Timestamp::now()).as_secs_f64().max(0.0);
    match wait {
        WaitState::Seconds(seconds) => Ok(*seconds as f64),
        WaitState::SecondsPath(path) => {
            let value = env.resolve(path).ok_or_else(|| missing_path(state, path))?;
            match as_integer(&value) {
                Some(seconds) if seconds >= 0 => Ok(seconds as f64),
                _ => Err(Failure::runtime(format!(
                    "The SecondsPath '{}' of state '{}' must give a non-negative integer, got {value}",
                    path.text(),
                    state.name
                ))),
            }
        }
        WaitState::Timestamp(ts) => Ok(until(*ts)),
        WaitState::TimestampPath(path) => {
            let value = env.resolve(path).ok_or_else(|| missing_path(state, path))?;
            match value.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
                Some(ts) => Ok(until(ts)),
                None => Err(Failure::runtime(format!(
                    "The TimestampPath '{}' of state '{}' must give an RFC 3339 timestamp, got {value}",
                    path.text(),
                    state.name
                ))),
            }
        }
    }
}

/// Task, Map and Parallel: attempts under Retry, then Catch.
async fn run_with_recovery(run: &Arc<Run>, state: &State, input: Value, entered: &str) -> Result<Step, Failure> {
    let outcome: &Outcome = match &state.body {
        Body::Task(task) => &task.outcome,
        Body::Map(map) => &map.outcome,
        Body::Parallel(parallel) => &parallel.outcome,
        _ => return Err(Failure::runtime("internal error: a state without Retry/Catch")),
    };
    let effective = select_path(run, state, state.input_path.as_ref(), &input, &run.context(state, entered))?;
    let mut retries_per_retrier = vec![0u32; outcome.retry.len()];
    let mut retry_count = 0u32;
    loop {
        let attempt = match &state.body {
            Body::Task(task) => run_task(run, state, task, &effective, entered, retry_count).await,
            Body::Map(map) => run_map(run, state, map, &effective, entered).await,
            Body::Parallel(parallel) => run_parallel(run, state, parallel, &effective, entered).await,
            _ => Err(Failure::runtime("internal error: a state without Retry/Catch")),
        };
        let failure = match attempt {
            Ok(result) => {
                let ctx = Context { retry_count, ..run.context(state, entered) };
                let selected = match &outcome.result_selector {
                    Some(template) => template.eval(&run.env(&result, &ctx))?,
                    None => result,
                };
                let combined = apply_result_path(outcome.result_path.as_ref(), input, selected)?;
                let output = select_path(run, state, state.output_path.as_ref(), &combined, &ctx)?;
                return exit(run, state, output);
            }
            Err(failure) => failure,
        };
        if let Some(i) = outcome.retry.iter().position(|r| r.matches(&failure.error)) {
            let retrier = &outcome.retry[i];
            if retries_per_retrier[i] < retrier.max_attempts {
                let delay = retrier.delay_seconds(retries_per_retrier[i], &run.engine.rng);
                retries_per_retrier[i] += 1;
                retry_count += 1;
                tracing::debug!(state = %state.name, error = %failure.error, retry = retry_count, delay, "retrying");
                tokio::time::sleep(run.engine.scaled(delay)).await;
                continue;
            }
        }
        if let Some(catcher) = outcome.catch.iter().find(|c| c.matches(&failure.error)) {
            let error_output = json!({ "Error": failure.error, "Cause": failure.cause });
            let output = apply_result_path(catcher.result_path.as_ref(), input, error_output)?;
            run.check_size(&format!("output of state '{}'", state.name), &output)?;
            return Ok(Step::Next(catcher.next.clone(), output));
        }
        return Err(failure);
    }
}

/// A `TimeoutSeconds`-like count: as written, or read from the effective input, where it must be
/// an integer of at least `min` (else `States.Runtime`).
fn resolve_count(
    run: &Run,
    state: &State,
    count: Option<&Count>,
    field: &str,
    min: i64,
    effective: &Value,
    ctx: &Context<'_>,
) -> Result<Option<u64>, Failure> {
    match count {
        None => Ok(None),
        Some(Count::Fixed(n)) => Ok(Some(*n)),
        Some(Count::Path(path)) => {
            let value = run.env(effective, ctx).resolve(path).ok_or_else(|| missing_path(state, path))?;
            match as_integer(&value) {
                Some(n) if n >= min => Ok(Some(n as u64)),
                _ => Err(Failure::runtime(format!(
                    "The {field} '{}' of state '{}' must give an integer of at least {min}, got {value}",
                    path.text(),
                    state.name
                ))),
            }
        }
    }
}

/// Waits for `future` until `deadline`; `None` when the deadline passed first.
async fn until_deadline<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}

fn task_event(event_type: EventType, state: &State, task: &TaskState) -> HistoryEvent {
    HistoryEvent::new(event_type).state(&state.name).resource(&task.resource.arn)
}

fn task_failed(run: &Run, state: &State, task: &TaskState, error: &str, cause: &str) -> Failure {
    let event = task_event(EventType::TaskFailed, state, task).error(error, cause);
    match run.record(event) {
        Ok(()) => Failure::new(error, cause),
        Err(limit) => limit,
    }
}

fn task_timed_out(run: &Run, state: &State, task: &TaskState, error: &str) -> Failure {
    let cause = if error == names::TIMEOUT {
        format!("The task of state '{}' ran longer than its TimeoutSeconds.", state.name)
    } else {
        format!("The task of state '{}' sent no heartbeat within its HeartbeatSeconds.", state.name)
    };
    let event = task_event(EventType::TaskTimedOut, state, task).error(error, &cause);
    match run.record(event) {
        Ok(()) => Failure::new(error, cause),
        Err(limit) => limit,
    }
}

/// One attempt of a Task state: the task's result, before ResultSelector.
async fn run_task(
    run: &Arc<Run>,
    state: &State,
    task: &TaskState,
    effective: &Value,
    entered: &str,
    retry_count: u32,
) -> Result<Value, Failure> {
    let engine = &run.engine;
    let waits = task.resource.pattern == IntegrationPattern::WaitForTaskToken;
    // The token stays open while `guard` lives: until this attempt ends, however it ends.
    let (guard, receiver) = if waits {
        let (guard, receiver) = engine.tokens.issue(&engine.rng);
        (Some(guard), Some(receiver))
    } else {
        (None, None)
    };
    let token = guard.as_ref().map(|g| g.token.clone());
    let params = {
        let ctx = Context { retry_count, task_token: token.as_deref(), ..run.context(state, entered) };
        match &task.parameters {
            Some(template) => template.eval(&run.env(effective, &ctx))?,
            None => effective.clone(),
        }
    };
    run.check_size(&format!("input of the task of state '{}'", state.name), &params)?;
    let ctx = run.context(state, entered);
    let timeout = resolve_count(run, state, task.timeout.as_ref(), "TimeoutSecondsPath", 1, effective, &ctx)?;
    let heartbeat = resolve_count(run, state, task.heartbeat.as_ref(), "HeartbeatSecondsPath", 1, effective, &ctx)?;
    let (function_name, payload) = match task.resource.kind {
        ResourceKind::LambdaInvoke => {
            let name = params.get("FunctionName").and_then(Value::as_str).ok_or_else(|| {
                Failure::runtime(format!(
                    "The FunctionName parameter of state '{}' must be a string, in {params}",
                    state.name
                ))
            })?;
            (Some(name.to_owned()), params.get("Payload").cloned().unwrap_or_else(|| json!({})))
        }
        ResourceKind::LambdaFunction => (Some(task.resource.arn.clone()), params.clone()),
        ResourceKind::Service => (None, params.clone()),
    };
    run.record(task_event(EventType::TaskScheduled, state, task).input(params))?;
    let request = TaskRequest {
        resource: task.resource.arn.clone(),
        state_name: state.name.clone(),
        function_name,
        payload,
        pattern: task.resource.pattern,
        task_token: token,
        retry_count,
        execution: run.exec.info.clone(),
        callbacks: engine.callbacks(),
    };
    run.record(task_event(EventType::TaskStarted, state, task))?;
    let deadline = timeout.and_then(|s| Instant::now().checked_add(engine.scaled(s as f64)));
    let value = match until_deadline(deadline, engine.handler.invoke(request)).await {
        None => return Err(task_timed_out(run, state, task, names::TIMEOUT)),
        Some(Err(e)) => return Err(task_failed(run, state, task, &e.error, &e.cause)),
        Some(Ok(value)) => value,
    };
    let Some(mut receiver) = receiver else {
        let result = match task.resource.kind {
            ResourceKind::LambdaInvoke => lambda_invoke_output(run, value),
            ResourceKind::LambdaFunction | ResourceKind::Service => value,
        };
        run.check_size(&format!("output of the task of state '{}'", state.name), &result)?;
        run.record(task_event(EventType::TaskSucceeded, state, task).output(result.clone()))?;
        return Ok(result);
    };
    run.record(task_event(EventType::TaskSubmitted, state, task).output(value))?;
    // Heartbeats only exist for callbacks: a request/response task has no token to send them with.
    let heartbeat = heartbeat.map(|s| engine.scaled(s as f64));
    let mut beat_deadline = heartbeat.and_then(|h| Instant::now().checked_add(h));
    loop {
        let wake = match (deadline, beat_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match until_deadline(wake, receiver.recv()).await {
            None => {
                let error =
                    if deadline.is_some() && deadline == wake { names::TIMEOUT } else { names::HEARTBEAT_TIMEOUT };
                return Err(task_timed_out(run, state, task, error));
            }
            Some(Some(Callback::Heartbeat)) => beat_deadline = heartbeat.and_then(|h| Instant::now().checked_add(h)),
            Some(Some(Callback::Success(output))) => {
                run.record(task_event(EventType::TaskSucceeded, state, task).output(output.clone()))?;
                return Ok(output);
            }
            Some(Some(Callback::Failure(e))) => return Err(task_failed(run, state, task, &e.error, &e.cause)),
            Some(None) => return Err(Failure::runtime("the task token's channel closed")),
        }
    }
}

/// The result of Lambda's Invoke API as the optimized `lambda:invoke` integration returns it.
fn lambda_invoke_output(run: &Run, payload: Value) -> Value {
    let request_id = run.engine.rng.uuid_v4();
    let date = Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let length = payload.to_string().len().to_string();
    let trace = format!(
        "Root=1-{:08x}-{:016x}{:08x};Sampled=0",
        Timestamp::now().as_second(),
        run.engine.rng.next_u64(),
        run.engine.rng.next_u64() as u32
    );
    let headers = [
        ("Connection", "keep-alive".to_owned()),
        ("Content-Length", length),
        ("Content-Type", "application/json".to_owned()),
        ("Date", date),
        ("X-Amz-Executed-Version", "$LATEST".to_owned()),
        ("x-amzn-Remapped-Content-Length", "0".to_owned()),
        ("x-amzn-RequestId", request_id.clone()),
        ("X-Amzn-Trace-Id", trace),
    ];
    let single: serde_json::Map<String, Value> = headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let all: serde_json::Map<String, Value> = headers.iter().map(|(k, v)| ((*k).to_owned(), json!([v]))).collect();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": all,
            "HttpHeaders": single,
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": { "RequestId": request_id },
        "StatusCode": 200
    })
}

/// One attempt of a Map state: the array of iteration outputs, in item order.
async fn run_map(
    run: &Arc<Run>,
    state: &State,
    map: &MapState,
    effective: &Value,
    entered: &str,
) -> Result<Value, Failure> {
    let ctx = run.context(state, entered);
    let items =
        run.env(effective, &ctx).resolve(&map.items_path).ok_or_else(|| missing_path(state, &map.items_path))?;
    let Value::Array(items) = items else {
        return Err(Failure::runtime(format!(
            "The ItemsPath '{}' of state '{}' must select an array, got {items}",
            map.items_path.text(),
            state.name
        )));
    };
    let mut jobs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let input = match &map.item_selector {
            Some(template) => {
                let ctx = Context { map_item: Some((index, item)), ..ctx };
                template.eval(&run.env(effective, &ctx))?
            }
            None => item.clone(),
        };
        jobs.push((Arc::clone(&map.processor), input));
    }
    run.record(HistoryEvent::new(EventType::MapStateStarted).state(&state.name).index(items.len()))?;
    let limit = resolve_count(run, state, Some(&map.max_concurrency), "MaxConcurrencyPath", 0, effective, &ctx)?;
    let limit = limit.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    match run_concurrently(run, state, jobs, limit, true).await {
        Ok(results) => {
            run.record(HistoryEvent::new(EventType::MapStateSucceeded).state(&state.name))?;
            Ok(Value::Array(results))
        }
        Err(failure) => {
            let event =
                HistoryEvent::new(EventType::MapStateFailed).state(&state.name).error(&failure.error, &failure.cause);
            run.record(event)?;
            Err(failure)
        }
    }
}

/// One attempt of a Parallel state: the array of branch outputs, in branch order.
async fn run_parallel(
    run: &Arc<Run>,
    state: &State,
    parallel: &ParallelState,
    effective: &Value,
    entered: &str,
) -> Result<Value, Failure> {
    let ctx = run.context(state, entered);
    let input = match &parallel.parameters {
        Some(template) => template.eval(&run.env(effective, &ctx))?,
        None => effective.clone(),
    };
    let jobs = parallel.branches.iter().map(|branch| (Arc::clone(branch), input.clone())).collect();
    run.record(HistoryEvent::new(EventType::ParallelStateStarted).state(&state.name))?;
    match run_concurrently(run, state, jobs, 0, false).await {
        Ok(results) => {
            run.record(HistoryEvent::new(EventType::ParallelStateSucceeded).state(&state.name))?;
            Ok(Value::Array(results))
        }
        Err(failure) => {
            let event = HistoryEvent::new(EventType::ParallelStateFailed)
                .state(&state.name)
                .error(&failure.error, &failure.cause);
            run.record(event)?;
            Err(failure)
        }
    }
}

/// Runs `jobs` as tokio tasks, at most `limit` at a time (0: all at once), starting them in
/// order. The outputs come back in job order. The first failure aborts the jobs still running
/// and is returned. `map_events` records the MapIteration… events.
async fn run_concurrently(
    run: &Arc<Run>,
    state: &State,
    jobs: Vec<(Arc<Machine>, Value)>,
    limit: usize,
    map_events: bool,
) -> Result<Vec<Value>, Failure> {
    let count = jobs.len();
    let limit = if limit == 0 { count } else { limit.min(count) }.max(1);
    let mut results = vec![Value::Null; count];
    let mut pending = jobs.into_iter().enumerate();
    let mut running = BTreeSet::new();
    // Dropping the set (an early return, or this future being dropped) aborts what it holds.
    let mut set = JoinSet::new();
    loop {
        while set.len() < limit {
            let Some((index, (machine, input))) = pending.next() else { break };
            if map_events {
                run.record(HistoryEvent::new(EventType::MapIterationStarted).state(&state.name).index(index))?;
            }
            running.insert(index);
            let run = Arc::clone(run);
            let name = state.name.clone();
            set.spawn(async move {
                let result = run_machine(Arc::clone(&run), machine, input).await;
                if map_events {
                    let event = match &result {
                        Ok(_) => HistoryEvent::new(EventType::MapIterationSucceeded),
                        Err(f) => HistoryEvent::new(EventType::MapIterationFailed).error(&f.error, &f.cause),
                    };
                    if let Err(limit) = run.record(event.state(&name).index(index)) {
                        return (index, Err(limit));
                    }
                }
                (index, result)
            });
        }
        let Some(joined) = set.join_next().await else { break };
        let (index, result) = joined
            .map_err(|e| Failure::runtime(format!("an iteration or branch of state '{}' panicked: {e}", state.name)))?;
        running.remove(&index);
        match result {
            Ok(output) => results[index] = output,
            Err(failure) => {
                set.abort_all();
                // Aborting takes effect at each task's next await: a task being polled on another
                // worker right now can still record events. Wait for every task to stop so that
                // nothing of this map lands in the history after the failure is handled.
                // One that finished before its abort recorded its own end: it was not aborted.
                while let Some(stopped) = set.join_next().await {
                    if let Ok((index, _)) = stopped {
                        running.remove(&index);
                    }
                }
                if map_events {
                    for index in running {
                        run.record(HistoryEvent::new(EventType::MapIterationAborted).state(&state.name).index(index))?;
                    }
                }
                return Err(failure);
            }
        }
    }
    Ok(results)
}
