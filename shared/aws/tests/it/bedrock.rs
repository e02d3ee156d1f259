//! The Bedrock reasoner through the real `aws-sdk-bedrockruntime` client against the fake
//! Converse server (`aiops_testkit::bedrock_fake`): request shape, tool-use turns, stop
//! reasons, usage and error classes.

use std::collections::BTreeMap;
use std::time::Duration;

use aiops_aws::bedrock::{
    BUDGET_REACHED, BedrockConfig, BedrockReasoner, CONTENT_FILTERED, CONTINUE, GUARDRAIL_BLOCKED, OPERATION,
};
use aiops_core::agent::prompt::SYSTEM_PROMPT;
use aiops_core::agent::{Block, Message, ReasonInput, ReasonOutput, Role, Step, ToolCall, Usage};
use aiops_core::catalog::{self, ToolClass, ToolSpec};
use aiops_core::ports::Reasoner;
use aiops_core::{Error, ErrorClass};
use aiops_testkit::bedrock_fake::{FakeBedrock, FakeUsage, GUARDRAIL_MESSAGE, Scripted};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use serde_json::{Value, json};

const CLAUDE: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";
const LLAMA: &str = "meta.llama3-70b-instruct-v1:0";
const NOVA: &str = "amazon.nova-pro-v1:0";
const QUESTION: &str = "why is payment-service crashing in prod?";

/// An `SdkConfig` for the fake: its endpoint, us-east-1, static test credentials, and the
/// SDK's own retries off unless a test wants them.
fn sdk(fake: &FakeBedrock, retry: RetryConfig) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(fake.endpoint())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("test", "test", None, None, "test")))
        .retry_config(retry)
        .build()
}

fn reasoner(fake: &FakeBedrock, config: BedrockConfig) -> BedrockReasoner {
    BedrockReasoner::new(&sdk(fake, RetryConfig::disabled()), config)
}

fn read_tools() -> Vec<&'static ToolSpec> {
    catalog::catalog().iter().filter(|t| t.class == ToolClass::Read).collect()
}

fn input<'a>(messages: &'a [Message], results: &'a BTreeMap<String, Value>, turns_left: u32) -> ReasonInput<'a> {
    ReasonInput {
        investigation_id: "inv-bedrock-test",
        messages,
        results,
        tools: read_tools(),
        writes_enabled: false,
        turns_left,
        input_tokens_left: 60_000,
    }
}

/// Runs one step on `transcript`.
async fn step(r: &BedrockReasoner, transcript: &[Message], turns_left: u32) -> Result<ReasonOutput, Error> {
    let results = BTreeMap::new();
    r.next(&input(transcript, &results, turns_left)).await
}

/// The user message the workflow appends after a tools step: one result per call.
fn results_for(calls: &[ToolCall]) -> Message {
    Message {
        role: Role::User,
        content: calls
            .iter()
            .map(|c| Block::ToolResult {
                id: c.id.clone(),
                ok: c.tool != "get_events",
                text: if c.tool == "get_events" {
                    "error: events are forbidden".into()
                } else {
                    format!("{} output", c.tool)
                },
                data_ref: Some(c.id.clone()),
            })
            .collect(),
    }
}

fn calls(out: &ReasonOutput) -> Vec<ToolCall> {
    match &out.step {
        Step::Tools { calls } => calls.clone(),
        other => panic!("expected a tools step, got {other:?}"),
    }
}

fn answer_of(out: &ReasonOutput) -> aiops_core::agent::Answer {
    match &out.step {
        Step::Answer { answer } => answer.clone(),
        other => panic!("expected an answer, got {other:?}"),
    }
}

/// The `toolUseId`s of every block of `kind` (`toolUse`, `toolResult`) in a request message.
fn ids_in(message: &Value, kind: &str) -> Vec<String> {
    message["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b.get(kind).and_then(|t| t["toolUseId"].as_str()).map(str::to_string))
        .collect()
}

#[tokio::test]
async fn tool_use_turns_then_an_answer_drive_three_converse_calls() -> anyhow::Result<()> {
    let answer = "payment-service-7d4b9 in prod is OOMKilled: its memory limit is 256Mi and it peaks at 410Mi.";
    let fake = FakeBedrock::start(vec![
        Scripted::tool_use("get_pods", json!({"namespace": "prod"}))
            .with_usage(FakeUsage::new(1200, 40).with_cache(0, 1100)),
        Scripted::ToolUseWithText(
            "Looking at the crashing pod.".into(),
            vec![
                ("describe_pod".into(), json!({"namespace": "prod", "name": "payment-service-7d4b9"})),
                ("get_events".into(), json!({"namespace": "prod"})),
            ],
        )
        .with_usage(FakeUsage::new(1500, 60).with_cache(1100, 0)),
        Scripted::text(answer).with_usage(FakeUsage::new(1900, 120)),
    ])
    .await?;
    let r = reasoner(&fake, BedrockConfig::new(CLAUDE));
    assert_eq!(r.name(), CLAUDE);
    let mut transcript = vec![Message::user_text(QUESTION)];

    let first = step(&r, &transcript, 12).await?;
    let first_calls = calls(&first);
    assert_eq!(first_calls.len(), 1);
    assert_eq!((first_calls[0].tool.as_str(), &first_calls[0].args), ("get_pods", &json!({"namespace": "prod"})));
    assert_eq!(
        first.usage,
        Usage { input_tokens: 1200, output_tokens: 40, cache_read_tokens: 0, cache_write_tokens: 1100 }
    );
    assert_eq!(first.model, CLAUDE);
    assert_eq!(first.message.role, Role::Assistant);
    assert!(
        matches!(&first.message.content[..], [Block::ToolUse { id, name, .. }] if *id == first_calls[0].id && name == "get_pods")
    );
    transcript.push(first.message.clone());
    transcript.push(results_for(&first_calls));

    let second = step(&r, &transcript, 11).await?;
    let second_calls = calls(&second);
    let names: Vec<&str> = second_calls.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(names, ["describe_pod", "get_events"], "both tool uses of one turn");
    assert_eq!(second.message.text(), "Looking at the crashing pod.");
    assert_eq!(
        second.usage,
        Usage { input_tokens: 1500, output_tokens: 60, cache_read_tokens: 1100, cache_write_tokens: 0 }
    );
    transcript.push(second.message.clone());
    transcript.push(results_for(&second_calls));

    let third = step(&r, &transcript, 10).await?;
    let a = answer_of(&third);
    assert_eq!(a.text, answer);
    assert!(a.findings.is_empty() && a.proposed_actions.is_empty() && a.budget_note.is_none(), "{a:?}");
    assert_eq!(third.message, Message { role: Role::Assistant, content: vec![Block::Text { text: answer.into() }] });
    assert_eq!(third.usage.input_tokens, 1900);

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(fake.model_ids(), [CLAUDE; 3]);
    // The second request carries the first turn's tool use and its result, by id.
    let m = requests[1]["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0], json!({"role": "user", "content": [{"text": QUESTION}]}));
    assert_eq!(ids_in(&m[1], "toolUse"), [first_calls[0].id.clone()]);
    assert_eq!(m[1]["content"][0]["toolUse"]["input"], json!({"namespace": "prod"}));
    assert_eq!(
        m[2]["content"][0]["toolResult"],
        json!({"toolUseId": first_calls[0].id, "content": [{"text": "get_pods output"}], "status": "success"})
    );
    // The third carries both results of the second turn, the failed one marked as an error.
    let m = requests[2]["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 5);
    assert_eq!(m[3]["content"][0], json!({"text": "Looking at the crashing pod."}));
    let second_ids: Vec<String> = second_calls.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids_in(&m[3], "toolUse"), second_ids);
    assert_eq!(ids_in(&m[4], "toolResult"), second_ids);
    assert_eq!(m[4]["content"][1]["toolResult"]["status"], "error");

    // Every request: the system prompt, the offered tools with their schemas, the limits.
    let offered: Vec<&str> = read_tools().iter().map(|t| t.name).collect();
    for (i, req) in requests.iter().enumerate() {
        assert_eq!(req["system"][0]["text"], SYSTEM_PROMPT, "request {i}");
        let tools = req["toolConfig"]["tools"].as_array().expect("toolConfig.tools");
        let names: Vec<&str> = tools.iter().filter_map(|t| t["toolSpec"]["name"].as_str()).collect();
        assert_eq!(names, offered, "request {i}");
        let get_pods = tools.iter().find(|t| t["toolSpec"]["name"] == "get_pods").expect("get_pods offered");
        assert_eq!(
            get_pods["toolSpec"]["inputSchema"]["json"],
            aiops_core::agent::model_schema(&catalog::find("get_pods")?.schema),
            "request {i}"
        );
        assert_eq!(req["inferenceConfig"]["maxTokens"], 4096, "request {i}");
        assert!(req.get("guardrailConfig").is_none(), "request {i}");
    }
    Ok(())
}

#[tokio::test]
async fn cache_points_follow_the_system_prompt_and_tools_only_where_the_model_takes_them() -> anyhow::Result<()> {
    let fake =
        FakeBedrock::start(vec![Scripted::text("a"), Scripted::text("b"), Scripted::text("c"), Scripted::text("d")])
            .await?;
    // A transcript with a tool turn, to see how tool results are sent to each model.
    let transcript = vec![
        Message::user_text(QUESTION),
        Message {
            role: Role::Assistant,
            content: vec![Block::ToolUse { id: "tooluse_a".into(), name: "get_pods".into(), input: json!({}) }],
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                id: "tooluse_a".into(),
                ok: true,
                text: "3 pods".into(),
                data_ref: None,
            }],
        },
    ];
    for model in [CLAUDE, LLAMA, NOVA] {
        step(&reasoner(&fake, BedrockConfig::new(model)), &transcript, 12).await?;
    }
    let mut off = BedrockConfig::new(CLAUDE);
    off.cache_points = false;
    step(&reasoner(&fake, off), &transcript, 12).await?;

    let requests = fake.requests();
    let cache_point = json!({"cachePoint": {"type": "default"}});
    let tools_end = |i: usize| requests[i]["toolConfig"]["tools"].as_array().and_then(|t| t.last()).cloned();

    // Claude: after the system prompt and after the tool list.
    assert_eq!(requests[0]["system"].as_array().map(Vec::len), Some(2));
    assert_eq!(requests[0]["system"][1], cache_point);
    assert_eq!(tools_end(0), Some(cache_point.clone()));
    assert_eq!(requests[0]["messages"][2]["content"][0]["toolResult"]["status"], "success");
    // Llama: none, and no tool-result status (Llama rejects the field).
    assert!(!requests[1].to_string().contains("cachePoint"), "{}", requests[1]["system"]);
    assert_eq!(requests[1]["system"], json!([{"text": SYSTEM_PROMPT}]));
    assert!(requests[1]["messages"][2]["content"][0]["toolResult"].get("status").is_none());
    // Nova: after the system prompt only.
    assert_eq!(requests[2]["system"][1], cache_point);
    assert_ne!(tools_end(2), Some(cache_point.clone()));
    // Cache points switched off.
    assert!(!requests[3].to_string().contains("cachePoint"));
    Ok(())
}

#[tokio::test]
async fn throttling_is_a_throttled_error_the_workflow_retries() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::Throttle]).await?;
    let e = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12)
        .await
        .expect_err("throttled");
    assert_eq!(e.class(), ErrorClass::Throttled);
    assert!(e.class().is_retryable());
    let text = e.to_string();
    assert!(text.starts_with(&format!("{OPERATION} failed: ThrottlingException: Too many requests")), "{text}");
    assert!(text.contains(CLAUDE), "{text}");
    assert!(!text.contains("ErrorMetadata") && !text.contains("ThrottlingException {"), "no Debug output: {text}");
    Ok(())
}

#[tokio::test]
async fn service_unavailable_is_transient() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::ServiceUnavailable]).await?;
    let e = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12)
        .await
        .expect_err("unavailable");
    assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    assert!(e.to_string().contains("ServiceUnavailableException"), "{e}");
    Ok(())
}

#[tokio::test]
async fn the_sdk_retries_a_single_throttle_before_the_workflow_sees_it() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::Throttle, Scripted::text("all pods in prod are healthy")]).await?;
    let retry = RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1));
    let r = BedrockReasoner::new(&sdk(&fake, retry), BedrockConfig::new(CLAUDE));
    let out = step(&r, &[Message::user_text(QUESTION)], 12).await?;
    assert_eq!(answer_of(&out).text, "all pods in prod are healthy");
    assert_eq!(fake.requests().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_reply_cut_at_max_tokens_is_continued() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![
        Scripted::MaxTokens("payment-service is OOMKilled: its memory limit".into())
            .with_usage(FakeUsage::new(1000, 4096)),
        Scripted::text(" is 256Mi and it peaks at 410Mi.").with_usage(FakeUsage::new(5100, 12)),
    ])
    .await?;
    let out = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12).await?;
    let a = answer_of(&out);
    assert_eq!(a.text, "payment-service is OOMKilled: its memory limit is 256Mi and it peaks at 410Mi.");
    assert!(a.budget_note.is_none());
    assert_eq!(out.message.text(), a.text);
    assert_eq!(out.usage, Usage { input_tokens: 6100, output_tokens: 4108, ..Usage::default() }, "both calls counted");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let m = requests[1]["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[1],
        json!({"role": "assistant", "content": [{"text": "payment-service is OOMKilled: its memory limit"}]})
    );
    assert_eq!(m[2], json!({"role": "user", "content": [{"text": CONTINUE}]}));
    Ok(())
}

#[tokio::test]
async fn continuations_used_up_answer_with_what_there_is_and_a_note() -> anyhow::Result<()> {
    let fake =
        FakeBedrock::start(vec![Scripted::MaxTokens("first part,".into()), Scripted::MaxTokens(" second part".into())])
            .await?;
    let mut config = BedrockConfig::new(CLAUDE);
    config.max_tokens = 512;
    config.max_tokens_continuations = 1;
    let out = step(&reasoner(&fake, config), &[Message::user_text(QUESTION)], 12).await?;
    let a = answer_of(&out);
    assert!(a.text.starts_with("first part, second part"), "{}", a.text);
    assert!(a.text.contains("cut off at the model's output limit of 512 tokens"), "{}", a.text);
    assert_eq!(a.budget_note.as_deref(), Some("output token limit reached"));
    assert_eq!(fake.requests().len(), 2, "one continuation only");
    Ok(())
}

#[tokio::test]
async fn a_guardrail_intervention_answers_that_it_was_blocked_and_keeps_nothing_of_it() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::GuardrailIntervened, Scripted::ContentFiltered]).await?;
    let mut config = BedrockConfig::new(CLAUDE);
    config.guardrail = Some(("gr-aiops".into(), "3".into()));
    let r = reasoner(&fake, config);

    let out = step(&r, &[Message::user_text(QUESTION)], 12).await?;
    let a = answer_of(&out);
    assert_eq!(a.text, GUARDRAIL_BLOCKED);
    assert!(a.text.contains("blocked by the Bedrock guardrail"));
    assert!(!a.text.contains(GUARDRAIL_MESSAGE) && !out.message.text().contains(GUARDRAIL_MESSAGE));
    assert_eq!(out.message.text(), GUARDRAIL_BLOCKED);

    let out = step(&r, &[Message::user_text(QUESTION)], 12).await?;
    assert_eq!(answer_of(&out).text, CONTENT_FILTERED);

    assert_eq!(
        fake.requests()[0]["guardrailConfig"],
        json!({"guardrailIdentifier": "gr-aiops", "guardrailVersion": "3", "trace": "disabled"})
    );
    Ok(())
}

#[tokio::test]
async fn a_malformed_response_is_a_clear_transient_error() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::Malformed]).await?;
    let e = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12)
        .await
        .expect_err("malformed");
    assert_eq!(e.class(), ErrorClass::Transient, "{e}");
    let text = e.to_string();
    assert!(text.contains(&format!("the response of model {CLAUDE} could not be read")), "{text}");
    Ok(())
}

#[tokio::test]
async fn an_empty_response_is_transient() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::Empty]).await?;
    let e = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12)
        .await
        .expect_err("empty");
    assert_eq!(e.class(), ErrorClass::Transient);
    assert!(e.to_string().contains("empty response"), "{e}");
    Ok(())
}

#[tokio::test]
async fn access_denied_names_the_iam_action_and_the_model() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::error(
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    )])
    .await?;
    let e = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12)
        .await
        .expect_err("denied");
    assert_eq!(e.class(), ErrorClass::Forbidden);
    let text = e.to_string();
    assert!(text.contains("AccessDeniedException: You don't have access"), "{text}");
    assert!(text.contains(&format!("needs IAM permission bedrock:InvokeModel on model {CLAUDE}")), "{text}");
    Ok(())
}

#[tokio::test]
async fn validation_and_not_found_carry_the_service_message() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![
        Scripted::error(400, "ValidationException", "The provided model identifier is invalid."),
        Scripted::error(404, "ResourceNotFoundException", "Model not found."),
    ])
    .await?;
    let r = reasoner(&fake, BedrockConfig::new("anthropic.claude-nonexistent"));
    let e = step(&r, &[Message::user_text(QUESTION)], 12).await.expect_err("invalid");
    assert_eq!(e.class(), ErrorClass::InvalidInput);
    assert!(e.to_string().contains("ValidationException: The provided model identifier is invalid."), "{e}");
    let e = step(&r, &[Message::user_text(QUESTION)], 12).await.expect_err("not found");
    assert_eq!(e.class(), ErrorClass::NotFound);
    assert!(e.to_string().contains("Model not found."), "{e}");
    Ok(())
}

#[tokio::test]
async fn on_the_last_turn_the_model_is_told_to_answer_and_a_tool_call_becomes_the_answer() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![
        Scripted::ToolUseWithText(
            "payment-service is OOMKilled (limit 256Mi).".into(),
            vec![("get_pod_logs".into(), json!({"namespace": "prod", "pod": "payment-service-7d4b9"}))],
        ),
        Scripted::tool_use("get_events", json!({"namespace": "prod"})),
    ])
    .await?;
    let r = reasoner(&fake, BedrockConfig::new(CLAUDE));
    let transcript = vec![
        Message::user_text(QUESTION),
        Message {
            role: Role::Assistant,
            content: vec![Block::ToolUse { id: "tooluse_a".into(), name: "get_pods".into(), input: json!({}) }],
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                id: "tooluse_a".into(),
                ok: true,
                text: "3 pods".into(),
                data_ref: None,
            }],
        },
    ];

    let out = step(&r, &transcript, 1).await?;
    let a = answer_of(&out);
    assert!(a.text.starts_with("payment-service is OOMKilled (limit 256Mi)."), "{}", a.text);
    assert_eq!(a.budget_note.as_deref(), Some("turn budget reached"));
    assert!(out.message.content.iter().all(|b| matches!(b, Block::Text { .. })), "no tool use kept: {:?}", out.message);

    // Out of input tokens, with a reply that has no text at all.
    let results = BTreeMap::new();
    let mut no_tokens = input(&transcript, &results, 5);
    no_tokens.input_tokens_left = 0;
    let out = r.next(&no_tokens).await?;
    let a = answer_of(&out);
    assert_eq!(a.budget_note.as_deref(), Some("token budget reached"));
    assert!(!a.text.trim().is_empty());

    for req in fake.requests() {
        assert!(req["toolConfig"]["tools"].as_array().is_some_and(|t| !t.is_empty()), "tools still offered");
        let m = req["messages"].as_array().expect("messages");
        assert_eq!(m.len(), 3, "the budget note joins the tool results' user turn");
        assert_eq!(ids_in(&m[2], "toolResult"), ["tooluse_a"]);
        assert_eq!(m[2]["content"][1], json!({"text": BUDGET_REACHED}));
    }
    Ok(())
}

#[tokio::test]
async fn unknown_tools_and_non_object_inputs_still_come_back_as_tool_calls() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::tool_uses([
        ("delete_cluster", json!({"name": "prod"})),
        ("get_pods", json!("everything")),
    ])])
    .await?;
    let out = step(&reasoner(&fake, BedrockConfig::new(CLAUDE)), &[Message::user_text(QUESTION)], 12).await?;
    let got: Vec<(String, Value)> = calls(&out).into_iter().map(|c| (c.tool, c.args)).collect();
    assert_eq!(
        got,
        [("delete_cluster".to_string(), json!({"name": "prod"})), ("get_pods".to_string(), json!("everything"))]
    );
    Ok(())
}

#[tokio::test]
async fn an_inference_profile_arn_travels_percent_encoded_in_the_path() -> anyhow::Result<()> {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0";
    let fake = FakeBedrock::start(vec![Scripted::text("ok")]).await?;
    let out = step(&reasoner(&fake, BedrockConfig::new(arn)), &[Message::user_text(QUESTION)], 12).await?;
    assert_eq!(out.model, arn);
    assert_eq!(fake.model_ids(), [arn]);
    assert!(fake.requests()[0].to_string().contains("cachePoint"), "a Claude 3.7 profile takes cache points");
    Ok(())
}

#[tokio::test]
async fn the_fake_refuses_requests_bedrock_would_refuse() -> anyhow::Result<()> {
    let fake = FakeBedrock::start(vec![Scripted::text("never served")]).await?;
    // Tool blocks with no tools offered: Converse needs toolConfig then.
    let transcript = vec![
        Message::user_text(QUESTION),
        Message {
            role: Role::Assistant,
            content: vec![Block::ToolUse { id: "tooluse_a".into(), name: "get_pods".into(), input: json!({}) }],
        },
        Message {
            role: Role::User,
            content: vec![Block::ToolResult {
                id: "tooluse_a".into(),
                ok: true,
                text: "3 pods".into(),
                data_ref: None,
            }],
        },
    ];
    let results = BTreeMap::new();
    let mut no_tools = input(&transcript, &results, 12);
    no_tools.tools.clear();
    let e = reasoner(&fake, BedrockConfig::new(CLAUDE)).next(&no_tools).await.expect_err("refused");
    assert_eq!(e.class(), ErrorClass::InvalidInput);
    assert!(e.to_string().contains("The toolConfig field must be defined"), "{e}");

    // Two user turns in a row, sent with the raw client.
    let client = aws_sdk_bedrockruntime::Client::new(&sdk(&fake, RetryConfig::disabled()));
    let user = |text: &str| {
        aws_sdk_bedrockruntime::types::Message::builder()
            .role(aws_sdk_bedrockruntime::types::ConversationRole::User)
            .content(aws_sdk_bedrockruntime::types::ContentBlock::Text(text.into()))
            .build()
    };
    let err =
        client.converse().model_id(CLAUDE).messages(user("a")?).messages(user("b")?).send().await.expect_err("refused");
    let service = err.into_service_error();
    assert!(service.is_validation_exception(), "{service}");
    assert!(service.to_string().contains("alternate between user and assistant"), "{service}");
    assert_eq!(fake.remaining(), 1, "refused requests take no reply");
    Ok(())
}
