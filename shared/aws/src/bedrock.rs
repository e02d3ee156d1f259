//! The Bedrock reasoner: one reasoning step is one Converse call (more when the reply hits
//! the output limit), with the catalog's tools offered through `toolConfig`.
//!
//! # The request
//! - `system` is [`SYSTEM_PROMPT`]; `messages` is the transcript (consecutive messages of one
//!   role merged, blank text dropped: Converse wants alternating, non-blank turns);
//!   `toolConfig` lists the offered tools with their JSON schemas; `inferenceConfig` carries
//!   `maxTokens` and `temperature`; `guardrailConfig` the configured guardrail (trace off).
//! - Cache points ([`CacheSupport`]): with [`BedrockConfig::cache_points`] on, a `cachePoint`
//!   follows the system prompt (and the tool list where the model caches tools), so the
//!   unchanging prefix of every turn is read from the prompt cache.
//! - Tool results carry `status` (`success`/`error`) only for the model families that accept
//!   it (Anthropic Claude, Amazon Nova); for the others their text (`error: …`) says it.
//! - On the last turn (`turns_left <= 1`) or with no input tokens left, the tools stay
//!   offered (Converse requires `toolConfig` once the transcript has tool blocks) but a last
//!   user text [`BUDGET_REACHED`] asks for the answer, and a reply that still calls tools is
//!   taken as an answer of its text.
//!
//! # The reply
//! | stopReason | step |
//! |---|---|
//! | `tool_use` | [`Step::Tools`] with every tool use of the message (unknown names and non-object inputs included: the workflow validates them and tells the model) |
//! | `end_turn`, `stop_sequence` | [`Step::Answer`] with the text |
//! | `max_tokens` | asks again with the partial text and a [`CONTINUE`] turn, up to [`BedrockConfig::max_tokens_continuations`] times, then answers with what it has and a note |
//! | `guardrail_intervened`, `content_filtered` | an answer saying it was blocked; nothing of the blocked reply is kept |
//! | `model_context_window_exceeded` | an answer with what the model wrote, and a note |
//! | `malformed_model_output`, `malformed_tool_use`, or no text and no tool use | `Error::Backend` transient (the workflow retries) |
//!
//! # Errors
//! Every SDK error is classified once ([`crate::error::classify`]): throttling is
//! `Throttled`; service unavailable, model not ready, model timeout, internal errors,
//! timeouts and unreadable responses are `Transient` (both retried by the workflow);
//! `AccessDeniedException` is `Forbidden` and names `bedrock:InvokeModel` on the model;
//! `ValidationException` is `InvalidInput` and `ResourceNotFoundException` `NotFound`, with
//! the service's message. The SDK's own retries (its `RetryConfig`) come first.

mod document;

use aiops_core::agent::prompt::SYSTEM_PROMPT;
use aiops_core::agent::{Answer, Block, Message, ReasonInput, ReasonOutput, Role, Step, ToolCall, Usage};
use aiops_core::catalog::ToolSpec;
use aiops_core::ports::Reasoner;
use aiops_core::{Error, ErrorClass, Result};
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::error::SdkError;
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ConversationRole, GuardrailConfiguration, InferenceConfiguration,
    Message as WireMessage, StopReason, SystemContentBlock, Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock,
    ToolResultContentBlock, ToolResultStatus, ToolSpecification, ToolUseBlock,
};
use aws_smithy_types::error::operation::BuildError;

pub use document::{document_to_value, value_to_document};

use crate::error::{classify, describe};

/// The IAM action a Converse call needs (there is no `bedrock:Converse` action).
pub const OPERATION: &str = "bedrock:InvokeModel";

/// The model used when the configuration names none: Claude Sonnet 4 through the US
/// cross-Region inference profile (Claude 4 models are served through inference profiles).
pub const DEFAULT_MODEL_ID: &str = "us.anthropic.claude-sonnet-4-20250514-v1:0";

/// The last user text of a turn taken at the end of a budget.
pub const BUDGET_REACHED: &str = "Budget reached: answer now with what you have; no more tool calls.";

/// The user text that asks the model to go on after its reply hit the output limit.
pub const CONTINUE: &str =
    "Your reply was cut off at the output limit. Continue exactly where it stopped, without repeating anything.";

/// The answer when a guardrail blocked the model's reply.
pub const GUARDRAIL_BLOCKED: &str = "The answer was blocked by the Bedrock guardrail configured for this agent, so it cannot be shown. Rephrase the question, or ask an administrator to review the guardrail.";

/// The answer when the model's content filter blocked its reply.
pub const CONTENT_FILTERED: &str =
    "The answer was blocked by the model's content filter, so it cannot be shown. Rephrase the question.";

/// How the reasoner calls Bedrock.
#[derive(Debug, Clone, PartialEq)]
pub struct BedrockConfig {
    /// A model id (`anthropic.claude-3-5-haiku-20241022-v1:0`), an inference profile id
    /// (`us.anthropic.claude-sonnet-4-20250514-v1:0`) or an inference profile ARN.
    pub model_id: String,
    /// `inferenceConfig.maxTokens` of each call.
    pub max_tokens: u32,
    /// `inferenceConfig.temperature` (0 to 1).
    pub temperature: f32,
    /// A guardrail as (identifier or ARN, version) applied to every call.
    pub guardrail: Option<(String, String)>,
    /// Whether to add cache points where the model supports them ([`cache_support`]).
    pub cache_points: bool,
    /// How many times a reply cut off at `max_tokens` is continued before the reasoner
    /// answers with what it has.
    pub max_tokens_continuations: u32,
}

impl BedrockConfig {
    /// Default `max_tokens`.
    pub const DEFAULT_MAX_TOKENS: u32 = 4096;
    /// Default `temperature`: low, for reproducible diagnoses.
    pub const DEFAULT_TEMPERATURE: f32 = 0.2;
    /// Default `max_tokens_continuations`.
    pub const DEFAULT_MAX_TOKENS_CONTINUATIONS: u32 = 2;

    /// A configuration for `model_id` with the defaults: 4096 output tokens, temperature 0.2,
    /// no guardrail, cache points on, two continuations.
    pub fn new(model_id: impl Into<String>) -> BedrockConfig {
        BedrockConfig {
            model_id: model_id.into(),
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            temperature: Self::DEFAULT_TEMPERATURE,
            guardrail: None,
            cache_points: true,
            max_tokens_continuations: Self::DEFAULT_MAX_TOKENS_CONTINUATIONS,
        }
    }

    /// Reads the configuration from named settings; `get` returns a setting's value (a
    /// function's `Config::from_env` passes `|k| std::env::var(k).ok()`; this crate reads no
    /// environment itself). Empty values count as unset.
    ///
    /// | setting | default |
    /// |---|---|
    /// | `BEDROCK_MODEL_ID` | [`DEFAULT_MODEL_ID`] |
    /// | `BEDROCK_MAX_TOKENS` | 4096 (1 to 2147483647) |
    /// | `BEDROCK_TEMPERATURE` | 0.2 (0 to 1) |
    /// | `BEDROCK_GUARDRAIL_ID`, `BEDROCK_GUARDRAIL_VERSION` | none; both or neither |
    /// | `BEDROCK_CACHE_POINTS` | `true` (`true`/`false`/`1`/`0`/`yes`/`no`/`on`/`off`) |
    /// | `BEDROCK_MAX_TOKENS_CONTINUATIONS` | 2 (0 to 10) |
    ///
    /// # Errors
    /// `InvalidInput` naming the setting and the value it has.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<BedrockConfig> {
        let var = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut config = BedrockConfig::new(var("BEDROCK_MODEL_ID").unwrap_or_else(|| DEFAULT_MODEL_ID.to_string()));
        if let Some(v) = var("BEDROCK_MAX_TOKENS") {
            config.max_tokens = v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=i32::MAX as u32).contains(n))
                .ok_or_else(|| config_error(format!("BEDROCK_MAX_TOKENS must be a positive integer, not {v:?}")))?;
        }
        if let Some(v) = var("BEDROCK_TEMPERATURE") {
            config.temperature =
                v.parse::<f32>().ok().filter(|t| (0.0..=1.0).contains(t)).ok_or_else(|| {
                    config_error(format!("BEDROCK_TEMPERATURE must be a number from 0 to 1, not {v:?}"))
                })?;
        }
        config.guardrail = match (var("BEDROCK_GUARDRAIL_ID"), var("BEDROCK_GUARDRAIL_VERSION")) {
            (Some(id), Some(version)) => Some((id, version)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(config_error(
                    "BEDROCK_GUARDRAIL_ID is set but BEDROCK_GUARDRAIL_VERSION is not (use a version number or DRAFT)",
                ));
            }
            (None, Some(_)) => {
                return Err(config_error("BEDROCK_GUARDRAIL_VERSION is set but BEDROCK_GUARDRAIL_ID is not"));
            }
        };
        if let Some(v) = var("BEDROCK_CACHE_POINTS") {
            config.cache_points = match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(config_error(format!("BEDROCK_CACHE_POINTS must be true or false, not {v:?}"))),
            };
        }
        if let Some(v) = var("BEDROCK_MAX_TOKENS_CONTINUATIONS") {
            config.max_tokens_continuations = v.parse::<u32>().ok().filter(|n| *n <= 10).ok_or_else(|| {
                config_error(format!("BEDROCK_MAX_TOKENS_CONTINUATIONS must be an integer from 0 to 10, not {v:?}"))
            })?;
        }
        Ok(config)
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::backend(ErrorClass::InvalidInput, "read the Bedrock configuration", message)
}

/// Where a model accepts cache points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSupport {
    /// Nowhere (or the model cannot be told from its id).
    None,
    /// After the system prompt (Amazon Nova: `system` and `messages`, not `tools`).
    System,
    /// After the system prompt and after the tool list (Anthropic Claude).
    SystemAndTools,
}

/// Where the model behind `model_id` accepts cache points, decided by its id (a region
/// prefix such as `us.`/`eu.`/`global.` and an ARN's `…/` are looked through):
/// - `anthropic.claude-3-5-haiku…`, `anthropic.claude-3-7-…` and every Claude of generation
///   4 or later (`anthropic.claude-{sonnet,opus,haiku}-N…`, N ≥ 4) cache system and tools;
/// - `amazon.nova-…` text models (not canvas, reel or sonic) cache the system prompt only;
/// - everything else, including Claude 3.5 Sonnet (caching there was a closed preview) and
///   application inference profiles (their ARN does not name the model), has none.
pub fn cache_support(model_id: &str) -> CacheSupport {
    let id = model_id.to_ascii_lowercase();
    if let Some(rest) = after(&id, "anthropic.claude-") {
        let generation_4_or_later = ["sonnet-", "opus-", "haiku-"].iter().any(|family| {
            rest.strip_prefix(family)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 4)
        });
        if rest.starts_with("3-5-haiku") || rest.starts_with("3-7-") || generation_4_or_later {
            return CacheSupport::SystemAndTools;
        }
    } else if let Some(rest) = after(&id, "amazon.nova-")
        && !["canvas", "reel", "sonic"].iter().any(|m| rest.contains(m))
    {
        return CacheSupport::System;
    }
    CacheSupport::None
}

/// Whether the model accepts `status` on tool results (Anthropic Claude and Amazon Nova
/// only; other models reject the field).
pub fn accepts_tool_result_status(model_id: &str) -> bool {
    let id = model_id.to_ascii_lowercase();
    after(&id, "anthropic.claude-").is_some() || after(&id, "amazon.nova-").is_some()
}

/// The part of a (lowercase) model id after `marker`, looking through an ARN's path.
fn after<'a>(id: &'a str, marker: &str) -> Option<&'a str> {
    let id = id.rsplit('/').next().unwrap_or(id);
    id.find(marker).map(|i| &id[i + marker.len()..])
}

/// The [`Reasoner`] backed by Bedrock's Converse API.
#[derive(Debug, Clone)]
pub struct BedrockReasoner {
    client: aws_sdk_bedrockruntime::Client,
    config: BedrockConfig,
}

/// The parts of a Converse request that depend on the turn.
struct Request {
    system: Vec<SystemContentBlock>,
    messages: Vec<WireMessage>,
    tool_config: Option<ToolConfiguration>,
}

/// What one Converse reply said, in our terms.
struct Reply {
    stop: StopReason,
    text: String,
    uses: Vec<ToolCall>,
    usage: Usage,
}

impl BedrockReasoner {
    /// A reasoner with a client built once from `sdk` (region, credentials, endpoint,
    /// retries).
    pub fn new(sdk: &aws_config::SdkConfig, config: BedrockConfig) -> BedrockReasoner {
        BedrockReasoner::with_client(aws_sdk_bedrockruntime::Client::new(sdk), config)
    }

    /// A reasoner over an existing client.
    pub fn with_client(client: aws_sdk_bedrockruntime::Client, config: BedrockConfig) -> BedrockReasoner {
        BedrockReasoner { client, config }
    }

    /// The configuration.
    pub fn config(&self) -> &BedrockConfig {
        &self.config
    }

    fn cache(&self) -> CacheSupport {
        if self.config.cache_points { cache_support(&self.config.model_id) } else { CacheSupport::None }
    }

    /// Builds the request for a conversation (the transcript plus this step's extra turns).
    fn request(&self, conversation: &[Message], tools: &[&ToolSpec]) -> Result<Request> {
        let cache = self.cache();
        let mut system = vec![SystemContentBlock::Text(SYSTEM_PROMPT.to_string())];
        if cache != CacheSupport::None {
            system.push(SystemContentBlock::CachePoint(cache_point()?));
        }
        let with_status = accepts_tool_result_status(&self.config.model_id);
        let merged = merge_turns(conversation);
        match merged.first() {
            None => return Err(Error::backend(ErrorClass::InvalidInput, OPERATION, "the transcript is empty")),
            Some(m) if m.role != Role::User => {
                return Err(Error::backend(
                    ErrorClass::InvalidInput,
                    OPERATION,
                    "the transcript must start with a user message",
                ));
            }
            Some(_) => {}
        }
        let messages = merged.iter().map(|m| wire_message(m, with_status)).collect::<Result<Vec<_>>>()?;
        let tool_config = if tools.is_empty() {
            None
        } else {
            let mut specs = tools
                .iter()
                .map(|t| {
                    ToolSpecification::builder()
                        .name(t.name)
                        .description(t.description)
                        .input_schema(ToolInputSchema::Json(value_to_document(&aiops_core::agent::model_schema(
                            &t.schema,
                        ))))
                        .build()
                        .map(Tool::ToolSpec)
                        .map_err(build_error)
                })
                .collect::<Result<Vec<_>>>()?;
            if cache == CacheSupport::SystemAndTools {
                specs.push(Tool::CachePoint(cache_point()?));
            }
            Some(ToolConfiguration::builder().set_tools(Some(specs)).build().map_err(build_error)?)
        };
        Ok(Request { system, messages, tool_config })
    }

    /// One Converse call.
    async fn converse(&self, request: Request) -> Result<Reply> {
        let guardrail = self.config.guardrail.as_ref().map(|(id, version)| {
            GuardrailConfiguration::builder().guardrail_identifier(id).guardrail_version(version).build()
        });
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(self.config.max_tokens).unwrap_or(i32::MAX))
            .temperature(self.config.temperature)
            .build();
        let out = self
            .client
            .converse()
            .model_id(&self.config.model_id)
            .set_system(Some(request.system))
            .set_messages(Some(request.messages))
            .set_tool_config(request.tool_config)
            .inference_config(inference)
            .set_guardrail_config(guardrail)
            .send()
            .await
            .map_err(|e| self.sdk_error(e))?;
        Ok(read_reply(&out))
    }

    /// Classifies a failed call; messages carry the service's code and message and the
    /// model, never the SDK's debug output.
    fn sdk_error(&self, err: SdkError<ConverseError, HttpResponse>) -> Error {
        let model = &self.config.model_id;
        let unreadable = matches!(&err, SdkError::ServiceError(ctx) if ctx.raw().status().is_success());
        let (class, message) = if unreadable {
            // A 2xx whose body the SDK could not parse: the service (or a proxy) garbled it.
            (ErrorClass::Transient, format!("the response of model {model} could not be read: {}", describe(&err)))
        } else {
            match classify(&err) {
                ErrorClass::Forbidden => (
                    ErrorClass::Forbidden,
                    format!("{} (the caller needs IAM permission {OPERATION} on model {model})", describe(&err)),
                ),
                class => (class, format!("{} (model {model})", describe(&err))),
            }
        };
        crate::error::backend_error_as(class, OPERATION, message, err)
    }
}

fn cache_point() -> Result<CachePointBlock> {
    CachePointBlock::builder().r#type(CachePointType::Default).build().map_err(build_error)
}

fn build_error(e: BuildError) -> Error {
    Error::Backend {
        class: ErrorClass::InvalidInput,
        operation: OPERATION.to_string(),
        message: format!("failed to build the Converse request: {e}"),
        source: Some(Box::new(e)),
    }
}

/// The transcript as Converse wants it: blank text dropped, empty messages dropped, and
/// consecutive messages of one role merged (tool results stay before any text that follows).
fn merge_turns(conversation: &[Message]) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(conversation.len());
    for m in conversation {
        let content: Vec<Block> = m
            .content
            .iter()
            .filter(|b| !matches!(b, Block::Text { text } if text.trim().is_empty()))
            .cloned()
            .collect();
        if content.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == m.role => last.content.extend(content),
            _ => out.push(Message { role: m.role, content }),
        }
    }
    out
}

fn wire_message(m: &Message, with_status: bool) -> Result<WireMessage> {
    let role = match m.role {
        Role::User => ConversationRole::User,
        Role::Assistant => ConversationRole::Assistant,
    };
    let content = m
        .content
        .iter()
        .map(|b| match b {
            Block::Text { text } => Ok(ContentBlock::Text(text.clone())),
            Block::ToolUse { id, name, input } => ToolUseBlock::builder()
                .tool_use_id(id)
                .name(name)
                .input(value_to_document(input))
                .build()
                .map(ContentBlock::ToolUse)
                .map_err(build_error),
            Block::ToolResult { id, ok, text, .. } => {
                let text = if text.trim().is_empty() { "(no output)".to_string() } else { text.clone() };
                let status = if *ok { ToolResultStatus::Success } else { ToolResultStatus::Error };
                ToolResultBlock::builder()
                    .tool_use_id(id)
                    .content(ToolResultContentBlock::Text(text))
                    .set_status(with_status.then_some(status))
                    .build()
                    .map(ContentBlock::ToolResult)
                    .map_err(build_error)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    WireMessage::builder().role(role).set_content(Some(content)).build().map_err(build_error)
}

fn read_reply(out: &ConverseOutput) -> Reply {
    let mut texts = Vec::new();
    let mut uses = Vec::new();
    if let Some(message) = out.output().and_then(|o| o.as_message().ok()) {
        for block in message.content() {
            match block {
                ContentBlock::Text(t) => texts.push(t.as_str()),
                ContentBlock::ToolUse(u) => uses.push(ToolCall {
                    id: u.tool_use_id().to_string(),
                    tool: u.name().to_string(),
                    args: document_to_value(u.input()),
                }),
                // Reasoning, citations and the like are not part of our transcript.
                _ => {}
            }
        }
    }
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    let usage = out.usage().map_or_else(Usage::default, |u| Usage {
        input_tokens: count(u.input_tokens()),
        output_tokens: count(u.output_tokens()),
        cache_read_tokens: u.cache_read_input_tokens().map_or(0, count),
        cache_write_tokens: u.cache_write_input_tokens().map_or(0, count),
    });
    Reply { stop: out.stop_reason().clone(), text: texts.join("\n"), uses, usage }
}

fn assistant_text(text: &str) -> Message {
    Message { role: Role::Assistant, content: vec![Block::Text { text: text.to_string() }] }
}

fn answer(text: String, budget_note: Option<String>) -> Step {
    Step::Answer { answer: Answer { text, budget_note, ..Answer::default() } }
}

fn transient(message: String) -> Error {
    Error::backend(ErrorClass::Transient, OPERATION, message)
}

#[async_trait::async_trait]
impl Reasoner for BedrockReasoner {
    fn name(&self) -> String {
        self.config.model_id.clone()
    }

    #[tracing::instrument(skip_all, fields(investigation_id = %input.investigation_id, model = %self.config.model_id))]
    async fn next(&self, input: &ReasonInput<'_>) -> Result<ReasonOutput> {
        let model = self.config.model_id.clone();
        let last_turn = input.turns_left <= 1 || input.input_tokens_left == 0;
        let mut base = input.messages.to_vec();
        if last_turn {
            base.push(Message::user_text(BUDGET_REACHED));
        }
        let mut usage = Usage::default();
        // Text of replies cut off at the output limit, continued across calls.
        let mut text = String::new();
        let mut continuations = 0;
        loop {
            let mut conversation = base.clone();
            if continuations > 0 && !text.trim().is_empty() {
                conversation.push(assistant_text(&text));
                conversation.push(Message::user_text(CONTINUE));
            }
            let reply = self.converse(self.request(&conversation, &input.tools)?).await?;
            usage.add(reply.usage);
            tracing::debug!(
                stop_reason = reply.stop.as_str(),
                tool_uses = reply.uses.len(),
                input_tokens = reply.usage.input_tokens,
                output_tokens = reply.usage.output_tokens,
                "converse reply"
            );
            text.push_str(&reply.text);
            let blocked = |notice: &str| ReasonOutput {
                step: answer(notice.to_string(), None),
                message: assistant_text(notice),
                usage,
                model: model.clone(),
            };
            let step = match reply.stop {
                StopReason::GuardrailIntervened => return Ok(blocked(GUARDRAIL_BLOCKED)),
                StopReason::ContentFiltered => return Ok(blocked(CONTENT_FILTERED)),
                StopReason::MaxTokens if continuations < self.config.max_tokens_continuations => {
                    continuations += 1;
                    continue;
                }
                StopReason::MaxTokens => {
                    if text.trim().is_empty() {
                        return Err(transient(format!(
                            "model {model} reached its output limit ({} tokens) without writing any text",
                            self.config.max_tokens
                        )));
                    }
                    text.push_str(&format!(
                        "\n\n(The answer was cut off at the model's output limit of {} tokens; it may be incomplete.)",
                        self.config.max_tokens
                    ));
                    answer(text.clone(), Some("output token limit reached".into()))
                }
                StopReason::ModelContextWindowExceeded => {
                    if text.trim().is_empty() {
                        text =
                            "The investigation outgrew the model's context window before reaching a conclusion.".into();
                    }
                    text.push_str(
                        "\n\n(The model's context window was exceeded; this answer uses what was gathered so far.)",
                    );
                    answer(text.clone(), Some("context window exceeded".into()))
                }
                StopReason::MalformedModelOutput | StopReason::MalformedToolUse => {
                    return Err(transient(format!(
                        "model {model} returned malformed output ({})",
                        reply.stop.as_str()
                    )));
                }
                _ if !reply.uses.is_empty() && last_turn => {
                    let which = if input.input_tokens_left == 0 { "token" } else { "turn" };
                    if text.trim().is_empty() {
                        text = "I reached the investigation's budget before reaching a conclusion.".into();
                    }
                    text.push_str(&format!(
                        "\n\n(The {which} budget was reached; this answer uses what was gathered so far.)"
                    ));
                    answer(text.clone(), Some(format!("{which} budget reached")))
                }
                _ if !reply.uses.is_empty() => {
                    let mut content = Vec::new();
                    if !text.trim().is_empty() {
                        content.push(Block::Text { text: text.clone() });
                    }
                    content.extend(reply.uses.iter().map(|c| Block::ToolUse {
                        id: c.id.clone(),
                        name: c.tool.clone(),
                        input: c.args.clone(),
                    }));
                    let message = Message { role: Role::Assistant, content };
                    return Ok(ReasonOutput { step: Step::Tools { calls: reply.uses }, message, usage, model });
                }
                _ if text.trim().is_empty() => {
                    return Err(transient(format!(
                        "model {model} returned an empty response (stop reason {})",
                        reply.stop.as_str()
                    )));
                }
                _ => answer(text.clone(), None),
            };
            return Ok(ReasonOutput { step, message: assistant_text(&text), usage, model });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn cache_support_follows_the_model_id() {
        struct Case {
            id: &'static str,
            expect: CacheSupport,
        }
        let cases = [
            Case { id: "anthropic.claude-3-7-sonnet-20250219-v1:0", expect: CacheSupport::SystemAndTools },
            Case { id: "us.anthropic.claude-3-7-sonnet-20250219-v1:0", expect: CacheSupport::SystemAndTools },
            Case { id: "anthropic.claude-3-5-haiku-20241022-v1:0", expect: CacheSupport::SystemAndTools },
            Case { id: "us.anthropic.claude-sonnet-4-20250514-v1:0", expect: CacheSupport::SystemAndTools },
            Case { id: "global.anthropic.claude-sonnet-4-5-20250929-v1:0", expect: CacheSupport::SystemAndTools },
            Case { id: "eu.anthropic.claude-opus-4-1-20250805-v1:0", expect: CacheSupport::SystemAndTools },
            Case { id: "apac.anthropic.claude-haiku-4-5-20251001-v1:0", expect: CacheSupport::SystemAndTools },
            Case {
                id: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                expect: CacheSupport::SystemAndTools,
            },
            Case { id: "anthropic.claude-3-5-sonnet-20241022-v2:0", expect: CacheSupport::None },
            Case { id: "anthropic.claude-3-haiku-20240307-v1:0", expect: CacheSupport::None },
            Case { id: "amazon.nova-pro-v1:0", expect: CacheSupport::System },
            Case { id: "us.amazon.nova-lite-v1:0", expect: CacheSupport::System },
            Case { id: "amazon.nova-canvas-v1:0", expect: CacheSupport::None },
            Case { id: "meta.llama3-70b-instruct-v1:0", expect: CacheSupport::None },
            Case { id: "mistral.mistral-large-2402-v1:0", expect: CacheSupport::None },
            Case {
                id: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
                expect: CacheSupport::None,
            },
        ];
        for c in cases {
            assert_eq!(cache_support(c.id), c.expect, "{}", c.id);
        }
    }

    #[test]
    fn tool_result_status_only_for_claude_and_nova() {
        assert!(accepts_tool_result_status("us.anthropic.claude-sonnet-4-20250514-v1:0"));
        assert!(accepts_tool_result_status("amazon.nova-micro-v1:0"));
        assert!(!accepts_tool_result_status("meta.llama3-70b-instruct-v1:0"));
        assert!(!accepts_tool_result_status("cohere.command-r-plus-v1:0"));
    }

    #[test]
    fn config_reads_settings_with_defaults_and_clear_errors() {
        let vars = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            move |k: &str| map.get(k).cloned()
        };
        let c = BedrockConfig::from_vars(vars(&[])).expect("defaults");
        assert_eq!(c, BedrockConfig::new(DEFAULT_MODEL_ID));

        let c = BedrockConfig::from_vars(vars(&[
            ("BEDROCK_MODEL_ID", "amazon.nova-pro-v1:0"),
            ("BEDROCK_MAX_TOKENS", "2048"),
            ("BEDROCK_TEMPERATURE", "0"),
            ("BEDROCK_GUARDRAIL_ID", "gr-123"),
            ("BEDROCK_GUARDRAIL_VERSION", "3"),
            ("BEDROCK_CACHE_POINTS", "off"),
            ("BEDROCK_MAX_TOKENS_CONTINUATIONS", "0"),
        ]))
        .expect("valid settings");
        assert_eq!(c.model_id, "amazon.nova-pro-v1:0");
        assert_eq!(c.max_tokens, 2048);
        assert_eq!(c.temperature, 0.0);
        assert_eq!(c.guardrail, Some(("gr-123".into(), "3".into())));
        assert!(!c.cache_points);
        assert_eq!(c.max_tokens_continuations, 0);

        let bad: &[(&[(&str, &str)], &str)] = &[
            (&[("BEDROCK_MAX_TOKENS", "lots")], "BEDROCK_MAX_TOKENS"),
            (&[("BEDROCK_MAX_TOKENS", "0")], "BEDROCK_MAX_TOKENS"),
            (&[("BEDROCK_TEMPERATURE", "1.5")], "BEDROCK_TEMPERATURE"),
            (&[("BEDROCK_GUARDRAIL_ID", "gr-1")], "BEDROCK_GUARDRAIL_VERSION"),
            (&[("BEDROCK_CACHE_POINTS", "maybe")], "BEDROCK_CACHE_POINTS"),
            (&[("BEDROCK_MAX_TOKENS_CONTINUATIONS", "99")], "BEDROCK_MAX_TOKENS_CONTINUATIONS"),
        ];
        for (pairs, names) in bad {
            let e = BedrockConfig::from_vars(vars(pairs)).expect_err("invalid setting");
            assert_eq!(e.class(), ErrorClass::InvalidInput);
            assert!(e.to_string().contains(names), "{names}: {e}");
        }
    }

    #[test]
    fn turns_of_one_role_are_merged_and_blank_text_dropped() {
        let results = Message {
            role: Role::User,
            content: vec![Block::ToolResult { id: "t1".into(), ok: true, text: "ok".into(), data_ref: None }],
        };
        let merged = merge_turns(&[
            Message::user_text("why is payment-service crashing?"),
            Message { role: Role::Assistant, content: vec![Block::Text { text: "  ".into() }] },
            Message::user_text("in namespace prod"),
            Message {
                role: Role::Assistant,
                content: vec![Block::ToolUse {
                    id: "t1".into(),
                    name: "get_pods".into(),
                    input: serde_json::json!({}),
                }],
            },
            results,
            Message::user_text(BUDGET_REACHED),
        ]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].text(), "why is payment-service crashing?\nin namespace prod");
        assert!(matches!(merged[2].content[0], Block::ToolResult { .. }), "tool results come first");
        assert_eq!(merged[2].text(), BUDGET_REACHED);
    }
}
