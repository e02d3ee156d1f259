//! Executions: names, history and its stream, execution timeout, limits, a whole workflow.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aiops_engine::{Engine, EngineOptions, Error, EventType, ExecutionStatus, TaskError, handler_fn};
use serde_json::{Value, json};

use crate::support::{echo, engine, finish, lambda, load, no_tasks, options, run};

fn one_task() -> Value {
    json!({
        "StartAt": "Reason",
        "States": {"Reason": {"Type": "Task", "Resource": lambda("reason"), "End": true}}
    })
}

#[tokio::test]
async fn an_execution_name_is_never_reused() {
    let engine = engine(&one_task(), echo());
    let first = engine.start_execution("inv-1", json!({})).expect("first start");
    finish(&first).await;
    let again = engine.start_execution("inv-1", json!({"other": true}));
    assert!(matches!(again, Err(Error::ExecutionAlreadyExists { ref name }) if name == "inv-1"), "{again:?}");
    assert!(matches!(engine.start_execution("has space", json!({})), Err(Error::InvalidExecutionName { .. })));
    assert_eq!(engine.execution("inv-1").map(|h| h.status()), Some(ExecutionStatus::Succeeded));
    assert!(engine.execution("inv-2").is_none());
}

#[test]
fn starting_outside_a_runtime_is_an_error_not_a_panic() {
    let engine = Engine::new(load(&one_task()), echo(), options());
    assert!(matches!(engine.start_execution("x", json!({})), Err(Error::NoRuntime)));
}

#[tokio::test]
async fn history_mirrors_step_functions_events_and_the_stream_sees_them_all() {
    let engine = engine(&one_task(), echo());
    let handle = engine.start_execution("inv-1", json!({"q": 1})).expect("start");
    let mut stream = handle.events();
    let mut streamed = Vec::new();
    while let Some(event) = stream.next().await {
        streamed.push(event);
    }
    let result = finish(&handle).await;
    let types: Vec<EventType> = result.history.events().iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::ExecutionStarted,
            EventType::TaskStateEntered,
            EventType::TaskScheduled,
            EventType::TaskStarted,
            EventType::TaskSucceeded,
            EventType::TaskStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    assert_eq!(streamed, result.history.events(), "the stream yields exactly the history");
    let ids: Vec<u64> = streamed.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
    assert!(streamed.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    let scheduled = &streamed[2];
    assert_eq!(scheduled.state_name.as_deref(), Some("Reason"));
    assert_eq!(scheduled.resource.as_deref(), Some(lambda("reason").as_str()));
    assert_eq!(scheduled.input, Some(json!({"q": 1})));
    assert_eq!(result.history.state_sequence(), ["Reason"]);
    // A stream opened after the end replays everything, and a second await gives the same result.
    let mut late = handle.events();
    let mut count = 0;
    while late.next().await.is_some() {
        count += 1;
    }
    assert_eq!(count, 7);
    assert_eq!(handle.await_result().await, result);
    let serialized = serde_json::to_value(&result.history).expect("history serializes");
    assert_eq!(serialized[0]["type"], json!("ExecutionStarted"));
    assert_eq!(serde_json::to_value(result.status).expect("status"), json!("SUCCEEDED"));
}

#[tokio::test]
async fn execution_timeout_ends_it_as_timed_out() {
    let definition = json!({
        "StartAt": "Long",
        "TimeoutSeconds": 20,
        "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": true}}
    });
    let result = run(&definition, no_tasks(), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::TimedOut);
    assert_eq!(result.error.as_deref(), Some("States.Timeout"));
    assert_eq!(result.history.events().last().map(|e| e.event_type), Some(EventType::ExecutionTimedOut));
}

#[tokio::test]
async fn the_history_limit_fails_a_runaway_loop() {
    let definition = json!({
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "More"},
            "More": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericLessThan": 1000, "Next": "Count"}],
                "Default": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let engine = Engine::new(load(&definition), no_tasks(), EngineOptions { max_events: 50, ..options() });
    let result = finish(&engine.start_execution("loop", json!({"n": 0})).expect("start")).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert!(result.cause.as_deref().unwrap_or_default().contains("50 events"), "{result:?}");
    assert_eq!(result.history.len(), 50);
}

#[tokio::test]
async fn payloads_over_the_limit_are_data_limit_exceeded_which_states_all_does_not_catch() {
    let definition = json!({
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Task",
                "Resource": lambda("logs"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    });
    let handler = handler_fn(|_| async { Ok(json!("x".repeat(2_000))) });
    let engine = Engine::new(load(&definition), handler, EngineOptions { max_payload_bytes: 1_000, ..options() });
    let result = finish(&engine.start_execution("big", json!({})).expect("start")).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(result.history.state_sequence(), ["Big"]);
    let too_big = engine.start_execution("big-input", json!("y".repeat(2_000)));
    assert!(matches!(too_big, Err(Error::InputTooLarge { limit: 1_000, .. })), "{too_big:?}");
}

#[tokio::test]
async fn a_panicking_handler_fails_the_execution() {
    let handler = handler_fn(|request| async move {
        if request.state_name == "Reason" {
            panic!("handler bug");
        }
        Ok(Value::Null)
    });
    let result = run(&one_task(), handler, json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
}

/// The shape of the investigation workflow: reason, run the tools it asked for, loop, ask for
/// approval, act, answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_investigation_shaped_workflow_runs_to_the_answer() {
    let definition = json!({
        "Comment": "investigation",
        "StartAt": "Reason",
        "TimeoutSeconds": 3600,
        "States": {
            "Reason": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "reason", "Payload": {"id.$": "$.id", "turn.$": "$.turn"}},
                "ResultSelector": {"step.$": "$.Payload"},
                "ResultPath": "$.reason",
                "Retry": [
                    {"ErrorEquals": ["Aiops.Throttled"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "Next": "Route"
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.reason.step.kind", "StringEquals": "tools", "Next": "Tools"},
                    {"Variable": "$.reason.step.kind", "StringEquals": "approve", "Next": "Approve"},
                    {"Variable": "$.reason.step.kind", "StringEquals": "answer", "Next": "Finalize"}
                ],
                "Default": "Failed"
            },
            "Tools": {
                "Type": "Map",
                "ItemsPath": "$.reason.step.calls",
                "MaxConcurrency": 4,
                "ItemSelector": {"id.$": "$.id", "call.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Tool",
                    "States": {
                        "Tool": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "k8s-read", "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "End": true
                        }
                    }
                },
                "ResultPath": null,
                "Next": "NextTurn"
            },
            "NextTurn": {
                "Type": "Pass",
                "Parameters": {"id.$": "$.id", "turn.$": "States.MathAdd($.turn, 1)"},
                "Next": "Reason"
            },
            "Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "approval", "Payload": {"id.$": "$.id", "token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 86400,
                "ResultPath": "$.decision",
                "Next": "NextTurn"
            },
            "Finalize": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": "finalize",
                    "Payload": {"id.$": "$.id", "answer.$": "$.reason.step.text"}
                },
                "OutputPath": "$.Payload",
                "End": true
            },
            "Failed": {"Type": "Fail", "Error": "Aiops.InvestigationFailed", "CausePath": "$.error.Cause"}
        }
    });
    let throttled_once = Arc::new(AtomicU32::new(0));
    let throttles = Arc::clone(&throttled_once);
    let handler = handler_fn(move |request| {
        let throttles = Arc::clone(&throttles);
        async move {
            let payload = request.payload.clone();
            match request.function_name.as_deref() {
                Some("reason") => {
                    if throttles.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Err(TaskError::new("Aiops.Throttled", "slow down"));
                    }
                    Ok(match payload["turn"].as_u64() {
                        Some(0) => json!({"kind": "tools", "calls": [{"tool": "get_pods"}, {"tool": "get_events"}]}),
                        Some(1) => json!({"kind": "approve"}),
                        _ => json!({"kind": "answer", "text": "payment-service is OOMKilled"}),
                    })
                }
                Some("k8s-read") => Ok(json!({"tool": payload["call"]["tool"], "ok": true})),
                Some("approval") => {
                    let token = request.task_token.clone().unwrap_or_default();
                    request
                        .callbacks
                        .send_task_success(&token, json!({"approved": true}))
                        .map_err(|e| TaskError::new("Test.Token", e.to_string()))?;
                    Ok(Value::Null)
                }
                Some("finalize") => Ok(json!({"answer": payload["answer"], "id": payload["id"]})),
                other => Err(TaskError::new("Test.Unknown", format!("{other:?}"))),
            }
        }
    });
    let result = run(&definition, handler, json!({"id": "inv-7", "turn": 0})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!({"answer": "payment-service is OOMKilled", "id": "inv-7"})));
    assert_eq!(
        result.history.state_sequence(),
        [
            "Reason", "Route", "Tools", "Tool", "Tool", "NextTurn", "Reason", "Route", "Approve", "NextTurn", "Reason",
            "Route", "Finalize"
        ]
    );
}
