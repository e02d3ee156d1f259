//! Input and output processing, the context object, intrinsic functions.

use aiops_engine::{EventType, ExecutionStatus, handler_fn};
use serde_json::{Value, json};

use crate::support::{echo, engine, finish, lambda, no_tasks, run};

#[tokio::test]
async fn missing_input_path_is_states_runtime_and_not_caught() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": lambda("tools"),
                "InputPath": "$.missing",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Succeed"}
        }
    });
    let result = run(&definition, echo(), json!({"present": 1})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    let cause = result.cause.unwrap_or_default();
    assert!(cause.contains("Invalid path '$.missing'") && cause.contains("$['missing']"), "{cause}");
    assert_eq!(result.history.state_sequence(), ["Call"], "Catch must not see States.Runtime");
}

#[tokio::test]
async fn missing_parameters_path_is_states_runtime() {
    let definition = json!({
        "StartAt": "Shape",
        "States": {"Shape": {"Type": "Pass", "Parameters": {"a.$": "$.nope"}, "End": true}}
    });
    let result = run(&definition, no_tasks(), json!({})).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert!(result.cause.unwrap_or_default().contains("'a.$'"));
}

#[tokio::test]
async fn result_path_creates_missing_parents_and_refuses_non_objects() {
    let definition = json!({
        "StartAt": "Put",
        "States": {"Put": {"Type": "Pass", "Result": "r", "ResultPath": "$.deep.er.value", "End": true}}
    });
    let result = run(&definition, no_tasks(), json!({"keep": true})).await;
    assert_eq!(result.output, Some(json!({"keep": true, "deep": {"er": {"value": "r"}}})));

    let result = run(&definition, no_tasks(), json!({"deep": "a string"})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn null_paths_mean_empty_object_and_discarded_result() {
    let definition = json!({
        "StartAt": "NoInput",
        "States": {
            "NoInput": {
                "Type": "Task",
                "Resource": lambda("echo"),
                "InputPath": null,
                "ResultPath": "$.seen",
                "Next": "NoOutput"
            },
            "NoOutput": {"Type": "Pass", "OutputPath": null, "End": true}
        }
    });
    let result = run(&definition, echo(), json!({"a": 1})).await;
    let task_output = result.history.of_type(EventType::TaskStateExited).next().and_then(|e| e.output.clone());
    assert_eq!(task_output, Some(json!({"a": 1, "seen": {}})), "InputPath null gives the task {{}}");
    assert_eq!(result.output, Some(json!({})));
}

#[tokio::test]
async fn context_object_reaches_parameters() {
    let definition = json!({
        "StartAt": "Context",
        "States": {
            "Context": {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "$$.Execution.Id",
                    "name.$": "$$.Execution.Name",
                    "input.$": "$$.Execution.Input",
                    "question.$": "$$.Execution.Input.question",
                    "started.$": "$$.Execution.StartTime",
                    "state.$": "$$.State.Name",
                    "entered.$": "$$.State.EnteredTime",
                    "machine.$": "$$.StateMachine.Id"
                },
                "End": true
            }
        }
    });
    let engine = engine(&definition, no_tasks());
    let handle = engine.start_execution("ctx-1", json!({"question": "why?"})).expect("start");
    let result = finish(&handle).await;
    let output = result.output.expect("output");
    assert_eq!(output["id"], json!("arn:aws:states:us-east-1:123456789012:execution:local:ctx-1"));
    assert_eq!(output["id"], json!(handle.info().execution_arn));
    assert_eq!(output["name"], json!("ctx-1"));
    assert_eq!(output["input"], json!({"question": "why?"}));
    assert_eq!(output["question"], json!("why?"));
    assert_eq!(output["state"], json!("Context"));
    assert_eq!(output["machine"], json!("arn:aws:states:us-east-1:123456789012:stateMachine:local"));
    for key in ["started", "entered"] {
        let text = output[key].as_str().unwrap_or_default();
        assert!(text.ends_with('Z') && text.len() == 24, "{key}: {text}");
        assert!(text.parse::<jiff::Timestamp>().is_ok(), "{key}: {text}");
    }
}

#[tokio::test]
async fn intrinsic_functions_in_parameters() {
    let definition = json!({
        "StartAt": "Intrinsics",
        "States": {
            "Intrinsics": {
                "Type": "Pass",
                "Parameters": {
                    "title.$": "States.Format('{} in {}: {} restarts', $.pod, $.ns, $.restarts)",
                    "parsed.$": "States.StringToJson($.raw)",
                    "text.$": "States.JsonToString($.obj)",
                    "array.$": "States.Array($.pod, 2, true)",
                    "length.$": "States.ArrayLength($.list)",
                    "second.$": "States.ArrayGetItem($.list, 1)",
                    "contains.$": "States.ArrayContains($.list, 'b')",
                    "sum.$": "States.MathAdd($.restarts, 1)",
                    "uuid.$": "States.UUID()",
                    "hash.$": "States.Hash('abc', 'SHA-256')",
                    "b64.$": "States.Base64Encode($.pod)",
                    "plain.$": "States.Base64Decode(States.Base64Encode($.pod))",
                    "nested.$": "States.Format('{}', States.ArrayLength(States.Array(1, 2, 3)))"
                },
                "End": true
            }
        }
    });
    let input = json!({
        "pod": "api-1", "ns": "prod", "restarts": 5,
        "raw": "{\"k\": [1]}", "obj": {"a": 1}, "list": ["a", "b", "c"]
    });
    let result = run(&definition, no_tasks(), input).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    let out = result.output.expect("output");
    assert_eq!(out["title"], json!("api-1 in prod: 5 restarts"));
    assert_eq!(out["parsed"], json!({"k": [1]}));
    assert_eq!(out["text"], json!("{\"a\":1}"));
    assert_eq!(out["array"], json!(["api-1", 2, true]));
    assert_eq!(out["length"], json!(3));
    assert_eq!(out["second"], json!("b"));
    assert_eq!(out["contains"], json!(true));
    assert_eq!(out["sum"], json!(6));
    assert_eq!(out["uuid"].as_str().map(str::len), Some(36));
    assert_eq!(out["hash"], json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    assert_eq!(out["b64"], json!("YXBpLTE="));
    assert_eq!(out["plain"], json!("api-1"));
    assert_eq!(out["nested"], json!("3"));
}

#[tokio::test]
async fn intrinsic_failure_is_catchable() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": lambda("tools"),
                "Parameters": {"item.$": "States.ArrayGetItem($.list, 9)"},
                "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let result = run(&definition, echo(), json!({"list": []})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.history.state_sequence(), ["Call", "Caught"]);
    assert_eq!(result.output.as_ref().and_then(|o| o.get("Error")), Some(&json!("States.IntrinsicFailure")));
}

#[tokio::test]
async fn result_selector_sees_the_result_and_the_context() {
    let definition = json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": lambda("tools"),
                "ResultSelector": {"count.$": "States.ArrayLength($.pods)", "state.$": "$$.State.Name"},
                "ResultPath": "$.summary",
                "End": true
            }
        }
    });
    let handler = handler_fn(|_| async { Ok::<Value, _>(json!({"pods": ["a", "b"]})) });
    let result = run(&definition, handler, json!({"q": 1})).await;
    assert_eq!(result.output, Some(json!({"q": 1, "summary": {"count": 2, "state": "Call"}})));
}
