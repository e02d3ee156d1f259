//! A fake Bedrock runtime that answers Converse calls from a script, over real HTTP in the
//! real wire format, so the real `aws-sdk-bedrockruntime` client (pointed at
//! [`FakeBedrock::endpoint`] with `endpoint_url`) serializes, sends, parses and classifies
//! exactly as it does against AWS.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use aiops_testkit::bedrock_fake::{FakeBedrock, Scripted};
//! use serde_json::json;
//!
//! let fake = FakeBedrock::start(vec![
//!     Scripted::tool_use("get_pods", json!({"namespace": "prod"})),
//!     Scripted::Throttle,
//!     Scripted::text("payment-service is OOMKilled: its memory limit is 256Mi."),
//! ])
//! .await?;
//! // point an SDK client at fake.endpoint(), run the code under test, then:
//! let bodies = fake.requests(); // every Converse request body, in order
//! # Ok(()) }
//! ```
//!
//! What it speaks:
//! - `POST /model/{modelId}/converse` (the model id percent-encoded, as the SDK sends it);
//!   the request JSON is recorded as received ([`FakeBedrock::requests`], with the decoded
//!   model ids in [`FakeBedrock::model_ids`]). Signatures are not checked.
//! - Replies are `{"output":{"message":{"role":"assistant","content":[…]}},"stopReason",
//!   "usage":{"inputTokens","outputTokens","totalTokens"[,"cacheReadInputTokens",
//!   "cacheWriteInputTokens"]},"metrics":{"latencyMs"}}`; errors are an HTTP status, an
//!   `x-amzn-ErrorType` header and `{"message"}`, as Bedrock sends them.
//! - Each request takes the next [`Scripted`] reply. When the script is used up, the fake
//!   answers 500 `InternalServerException` saying so.
//! - Like Bedrock, it refuses (400 `ValidationException`, without taking a reply) a request
//!   that Bedrock would refuse for its shape: no messages, a first message not from the user,
//!   roles that do not alternate, empty content or blank text, tool blocks without
//!   `toolConfig`, tool uses not answered by tool results in the next message, or tool
//!   results answering no tool use of the previous message.
//! - Tool-use ids are `tooluse_r{request}_{n}`: the request's number among all received
//!   (from 1) and the block's (from 1).
//! - Usage: what the script says ([`Scripted::with_usage`]), else the request body's
//!   bytes / 4 as input tokens and the reply content's bytes / 4 as output tokens.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

/// The text a guardrail puts in place of a blocked reply (what Bedrock returns by default).
pub const GUARDRAIL_MESSAGE: &str = "Sorry, the model cannot answer this question.";

/// One scripted reply to one Converse request.
#[derive(Debug, Clone, PartialEq)]
pub enum Scripted {
    /// `end_turn` with this text.
    Text(String),
    /// `tool_use` with one `toolUse` block per (tool name, input), in order.
    ToolUse(Vec<(String, Value)>),
    /// `tool_use` with a text block first (models often say what they are about to do).
    ToolUseWithText(String, Vec<(String, Value)>),
    /// `max_tokens` with this partial text.
    MaxTokens(String),
    /// `guardrail_intervened`, the content replaced by [`GUARDRAIL_MESSAGE`].
    GuardrailIntervened,
    /// `content_filtered` with no content.
    ContentFiltered,
    /// `end_turn` with an empty content list.
    Empty,
    /// HTTP 429 `ThrottlingException`.
    Throttle,
    /// HTTP 503 `ServiceUnavailableException`.
    ServiceUnavailable,
    /// Any error: HTTP status, `x-amzn-ErrorType` (e.g. `AccessDeniedException`, 403;
    /// `ValidationException`, 400; `ResourceNotFoundException`, 404) and message.
    Error { status: u16, error_type: String, message: String },
    /// HTTP 200 with a body that is not valid JSON.
    Malformed,
    /// Another reply with this usage reported.
    WithUsage(Box<Scripted>, FakeUsage),
}

impl Scripted {
    /// `end_turn` with `text`.
    pub fn text(text: impl Into<String>) -> Scripted {
        Scripted::Text(text.into())
    }

    /// `tool_use` calling one tool.
    pub fn tool_use(name: impl Into<String>, input: Value) -> Scripted {
        Scripted::ToolUse(vec![(name.into(), input)])
    }

    /// `tool_use` calling several tools in one turn.
    pub fn tool_uses<N: Into<String>>(calls: impl IntoIterator<Item = (N, Value)>) -> Scripted {
        Scripted::ToolUse(calls.into_iter().map(|(n, v)| (n.into(), v)).collect())
    }

    /// An error reply.
    pub fn error(status: u16, error_type: impl Into<String>, message: impl Into<String>) -> Scripted {
        Scripted::Error { status, error_type: error_type.into(), message: message.into() }
    }

    /// This reply, reporting `usage`.
    pub fn with_usage(self, usage: FakeUsage) -> Scripted {
        Scripted::WithUsage(Box::new(self), usage)
    }
}

/// Token usage a scripted reply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FakeUsage {
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// Reported as `cacheReadInputTokens` when set.
    pub cache_read_input_tokens: Option<u32>,
    /// Reported as `cacheWriteInputTokens` when set.
    pub cache_write_input_tokens: Option<u32>,
}

impl FakeUsage {
    /// Input and output tokens, no cache figures.
    pub fn new(input_tokens: u32, output_tokens: u32) -> FakeUsage {
        FakeUsage { input_tokens, output_tokens, ..FakeUsage::default() }
    }

    /// With cache figures.
    pub fn with_cache(self, read: u32, write: u32) -> FakeUsage {
        FakeUsage { cache_read_input_tokens: Some(read), cache_write_input_tokens: Some(write), ..self }
    }
}

#[derive(Debug, Default)]
struct Shared {
    script: VecDeque<Scripted>,
    requests: Vec<Value>,
    model_ids: Vec<String>,
}

/// A running fake Bedrock runtime on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct FakeBedrock {
    endpoint: String,
    shared: Arc<Mutex<Shared>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeBedrock {
    /// Starts a fake on a free loopback port that answers requests with `script`, in order.
    /// Needs a Tokio runtime (the server runs as a task on it).
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start(script: Vec<Scripted>) -> anyhow::Result<FakeBedrock> {
        let shared = Arc::new(Mutex::new(Shared { script: script.into(), ..Shared::default() }));
        let app = Router::new()
            .route("/model/{model_id}/converse", post(converse))
            .fallback(unknown_operation)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "fake bedrock server stopped");
            }
        });
        Ok(FakeBedrock { endpoint, shared, server })
    }

    /// `http://127.0.0.1:PORT`, for the SDK's `endpoint_url`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Every Converse request body received, in order (refused ones included); a body that
    /// was not JSON is recorded as a JSON string.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared).requests.clone()
    }

    /// The (decoded) model id of every request, in order.
    pub fn model_ids(&self) -> Vec<String> {
        lock(&self.shared).model_ids.clone()
    }

    /// Appends replies to the script.
    pub fn push(&self, replies: impl IntoIterator<Item = Scripted>) {
        lock(&self.shared).script.extend(replies);
    }

    /// Replies not used yet.
    pub fn remaining(&self) -> usize {
        lock(&self.shared).script.len()
    }
}

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The state, even if a test thread panicked while holding it.
fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn converse(State(shared): State<Arc<Mutex<Shared>>>, Path(model_id): Path<String>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body);
    let mut state = lock(&shared);
    state.model_ids.push(model_id);
    let request = match parsed {
        Ok(v) => v,
        Err(e) => {
            state.requests.push(Value::String(String::from_utf8_lossy(&body).into_owned()));
            return error_response(400, "SerializationException", &format!("the request body is not JSON: {e}"));
        }
    };
    state.requests.push(request.clone());
    if let Err(message) = validate(&request) {
        tracing::warn!(%message, "fake bedrock refused a request");
        return error_response(400, "ValidationException", &message);
    }
    let n = state.requests.len();
    let Some(reply) = state.script.pop_front() else {
        return error_response(
            500,
            "InternalServerException",
            &format!("fake bedrock: the script is used up (request {n} has no scripted reply)"),
        );
    };
    drop(state);
    respond(reply, n, body.len(), None)
}

async fn unknown_operation() -> Response {
    error_response(404, "UnknownOperationException", "fake bedrock serves only POST /model/{modelId}/converse")
}

fn respond(reply: Scripted, request: usize, request_bytes: usize, usage: Option<FakeUsage>) -> Response {
    let (stop, content) = match reply {
        Scripted::WithUsage(inner, usage) => return respond(*inner, request, request_bytes, Some(usage)),
        Scripted::Text(text) => ("end_turn", vec![json!({"text": text})]),
        Scripted::MaxTokens(text) => ("max_tokens", vec![json!({"text": text})]),
        Scripted::ToolUse(calls) => ("tool_use", tool_uses(request, calls)),
        Scripted::ToolUseWithText(text, calls) => {
            let mut content = vec![json!({"text": text})];
            content.extend(tool_uses(request, calls));
            ("tool_use", content)
        }
        Scripted::GuardrailIntervened => ("guardrail_intervened", vec![json!({"text": GUARDRAIL_MESSAGE})]),
        Scripted::ContentFiltered => ("content_filtered", Vec::new()),
        Scripted::Empty => ("end_turn", Vec::new()),
        Scripted::Throttle => {
            return error_response(429, "ThrottlingException", "Too many requests, please wait before trying again.");
        }
        Scripted::ServiceUnavailable => {
            return error_response(503, "ServiceUnavailableException", "Bedrock is unable to process your request.");
        }
        Scripted::Error { status, error_type, message } => return error_response(status, &error_type, &message),
        Scripted::Malformed => {
            return json_response(
                StatusCode::OK,
                r#"{"output": {"message": {"role": "assistant", "content": [{"text": "#.into(),
            );
        }
    };
    let content_bytes = Value::Array(content.clone()).to_string().len();
    let usage = usage.unwrap_or_else(|| FakeUsage::new(tokens(request_bytes), tokens(content_bytes)));
    let mut usage_json = json!({
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "totalTokens": usage.input_tokens.saturating_add(usage.output_tokens),
    });
    if let Some(n) = usage.cache_read_input_tokens {
        usage_json["cacheReadInputTokens"] = json!(n);
    }
    if let Some(n) = usage.cache_write_input_tokens {
        usage_json["cacheWriteInputTokens"] = json!(n);
    }
    let body = json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": usage_json,
        "metrics": {"latencyMs": 42},
    });
    json_response(StatusCode::OK, body.to_string())
}

fn tokens(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(4)).unwrap_or(u32::MAX)
}

fn tool_uses(request: usize, calls: Vec<(String, Value)>) -> Vec<Value> {
    calls
        .into_iter()
        .enumerate()
        .map(|(i, (name, input))| {
            json!({"toolUse": {"toolUseId": format!("tooluse_r{request}_{}", i + 1), "name": name, "input": input}})
        })
        .collect()
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("x-amzn-requestid", HeaderValue::from_static("00000000-0000-4000-8000-fa4ebed70c4e"));
    response
}

fn error_response(status: u16, error_type: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, json!({"message": message}).to_string());
    if let Ok(v) = HeaderValue::from_str(error_type) {
        response.headers_mut().insert("x-amzn-errortype", v);
    }
    response
}

/// The shape checks Bedrock applies before it runs a model, with messages like its own.
fn validate(request: &Value) -> Result<(), String> {
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| "The messages field is required and must contain at least one message.".to_string())?;
    let has_tool_config =
        request.get("toolConfig").and_then(|c| c.get("tools")).and_then(Value::as_array).is_some_and(|t| !t.is_empty());
    let mut previous_uses: Vec<String> = Vec::new();
    let mut previous_role = "";
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if i == 0 && role != "user" {
            return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into());
        }
        if role == previous_role {
            return Err("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".into());
        }
        let content = m.get("content").and_then(Value::as_array).filter(|c| !c.is_empty()).ok_or_else(|| format!(
            "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
        ))?;
        let mut uses = Vec::new();
        let mut results = HashSet::new();
        for (j, block) in content.iter().enumerate() {
            if let Some(text) = block.get("text")
                && text.as_str().is_none_or(|t| t.trim().is_empty())
            {
                return Err(format!(
                    "The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again."
                ));
            }
            let tool_use = block.get("toolUse");
            let tool_result = block.get("toolResult");
            if (tool_use.is_some() || tool_result.is_some()) && !has_tool_config {
                return Err(
                    "The toolConfig field must be defined when using toolUse and toolResult content blocks.".into()
                );
            }
            if let Some(id) = tool_use.and_then(|u| u.get("toolUseId")).and_then(Value::as_str) {
                uses.push(id.to_string());
            }
            if let Some(id) = tool_result.and_then(|r| r.get("toolUseId")).and_then(Value::as_str) {
                if !previous_uses.iter().any(|u| u == id) {
                    return Err(format!(
                        "messages.{i}.content.{j}: the toolResult block with id {id} answers no toolUse block of the previous message."
                    ));
                }
                results.insert(id.to_string());
            }
        }
        let missing: Vec<&String> = previous_uses.iter().filter(|u| !results.contains(*u)).collect();
        if !missing.is_empty() {
            let ids = missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            return Err(format!("Expected toolResult blocks at messages.{i}.content for the following Ids: {ids}"));
        }
        previous_uses = uses;
        previous_role = if role == "user" { "user" } else { "assistant" };
    }
    Ok(())
}
