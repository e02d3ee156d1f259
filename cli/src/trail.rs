//! `aiops audit`, `aiops audit verify`, `aiops approvals list`, `aiops approve`,
//! `aiops reject`, `aiops undo` in local mode, and `aiops demo`.

use std::path::Path;
use std::sync::Arc;

use aiops_cli::local::{LocalCallback, LocalOptions, open_store};
use aiops_cli::source::{Source, SourceArgs, UsageError};
use aiops_core::agent::approval::{ApprovalStatus, Decision};
use aiops_core::agent::audit::{AuditEvent, AuditKind, verify_trail};
use aiops_core::ports::{ApprovalStore, AuditLog, StateStore};
use aiops_core::snapshot::Snapshot;
use aiops_core::workflow::StartRequest;
use aiops_core::workflow::approval::decide;
use aiops_core::workflow::write::{WriteDeps, undo};
use serde_json::json;

use crate::ask::{self, Approver, Run};
use crate::{Failure, Output};

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.len() > 160 { format!("{}…", &s[..s.char_indices().take(160).last().map_or(0, |(i, _)| i)]) } else { s }
}

/// One line of the timeline.
pub fn render_event(e: &AuditEvent) -> String {
    let what = match &e.event {
        AuditKind::Question { text } => format!("question: {text}"),
        AuditKind::ReasoningStep { model, step, input_tokens, output_tokens } => {
            format!("reasoning ({model}): {step} [{input_tokens} in, {output_tokens} out tokens]")
        }
        AuditKind::ToolCall { tool, args, ok, result_digest, result_bytes } => {
            format!(
                "tool {tool} {} → {} ({result_bytes} bytes, digest {result_digest})",
                short(args),
                if *ok { "ok" } else { "error" }
            )
        }
        AuditKind::ActionRefused { tool, args, reason } => format!("REFUSED {tool} {}: {reason}", short(args)),
        AuditKind::ApprovalRequested { approval_id, tool, args, diff, expires_at, .. } => {
            format!(
                "approval {approval_id} requested for {tool} {} (expires {expires_at}); diff: {}",
                short(args),
                diff.replace('\n', "; ")
            )
        }
        AuditKind::ApprovalDecided { approval_id, decision, by, reason } => {
            format!(
                "approval {approval_id} {decision} by {by}{}",
                reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
            )
        }
        AuditKind::ActionExecuted { action_id, tool, args, verification, .. } => {
            format!("EXECUTED {action_id} {tool} {}; {verification}", short(args))
        }
        AuditKind::ActionUndone { action_id, by } => format!("UNDONE {action_id} by {by}"),
        AuditKind::Answer { text } => format!("answer: {}", text.lines().next().unwrap_or_default()),
        AuditKind::Error { error, message } => format!("ERROR {error}: {message}"),
    };
    format!("#{:<3} {}  {:<14} {what}", e.seq, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor)
}

/// `aiops audit ID`.
pub async fn audit(data_dir: &Path, output: Output, id: &str) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let events = store.events(id).await?;
    if events.is_empty() {
        return Err(Failure {
            code: 1,
            error: anyhow::anyhow!("no audit events for investigation {id} in {}", data_dir.display()),
        });
    }
    match output {
        Output::Json => {
            println!("{}", serde_json::to_string_pretty(&json!({"investigation_id": id, "events": events}))?)
        }
        Output::Text => {
            println!("Audit trail of {id} ({} events):", events.len());
            for e in &events {
                println!("{}", render_event(e));
            }
        }
    }
    Ok(())
}

/// `aiops audit verify ID`: exit 0 only when the chain is intact and reaches the head the
/// investigation recorded.
pub async fn verify(data_dir: &Path, output: Output, id: &str) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let events = store.events(id).await?;
    let head = store.get_investigation(id).await?.and_then(|inv| inv.audit_head);
    let result = verify_trail(id, &events, head.as_ref());
    match output {
        Output::Json => println!(
            "{}",
            json!({"investigation_id": id, "events": events.len(), "intact": result.is_ok(), "problem": result.as_ref().err().map(ToString::to_string)})
        ),
        Output::Text => match &result {
            Ok(()) => println!("audit trail of {id}: {} events, hash chain intact", events.len()),
            Err(e) => println!("audit trail of {id}: NOT intact: {e}"),
        },
    }
    result.map_err(|e| Failure { code: 1, error: anyhow::anyhow!("audit trail of {id} is not intact: {e}") })
}

/// `aiops approvals list`.
pub async fn approvals_list(data_dir: &Path, output: Output, all: bool) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let list = store.list(if all { None } else { Some(ApprovalStatus::Pending) }).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&json!({"approvals": list}))?),
        Output::Text => {
            if list.is_empty() {
                println!("No {}approvals.", if all { "" } else { "pending " });
            }
            for a in &list {
                println!(
                    "{}  {:<8}  {}  (investigation {}, expires {})",
                    a.id,
                    a.status.as_str(),
                    a.summary,
                    a.investigation_id,
                    a.expires_at
                );
                for line in a.diff.lines() {
                    println!("      {line}");
                }
            }
        }
    }
    Ok(())
}

/// `aiops approve ID` / `aiops reject ID --reason R`.
pub async fn decide_cmd(
    data_dir: &Path,
    output: Output,
    id: &str,
    approve: bool,
    reason: Option<String>,
    comment: Option<String>,
) -> Result<(), Failure> {
    if !approve && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(UsageError("a rejection needs --reason".into()).into());
    }
    let store = open_store(data_dir)?;
    let by = LocalOptions::new(data_dir.to_path_buf()).actor;
    let callback = LocalCallback { store: store.clone() };
    let decision = Decision { approve, by, reason, comment };
    let req = decide(store.as_ref(), store.as_ref(), store.as_ref(), &callback, id, &decision, jiff::Timestamp::now())
        .await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&json!({"approval": req}))?),
        Output::Text => println!("{} {}: {}", if approve { "Approved" } else { "Rejected" }, req.id, req.summary),
    }
    Ok(())
}

/// `aiops undo ACTION_ID` against the cluster the action ran on.
pub async fn undo_cmd(data_dir: &Path, output: Output, action_id: &str, source: &SourceArgs) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    let src = Source::open(source).await?;
    let options = LocalOptions::new(data_dir.to_path_buf());
    let actuator = src.actuator_arc();
    let locks = aiops_cli::local::MemoryLocks::default();
    let deps = WriteDeps {
        reader: src.reader(),
        actuator: actuator.as_ref(),
        state: store.as_ref(),
        audit: store.as_ref(),
        approvals: store.as_ref(),
        locks: &locks,
        policy: &options.policy,
    };
    let text = undo(&deps, action_id, &options.actor).await?;
    match output {
        Output::Json => println!("{}", json!({"action_id": action_id, "undone": true, "text": text})),
        Output::Text => println!("{text}"),
    }
    Ok(())
}

const DEMO_FILES: &[(&str, &str)] = &[
    ("cluster.yaml", include_str!("../assets/demo-snapshot/cluster.yaml")),
    ("meta.yaml", include_str!("../assets/demo-snapshot/meta.yaml")),
    (
        "logs/payment-service-7d9f8b6c5d-x2k4p_app.log",
        include_str!("../assets/demo-snapshot/logs/payment-service-7d9f8b6c5d-x2k4p_app.log"),
    ),
    (
        "logs/payment-service-7d9f8b6c5d-x2k4p_app.previous.log",
        include_str!("../assets/demo-snapshot/logs/payment-service-7d9f8b6c5d-x2k4p_app.previous.log"),
    ),
];

/// The question the demo asks.
pub const DEMO_QUESTION: &str = "Why is the payment-service pod crashing?";

/// `aiops demo [--yes]`: the built-in snapshot, the whole workflow, no AWS, no cluster.
pub async fn demo(data_dir: &Path, output: Output, yes: bool) -> Result<(), Failure> {
    let dir = tempfile::tempdir().map_err(anyhow::Error::from)?;
    for (name, text) in DEMO_FILES {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(anyhow::Error::from)?;
        }
        std::fs::write(&path, text).map_err(anyhow::Error::from)?;
    }
    let snapshot = Snapshot::load(dir.path())?;
    let source = Source::from_snapshot(snapshot, "the built-in demo snapshot".into()).await?;
    let text = output == Output::Text;
    if text {
        println!("AgenticAIOps demo — local mode: no AWS account, no cluster.");
        println!(
            "A simulated EKS cluster serves the built-in snapshot: in namespace production, the payment-service pod keeps crashing."
        );
        println!("Question: {DEMO_QUESTION}\n");
    }
    let mut options = LocalOptions::new(data_dir.to_path_buf());
    let approver = if yes { Approver::Approve } else { ask::approver(false, false) };
    if approver == Approver::Nobody {
        options.approval_timeout_seconds = 5;
    }
    let notifier: Arc<dyn aiops_core::ports::Notifier> = Arc::new(aiops_local::TerminalNotifier::stderr());
    let stack = ask::stack(source, Arc::new(aiops_core::agent::offline::OfflineReasoner), notifier, options)?;
    let request = StartRequest {
        question: DEMO_QUESTION.into(),
        actor: stack.options.actor.clone(),
        writes: true,
        ..StartRequest::default()
    };
    let outcome = Run { stack: &stack, request, approver, reject_reason: None, progress: true }.go().await?;
    let id = outcome.investigation.id.clone();
    if text {
        println!("\n== Diagnosis and outcome ==");
    }
    ask::print_outcome(&outcome, output, &stack.reasoner_name)?;
    if text {
        println!("\n== Pods in production now (simulated cluster) ==");
        let pods =
            aiops_core::tools::run(stack.source.reader(), "get_pods", &json!({"namespace": "production"})).await?;
        print!("{}", pods.text);
        println!("\n== Audit trail ==");
        audit(data_dir, output, &id).await?;
        verify(data_dir, output, &id).await?;
        println!("\nReplay the trail later with: aiops audit {id}");
    }
    Ok(())
}
