//! A scripted Bedrock conversation (the real aws-sdk-bedrockruntime client over HTTP to the
//! fake Converse server) drives an investigation through two tool turns to an answer, on the
//! local engine, against the simulated cluster.

use std::sync::Arc;

use aiops_aws::bedrock::{BedrockConfig, BedrockReasoner};
use aiops_core::agent::audit::AuditKind;
use aiops_core::ports::{AuditLog, StateStore};
use aiops_testkit::bedrock_fake::{FakeBedrock, Scripted};
use serde_json::json;

use crate::support::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_bedrock_conversation_reaches_an_answer_over_http() {
    let pod = "payment-service-7d9f8b6c5d-x2k4p";
    let fake = FakeBedrock::start(vec![
        Scripted::tool_use("get_pods", json!({"namespace": "production"})),
        Scripted::tool_uses([
            ("describe_pod", json!({"namespace": "production", "pod": pod})),
            ("get_pod_logs", json!({"namespace": "production", "pod": pod, "previous": true})),
        ]),
        Scripted::text(
            "payment-service is OOMKilled at its 512Mi limit. Would you like me to increase the memory limit to 1Gi?",
        ),
    ])
    .await
    .expect("fake bedrock");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(fake.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    let reasoner =
        Arc::new(BedrockReasoner::new(&sdk, BedrockConfig::new("us.anthropic.claude-sonnet-4-20250514-v1:0")));
    let h = harness("demo-oom-crashloop", reasoner, |_| {}).await;
    let (inv, r) =
        aiops_cli::local::run_unattended(&h.stack, "Why is the payment-service pod crashing?").await.expect("run");
    assert_eq!(r.status, aiops_engine::ExecutionStatus::Succeeded, "{:?} {:?}", r.error, r.cause);
    assert!(inv.answer.expect("answer").text.contains("OOMKilled at its 512Mi"));
    assert_eq!(inv.turns, 3);
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "three Converse calls");
    let third = requests[2].to_string();
    assert!(third.contains("OutOfMemoryError"), "the previous log did not reach the model: {third}");
    assert!(third.contains("toolResult"), "{third}");
    let events = h.stack.store.events(&inv.id).await.expect("events");
    let tools: Vec<String> = events
        .iter()
        .filter_map(|e| if let AuditKind::ToolCall { tool, .. } = &e.event { Some(tool.clone()) } else { None })
        .collect();
    let mut sorted = tools.clone();
    sorted.sort();
    assert_eq!(sorted, ["describe_pod", "get_pod_logs", "get_pods"], "{tools:?}");
    let steps = h.stack.store.get_investigation(&inv.id).await.expect("get").expect("inv").steps;
    assert_eq!(steps, vec!["tools:get_pods", "tools:describe_pod,get_pod_logs", "answer"]);
}
