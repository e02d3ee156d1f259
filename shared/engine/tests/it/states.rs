//! Each state type, end to end.

use std::time::Instant;

use aiops_engine::{EventType, ExecutionStatus, TaskError, handler_fn};
use serde_json::json;

use crate::support::{echo, lambda, no_tasks, run};

#[tokio::test]
async fn pass_applies_result_parameters_result_path_and_output_path() {
    let definition = json!({
        "StartAt": "Literal",
        "States": {
            "Literal": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.literal", "Next": "Shape"},
            "Shape": {
                "Type": "Pass",
                "Parameters": {"q.$": "$.question", "x.$": "$.literal.x", "fixed": "v"},
                "ResultPath": "$.shaped",
                "Next": "Discard"
            },
            "Discard": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "OutputPath": "$.shaped", "End": true}
        }
    });
    let result = run(&definition, no_tasks(), json!({"question": "why?"})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!({"q": "why?", "x": 1, "fixed": "v"})));
    assert_eq!(result.history.state_sequence(), ["Literal", "Shape", "Discard"]);
}

#[tokio::test]
async fn wait_supports_seconds_paths_and_timestamps_scaled() {
    let definition = json!({
        "StartAt": "Fixed",
        "States": {
            "Fixed": {"Type": "Wait", "Seconds": 100, "Next": "FromInput"},
            "FromInput": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "Next": "PastFromInput"},
            "PastFromInput": {"Type": "Wait", "TimestampPath": "$.when", "OutputPath": "$.delay", "End": true}
        }
    });
    let started = Instant::now();
    let result = run(&definition, no_tasks(), json!({"delay": 50, "when": "2021-06-01T12:00:00Z"})).await;
    let elapsed = started.elapsed();
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!(50)));
    // 100 s + 50 s at a time scale of 0.001.
    assert!(elapsed.as_millis() >= 150, "waited only {elapsed:?}");
    assert!(elapsed.as_secs() < 10, "waited {elapsed:?}: the time scale was not applied");
    assert_eq!(result.history.count(EventType::WaitStateExited), 4);

    let bad = run(&definition, no_tasks(), json!({"delay": "soon", "when": "x"})).await;
    assert_eq!(bad.status, ExecutionStatus::Failed);
    assert_eq!(bad.error.as_deref(), Some("States.Runtime"));
    assert!(bad.cause.as_deref().unwrap_or_default().contains("SecondsPath"), "{bad:?}");
}

#[tokio::test]
async fn choice_routes_by_rules_then_default_and_fails_without_either() {
    let definition = json!({
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.step.kind", "StringEquals": "answer", "Next": "Answer"},
                    {
                        "And": [
                            {"Variable": "$.step.kind", "StringEquals": "tools"},
                            {"Variable": "$.step.count", "NumericGreaterThan": 0}
                        ],
                        "Next": "Tools"
                    }
                ],
                "Default": "Other"
            },
            "Answer": {"Type": "Succeed"},
            "Tools": {"Type": "Succeed"},
            "Other": {"Type": "Succeed"}
        }
    });
    for (input, expect) in [
        (json!({"step": {"kind": "answer"}}), "Answer"),
        (json!({"step": {"kind": "tools", "count": 2}}), "Tools"),
        (json!({"step": {"kind": "tools", "count": 0}}), "Other"),
    ] {
        let result = run(&definition, no_tasks(), input.clone()).await;
        assert_eq!(result.history.state_sequence(), ["Route", expect], "input {input}");
        assert_eq!(result.output, Some(input));
    }

    let no_default = json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Done"}]},
            "Done": {"Type": "Succeed"}
        }
    });
    let result = run(&no_default, no_tasks(), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[tokio::test]
async fn succeed_applies_input_and_output_paths() {
    let definition = json!({
        "StartAt": "Done",
        "States": {"Done": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}
    });
    let result = run(&definition, no_tasks(), json!({"a": {"b": [1, 2]}, "c": 3})).await;
    assert_eq!(result.output, Some(json!([1, 2])));
    assert_eq!(result.history.count(EventType::SucceedStateExited), 1);
}

#[tokio::test]
async fn fail_reports_literal_or_path_and_intrinsic_error_and_cause() {
    let literal = json!({
        "StartAt": "Stop",
        "States": {"Stop": {"Type": "Fail", "Error": "Aiops.Refused", "Cause": "writes are disabled"}}
    });
    let result = run(&literal, no_tasks(), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("Aiops.Refused"));
    assert_eq!(result.cause.as_deref(), Some("writes are disabled"));
    assert_eq!(result.output, None);
    let last = result.history.events().last().map(|e| e.event_type);
    assert_eq!(last, Some(EventType::ExecutionFailed));

    let from_input = json!({
        "StartAt": "Stop",
        "States": {
            "Stop": {"Type": "Fail", "ErrorPath": "$.code", "CausePath": "States.Format('pod {} failed', $.pod)"}
        }
    });
    let result = run(&from_input, no_tasks(), json!({"code": "Aiops.NotFound", "pod": "api-1"})).await;
    assert_eq!(result.error.as_deref(), Some("Aiops.NotFound"));
    assert_eq!(result.cause.as_deref(), Some("pod api-1 failed"));
}

#[tokio::test]
async fn parallel_runs_branches_and_keeps_branch_order() {
    let definition = json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Parameters": {"n.$": "$.n"},
                "Branches": [
                    {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": lambda("slow"), "End": true}}},
                    {"StartAt": "Fast", "States": {"Fast": {"Type": "Pass", "Result": "fast", "End": true}}}
                ],
                "ResultSelector": {"slow.$": "$[0].n", "fast.$": "$[1]"},
                "ResultPath": "$.both",
                "End": true
            }
        }
    });
    let slow = handler_fn(|request| async move {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        Ok(request.payload)
    });
    let result = run(&definition, slow, json!({"n": 4})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!({"n": 4, "both": {"slow": 4, "fast": "fast"}})));
    assert_eq!(result.history.count(EventType::ParallelStateSucceeded), 1);

    let failing = json!({
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Task", "Resource": lambda("ok"), "End": true}}},
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Aiops.Fatal", "Cause": "no"}}}
                ],
                "Catch": [{"ErrorEquals": ["Aiops.Fatal"], "ResultPath": "$.error", "Next": "Handled"}],
                "End": true
            },
            "Handled": {"Type": "Pass", "End": true}
        }
    });
    let result = run(&failing, echo(), json!({"k": 1})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!({"k": 1, "error": {"Error": "Aiops.Fatal", "Cause": "no"}})));
    assert_eq!(result.history.count(EventType::ParallelStateFailed), 1);
}

#[tokio::test]
async fn task_calls_the_handler_with_the_effective_input() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": lambda("tools"),
                "InputPath": "$.args",
                "Parameters": {"name.$": "$.name", "static": true},
                "ResultPath": "$.result",
                "End": true
            }
        }
    });
    let handler = handler_fn(|request| async move {
        match request.payload.get("name").and_then(|n| n.as_str()) {
            Some(name) => Ok(json!({"pods": [name]})),
            None => Err(TaskError::new("Aiops.InvalidInput", "no name")),
        }
    });
    let result = run(&definition, handler, json!({"args": {"name": "api"}})).await;
    assert_eq!(result.output, Some(json!({"args": {"name": "api"}, "result": {"pods": ["api"]}})));
}
