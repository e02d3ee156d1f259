//! What handlers receive and what Task states return, per resource kind.

use aiops_engine::{ExecutionStatus, IntegrationPattern, handler_fn};
use serde_json::json;

use crate::support::{Requests, lambda, run};

#[tokio::test]
async fn lambda_invoke_returns_the_invoke_api_shape_and_output_path_unwraps_it() {
    let definition = json!({
        "StartAt": "Raw",
        "States": {
            "Raw": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "reason", "Payload.$": "$"},
                "ResultPath": "$.raw",
                "Next": "Unwrapped"
            },
            "Unwrapped": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "reason", "Payload": {"question.$": "$.question"}},
                "OutputPath": "$.Payload",
                "End": true
            }
        }
    });
    let requests = Requests::default();
    let log = requests.clone();
    let handler = handler_fn(move |request| {
        log.push(&request);
        async move { Ok(json!({"kind": "answer", "got": request.payload})) }
    });
    let result = run(&definition, handler, json!({"question": "why?"})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(result.output, Some(json!({"kind": "answer", "got": {"question": "why?"}})));

    let raw = &result.history.events().iter().find_map(|e| e.output.as_ref().and_then(|o| o.get("raw"))).cloned();
    let raw = raw.as_ref().expect("the first state's output has the raw result");
    assert_eq!(raw["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(raw["StatusCode"], json!(200));
    assert_eq!(raw["Payload"], json!({"kind": "answer", "got": {"question": "why?"}}));
    assert_eq!(raw["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    let request_id = raw["SdkResponseMetadata"]["RequestId"].as_str().expect("RequestId");
    assert_eq!(request_id.len(), 36);
    assert_eq!(raw["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"], json!(request_id));
    assert_eq!(raw["SdkHttpMetadata"]["AllHttpHeaders"]["x-amzn-RequestId"], json!([request_id]));
    assert_eq!(raw["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"], json!("application/json"));

    let first = &requests.all()[0];
    assert_eq!(first.resource, "arn:aws:states:::lambda:invoke");
    assert_eq!(first.function_name.as_deref(), Some("reason"));
    assert_eq!(first.payload, json!({"question": "why?"}));
    assert_eq!(first.pattern, IntegrationPattern::RequestResponse);
    assert_eq!(first.task_token, None);
    assert_eq!(first.state_name, "Raw");
    assert_eq!(first.execution.name, "test");
}

#[tokio::test]
async fn a_function_arn_gets_the_effective_input_and_returns_its_value() {
    let definition = json!({
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": lambda("k8s-read"), "InputPath": "$.args", "End": true}}
    });
    let requests = Requests::default();
    let log = requests.clone();
    let handler = handler_fn(move |request| {
        log.push(&request);
        async move { Ok(json!({"pods": 3})) }
    });
    let result = run(&definition, handler, json!({"args": {"namespace": "prod"}})).await;
    assert_eq!(result.output, Some(json!({"pods": 3})));
    let request = &requests.all()[0];
    assert_eq!(request.function_name.as_deref(), Some(lambda("k8s-read").as_str()));
    assert_eq!(request.payload, json!({"namespace": "prod"}));
}

#[tokio::test]
async fn lambda_invoke_without_payload_sends_an_empty_object_and_services_get_their_parameters() {
    let definition = json!({
        "StartAt": "NoPayload",
        "States": {
            "NoPayload": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.fn"},
                "ResultPath": null,
                "Next": "Notify"
            },
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message.$": "$.fn"},
                "End": true
            }
        }
    });
    let requests = Requests::default();
    let log = requests.clone();
    let handler = handler_fn(move |request| {
        log.push(&request);
        async move { Ok(json!({"MessageId": "m-1"})) }
    });
    let result = run(&definition, handler, json!({"fn": "sweep"})).await;
    assert_eq!(result.output, Some(json!({"MessageId": "m-1"})), "a service result is returned as is");
    let requests = requests.all();
    assert_eq!(requests[0].function_name.as_deref(), Some("sweep"));
    assert_eq!(requests[0].payload, json!({}));
    assert_eq!(requests[1].function_name, None);
    assert_eq!(requests[1].resource, "arn:aws:states:::sns:publish");
    assert_eq!(requests[1].payload, json!({"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "sweep"}));
}
