//! `aiops sweep`: a health sweep in local mode, the same [`aiops_core::sweep::run`] the sweep
//! Lambda runs, over a snapshot, a kubeconfig context or an EKS cluster, diffed against the last
//! sweep stored in the data directory (SQLite). It prints the diff: new, ongoing (with the time
//! first seen) and resolved findings.
//!
//! Investigations are off by default: a sweep is a report a user runs often, and an
//! investigation per new finding would run the whole workflow (and, with Bedrock, cost tokens)
//! every time. `--investigate` starts them in this process on the local engine, writes off,
//! under the same rules as the cloud (severity threshold, one open per root cause, cooldown;
//! the claims live in the data directory), and waits for their answers.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use aiops_cli::local::{LocalOptions, LocalStack, open_store};
use aiops_cli::source::{Source, SourceArgs, UsageError};
use aiops_core::analyze::Severity;
use aiops_core::policy::Policy;
use aiops_core::ports::StateStore;
use aiops_core::sweep::{
    self, Investigator, OutcomeStatus, SweepConfig, SweepPorts, SweepRequest, SweepRun, SweptFinding,
};
use clap::Args;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::{Failure, Output, ReasonerArg};

/// `aiops sweep` arguments.
#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Start an investigation (in this process, writes off) for each new finding at or above
    /// --severity, and wait for the answers. Off by default: a sweep only reports.
    #[arg(long)]
    investigate: bool,
    /// Lowest severity that starts an investigation (with --investigate).
    #[arg(long, value_parser = ["critical", "error", "warning", "info"], default_value = "error")]
    severity: String,
    /// Seconds after an investigation of a root cause starts during which no other starts for it.
    #[arg(long, default_value_t = 3600)]
    cooldown: u64,
    /// Most investigations one sweep starts; the rest wait for the next sweep.
    #[arg(long, default_value_t = 5)]
    max_investigations: usize,
    /// Sweep only this namespace (repeatable; default: every namespace not denied).
    #[arg(long = "allow-namespace", value_name = "NS")]
    allow: Vec<String>,
    /// Leave this namespace out (repeatable; default: kube-system).
    #[arg(long = "deny-namespace", value_name = "NS")]
    deny: Vec<String>,
    /// Which reasoner investigations use (as for `aiops ask`).
    #[arg(long, value_enum, requires = "investigate")]
    reasoner: Option<ReasonerArg>,
    /// Benchmark: sweep a generated cluster of this many pods (served by the simulated cluster)
    /// and report time and memory on stderr.
    #[arg(long, hide = true, conflicts_with_all = ["snapshot", "context", "kubeconfig", "eks_cluster"])]
    bench_pods: Option<usize>,
}

/// Runs `aiops sweep`.
///
/// # Errors
/// Bad arguments or a snapshot that does not load (exit 2); a cluster or store failure (exit 1).
pub async fn sweep(data_dir: &Path, output: Output, args: SweepArgs) -> Result<(), Failure> {
    for ns in args.allow.iter().chain(&args.deny) {
        if !aiops_core::catalog::is_dns_label(ns) {
            return Err(UsageError(format!("namespace {ns:?} is not a valid RFC 1123 name")).into());
        }
    }
    let defaults = Policy::default();
    let policy = Policy {
        allow_namespaces: args.allow.clone(),
        deny_namespaces: if args.deny.is_empty() { defaults.deny_namespaces.clone() } else { args.deny.clone() },
        ..defaults
    };
    let source = match args.bench_pods {
        Some(pods) => bench_source(pods).await?,
        None => Source::open(&args.source).await?,
    };
    let config = SweepConfig {
        policy,
        investigate_at: Severity::parse(&args.severity).unwrap_or(Severity::Error),
        cooldown_seconds: i64::try_from(args.cooldown).map_err(|_| UsageError("--cooldown is too large".into()))?,
        max_investigations: args.max_investigations,
        cluster: source.label.clone(),
        ..SweepConfig::default()
    };
    let request = SweepRequest { trigger: "cli".into(), sweep_id: None };
    let rss_before = proc_status_mib("VmRSS");
    // Measure this sweep's own peak, not the generator's (VmHWM reset; Linux only, harmless
    // where it fails).
    if args.bench_pods.is_some() {
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
    let started = Instant::now();
    let (run, answers) = if args.investigate {
        let reasoner = crate::choose_reasoner(args.reasoner).await?;
        let notifier: Arc<dyn aiops_core::ports::Notifier> = Arc::new(aiops_local::TerminalNotifier::stderr());
        let stack = LocalStack::new(source, reasoner, notifier, LocalOptions::new(data_dir.to_path_buf()))?;
        let store = stack.store.clone();
        let ports = SweepPorts {
            reader: stack.source.reader(),
            sweeps: store.as_ref(),
            notifier: None,
            investigator: Some(Investigator { state: store.as_ref(), audit: store.as_ref(), starter: &stack }),
        };
        let run = sweep::run(&ports, &config, request, Timestamp::now()).await?;
        let answers = await_investigations(&stack, &run).await?;
        (run, Some(answers))
    } else {
        let store = open_store(data_dir)?;
        let ports = SweepPorts { reader: source.reader(), sweeps: store.as_ref(), notifier: None, investigator: None };
        (sweep::run(&ports, &config, request, Timestamp::now()).await?, None)
    };
    // Measured once, printed on stderr and put in the JSON.
    let bench = args.bench_pods.map(|pods| {
        let (secs, peak) = (started.elapsed().as_secs_f64(), proc_status_mib("VmHWM"));
        let (findings, share) = (run.report.new.len() + run.report.ongoing.len(), (peak - rss_before).max(0.0));
        eprintln!(
            "bench: {pods} generated pods, {findings} findings: sweep {secs:.2} s; RSS {rss_before:.0} MiB with the simulated API server up, peak {peak:.0} MiB during the sweep (the sweep's share at most {share:.0} MiB)"
        );
        json!({
            "pods": pods, "findings": findings, "sweep_s": secs,
            "rss_before_mib": rss_before, "peak_rss_mib": peak, "sweep_share_mib": share,
        })
    });
    match output {
        Output::Json => {
            let mut v = serde_json::to_value(&run)?;
            if let Some(a) = answers {
                v["answers"] = a;
            }
            if let Some(b) = bench {
                v["bench"] = b;
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Output::Text => print!("{}", render(&run, data_dir, answers.as_ref())),
    }
    Ok(())
}

/// Waits for the investigations the sweep started and collects their outcomes:
/// `{id: {"status", "answer"}}`.
async fn await_investigations(stack: &LocalStack, run: &SweepRun) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for o in run.report.investigations.iter().filter(|o| o.status == OutcomeStatus::Started) {
        let (Some(id), Some(execution)) = (&o.investigation_id, &o.execution) else { continue };
        if let Some(handle) = stack.engine.execution(execution) {
            handle.await_result().await;
        }
        let inv = stack.store.get_investigation(id).await?;
        let status = inv.as_ref().map_or("unknown", |i| i.status.as_str());
        let answer = inv.as_ref().and_then(|i| i.answer.as_ref()).map(|a| a.text.clone());
        let error = inv.as_ref().and_then(|i| i.error.clone());
        out.insert(id.clone(), json!({"status": status, "answer": answer, "error": error}));
    }
    Ok(Value::Object(out))
}

/// The text rendering: a header, then new, ongoing and resolved findings one line each.
fn render(run: &SweepRun, data_dir: &Path, answers: Option<&Value>) -> String {
    let r = &run.report;
    let mut out = format!(
        "Sweep {} of {}: {} new, {} ongoing, {} resolved",
        r.sweep_id,
        r.cluster,
        r.new.len(),
        r.ongoing.len(),
        r.resolved.len()
    );
    match &r.previous {
        Some(p) => {
            out.push_str(&format!(" (compared with the sweep at {}).\n", sweep::when(p.at)));
            if p.cluster != r.cluster {
                out.push_str(&format!(
                    "note: the previous sweep was of {}; use one --data-dir per cluster to compare like with like.\n",
                    p.cluster
                ));
            }
        }
        None => out.push_str(&format!(" (first sweep in {}: every finding is new).\n", data_dir.display())),
    }
    if run.duplicate {
        out.push_str("This sweep was done already; showing it as stored.\n");
    }
    out.push_str(&format!("Swept {} namespaces, {} pods", r.scope.namespaces, r.scope.pods));
    if !r.scope.excluded.is_empty() {
        out.push_str(&format!(" (left out: {})", r.scope.excluded.join(", ")));
    }
    out.push_str(".\n");
    let section = |out: &mut String, title: &str, list: &[SweptFinding], since: bool| {
        if list.is_empty() {
            out.push_str(&format!("\n{title}: none\n"));
            return;
        }
        out.push_str(&format!("\n{title} ({}):\n", list.len()));
        for f in list {
            out.push_str(&format!("  {}", sweep::line(f)));
            if since {
                out.push_str(&format!(" (since {})", sweep::when(f.since)));
            }
            if let Some(inv) = &f.investigation {
                out.push_str(&format!(" [investigation {inv}]"));
            }
            out.push('\n');
        }
    };
    section(&mut out, "New", &r.new, false);
    section(&mut out, "Ongoing", &r.ongoing, true);
    section(&mut out, "Resolved", &r.resolved, true);
    if !r.investigations.is_empty() {
        out.push_str("\nInvestigations:\n");
        for o in &r.investigations {
            let id = o.investigation_id.as_deref().unwrap_or("-");
            let status = serde_json::to_value(o.status).ok().and_then(|v| v.as_str().map(str::to_string));
            out.push_str(&format!("  {} {id} for {}", status.unwrap_or_default(), o.subject));
            if let Some(m) = &o.message {
                out.push_str(&format!(": {m}"));
            }
            out.push('\n');
            if let Some(a) = answers.and_then(|a| a.get(id)) {
                let text = a["answer"].as_str().or(a["error"].as_str()).unwrap_or_default();
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
                out.push_str(&format!("    {}: {first}\n", a["status"].as_str().unwrap_or_default()));
                out.push_str(&format!("    trail: aiops audit {id}\n"));
            }
        }
    }
    out
}

/// A generated cluster of `pods` pods served by the simulated cluster (`aiops bench analyze`'s
/// generator).
async fn bench_source(pods: usize) -> anyhow::Result<Source> {
    let now: Timestamp = aiops_core::fixtures::NOW.parse()?;
    let snapshot =
        aiops_core::snapshot::Snapshot::from_objects(aiops_core::fixtures::generated_cluster(pods), Some(now));
    Source::from_snapshot(snapshot, format!("a generated cluster of {pods} pods")).await
}

/// A `/proc/self/status` figure in MiB (0 where there is none).
fn proc_status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
