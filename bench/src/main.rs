//! `aiops-bench`: runs the benchmarks over release binaries and prints every figure as text
//! tables, writing the same figures as JSON. `scripts/bench` builds the binaries and runs
//! `aiops-bench all`.

use std::path::PathBuf;
use std::process::ExitCode;

use aiops_bench::report::{self, Options};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "aiops-bench", about = "Benchmarks whose figures README's Figures table quotes")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every figure: cold starts, the Python baseline, tool invocations, the demo end to end
    /// and its AWS cost, the analyzer, tokens.
    All(AllArgs),
}

#[derive(clap::Args)]
struct AllArgs {
    /// Folder of the release binaries (hello, aiops, the functions).
    #[arg(long)]
    bin_dir: PathBuf,
    /// Cold starts per binary.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Invocations per tool.
    #[arg(long, default_value_t = 50)]
    tool_runs: usize,
    /// Whole-process `aiops demo --yes` runs.
    #[arg(long, default_value_t = 5)]
    demo_runs: usize,
    /// The snapshot the simulated cluster serves.
    #[arg(long, default_value = "tests/snapshots/demo-oom-crashloop")]
    snapshot: PathBuf,
    /// The scenario corpus for `aiops bench tokens`.
    #[arg(long, default_value = "tests/snapshots")]
    corpus: PathBuf,
    /// Pod counts for `aiops bench analyze`.
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 10000, 50000])]
    sizes: Vec<usize>,
    /// Pods of the generated cluster the sweep figure sweeps.
    #[arg(long, default_value_t = 10000)]
    sweep_pods: usize,
    /// Where the Python baseline's scripts are.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/python"))]
    python_dir: PathBuf,
    /// Sections to leave out.
    #[arg(long, value_delimiter = ',', value_parser = ["cold-start", "python", "tools", "e2e", "analyze", "sweep", "tokens"])]
    skip: Vec<String>,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Cmd::All(a) = cli.command;
    if a.runs == 0 || a.tool_runs == 0 {
        eprintln!("error: --runs and --tool-runs must be at least 1");
        return ExitCode::from(2);
    }
    if !a.bin_dir.join("hello").is_file() {
        eprintln!(
            "error: {} has no hello binary: build the release binaries first (scripts/bench does)",
            a.bin_dir.display()
        );
        return ExitCode::from(2);
    }
    let options = Options {
        bin_dir: a.bin_dir,
        runs: a.runs,
        tool_runs: a.tool_runs,
        demo_runs: a.demo_runs,
        snapshot: a.snapshot,
        corpus: a.corpus,
        sizes: a.sizes,
        sweep_pods: a.sweep_pods,
        python_dir: a.python_dir,
        skip: a.skip,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(report::all(&options)) {
        Ok(doc) => {
            print!("{}", report::render(&doc));
            if let Some(path) = a.json {
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return ExitCode::from(1);
                }
                eprintln!("figures written to {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
