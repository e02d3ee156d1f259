//! `aiops ask` and `aiops demo`: an investigation in local mode, with progress on stderr, the
//! answer on stdout, and approvals asked on the terminal (or by flag).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use aiops_cli::local::{LocalOptions, LocalStack};
use aiops_cli::source::{Source, UsageError};
use aiops_core::agent::Investigation;
use aiops_core::agent::approval::{ApprovalRequest, Decision};
use aiops_core::ports::{Notifier, Reasoner, StateStore};
use aiops_core::workflow::StartRequest;
use aiops_engine::{EventType, ExecutionStatus, HistoryEvent};
use serde_json::{Value, json};

use crate::{Failure, Output};

/// How approvals are answered during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approver {
    /// Ask on the terminal.
    Prompt,
    /// Approve (`--approve`, `demo --yes`).
    Approve,
    /// Reject (`--reject`).
    Reject,
    /// Nobody answers: the approval times out and counts as rejected.
    Nobody,
}

/// One local investigation run.
pub struct Run<'a> {
    pub stack: &'a LocalStack,
    pub request: StartRequest,
    pub approver: Approver,
    pub reject_reason: Option<String>,
    /// Print each step on stderr.
    pub progress: bool,
}

/// The outcome: the investigation record and the execution status.
pub struct Outcome {
    pub investigation: Investigation,
    pub status: ExecutionStatus,
    pub error: Option<String>,
}

impl Run<'_> {
    /// Starts the investigation and drives it to its end.
    pub async fn go(self) -> Result<Outcome, Failure> {
        let (inv, handle) = self.stack.start(self.request.clone()).await?;
        if self.progress {
            eprintln!("investigation {} ({} reasoner, {})", inv.id, self.stack.reasoner_name, self.stack.source.label);
        }
        let mut events = handle.events();
        let mut handled: Option<String> = None;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let spinner = self.progress && std::io::stderr().is_terminal();
        let mut spin = 0usize;
        loop {
            tokio::select! {
                ev = events.next() => {
                    match ev {
                        Some(ev) => {
                            if self.progress {
                                if spinner { eprint!("\r\x1b[2K"); }
                                show(&ev);
                            }
                            if ev.event_type.is_terminal() { break; }
                        }
                        None => break,
                    }
                }
                _ = tick.tick() => {
                    self.stack.deliver_decisions().await;
                    if let Some(req) = self.stack.pending_approval(&inv.id).await?
                        && handled.as_deref() != Some(req.id.as_str()) {
                            handled = Some(req.id.clone());
                            if spinner { eprint!("\r\x1b[2K"); }
                            self.answer(&req).await?;
                        }
                    if spinner {
                        const FRAMES: [&str; 4] = ["|", "/", "-", "\\"];
                        eprint!("\r{} working…", FRAMES[spin % 4]);
                        let _ = std::io::stderr().flush();
                        spin += 1;
                    }
                }
            }
        }
        if spinner {
            eprint!("\r\x1b[2K");
        }
        let result = handle.await_result().await;
        let investigation = self.stack.store.get_investigation(&inv.id).await?.unwrap_or(inv);
        Ok(Outcome {
            investigation,
            status: result.status,
            error: result.error.map(|e| format!("{e}: {}", result.cause.unwrap_or_default())),
        })
    }

    async fn answer(&self, req: &ApprovalRequest) -> Result<(), Failure> {
        let by = self.stack.options.actor.clone();
        let decision = match self.approver {
            Approver::Approve => {
                Some(Decision { approve: true, by, reason: None, comment: Some("approved by flag".into()) })
            }
            Approver::Reject => Some(Decision {
                approve: false,
                by,
                reason: Some(self.reject_reason.clone().unwrap_or_else(|| "rejected by flag".into())),
                comment: None,
            }),
            Approver::Nobody => {
                eprintln!(
                    "approval {} waits for a decision (aiops approve {} / aiops reject {} --reason …); it expires at {}",
                    req.id, req.id, req.id, req.expires_at
                );
                None
            }
            Approver::Prompt => {
                eprint!("\nApprove: {}? [y/N] ", req.summary);
                let _ = std::io::stderr().flush();
                let line = tokio::task::spawn_blocking(|| {
                    let mut s = String::new();
                    std::io::stdin().read_line(&mut s).map(|_| s)
                })
                .await
                .map_err(anyhow::Error::from)?
                .unwrap_or_default();
                if matches!(line.trim().to_lowercase().as_str(), "y" | "yes") {
                    Some(Decision { approve: true, by, reason: None, comment: None })
                } else {
                    Some(Decision { approve: false, by, reason: Some("declined at the prompt".into()), comment: None })
                }
            }
        };
        if let Some(d) = decision {
            let verb = if d.approve { "approved" } else { "rejected" };
            self.stack.decide(&req.id, &d).await?;
            if self.progress {
                eprintln!("  {verb} {} as {}", req.id, d.by);
            }
        }
        Ok(())
    }
}

fn show(ev: &HistoryEvent) {
    let state = ev.state_name.as_deref().unwrap_or_default();
    match ev.event_type {
        EventType::TaskScheduled => {
            let payload = ev.input.as_ref().and_then(|i| i.get("Payload"));
            match state {
                "Reason" => eprintln!("→ reasoning"),
                "K8sRead" | "Diagnose" | "AwsRead" => {
                    let call = payload.and_then(|p| p.get("call"));
                    let tool = call.and_then(|c| c.get("tool")).and_then(Value::as_str).unwrap_or("?");
                    let args = call.and_then(|c| c.get("args")).map(|a| a.to_string()).unwrap_or_default();
                    eprintln!("  tool {tool} {args}");
                }
                "PlanAction" => {
                    let summary = payload
                        .and_then(|p| p.pointer("/action/summary"))
                        .and_then(Value::as_str)
                        .unwrap_or("the action");
                    eprintln!("→ planning: {summary} (policy check and dry run)");
                }
                "RequestApproval" => eprintln!("→ asking for approval"),
                "ExpireApproval" => eprintln!("→ the approval expired: counted as a rejection"),
                "ExecuteAction" => eprintln!("→ executing the approved action"),
                "Finalize" => eprintln!("→ answer ready"),
                "RecordFailure" => eprintln!("→ recording the failure"),
                _ => {}
            }
        }
        EventType::TaskFailed => eprintln!("  {state} failed: {}", ev.error.as_deref().unwrap_or("?")),
        EventType::ExecutionFailed | EventType::ExecutionTimedOut | EventType::ExecutionAborted => {
            eprintln!("✗ execution ended: {} {}", ev.error.as_deref().unwrap_or(""), ev.cause.as_deref().unwrap_or(""));
        }
        _ => {}
    }
}

/// Prints the outcome as text or as the CLI contract's JSON.
pub fn print_outcome(o: &Outcome, output: Output, reasoner: &str) -> Result<(), Failure> {
    let inv = &o.investigation;
    let answer = inv.answer.clone().unwrap_or_default();
    match output {
        Output::Json => {
            let executed: Vec<Value> = inv
                .executed_actions
                .iter()
                .map(|a| json!({"tool": a.tool, "args": a.args, "summary": a.summary, "result": a.result, "action_id": a.action_id, "approval_id": a.approval_id}))
                .collect();
            let proposed: Vec<Value> = answer
                .proposed_actions
                .iter()
                .map(|a| json!({"tool": a.tool, "args": a.args, "summary": a.summary}))
                .collect();
            let out = json!({
                "investigation_id": inv.id,
                "status": inv.status.as_str(),
                "reasoner": reasoner,
                "answer": answer.text,
                "findings": answer.findings,
                "proposed_actions": proposed,
                "executed_actions": executed,
                "steps": inv.steps,
                "tokens": {"input": inv.usage.input_tokens, "output": inv.usage.output_tokens},
                "error": inv.error.clone().or_else(|| o.error.clone()),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Output::Text => {
            if let Some(e) = inv.error.as_ref().or(o.error.as_ref()) {
                println!("The investigation failed: {e}");
            } else {
                println!("{}", answer.text);
            }
            for a in &inv.executed_actions {
                println!("\nExecuted: {} ({}). {}", a.summary, a.action_id, a.result);
            }
        }
    }
    if o.status != ExecutionStatus::Succeeded {
        return Err(Failure { code: 1, error: anyhow::anyhow!("investigation {} ended {:?}", inv.id, o.status) });
    }
    Ok(())
}

/// Chooses the approver from flags and the terminal.
pub fn approver(approve: bool, reject: bool) -> Approver {
    match (approve, reject) {
        (true, _) => Approver::Approve,
        (_, true) => Approver::Reject,
        _ if std::io::stdin().is_terminal() => Approver::Prompt,
        _ => Approver::Nobody,
    }
}

/// Builds the local stack for a source.
pub fn stack(
    source: Source,
    reasoner: Arc<dyn Reasoner>,
    notifier: Arc<dyn Notifier>,
    options: LocalOptions,
) -> Result<LocalStack, Failure> {
    Ok(LocalStack::new(source, reasoner, notifier, options)?)
}

/// Refuses a question that is empty.
pub fn check_question(q: &str) -> Result<(), Failure> {
    if q.trim().is_empty() {
        return Err(UsageError("the question is empty".into()).into());
    }
    Ok(())
}
