//! `.waitForTaskToken`: the approval pattern. The task waits for SendTaskSuccess/Failure, a
//! timeout or a missed heartbeat.

use std::time::{Duration, Instant};

use aiops_engine::{
    Engine, EventType, ExecutionStatus, IntegrationPattern, TaskError, TaskRequest, TaskTokenError, handler_fn,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{engine, finish};

/// An approval step: waits for a decision, then routes on it.
fn approval(timeout: u64, heartbeat: Option<u64>) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "approval",
            "Payload": {"token.$": "$$.Task.Token", "action.$": "$.action", "execution.$": "$$.Execution.Name"}
        },
        "TimeoutSeconds": timeout,
        "ResultPath": "$.decision",
        "Catch": [
            {"ErrorEquals": ["Aiops.Rejected"], "ResultPath": "$.error", "Next": "Rejected"},
            {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.error", "Next": "Silent"},
            {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Expired"}
        ],
        "Next": "Approved"
    });
    if let Some(heartbeat) = heartbeat {
        task["HeartbeatSeconds"] = json!(heartbeat);
    }
    json!({
        "StartAt": "Approve",
        "States": {
            "Approve": task,
            "Approved": {"Type": "Succeed"},
            "Rejected": {"Type": "Succeed"},
            "Expired": {"Type": "Succeed"},
            "Silent": {"Type": "Succeed"}
        }
    })
}

/// A handler that hands every request to the test and returns a value the engine must ignore.
fn forwarding() -> (std::sync::Arc<dyn aiops_engine::TaskHandler>, mpsc::UnboundedReceiver<TaskRequest>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = handler_fn(move |request| {
        let sent = tx.send(request);
        async move {
            match sent {
                Ok(()) => Ok(json!({"ignored": true})),
                Err(_) => Err(TaskError::new("Test.Closed", "the test stopped listening")),
            }
        }
    });
    (handler, rx)
}

async fn next_request(rx: &mut mpsc::UnboundedReceiver<TaskRequest>) -> TaskRequest {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.ok().flatten().expect("the task was invoked")
}

fn start(engine: &Engine) -> aiops_engine::ExecutionHandle {
    engine.start_execution("approval-1", json!({"action": "scale api to 3"})).expect("start")
}

#[tokio::test]
async fn send_task_success_completes_the_task_and_closes_the_token() {
    let (handler, mut requests) = forwarding();
    let engine = engine(&approval(3600, None), handler);
    let handle = start(&engine);
    let request = next_request(&mut requests).await;
    assert_eq!(request.pattern, IntegrationPattern::WaitForTaskToken);
    assert_eq!(request.function_name.as_deref(), Some("approval"));
    let token = request.task_token.clone().expect("a token");
    assert_eq!(request.payload["token"], json!(token), "$$.Task.Token is the request's token");
    assert_eq!(request.payload["action"], json!("scale api to 3"));
    assert_eq!(request.payload["execution"], json!("approval-1"));

    assert_eq!(engine.send_task_heartbeat("not-a-token"), Err(TaskTokenError::InvalidToken));
    engine.send_task_success(&token, json!({"approved": true, "by": "alice"})).expect("success accepted");
    let result = finish(&handle).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.history.state_sequence(), ["Approve", "Approved"]);
    assert_eq!(
        result.output,
        Some(json!({"action": "scale api to 3", "decision": {"approved": true, "by": "alice"}})),
        "the callback's output is the result, not the handler's return value"
    );
    let submitted = result.history.of_type(EventType::TaskSubmitted).next().expect("TaskSubmitted");
    assert_eq!(submitted.output, Some(json!({"ignored": true})));
    assert_eq!(engine.send_task_success(&token, json!({})), Err(TaskTokenError::TaskTimedOut));
    assert_eq!(engine.send_task_failure(&token, "E", "c"), Err(TaskTokenError::TaskTimedOut));
}

#[tokio::test]
async fn send_task_failure_is_caught_by_its_error_name() {
    let (handler, mut requests) = forwarding();
    let engine = engine(&approval(3600, None), handler);
    let handle = start(&engine);
    let token = next_request(&mut requests).await.task_token.expect("token");
    engine.send_task_failure(&token, "Aiops.Rejected", "not during business hours").expect("failure accepted");
    let result = finish(&handle).await;
    assert_eq!(result.history.state_sequence(), ["Approve", "Rejected"]);
    assert_eq!(
        result.output.expect("output")["error"],
        json!({"Error": "Aiops.Rejected", "Cause": "not during business hours"})
    );
    assert_eq!(result.history.count(EventType::TaskFailed), 1);
}

#[tokio::test]
async fn no_answer_times_out_into_catch_and_the_token_is_closed() {
    let (handler, mut requests) = forwarding();
    let engine = engine(&approval(20, None), handler);
    let handle = start(&engine);
    let token = next_request(&mut requests).await.task_token.expect("token");
    let result = finish(&handle).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.history.state_sequence(), ["Approve", "Expired"]);
    let timed_out = result.history.of_type(EventType::TaskTimedOut).next().expect("TaskTimedOut");
    assert_eq!(timed_out.error.as_deref(), Some("States.Timeout"));
    assert_eq!(engine.send_task_success(&token, json!({"approved": true})), Err(TaskTokenError::TaskTimedOut));
}

#[tokio::test]
async fn timeout_seconds_path_reads_the_timeout_from_the_input() {
    let mut definition = approval(3600, None);
    let task = definition["States"]["Approve"].as_object_mut().expect("task object");
    task.remove("TimeoutSeconds");
    task.insert("TimeoutSecondsPath".to_owned(), json!("$.approval_timeout_seconds"));
    let (handler, _requests) = forwarding();
    let engine = engine(&definition, handler);
    let handle =
        engine.start_execution("short", json!({"action": "a", "approval_timeout_seconds": 20})).expect("start");
    let result = finish(&handle).await;
    assert_eq!(result.history.state_sequence(), ["Approve", "Expired"], "{result:?}");

    let handle = engine.start_execution("zero", json!({"action": "a", "approval_timeout_seconds": 0})).expect("start");
    let result = finish(&handle).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert!(result.cause.as_deref().unwrap_or_default().contains("TimeoutSecondsPath"), "{result:?}");
}

#[tokio::test]
async fn heartbeats_keep_the_task_alive_until_they_stop() {
    let (handler, mut requests) = forwarding();
    // HeartbeatSeconds 200 is 200 ms here; TimeoutSeconds is an hour.
    let engine = engine(&approval(3_600_000, Some(200)), handler);
    let handle = start(&engine);
    let token = next_request(&mut requests).await.task_token.expect("token");
    let started = Instant::now();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        engine.send_task_heartbeat(&token).expect("heartbeat accepted");
    }
    let result = finish(&handle).await;
    assert!(started.elapsed() >= Duration::from_millis(300), "heartbeats kept it alive {:?}", started.elapsed());
    assert_eq!(result.history.state_sequence(), ["Approve", "Silent"]);
    let timed_out = result.history.of_type(EventType::TaskTimedOut).next().expect("TaskTimedOut");
    assert_eq!(timed_out.error.as_deref(), Some("States.HeartbeatTimeout"));
}

#[tokio::test]
async fn a_handler_can_answer_its_own_token_later() {
    // The local approval step: ask someone, then answer through the request's callbacks.
    let handler = handler_fn(|request: TaskRequest| async move {
        let token = request.task_token.clone().unwrap_or_default();
        let callbacks = request.callbacks.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = callbacks.send_task_success(&token, json!({"approved": false}));
        });
        Ok(Value::Null)
    });
    let engine = engine(&approval(3600, None), handler);
    let result = finish(&start(&engine)).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output.expect("output")["decision"], json!({"approved": false}));
}

#[tokio::test]
async fn a_handler_error_fails_the_task_without_waiting() {
    let handler = handler_fn(|_| async { Err::<Value, _>(TaskError::new("Aiops.Rejected", "notifier down")) });
    let engine = engine(&approval(3600, None), handler);
    let result = finish(&start(&engine)).await;
    assert_eq!(result.history.state_sequence(), ["Approve", "Rejected"]);
    assert_eq!(result.history.count(EventType::TaskSubmitted), 0);
}

#[tokio::test]
async fn stopping_the_execution_closes_its_tokens() {
    let (handler, mut requests) = forwarding();
    let engine = engine(&approval(3600, None), handler);
    let handle = start(&engine);
    let token = next_request(&mut requests).await.task_token.expect("token");
    assert!(handle.stop(Some("Aiops.Cancelled"), Some("user gave up")));
    let result = finish(&handle).await;
    assert_eq!(result.status, ExecutionStatus::Aborted);
    assert_eq!(result.error.as_deref(), Some("Aiops.Cancelled"));
    assert_eq!(result.history.events().last().map(|e| e.event_type), Some(EventType::ExecutionAborted));
    assert_eq!(engine.send_task_success(&token, json!({})), Err(TaskTokenError::TaskTimedOut));
    assert!(!handle.stop(None, None), "stopping twice changes nothing");
}
