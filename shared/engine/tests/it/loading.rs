//! Loading: substitutions, and every definition this engine must refuse before running it, with
//! the state and field named.

use std::collections::BTreeMap;

use aiops_engine::{Definition, ExecutionStatus, LoadError, handler_fn};
use serde_json::{Value, json};

use crate::support::{lambda, load, load_error, options};

/// A one-state machine around `state` (named "S").
fn single(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

struct Case {
    name: &'static str,
    definition: Value,
    state: Option<&'static str>,
    field: &'static str,
    message: &'static str,
}

#[test]
fn refused_definitions_name_the_state_and_the_field() {
    let cases = [
        Case {
            name: "unknown field",
            definition: single(json!({"Type": "Pass", "Resul": 1, "End": true})),
            state: Some("S"),
            field: "Resul",
            message: "unknown field \"Resul\" for a Pass state",
        },
        Case {
            name: "JSONata at the top",
            definition: json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
            state: None,
            field: "QueryLanguage",
            message: "JSONata is not supported",
        },
        Case {
            name: "JSONata on a state",
            definition: single(json!({"Type": "Pass", "QueryLanguage": "JSONata", "End": true})),
            state: Some("S"),
            field: "QueryLanguage",
            message: "JSONata is not supported",
        },
        Case {
            name: "JSONata Arguments",
            definition: single(json!({"Type": "Task", "Resource": lambda("f"), "Arguments": {}, "End": true})),
            state: Some("S"),
            field: "Arguments",
            message: "JSONata field",
        },
        Case {
            name: "bad Next",
            definition: json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "Nowhere"},
                "B": {"Type": "Succeed"}
            }}),
            state: Some("A"),
            field: "Next",
            message: "\"Nowhere\" is not a state",
        },
        Case {
            name: "bad Catch Next",
            definition: single(json!({
                "Type": "Task", "Resource": lambda("f"), "End": true,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]
            })),
            state: Some("S"),
            field: "Catch[0].Next",
            message: "\"Gone\" is not a state",
        },
        Case {
            name: "bad Choice Next",
            definition: json!({"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "X"}], "Default": "D"},
                "D": {"Type": "Succeed"}
            }}),
            state: Some("C"),
            field: "Choices[0].Next",
            message: "\"X\" is not a state",
        },
        Case {
            name: "StartAt names no state",
            definition: json!({"StartAt": "Missing", "States": {"S": {"Type": "Succeed"}}}),
            state: None,
            field: "StartAt",
            message: "\"Missing\"",
        },
        Case {
            name: "no terminal state reachable",
            definition: json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "Z": {"Type": "Succeed"}
            }}),
            state: None,
            field: "StartAt",
            message: "no terminal state",
        },
        Case {
            name: "Choice without Choices",
            definition: single(json!({"Type": "Choice", "Default": "S"})),
            state: Some("S"),
            field: "Choices",
            message: "needs Choices",
        },
        Case {
            name: "Choice with Next",
            definition: json!({"StartAt": "S", "States": {
                "S": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "E"}], "Next": "E"},
                "E": {"Type": "Succeed"}
            }}),
            state: Some("S"),
            field: "Next",
            message: "a Choice state cannot have Next",
        },
        Case {
            name: "ItemReader (Distributed Map)",
            definition: single(json!({
                "Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}, "End": true,
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}}
            })),
            state: Some("S"),
            field: "ItemReader",
            message: "Distributed Map",
        },
        Case {
            name: "Distributed mode",
            definition: single(json!({
                "Type": "Map", "End": true,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "I", "States": {"I": {"Type": "Succeed"}}
                }
            })),
            state: Some("S"),
            field: "ItemProcessor.ProcessorConfig.ExecutionType",
            message: "unknown field",
        },
        Case {
            name: "Distributed mode alone",
            definition: single(json!({
                "Type": "Map", "End": true,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                    "StartAt": "I",
                    "States": {"I": {"Type": "Succeed"}}
                }
            })),
            state: Some("S"),
            field: "ItemProcessor.ProcessorConfig.Mode",
            message: "Distributed Map is not supported",
        },
        Case {
            name: "variables",
            definition: single(json!({"Type": "Pass", "Assign": {"x": 1}, "End": true})),
            state: Some("S"),
            field: "Assign",
            message: "variables",
        },
        Case {
            name: "unsupported state type",
            definition: single(json!({"Type": "Activity", "End": true})),
            state: Some("S"),
            field: "Type",
            message: "not supported",
        },
        Case {
            name: "sync integration",
            definition: single(json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true})),
            state: Some("S"),
            field: "Resource",
            message: ".sync",
        },
        Case {
            name: "activity",
            definition: single(
                json!({"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:a", "End": true}),
            ),
            state: Some("S"),
            field: "Resource",
            message: "activities",
        },
        Case {
            name: "lambda:invoke parameter typo",
            definition: single(json!({
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payloads.$": "$"}, "End": true
            })),
            state: Some("S"),
            field: "Parameters.Payloads.$",
            message: "not a parameter of lambda:invoke",
        },
        Case {
            name: "bad path in Parameters",
            definition: single(json!({"Type": "Pass", "Parameters": {"p": {"x.$": "$.a[*]"}}, "End": true})),
            state: Some("S"),
            field: "Parameters.p.x.$",
            message: "wildcards",
        },
        Case {
            name: "bad intrinsic",
            definition: single(json!({"Type": "Pass", "Parameters": {"x.$": "States.Nope($)"}, "End": true})),
            state: Some("S"),
            field: "Parameters.x.$",
            message: "unknown intrinsic",
        },
        Case {
            name: "heartbeat not below timeout",
            definition: single(json!({
                "Type": "Task", "Resource": lambda("f"), "TimeoutSeconds": 10, "HeartbeatSeconds": 10, "End": true
            })),
            state: Some("S"),
            field: "HeartbeatSeconds",
            message: "smaller than TimeoutSeconds",
        },
        Case {
            name: "timeout given twice",
            definition: single(json!({
                "Type": "Task", "Resource": lambda("f"), "TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t", "End": true
            })),
            state: Some("S"),
            field: "TimeoutSecondsPath",
            message: "not both",
        },
        Case {
            name: "Credentials",
            definition: single(json!({
                "Type": "Task", "Resource": lambda("f"), "Credentials": {"RoleArn": "arn:aws:iam::1:role/r"}, "End": true
            })),
            state: Some("S"),
            field: "Credentials",
            message: "not supported",
        },
        Case {
            name: "States.ALL not last",
            definition: single(json!({
                "Type": "Task", "Resource": lambda("f"), "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["Aiops.X"]}]
            })),
            state: Some("S"),
            field: "Retry[0].ErrorEquals",
            message: "States.ALL must appear alone",
        },
        Case {
            name: "Retry field typo",
            definition: single(json!({
                "Type": "Task", "Resource": lambda("f"), "End": true,
                "Retry": [{"ErrorEquals": ["Aiops.X"], "MaxAttempt": 2}]
            })),
            state: Some("S"),
            field: "Retry[0].MaxAttempt",
            message: "unknown field",
        },
        Case {
            name: "neither Next nor End",
            definition: single(json!({"Type": "Pass"})),
            state: Some("S"),
            field: "Next",
            message: "needs Next",
        },
        Case {
            name: "nested state inside a Map",
            definition: single(json!({
                "Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": true, "Extra": 1}}}
            })),
            state: Some("Inner"),
            field: "Extra",
            message: "unknown field",
        },
        Case {
            name: "nested StartAt",
            definition: single(json!({
                "Type": "Parallel", "End": true,
                "Branches": [{"StartAt": "Nope", "States": {"B": {"Type": "Succeed"}}}]
            })),
            state: Some("S"),
            field: "Branches[0].StartAt",
            message: "\"Nope\"",
        },
        Case {
            name: "Wait with two durations",
            definition: single(json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true})),
            state: Some("S"),
            field: "SecondsPath",
            message: "exactly one",
        },
        Case {
            name: "ResultPath into the context",
            definition: single(json!({"Type": "Pass", "ResultPath": "$$.Execution.Id", "End": true})),
            state: Some("S"),
            field: "ResultPath",
            message: "not the context",
        },
    ];
    for case in cases {
        let error = load_error(&case.definition);
        assert!(matches!(error, LoadError::Invalid { .. }), "{}: {error:?}", case.name);
        assert_eq!(error.state(), case.state, "{}: {error}", case.name);
        assert_eq!(error.field(), Some(case.field), "{}: {error}", case.name);
        let text = error.to_string();
        assert!(text.contains(case.message), "{}: {text}", case.name);
        if let Some(state) = case.state {
            assert!(text.contains(&format!("state {state:?}")), "{}: {text}", case.name);
        }
    }
}

#[test]
fn unknown_substitution_names_itself_the_state_and_the_field() {
    let text = r#"{
  "StartAt": "Reason",
  "States": {
    "Reason": {"Type": "Task", "Resource": "${ReasonFunctionArn}", "Next": "Act"},
    "Act": {"Type": "Task", "Resource": "${ActFunctionArn}", "End": true}
  }
}"#;
    let subs = BTreeMap::from([("ReasonFunctionArn".to_owned(), lambda("reason"))]);
    let error = Definition::from_json(text, &subs).expect_err("ActFunctionArn is unknown");
    match &error {
        LoadError::UnknownSubstitution { name, location } => {
            assert_eq!(name, "ActFunctionArn");
            assert_eq!(location.line, Some(5));
        }
        other => panic!("expected UnknownSubstitution, got {other:?}"),
    }
    assert_eq!(error.state(), Some("Act"));
    assert_eq!(error.field(), Some("Resource"));
    assert!(error.to_string().contains("${ActFunctionArn}"), "{error}");
}

#[tokio::test]
async fn substitutions_are_applied_before_parsing() {
    let text = r#"{"StartAt": "Reason", "TimeoutSeconds": ${Timeout}, "States": {
        "Reason": {"Type": "Task", "Resource": "${ReasonFunctionArn}", "End": true}}}"#;
    let subs =
        BTreeMap::from([("ReasonFunctionArn".to_owned(), lambda("reason")), ("Timeout".to_owned(), "300".to_owned())]);
    let definition = Definition::from_json(text, &subs).expect("load");
    assert_eq!(definition.timeout_seconds(), Some(300));
    let handler = handler_fn(|request| async move { Ok(json!(request.resource)) });
    let engine = aiops_engine::Engine::new(definition, handler, options());
    let result = engine.start_execution("subs", json!({})).expect("start").await_result().await;
    assert_eq!(result.status, ExecutionStatus::Succeeded);
    assert_eq!(result.output, Some(json!(lambda("reason"))));
}

#[test]
fn invalid_json_is_a_json_error_and_definitions_expose_their_shape() {
    assert!(matches!(Definition::from_json("{", &BTreeMap::new()), Err(LoadError::Json(_))));
    let definition = load(&json!({
        "Comment": "demo",
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Map", "Next": "B",
                "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {"Type": "Succeed"}}}
            },
            "B": {"Type": "Succeed"}
        }
    }));
    assert_eq!(definition.start_at(), "A");
    assert_eq!(definition.comment(), Some("demo"));
    assert_eq!(definition.state_names(), ["A", "B", "Inner"]);
}
