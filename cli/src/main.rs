//! `aiops`: the command-line face of AgenticAIOps.
//!
//! Belongs here: argument parsing, choosing a cluster source (snapshot, kubeconfig, EKS),
//! rendering text or JSON, exit codes (0 success, 1 the operation failed, 2 bad usage or bad
//! input). No business logic: every command calls into the library crates.



use std::path::PathBuf;
use std::process::ExitCode;

use aiops_core::ErrorClass;
use aiops_core::catalog::{ToolClass, catalog};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use aiops_cli::source::{self, Source, SourceArgs};

#[derive(Parser)]
#[command(name = "aiops", version, about = "Diagnose Kubernetes and EKS clusters in plain language")]
struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// List or call the tools the agent uses.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Write a live cluster into the snapshot format (cluster.yaml, logs/, meta.yaml).
    Snapshot(SnapshotArgs),
    /// Scan a cluster with every analyzer and print the root causes found.
    Analyze(AnalyzeArgs),
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Only this namespace (cluster-scoped findings that explain something in it are kept).
    #[arg(long)]
    namespace: Option<String>,
    /// Only findings at or above this severity.
    #[arg(long, value_parser = ["critical", "error", "warning", "info"], default_value = "info")]
    min_severity: String,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Subcommand)]
enum ToolsCommand {
    /// List every tool with its class and status.
    List,
    /// Call one tool against a cluster source.
    Call(CallArgs),
}

#[derive(Args)]
struct CallArgs {
    /// Tool name, e.g. get_pods.
    name: String,
    /// Arguments as a JSON object, e.g. '{"namespace":"production"}'.
    #[arg(long, default_value = "{}")]
    args: String,
    #[command(flatten)]
    source: SourceArgs,
}

#[derive(Args)]
struct SnapshotArgs {
    /// Folder to write (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Only this namespace (cluster-scoped objects are always included).
    #[arg(long)]
    namespace: Option<String>,
    #[command(flatten)]
    source: SourceArgs,
}

/// An error with the exit code it should produce.
#[derive(Debug)]
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        let error = e.into();
        let code = match error.downcast_ref::<aiops_core::Error>() {
            Some(e) if e.class() == ErrorClass::InvalidInput => 2,
            _ if error.downcast_ref::<aiops_core::snapshot::SnapshotError>().is_some() => 2,
            _ if error.downcast_ref::<source::UsageError>().is_some() => 2,
            _ => 1,
        };
        Failure { code, error }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIOPS_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Tools(ToolsCommand::List) => tools_list(cli.output),
        Command::Tools(ToolsCommand::Call(args)) => tools_call(cli.output, args).await,
        Command::Snapshot(args) => snapshot(cli.output, args).await,
        Command::Analyze(args) => analyze(cli.output, args).await,
    }
}

fn tools_list(output: Output) -> Result<(), Failure> {
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(catalog())?);
        return Ok(());
    }
    let width = catalog().iter().map(|t| t.name.len()).max().unwrap_or(10);
    println!("{:<width$}  {:<5}  {:<18}  DESCRIPTION", "NAME", "CLASS", "STATUS");
    for t in catalog() {
        let class = if t.class == ToolClass::Read { "read" } else { "write" };
        let status = if t.implemented { "ready" } else { "not implemented yet" };
        println!("{:<width$}  {class:<5}  {status:<18}  {}", t.name, t.description);
    }
    Ok(())
}

async fn tools_call(output: Output, args: CallArgs) -> Result<(), Failure> {
    let parsed: Value = serde_json::from_str(&args.args)
        .map_err(|e| source::UsageError(format!("--args is not valid JSON: {e}")))?;
    // Validate before connecting: a bad argument never costs a cluster round trip.
    aiops_core::catalog::validate(&args.name, &parsed)?;
    let source = Source::open(&args.source).await?;
    let result = aiops_core::tools::run(source.reader(), &args.name, &parsed).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        Output::Text => print!("{}", result.text),
    }
    Ok(())
}

async fn snapshot(output: Output, args: SnapshotArgs) -> Result<(), Failure> {
    if let Some(ns) = &args.namespace {
        if !aiops_core::catalog::is_dns_label(ns) {
            return Err(source::UsageError(format!("--namespace {ns:?} is not a valid RFC 1123 name")).into());
        }
    }
    let source = Source::open(&args.source).await?;
    let (snap, report) = aiops_core::capture::capture(source.reader(), args.namespace.as_deref()).await?;
    snap.write(&args.out)?;
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({"out": args.out, "objects": report.counts, "logs": report.logs, "skipped": report.skipped, "captured_at": snap.captured_at.to_string()})
        ),
        Output::Text => {
            let total: usize = report.counts.values().sum();
            println!("Wrote {} objects and {} logs to {}", total, report.logs, args.out.display());
            for s in &report.skipped {
                println!("  skipped {s}");
            }
        }
    }
    Ok(())
}

/// Findings logs are fetched for at most this many failing containers.
const ANALYZE_MAX_LOGS: usize = 200;

async fn analyze(output: Output, args: AnalyzeArgs) -> Result<(), Failure> {
    use aiops_core::analyze::{ClusterState, Severity, analyze_scoped, render_findings};
    if let Some(ns) = &args.namespace {
        if !aiops_core::catalog::is_dns_label(ns) {
            return Err(source::UsageError(format!("--namespace {ns:?} is not a valid RFC 1123 name")).into());
        }
    }
    let min = Severity::parse(&args.min_severity).unwrap_or(Severity::Info);
    let source = Source::open(&args.source).await?;
    let state = ClusterState::gather(source.reader(), args.namespace.as_deref(), ANALYZE_MAX_LOGS).await?;
    let mut findings = analyze_scoped(&state, args.namespace.as_deref());
    findings.retain(|f| f.severity >= min);
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({"findings": findings}))?),
        Output::Text => {
            let scope = args.namespace.as_ref().map_or_else(|| "the cluster".to_string(), |ns| format!("namespace {ns}"));
            print!("{}", render_findings(&findings, &scope));
        }
    }
    Ok(())
}
