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

mod ask;
mod bench;
mod remote;
mod serve;
mod sweep;
mod trail;

#[derive(Parser)]
#[command(name = "aiops", version, about = "Diagnose Kubernetes and EKS clusters in plain language")]
struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Where local mode keeps its SQLite audit trail and state (default: $XDG_DATA_HOME/aiops).
    #[arg(long, global = true, env = "AIOPS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The deployed API (or `aiops serve-api`): ask, investigations, approvals, approve, reject
    /// and audit become SigV4-signed HTTP calls to it.
    #[arg(long, global = true, env = "AIOPS_API_URL")]
    api: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
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
    /// Ask a question: runs an investigation in local mode.
    Ask(AskArgs),
    /// The whole workflow on a built-in snapshot: no AWS, no cluster.
    Demo(DemoArgs),
    /// Show an investigation's audit trail (`aiops audit ID`) or check it (`aiops audit verify ID`).
    Audit(AuditArgs),
    /// Approval requests.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
    /// Approve a pending approval request.
    Approve(ApproveArgs),
    /// Reject a pending approval request.
    Reject(RejectArgs),
    /// Undo an executed action, restoring the object's prior state.
    Undo(UndoArgs),
    /// Benchmarks whose figures the README quotes.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// List or show investigations.
    #[command(subcommand)]
    Investigations(remote::InvestigationsCommand),
    /// Serve the HTTP API (and the approvals page) on a local listener, over local mode.
    ServeApi(serve::ServeArgs),
    /// Run every analyzer over every namespace and print the diff against the last local sweep.
    Sweep(sweep::SweepArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Analyzer time and peak memory on generated clusters of 1k, 10k and 50k pods.
    Analyze {
        /// Pod counts to measure.
        #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 10000, 50000])]
        sizes: Vec<usize>,
    },
    /// Bytes and estimated input tokens a model would be sent per investigation, over the
    /// scenario corpus (offline reasoner driving the workflow).
    Tokens {
        /// The corpus folder.
        #[arg(long, default_value = "tests/snapshots")]
        corpus: PathBuf,
    },
    /// One analyzer measurement in this process (used by `bench analyze`).
    #[command(hide = true)]
    AnalyzeOne {
        /// The cluster as JSON text, one line per kind (written by `aiops bench analyze`).
        #[arg(long)]
        input: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum ReasonerArg {
    Offline,
    Bedrock,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum WritesArg {
    Off,
    Approval,
}

#[derive(Args)]
struct AskArgs {
    /// The question, in plain language.
    question: String,
    #[command(flatten)]
    source: SourceArgs,
    /// Which reasoner: Bedrock (default when AWS credentials are found) or the offline one.
    #[arg(long, value_enum)]
    reasoner: Option<ReasonerArg>,
    /// Whether write tools may be proposed (each needs a human's approval).
    #[arg(long, value_enum, default_value_t = WritesArg::Off)]
    writes: WritesArg,
    /// Approve the proposed action without asking.
    #[arg(long, conflicts_with = "reject")]
    approve: bool,
    /// Reject the proposed action without asking.
    #[arg(long)]
    reject: bool,
    /// The reason recorded with --reject.
    #[arg(long, requires = "reject")]
    reason: Option<String>,
    /// Continue an earlier investigation with this follow-up question.
    #[arg(long = "continue", value_name = "ID")]
    continue_from: Option<String>,
    /// Only this namespace.
    #[arg(long)]
    namespace: Option<String>,
    /// Seconds an approval may wait before it counts as rejected.
    #[arg(long)]
    approval_timeout: Option<u64>,
}

#[derive(Args)]
struct DemoArgs {
    /// Answer yes to the approval (for scripts).
    #[arg(long)]
    yes: bool,
}

#[derive(Args)]
struct AuditArgs {
    /// `ID`, or `verify ID`.
    #[arg(required = true, num_args = 1..=2)]
    args: Vec<String>,
}

#[derive(Subcommand)]
enum ApprovalsCommand {
    /// List approval requests (pending ones unless --all).
    List {
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args)]
struct ApproveArgs {
    id: String,
    #[arg(long)]
    comment: Option<String>,
}

#[derive(Args)]
struct RejectArgs {
    id: String,
    /// Why (required).
    #[arg(long)]
    reason: String,
}

#[derive(Args)]
struct UndoArgs {
    action_id: String,
    #[command(flatten)]
    source: SourceArgs,
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
pub(crate) struct Failure {
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
    let data_dir = cli.data_dir.clone().unwrap_or_else(aiops_cli::local::default_data_dir);
    if let Some(api) = cli.api.as_deref()
        && let Some(done) = remote::dispatch(api, cli.output, &cli.command).await
    {
        return done;
    }
    match cli.command {
        Command::Tools(ToolsCommand::List) => tools_list(cli.output),
        Command::Tools(ToolsCommand::Call(args)) => tools_call(cli.output, args).await,
        Command::Snapshot(args) => snapshot(cli.output, args).await,
        Command::Analyze(args) => analyze(cli.output, args).await,
        Command::Ask(args) => ask_cmd(cli.output, &data_dir, args).await,
        Command::Demo(args) => trail::demo(&data_dir, cli.output, args.yes).await,
        Command::Audit(args) => match args.args.as_slice() {
            [verb, id] if verb == "verify" => trail::verify(&data_dir, cli.output, id).await,
            [id] => trail::audit(&data_dir, cli.output, id).await,
            _ => Err(source::UsageError("usage: aiops audit ID | aiops audit verify ID".into()).into()),
        },
        Command::Approvals(ApprovalsCommand::List { all }) => trail::approvals_list(&data_dir, cli.output, all).await,
        Command::Approve(a) => trail::decide_cmd(&data_dir, cli.output, &a.id, true, None, a.comment).await,
        Command::Reject(r) => trail::decide_cmd(&data_dir, cli.output, &r.id, false, Some(r.reason), None).await,
        Command::Undo(u) => trail::undo_cmd(&data_dir, cli.output, &u.action_id, &u.source).await,
        Command::Investigations(c) => remote::investigations_local(&data_dir, cli.output, c).await,
        Command::ServeApi(args) => serve::run(&data_dir, args).await,
        Command::Bench(BenchCommand::Tokens { corpus }) => bench::tokens(&corpus, cli.output).await,
        Command::Sweep(args) => sweep::sweep(&data_dir, cli.output, args).await,
        Command::Bench(BenchCommand::AnalyzeOne { input }) => {
            println!("{}", bench::analyze_one(&input)?);
            Ok(())
        }
        Command::Bench(BenchCommand::Analyze { sizes }) => {
            let rows = bench::analyze_table(&sizes)?;
            match cli.output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Output::Text => {
                    println!(
                        "| pods | events | findings | JSON MiB | decode ms | analyze ms | total ms | peak RSS MiB |"
                    );
                    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
                    for r in rows {
                        println!(
                            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
                            r["pods"],
                            r["events"],
                            r["findings"],
                            r["input_mib"].as_f64().unwrap_or(0.0),
                            r["decode_ms"].as_f64().unwrap_or(0.0),
                            r["analyze_ms"].as_f64().unwrap_or(0.0),
                            r["total_ms"].as_f64().unwrap_or(0.0),
                            r["peak_rss_mib"].as_f64().unwrap_or(0.0)
                        );
                    }
                }
            }
            Ok(())
        }
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
    let parsed: Value =
        serde_json::from_str(&args.args).map_err(|e| source::UsageError(format!("--args is not valid JSON: {e}")))?;
    // Validate before connecting: a bad argument never costs a cluster round trip.
    aiops_core::catalog::validate(&args.name, &parsed)?;
    let spec = aiops_core::catalog::find(&args.name)?;
    let result = if spec.home == aiops_core::catalog::ToolHome::AwsRead {
        // AWS tools: the standard AWS chain (AWS_ENDPOINT_URL reaches an emulator); Kubernetes
        // only when a cluster source was named (get_node_health joins node conditions).
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let cluster = args.source.eks_cluster.clone().or_else(|| std::env::var("AIOPS_CLUSTER_NAME").ok());
        let inspector = aiops_aws::inspector::AwsInspector::new(&sdk, cluster);
        let s = &args.source;
        let named = s.snapshot.is_some() || s.kubeconfig.is_some() || s.context.is_some() || s.eks_cluster.is_some();
        let source = if named { Some(Source::open(s).await?) } else { None };
        inspector.run(source.as_ref().map(|x| x.reader()), &args.name, &parsed).await?
    } else {
        let source = Source::open(&args.source).await?;
        let usage = source.aws().and_then(|i| i.container_insights());
        let usage = usage.as_ref().map(|u| u as &dyn aiops_core::ports::UsageSource);
        aiops_core::tools::run_with(source.reader(), usage, &args.name, &parsed).await?
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        Output::Text => print!("{}", result.text),
    }
    Ok(())
}

async fn snapshot(output: Output, args: SnapshotArgs) -> Result<(), Failure> {
    if let Some(ns) = &args.namespace
        && !aiops_core::catalog::is_dns_label(ns)
    {
        return Err(source::UsageError(format!("--namespace {ns:?} is not a valid RFC 1123 name")).into());
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
    if let Some(ns) = &args.namespace
        && !aiops_core::catalog::is_dns_label(ns)
    {
        return Err(source::UsageError(format!("--namespace {ns:?} is not a valid RFC 1123 name")).into());
    }
    let min = Severity::parse(&args.min_severity).unwrap_or(Severity::Info);
    let source = Source::open(&args.source).await?;
    let state = ClusterState::gather(source.reader(), args.namespace.as_deref(), ANALYZE_MAX_LOGS).await?;
    let mut findings = analyze_scoped(&state, args.namespace.as_deref());
    findings.retain(|f| f.severity >= min);
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&serde_json::json!({"findings": findings}))?),
        Output::Text => {
            let scope =
                args.namespace.as_ref().map_or_else(|| "the cluster".to_string(), |ns| format!("namespace {ns}"));
            print!("{}", render_findings(&findings, &scope));
        }
    }
    Ok(())
}

async fn ask_cmd(output: Output, data_dir: &std::path::Path, args: AskArgs) -> Result<(), Failure> {
    use std::sync::Arc;
    ask::check_question(&args.question)?;
    if let Some(ns) = &args.namespace
        && !aiops_core::catalog::is_dns_label(ns)
    {
        return Err(source::UsageError(format!("--namespace {ns:?} is not a valid RFC 1123 name")).into());
    }
    let reasoner = choose_reasoner(args.reasoner).await?;
    let source = Source::open(&args.source).await?;
    let approver = ask::approver(args.approve, args.reject);
    let mut options = aiops_cli::local::LocalOptions::new(data_dir.to_path_buf());
    options.approval_timeout_seconds =
        args.approval_timeout.unwrap_or(if approver == ask::Approver::Nobody { 5 } else { 900 });
    let notifier: Arc<dyn aiops_core::ports::Notifier> = Arc::new(aiops_local::TerminalNotifier::stderr());
    let stack = ask::stack(source, reasoner, notifier, options)?;
    let request = aiops_core::workflow::StartRequest {
        question: args.question.clone(),
        actor: stack.options.actor.clone(),
        namespace: args.namespace.clone(),
        writes: args.writes == WritesArg::Approval,
        continue_from: args.continue_from.clone(),
        id: None,
    };
    let outcome =
        ask::Run { stack: &stack, request, approver, reject_reason: args.reason.clone(), progress: true }.go().await?;
    ask::print_outcome(&outcome, output, &stack.reasoner_name)
}

/// Bedrock when asked for, or by default when AWS credentials are found; offline otherwise.
/// Says which it uses.
async fn choose_reasoner(
    choice: Option<ReasonerArg>,
) -> Result<std::sync::Arc<dyn aiops_core::ports::Reasoner>, Failure> {
    use aws_credential_types::provider::ProvideCredentials;
    if choice == Some(ReasonerArg::Offline) {
        return Ok(std::sync::Arc::new(aiops_core::agent::offline::OfflineReasoner));
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
    let has_credentials = match sdk.credentials_provider() {
        Some(p) => tokio::time::timeout(std::time::Duration::from_secs(3), p.provide_credentials())
            .await
            .is_ok_and(|r| r.is_ok()),
        None => false,
    };
    if !has_credentials {
        if choice == Some(ReasonerArg::Bedrock) {
            return Err(Failure {
                code: 1,
                error: anyhow::anyhow!(
                    "--reasoner bedrock needs AWS credentials (environment, profile, SSO or role); none were found"
                ),
            });
        }
        eprintln!("no AWS credentials found: using the offline reasoner (--reasoner bedrock to insist)");
        return Ok(std::sync::Arc::new(aiops_core::agent::offline::OfflineReasoner));
    }
    let config = aiops_aws::bedrock::BedrockConfig::from_vars(|k| std::env::var(k).ok())?;
    eprintln!("using Bedrock model {}", config.model_id);
    Ok(std::sync::Arc::new(aiops_aws::bedrock::BedrockReasoner::new(&sdk, config)))
}
