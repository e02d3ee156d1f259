//! Starting an investigation, one reasoning step, and the closing steps (finalize, fail).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::events::{CallDescriptor, ReasonEvent, ReasonOut, StepDescriptor};
use super::{SYSTEM_ACTOR, WorkflowConfig};
use crate::agent::audit::{AuditHead, AuditKind};
use crate::agent::{
    Answer, Block, Investigation, InvestigationStatus, Message, ProposedAction, ReasonInput, Role, Step, ToolCall,
};
use crate::catalog::{self, ToolClass, ToolHome};
use crate::error::{Error, Result};
use crate::ports::{AuditLog, Notifier, Reasoner, StateStore};
use crate::tools::bound_text;

/// What starts (or continues) an investigation.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub question: String,
    /// Who asks.
    pub actor: String,
    pub namespace: Option<String>,
    /// Whether write tools are offered (each still needs approval).
    pub writes: bool,
    /// Continue this investigation with a follow-up question.
    pub continue_from: Option<String>,
    /// Use this id (an API idempotency key maps to it); a fresh one otherwise.
    pub id: Option<String>,
}

/// Most bytes a question may have.
pub const MAX_QUESTION_BYTES: usize = 4096;

/// Creates the investigation record, appends the question to its transcript and audits it.
///
/// # Errors
/// `InvalidArgs` for an empty or oversized question; `NotFound` for an unknown
/// `continue_from`; store errors.
pub async fn start_investigation(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    req: StartRequest,
    now: Timestamp,
) -> Result<Investigation> {
    let question = req.question.trim().to_string();
    if question.is_empty() {
        return Err(Error::InvalidArgs { tool: "ask".into(), message: "the question is empty".into() });
    }
    if question.len() > MAX_QUESTION_BYTES {
        return Err(Error::InvalidArgs {
            tool: "ask".into(),
            message: format!("the question is longer than {MAX_QUESTION_BYTES} bytes"),
        });
    }
    let mut inv = match &req.continue_from {
        Some(id) => {
            let mut inv = state
                .get_investigation(id)
                .await?
                .ok_or_else(|| Error::NotFound { what: format!("investigation {id}") })?;
            inv.status = InvestigationStatus::Running;
            inv.answer = None;
            inv.error = None;
            inv.question = question.clone();
            inv.updated_at = now;
            // Budgets are per question: a follow-up starts with its own turns and tokens.
            inv.turns = 0;
            inv.usage = Default::default();
            inv
        }
        None => Investigation {
            id: req.id.clone().unwrap_or_else(|| new_id(&question, &req.actor, now)),
            question: question.clone(),
            status: InvestigationStatus::Running,
            created_at: now,
            updated_at: now,
            actor: req.actor.clone(),
            namespace: req.namespace.clone(),
            writes: req.writes,
            turns: 0,
            usage: Default::default(),
            answer: None,
            error: None,
            parent: None,
            executed_actions: Vec::new(),
            steps: Vec::new(),
            audit_head: None,
        },
    };
    if req.continue_from.is_some() {
        inv.writes = req.writes;
    }
    let index = state.messages(&inv.id).await?.len() as u32;
    let mut text = question.clone();
    if let (Some(ns), 0) = (&req.namespace, index) {
        text.push_str(&format!("\n(Namespace: {ns})"));
    }
    state.put_investigation(&inv).await?;
    state.append_message(&inv.id, index, &Message::user_text(text)).await?;
    audit.append(&inv.id, &req.actor, AuditKind::Question { text: question }).await?;
    Ok(inv)
}

/// A new investigation id: time-ordered and unique enough for one account.
pub fn new_id(question: &str, actor: &str, now: Timestamp) -> String {
    use sha2::Digest;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = format!("{question}\0{actor}\0{}\0{n}\0{}", now.as_nanosecond(), std::process::id());
    let h = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
    let stamp = now.strftime("%Y%m%dT%H%M%S");
    format!("inv-{stamp}-{}", &h[..8])
}

/// One reasoning step: records what the previous step produced as tool results, asks the
/// reasoner for the next step, enforces the tool catalog and the writes setting, and records
/// everything. Safe to retry: when a previous attempt already recorded the reasoner's message,
/// the step is rebuilt from it instead of asking again.
///
/// # Errors
/// The reasoner's error (throttling is retryable), or store errors.
pub async fn reason_step(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    reasoner: &dyn Reasoner,
    cfg: &WorkflowConfig,
    ev: ReasonEvent,
    now: Timestamp,
) -> Result<ReasonOut> {
    let id = ev.investigation_id.clone();
    let timeout = ev.approval_timeout_seconds.unwrap_or(cfg.approval_timeout_seconds);
    let mut inv =
        state.get_investigation(&id).await?.ok_or_else(|| Error::NotFound { what: format!("investigation {id}") })?;
    let mut messages = state.messages(&id).await?;
    record_outcomes(state, audit, &inv, &ev).await?;
    let mut results = state.results(&id).await?;
    if let Some(m) = results_message(&messages, &results, cfg.budget.max_result_bytes) {
        state.append_message(&id, messages.len() as u32, &m).await?;
        messages.push(m);
    }
    if let Some(last) = messages.last().filter(|m| m.role == Role::Assistant) {
        // A retried step: the reasoner already answered; rebuild the step from its message.
        let step = step_from_message(last, &inv);
        return Ok(ReasonOut { investigation_id: id, step, approval_timeout_seconds: timeout });
    }
    let turns_left = cfg.budget.max_turns.saturating_sub(inv.turns);
    // Reasoners that read structure get each result's typed data by its reference.
    let data: std::collections::BTreeMap<String, Value> =
        results.iter().filter_map(|(k, v)| v.get("data").map(|d| (k.clone(), d.clone()))).collect();
    let input = ReasonInput {
        investigation_id: &id,
        messages: &messages,
        results: &data,
        tools: offered_tools(inv.writes, cfg.aws_tools),
        writes_enabled: inv.writes,
        turns_left,
        input_tokens_left: cfg.budget.max_input_tokens.saturating_sub(inv.usage.input_tokens),
    };
    let mut out = reasoner.next(&input).await?;
    if turns_left <= 1 && !matches!(out.step, Step::Answer { .. }) {
        // Out of turns: answer with what the reasoner said so far.
        let mut text = out.message.text();
        if text.is_empty() {
            text = "I ran out of reasoning turns before reaching a conclusion.".into();
        }
        text.push_str("\n\n(The turn budget was reached; this answer uses what was gathered so far.)");
        out.message = Message { role: Role::Assistant, content: vec![Block::Text { text: text.clone() }] };
        out.step = Step::Answer {
            answer: Answer { text, budget_note: Some("turn budget reached".into()), ..Answer::default() },
        };
    }
    state.append_message(&id, messages.len() as u32, &out.message).await?;
    inv.turns += 1;
    inv.usage.add(out.usage);
    inv.updated_at = now;
    let (descriptor, label) = police(state, audit, &mut inv, out.step, &out.message).await?;
    results.clear();
    inv.steps.push(label.clone());
    audit
        .append(
            &id,
            SYSTEM_ACTOR,
            AuditKind::ReasoningStep {
                model: out.model.clone(),
                step: label,
                input_tokens: out.usage.input_tokens,
                output_tokens: out.usage.output_tokens,
            },
        )
        .await?;
    state.put_investigation(&inv).await?;
    Ok(ReasonOut { investigation_id: id, step: descriptor, approval_timeout_seconds: timeout })
}

/// The tools offered to the model: the read tools (the AWS ones only where they can run), and
/// the write tools when writes are on.
pub fn offered_tools(writes: bool, aws_tools: bool) -> Vec<&'static catalog::ToolSpec> {
    catalog::catalog()
        .iter()
        .filter(|t| match t.class {
            ToolClass::Read => aws_tools || t.home != ToolHome::AwsRead,
            ToolClass::Write => writes,
        })
        .collect()
}

/// Applies the catalog and the writes setting to a step: unknown tools, invalid arguments and
/// writes that may not be proposed become error results the model sees on its next turn.
async fn police(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    inv: &mut Investigation,
    step: Step,
    message: &Message,
) -> Result<(StepDescriptor, String)> {
    let id = inv.id.clone();
    let refuse = |call_id: String, text: String| refuse_call(state, id.clone(), call_id, text);
    match step {
        Step::Answer { answer } => {
            inv.answer = Some(answer);
            Ok((StepDescriptor::Answer, "answer".into()))
        }
        Step::Propose { call_id, action } => {
            if !inv.writes {
                let why = "writes are off for this investigation: nothing can be changed; describe the action in the answer instead".to_string();
                audit
                    .append(
                        &inv.id,
                        SYSTEM_ACTOR,
                        AuditKind::ActionRefused {
                            tool: action.tool.clone(),
                            args: action.args.clone(),
                            reason: why.clone(),
                        },
                    )
                    .await?;
                refuse(call_id, format!("refused: {why}")).await?;
                return Ok((StepDescriptor::Tools { calls: Vec::new() }, format!("refused:{}", action.tool)));
            }
            match catalog::validate(&action.tool, &action.args) {
                Ok(spec) if spec.class == ToolClass::Write => {
                    let label = format!("propose:{}", action.tool);
                    Ok((StepDescriptor::Propose { call_id, action }, label))
                }
                Ok(_) => {
                    refuse(call_id, format!("refused: {} is not a write tool", action.tool)).await?;
                    Ok((StepDescriptor::Tools { calls: Vec::new() }, format!("refused:{}", action.tool)))
                }
                Err(e) => {
                    audit
                        .append(
                            &inv.id,
                            SYSTEM_ACTOR,
                            AuditKind::ActionRefused {
                                tool: action.tool.clone(),
                                args: action.args.clone(),
                                reason: e.to_string(),
                            },
                        )
                        .await?;
                    refuse(call_id, format!("error: {e}")).await?;
                    Ok((StepDescriptor::Tools { calls: Vec::new() }, format!("refused:{}", action.tool)))
                }
            }
        }
        Step::Tools { calls } => {
            let writes: Vec<&ToolCall> =
                calls.iter().filter(|c| catalog::find(&c.tool).is_ok_and(|t| t.class == ToolClass::Write)).collect();
            let only_one_write = writes.len() == 1 && calls.len() == 1;
            if only_one_write && inv.writes {
                let c = &calls[0];
                let action =
                    ProposedAction { tool: c.tool.clone(), args: c.args.clone(), summary: summary_of(c, message) };
                return Box::pin(police(state, audit, inv, Step::Propose { call_id: c.id.clone(), action }, message))
                    .await;
            }
            let mut out = Vec::new();
            let mut names = Vec::new();
            for c in calls {
                names.push(c.tool.clone());
                match catalog::validate(&c.tool, &c.args) {
                    Err(e) => refuse(c.id.clone(), format!("error: {e}")).await?,
                    Ok(spec) if spec.class == ToolClass::Write => {
                        let why = if inv.writes {
                            "propose one write at a time, on its own, after reading what you need".to_string()
                        } else {
                            "writes are off for this investigation: nothing can be changed; describe the action in the answer instead".to_string()
                        };
                        audit
                            .append(
                                &inv.id,
                                SYSTEM_ACTOR,
                                AuditKind::ActionRefused {
                                    tool: c.tool.clone(),
                                    args: c.args.clone(),
                                    reason: why.clone(),
                                },
                            )
                            .await?;
                        refuse(c.id.clone(), format!("refused: {why}")).await?;
                    }
                    Ok(spec) => out.push(CallDescriptor {
                        id: c.id,
                        tool: c.tool,
                        args: c.args,
                        home: home_name(spec.home).into(),
                    }),
                }
            }
            Ok((StepDescriptor::Tools { calls: out }, format!("tools:{}", names.join(","))))
        }
    }
}

async fn refuse_call(state: &dyn StateStore, id: String, call_id: String, text: String) -> Result<()> {
    state
        .put_result(&id, &call_id, &json!({"ok": false, "text": text, "data": {"executed": false, "refused": text}}))
        .await
}

fn summary_of(c: &ToolCall, message: &Message) -> String {
    let text = message.text();
    if text.is_empty() { format!("{} {}", c.tool, c.args) } else { text.lines().next().unwrap_or_default().to_string() }
}

/// The Lambda (Map branch) a tool home routes to.
pub fn home_name(home: ToolHome) -> &'static str {
    match home {
        ToolHome::K8sRead => "k8s-read",
        ToolHome::AwsRead => "aws-read",
        ToolHome::Diagnose => "diagnose",
        ToolHome::K8sWrite => "k8s-write",
    }
}

fn step_from_message(m: &Message, inv: &Investigation) -> StepDescriptor {
    let uses: Vec<(&String, &String, &Value)> = m
        .content
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { id, name, input } => Some((id, name, input)),
            _ => None,
        })
        .collect();
    if uses.is_empty() {
        return StepDescriptor::Answer;
    }
    if let [(id, name, input)] = uses.as_slice()
        && inv.writes
        && catalog::find(name).is_ok_and(|t| t.class == ToolClass::Write)
    {
        return StepDescriptor::Propose {
            call_id: (*id).clone(),
            action: ProposedAction {
                tool: (*name).clone(),
                args: (*input).clone(),
                summary: m.text().lines().next().unwrap_or_default().to_string(),
            },
        };
    }
    StepDescriptor::Tools {
        calls: uses
            .into_iter()
            .filter_map(|(id, name, input)| {
                let spec = catalog::find(name).ok()?;
                (spec.class == ToolClass::Read).then(|| CallDescriptor {
                    id: id.clone(),
                    tool: name.clone(),
                    args: input.clone(),
                    home: home_name(spec.home).into(),
                })
            })
            .collect(),
    }
}

/// Stores the outcome of a proposal (plan refused, rejected, expired, executed, failed) as the
/// result of its tool-use id, and records tool failures the Map caught.
async fn record_outcomes(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    inv: &Investigation,
    ev: &ReasonEvent,
) -> Result<()> {
    let id = &inv.id;
    if let Some(StepDescriptor::Propose { call_id, action }) = &ev.step {
        let s =
            |v: &Option<Value>, k: &str| v.as_ref().and_then(|v| v.get(k)).and_then(Value::as_str).map(str::to_string);
        let (ok, text, data) = if let Some(err) = &ev.action_error {
            let cause = cause_message(&err.cause);
            match s(&ev.decision, "by") {
                Some(by) => (
                    false,
                    format!("Approved by {by}, but the change failed ({}): {cause}. Nothing was changed.", err.error),
                    json!({"executed": false, "error": err.error}),
                ),
                None => (
                    false,
                    format!("The change could not be prepared ({}): {cause}. Nothing was changed.", err.error),
                    json!({"executed": false, "error": err.error}),
                ),
            }
        } else if let Some(exec) = &ev.executed {
            let ok = exec.get("ok").and_then(Value::as_bool).unwrap_or(false);
            let text = exec.get("text").and_then(Value::as_str).unwrap_or("the action ran").to_string();
            let mut data = exec.clone();
            data["executed"] = json!(ok);
            (ok, text, data)
        } else if let Some(t) = &ev.approval_timeout {
            (
                false,
                format!(
                    "The approval request for \"{}\" expired with no decision ({}); nothing was changed.",
                    action.summary, t.error
                ),
                json!({"executed": false, "decision": "expired"}),
            )
        } else if let Some(d) = &ev.decision {
            let by = s(&ev.decision, "by").unwrap_or_else(|| "the approver".into());
            let reason = s(&ev.decision, "reason").unwrap_or_else(|| "no reason given".into());
            let decision = s(&ev.decision, "decision").unwrap_or_else(|| "rejected".into());
            (
                false,
                format!("{} {decision} by {by}: {reason}. Nothing was changed.", action.summary),
                json!({"executed": false, "decision": decision, "by": by, "detail": d}),
            )
        } else if let Some(p) = &ev.plan {
            let why = s(&ev.plan, "text").unwrap_or_else(|| "the plan was refused".into());
            (
                false,
                format!("Refused before approval: {why}. Nothing was changed."),
                json!({"executed": false, "refused": why, "plan": p}),
            )
        } else {
            return Ok(());
        };
        if state.results(id).await?.contains_key(call_id) {
            return Ok(());
        }
        state.put_result(id, call_id, &json!({"ok": ok, "text": text, "data": data})).await?;
        return Ok(());
    }
    if let Some(outcomes) = &ev.outcomes {
        let stored = state.results(id).await?;
        for o in outcomes.iter().filter(|o| !o.ok && !stored.contains_key(&o.call_id)) {
            let text = format!(
                "error: {}: {}",
                o.error.as_deref().unwrap_or("the tool failed"),
                o.cause.as_deref().unwrap_or("")
            );
            state.put_result(id, &o.call_id, &json!({"ok": false, "text": text})).await?;
            audit
                .append(
                    id,
                    SYSTEM_ACTOR,
                    AuditKind::ToolCall {
                        tool: "?".into(),
                        args: json!({"call_id": o.call_id}),
                        ok: false,
                        result_digest: crate::agent::audit::digest(&text),
                        result_bytes: text.len(),
                    },
                )
                .await?;
        }
    }
    Ok(())
}

/// The user message answering every tool use of the last assistant message, from the stored
/// results; `None` when the last message is not an assistant message with tool uses.
fn results_message(
    messages: &[Message],
    results: &std::collections::BTreeMap<String, Value>,
    max_bytes: usize,
) -> Option<Message> {
    let last = messages.last().filter(|m| m.role == Role::Assistant)?;
    let ids: Vec<&String> = last
        .content
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return None;
    }
    let content = ids
        .into_iter()
        .map(|id| match results.get(id) {
            Some(r) => Block::ToolResult {
                id: id.clone(),
                ok: r.get("ok").and_then(Value::as_bool).unwrap_or(false),
                text: bound_text(r.get("text").and_then(Value::as_str).unwrap_or_default().to_string(), max_bytes),
                data_ref: r.get("data").map(|_| id.clone()),
            },
            None => Block::ToolResult {
                id: id.clone(),
                ok: false,
                text: "error: the tool did not run".into(),
                data_ref: None,
            },
        })
        .collect();
    Some(Message { role: Role::User, content })
}

/// Marks the investigation answered, audits the answer and notifies.
///
/// # Errors
/// Store errors; a notification failure is logged, not fatal.
pub async fn finalize(
    state: &dyn StateStore,
    audit: &dyn AuditLog,
    notifier: &dyn Notifier,
    ev: &ReasonEvent,
    now: Timestamp,
) -> Result<Value> {
    let id = &ev.investigation_id;
    let mut inv =
        state.get_investigation(id).await?.ok_or_else(|| Error::NotFound { what: format!("investigation {id}") })?;
    let text = inv.answer.as_ref().map(|a| a.text.clone()).unwrap_or_default();
    if inv.status != InvestigationStatus::Succeeded {
        // The answer is audited first, then the record anchors the trail at it: a retry after a
        // failure between the two audits the answer again rather than never.
        let answer = audit
            .append(id, SYSTEM_ACTOR, AuditKind::Answer { text: crate::agent::redact::redact(&text).into_owned() })
            .await?;
        inv.status = InvestigationStatus::Succeeded;
        inv.updated_at = now;
        inv.audit_head = Some(AuditHead::of(&answer));
        state.put_investigation(&inv).await?;
        let first = text.lines().next().unwrap_or_default();
        if let Err(e) =
            notifier.notify(&format!("Investigation {id} answered"), &format!("{}\n\n{first}", inv.question)).await
        {
            tracing::warn!(investigation_id = %id, error = %e, "answer notification failed");
        }
    }
    Ok(json!({"investigation_id": id, "status": "succeeded"}))
}

/// Marks the investigation failed with the caught error and audits it.
///
/// # Errors
/// Store errors.
pub async fn fail(state: &dyn StateStore, audit: &dyn AuditLog, ev: &ReasonEvent, now: Timestamp) -> Result<Value> {
    let id = &ev.investigation_id;
    let (error, cause) = ev
        .failure
        .as_ref()
        .map_or(("Aiops.Unknown".to_string(), String::new()), |f| (f.error.clone(), f.cause.clone()));
    let message = cause_message(&cause);
    let event =
        audit.append(id, SYSTEM_ACTOR, AuditKind::Error { error: error.clone(), message: message.clone() }).await?;
    if let Some(mut inv) = state.get_investigation(id).await? {
        inv.status = InvestigationStatus::Failed;
        inv.error = Some(format!("{error}: {message}"));
        inv.updated_at = now;
        inv.audit_head = Some(AuditHead::of(&event));
        state.put_investigation(&inv).await?;
    }
    Ok(json!({"investigation_id": id, "status": "failed", "error": error, "message": message}))
}

/// The readable message inside a Lambda error cause (`{"errorMessage": …}`), or the cause.
fn cause_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| cause.to_string())
}
