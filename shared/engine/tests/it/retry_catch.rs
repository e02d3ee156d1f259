//! Retry (attempts, backoff, which retrier applies) and Catch (matching, ResultPath).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aiops_engine::{EventType, ExecutionStatus, TaskError, handler_fn};
use serde_json::{Value, json};

use crate::support::{Requests, lambda, run};

/// A task that retries Aiops.Throttled, and catches what is left into `$.error`.
fn throttled_task(retry: Value) -> Value {
    json!({
        "StartAt": "Reason",
        "States": {
            "Reason": {
                "Type": "Task",
                "Resource": lambda("reason"),
                "Retry": retry,
                "Catch": [{"ErrorEquals": ["Aiops.Throttled"], "ResultPath": "$.error", "Next": "GaveUp"}],
                "ResultPath": "$.step",
                "End": true
            },
            "GaveUp": {"Type": "Pass", "End": true}
        }
    })
}

#[tokio::test]
async fn retries_with_backoff_until_the_handler_succeeds() {
    let definition = throttled_task(json!([
        {"ErrorEquals": ["Aiops.Throttled"], "IntervalSeconds": 10, "BackoffRate": 2.0, "MaxAttempts": 3}
    ]));
    let calls = Arc::new(Mutex::new(Vec::<(Instant, u32)>::new()));
    let seen = Arc::clone(&calls);
    let handler = handler_fn(move |request| {
        let seen = Arc::clone(&seen);
        async move {
            let attempt = {
                let mut calls = seen.lock().expect("calls lock");
                calls.push((Instant::now(), request.retry_count));
                calls.len()
            };
            if attempt <= 2 {
                Err(TaskError::new("Aiops.Throttled", "Bedrock said slow down"))
            } else {
                Ok(json!({"kind": "answer"}))
            }
        }
    });
    let result = run(&definition, handler, json!({"question": "why?"})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!({"question": "why?", "step": {"kind": "answer"}})));

    let calls = calls.lock().expect("calls lock").clone();
    assert_eq!(calls.iter().map(|(_, retry)| *retry).collect::<Vec<_>>(), [0, 1, 2]);
    // IntervalSeconds 10 then 10 × 2, at a time scale of 0.001.
    let first_gap = calls[1].0 - calls[0].0;
    let second_gap = calls[2].0 - calls[1].0;
    assert!(first_gap >= Duration::from_millis(10), "first backoff {first_gap:?}");
    assert!(second_gap >= Duration::from_millis(20), "second backoff {second_gap:?}");
    assert_eq!(result.history.count(EventType::TaskScheduled), 3);
    assert_eq!(result.history.count(EventType::TaskFailed), 2);
    assert_eq!(result.history.count(EventType::TaskSucceeded), 1);
    assert_eq!(result.history.state_sequence(), ["Reason"], "retries stay in the state");
}

#[tokio::test]
async fn exhausted_max_attempts_falls_through_to_catch_with_result_path() {
    let definition = throttled_task(json!([{"ErrorEquals": ["Aiops.Throttled"], "MaxAttempts": 2}]));
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let handler = handler_fn(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<Value, _>(TaskError::new("Aiops.Throttled", "still throttled")) }
    });
    let result = run(&definition, handler, json!({"question": "why?"})).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "one attempt and two retries");
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.history.state_sequence(), ["Reason", "GaveUp"]);
    assert_eq!(
        result.output,
        Some(json!({"question": "why?", "error": {"Error": "Aiops.Throttled", "Cause": "still throttled"}}))
    );
}

#[tokio::test]
async fn only_the_first_matching_retrier_counts() {
    let definition = throttled_task(json!([
        {"ErrorEquals": ["Aiops.Throttled"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}
    ]));
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let handler = handler_fn(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<Value, _>(TaskError::new("Aiops.Throttled", "")) }
    });
    let result = run(&definition, handler, json!({})).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(result.history.state_sequence(), ["Reason", "GaveUp"]);
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_uncaught_errors_fail_the_execution() {
    let definition = throttled_task(json!([{"ErrorEquals": ["Aiops.Fatal"], "MaxAttempts": 0}]));
    let attempts = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&attempts);
    let handler = handler_fn(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<Value, _>(TaskError::new("Aiops.Fatal", "{\"errorMessage\":\"boom\"}")) }
    });
    let result = run(&definition, handler, json!({})).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("Aiops.Fatal"));
    assert_eq!(result.cause.as_deref(), Some("{\"errorMessage\":\"boom\"}"));
}

#[tokio::test]
async fn catch_result_path_default_replaces_and_null_keeps_the_input() {
    let definition = json!({
        "StartAt": "Replace",
        "States": {
            "Replace": {
                "Type": "Task",
                "Resource": lambda("fail"),
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Keep"}],
                "End": true
            },
            "Keep": {
                "Type": "Task",
                "Resource": lambda("fail"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "Done"}],
                "End": true
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let handler = handler_fn(|_| async { Err::<Value, _>(TaskError::new("Aiops.Transient", "reset")) });
    let result = run(&definition, handler, json!({"original": true})).await;
    assert_eq!(result.history.state_sequence(), ["Replace", "Keep", "Done"]);
    // Keep's input was Replace's error output; ResultPath null passed it through.
    assert_eq!(result.output, Some(json!({"Error": "Aiops.Transient", "Cause": "reset"})));
}

#[tokio::test]
async fn task_timeout_raises_states_timeout_which_task_failed_does_not_match() {
    let definition = json!({
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": lambda("slow"),
                "TimeoutSeconds": 5,
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "Right"}
                ],
                "End": true
            },
            "Wrong": {"Type": "Fail", "Error": "Test.Wrong"},
            "Right": {"Type": "Succeed"}
        }
    });
    let handler = handler_fn(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(json!("too late"))
    });
    let started = Instant::now();
    let result = run(&definition, handler, json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(5), "timed out after {:?}", started.elapsed());
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.history.state_sequence(), ["Slow", "Right"]);
    let timed_out = result.history.of_type(EventType::TaskTimedOut).next().expect("TaskTimedOut event");
    assert_eq!(timed_out.error.as_deref(), Some("States.Timeout"));
    assert_eq!(result.output.as_ref().and_then(|o| o.get("Error")), Some(&json!("States.Timeout")));
}

#[tokio::test]
async fn retry_count_reaches_the_context_and_the_request() {
    let definition = json!({
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": lambda("flaky"),
                "Parameters": {"retry.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["Aiops.Transient"], "MaxAttempts": 3, "JitterStrategy": "FULL"}],
                "End": true
            }
        }
    });
    let requests = Requests::default();
    let log = requests.clone();
    let handler = handler_fn(move |request| {
        log.push(&request);
        async move {
            match request.retry_count {
                0 | 1 => Err(TaskError::new("Aiops.Transient", "")),
                _ => Ok(request.payload),
            }
        }
    });
    let result = run(&definition, handler, json!({})).await;
    assert_eq!(result.output, Some(json!({"retry": 2})));
    let payloads: Vec<Value> = requests.all().into_iter().map(|r| r.payload).collect();
    assert_eq!(payloads, [json!({"retry": 0}), json!({"retry": 1}), json!({"retry": 2})]);
}
