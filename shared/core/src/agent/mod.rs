//! The agent's domain: investigations, their transcripts, the steps a reasoner returns, and
//! the budgets that bound them. Reasoners implement [`crate::ports::Reasoner`]; the workflow's
//! handlers move an investigation from step to step.

pub mod approval;
pub mod audit;
pub mod offline;
pub mod prompt;
pub mod redact;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analyze::Finding;

/// Who speaks in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One content block of a message, mirroring Bedrock Converse's blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Plain text.
    Text { text: String },
    /// The model asks for a tool call.
    ToolUse { id: String, name: String, input: Value },
    /// A tool's result, as the model sees it (redacted and bounded text); the typed data
    /// stays in the state store under `data_ref`.
    ToolResult {
        id: String,
        ok: bool,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data_ref: Option<String>,
    },
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Block>,
}

impl Message {
    /// A user message with text.
    pub fn user_text(text: impl Into<String>) -> Message {
        Message { role: Role::User, content: vec![Block::Text { text: text.into() }] }
    }

    /// The text blocks joined.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                Block::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A tool call the reasoner wants made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The tool-use id the result must answer.
    pub id: String,
    pub tool: String,
    pub args: Value,
}

/// A write the reasoner proposes; it runs only after a human approves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedAction {
    pub tool: String,
    pub args: Value,
    pub summary: String,
}

/// The final answer of an investigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Answer {
    /// The answer in plain language.
    pub text: String,
    /// The findings it rests on.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Actions the answer offers to take (each needs approval).
    #[serde(default)]
    pub proposed_actions: Vec<ProposedAction>,
    /// Set when a budget cut the investigation short, saying which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_note: Option<String>,
}

/// What the reasoner wants next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Call these read tools, then reason again.
    Tools { calls: Vec<ToolCall> },
    /// Ask a human to approve this write (the tool-use id answers it).
    Propose { call_id: String, action: ProposedAction },
    /// Done.
    Answer { answer: Answer },
}

/// Tokens one reasoning step used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Adds another step's usage.
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// Hard limits on one investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Reasoning turns.
    pub max_turns: u32,
    /// Input tokens over all turns.
    pub max_input_tokens: u64,
    /// Bytes of one tool result the model sees.
    pub max_result_bytes: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { max_turns: 12, max_input_tokens: 60_000, max_result_bytes: 8 * 1024 }
    }
}

/// Rough token estimate of a text (4 bytes a token), for budgets and figures when the model
/// does not report usage.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// A tool's argument schema as the model is sent it: the catalog's schema without the keywords
/// that only the server's validation needs (`pattern`, `maxLength`, `minimum`, `maximum`,
/// `additionalProperties`, `$schema`), and without an empty `required` or description.
/// Arguments are validated against the full schema before anything runs, and a violation goes
/// back to the model as an error naming the rule ("must be at least 1"), so the model can put
/// the call right on its next turn; every turn is ~45% lighter for it.
pub fn model_schema(schema: &Value) -> Value {
    const SERVER_ONLY: &[&str] = &["pattern", "maxLength", "minimum", "maximum", "additionalProperties", "$schema"];
    // Nothing required, or no description beyond the argument's name, says nothing.
    let empty = |k: &str, v: &Value| {
        (k == "required" && v.as_array().is_some_and(Vec::is_empty))
            || (k == "description" && v.as_str().is_some_and(str::is_empty))
    };
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !SERVER_ONLY.contains(&k.as_str()) && !empty(k, v))
                .map(|(k, v)| {
                    // Inside `properties` the keys are argument names, never keywords.
                    let v = if k == "properties" {
                        match v {
                            Value::Object(props) => {
                                Value::Object(props.iter().map(|(n, p)| (n.clone(), model_schema(p))).collect())
                            }
                            other => other.clone(),
                        }
                    } else {
                        model_schema(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(model_schema).collect()),
        other => other.clone(),
    }
}

/// Bytes of the tool list as the model is sent it (names, descriptions, model schemas).
pub fn tool_list_bytes(tools: &[&crate::catalog::ToolSpec]) -> u64 {
    tools.iter().map(|t| (t.name.len() + t.description.len() + model_schema(&t.schema).to_string().len()) as u64).sum()
}

/// What the reasoner sees: the question, the transcript so far, the tools offered, and how
/// much budget is left.
#[derive(Debug, Clone)]
pub struct ReasonInput<'a> {
    pub investigation_id: &'a str,
    pub messages: &'a [Message],
    /// Typed data of tool results by `data_ref`, for reasoners that read structure (the
    /// offline reasoner); a model reads only the text.
    pub results: &'a std::collections::BTreeMap<String, Value>,
    pub tools: Vec<&'static crate::catalog::ToolSpec>,
    pub writes_enabled: bool,
    /// Turns left including this one.
    pub turns_left: u32,
    /// Input tokens left.
    pub input_tokens_left: u64,
}

/// What a reasoner returns for one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonOutput {
    pub step: Step,
    /// The assistant message to append to the transcript.
    pub message: Message,
    pub usage: Usage,
    /// The model (or `offline`).
    pub model: String,
}

/// Where an investigation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvestigationStatus {
    Running,
    WaitingApproval,
    Succeeded,
    Failed,
}

impl InvestigationStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvestigationStatus::Running => "running",
            InvestigationStatus::WaitingApproval => "waiting_approval",
            InvestigationStatus::Succeeded => "succeeded",
            InvestigationStatus::Failed => "failed",
        }
    }
}

/// An action that was executed, with what it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutedAction {
    pub action_id: String,
    pub tool: String,
    pub args: Value,
    pub summary: String,
    /// What happened: the verification outcome.
    pub result: String,
    pub approval_id: String,
}

/// An investigation's record in the state store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Investigation {
    pub id: String,
    pub question: String,
    pub status: InvestigationStatus,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    /// Who asked.
    pub actor: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Whether write tools are offered (each still needs approval).
    pub writes: bool,
    /// Reasoning turns taken.
    pub turns: u32,
    pub usage: Usage,
    #[serde(default)]
    pub answer: Option<Answer>,
    #[serde(default)]
    pub error: Option<String>,
    /// The investigation this one continues.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub executed_actions: Vec<ExecutedAction>,
    /// Step kinds taken so far (`tools:get_pods,describe_pod`, `propose:…`, `answer`).
    #[serde(default)]
    pub steps: Vec<String>,
    /// The last audit event when the investigation last ended (answered, failed) or an action
    /// of it was undone: the anchor that makes a deleted tail of the trail detectable, which the
    /// hash chain alone cannot (see [`audit::verify_trail`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<audit::AuditHead>,
}
