//! `aiops bench`: the benchmarks whose figures the README quotes. Each measurement runs in a
//! child process of its own so its peak memory (VmHWM) is its own.

use std::process::Command;
use std::time::Instant;

use aiops_core::analyze::{ClusterState, analyze};
use aiops_core::fixtures;
use serde_json::{Value, json};

use crate::Failure;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One measurement, in this process: the cluster's JSON text (one line per kind: its name, a
/// tab, the array of its objects) read a kind at a time, decoded into the typed state, indexed
/// and analyzed.
pub fn analyze_one(input: &std::path::Path) -> Result<Value, Failure> {
    use std::io::BufRead;
    let file = std::fs::File::open(input).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    let input_mib = file.metadata().map_err(anyhow::Error::from)?.len() as f64 / (1024.0 * 1024.0);
    let now = fixtures::NOW.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    // Read one kind's line at a time, as list responses arrive: each text is dropped once decoded.
    let mut bad: Option<anyhow::Error> = None;
    let lists = std::io::BufReader::new(file).lines().map_while(|line| {
        let parsed = line.map_err(anyhow::Error::from).and_then(|line| {
            let tab = line.find('\t').ok_or_else(|| anyhow::anyhow!("a line without a kind"))?;
            let name = &line[..tab];
            let kind =
                aiops_core::kinds::Kind::from_kind_name(name).ok_or_else(|| anyhow::anyhow!("unknown kind {name}"))?;
            Ok((kind, Items { line, start: tab + 1 }))
        });
        parsed.map_err(|e| bad = Some(e)).ok()
    });
    let t0 = Instant::now();
    let state = ClusterState::from_json_lists(lists, Default::default(), now)?;
    let decode_ms = t0.elapsed().as_secs_f64() * 1000.0;
    if let Some(e) = bad {
        return Err(e.into());
    }
    let t1 = Instant::now();
    let findings = analyze(&state);
    let analyze_ms = t1.elapsed().as_secs_f64() * 1000.0;
    Ok(json!({
        "pods": state.pods.len(), "events": state.events.len(), "findings": findings.len(),
        "input_mib": input_mib,
        "decode_ms": decode_ms, "analyze_ms": analyze_ms, "total_ms": decode_ms + analyze_ms,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

/// A line of the bench's input without its kind: the array, not copied out of the line.
struct Items {
    line: String,
    start: usize,
}

impl AsRef<str> for Items {
    fn as_ref(&self) -> &str {
        &self.line[self.start..]
    }
}

/// `aiops bench analyze`: for each size, the generated cluster is written as JSON text, then
/// read, decoded and analyzed in a child process, so the peak memory is the analysis's alone
/// (with the text it reads), not the generator's.
pub fn analyze_table(sizes: &[usize]) -> Result<Vec<Value>, Failure> {
    let exe = std::env::current_exe().map_err(anyhow::Error::from)?;
    let dir = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let mut rows = Vec::new();
    for &n in sizes {
        let input = dir.path().join(format!("cluster-{n}.txt"));
        let mut text = String::new();
        for (kind, items) in fixtures::generated_cluster_lists(n) {
            text.push_str(kind.info().name);
            text.push('\t');
            text.push_str(&items);
            text.push('\n');
        }
        std::fs::write(&input, text).map_err(anyhow::Error::from)?;
        let out = Command::new(&exe)
            .args(["bench", "analyze-one", "--input"])
            .arg(&input)
            .output()
            .map_err(anyhow::Error::from)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let row: Value = serde_json::from_str(text.trim()).map_err(|e| {
            anyhow::anyhow!(
                "bench child for {n} pods printed no result ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        rows.push(row);
        let _ = std::fs::remove_file(&input);
    }
    Ok(rows)
}

/// `aiops bench tokens`: every corpus question through the workflow with the offline reasoner;
/// per investigation, the bytes a model would have been sent (system prompt, tools and the
/// transcript, at every turn) and the input tokens estimated from them.
pub async fn tokens(corpus: &std::path::Path, output: crate::Output) -> Result<(), Failure> {
    use std::sync::Arc;
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(corpus)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("cluster.yaml").is_file() && p.join("expect.yaml").is_file())
        .collect();
    dirs.sort();
    let mut rows = Vec::new();
    for dir in &dirs {
        let text = std::fs::read_to_string(dir.join("expect.yaml")).map_err(anyhow::Error::from)?;
        let question = text
            .lines()
            .find_map(|l| l.strip_prefix("question:"))
            .map(|q| q.trim().trim_matches('"').to_string())
            .unwrap_or_default();
        let data = tempfile::tempdir().map_err(anyhow::Error::from)?;
        let source = aiops_cli::source::Source::from_snapshot(
            aiops_core::snapshot::Snapshot::load(dir)?,
            dir.display().to_string(),
        )
        .await?;
        let notifier: Arc<dyn aiops_core::ports::Notifier> = Arc::new(aiops_local::RecordingNotifier::new());
        let stack = aiops_cli::local::LocalStack::new(
            source,
            Arc::new(aiops_core::agent::offline::OfflineReasoner),
            notifier,
            aiops_cli::local::LocalOptions::new(data.path().to_path_buf()),
        )?;
        let (inv, _) = aiops_cli::local::run_unattended(&stack, &question).await?;
        let bytes = aiops_cli::local::model_bytes(&stack, &inv.id).await?;
        // With cache points (Claude 3.7+/4, Nova on Bedrock) every turn after the first reads the
        // system prompt and tool list from the cache; Bedrock reports those as cacheReadInputTokens,
        // apart from inputTokens, and bills them at a tenth of the input price.
        let prefix = aiops_core::agent::offline::estimate_prefix_tokens(&aiops_core::workflow::offered_tools(
            inv.writes,
            stack.source.aws().is_some(),
        ));
        let cache_read = prefix * u64::from(inv.turns.saturating_sub(1));
        rows.push(json!({
            "scenario": dir.file_name().and_then(|n| n.to_str()),
            "turns": inv.turns,
            "bytes": bytes,
            "input_tokens": inv.usage.input_tokens,
            "cache_read_tokens": cache_read,
            "uncached_input_tokens": inv.usage.input_tokens.saturating_sub(cache_read),
        }));
    }
    let mut uncached: Vec<u64> = rows.iter().filter_map(|r| r["uncached_input_tokens"].as_u64()).collect();
    uncached.sort_unstable();
    let mut toks: Vec<u64> = rows.iter().filter_map(|r| r["input_tokens"].as_u64()).collect();
    let mut bytes: Vec<u64> = rows.iter().filter_map(|r| r["bytes"].as_u64()).collect();
    toks.sort_unstable();
    bytes.sort_unstable();
    let median = |v: &[u64]| v.get(v.len() / 2).copied().unwrap_or(0);
    let summary = json!({
        "scenarios": rows.len(),
        "input_tokens": {"median": median(&toks), "max": toks.last().copied().unwrap_or(0)},
        "uncached_input_tokens": {"median": median(&uncached), "max": uncached.last().copied().unwrap_or(0)},
        "bytes": {"median": median(&bytes), "max": bytes.last().copied().unwrap_or(0)},
    });
    match output {
        crate::Output::Json => {
            println!("{}", serde_json::to_string_pretty(&json!({"summary": summary, "rows": rows}))?)
        }
        crate::Output::Text => {
            println!(
                "{} scenarios: input tokens per investigation median {} max {} (with cache points, uncached median {} max {}); bytes median {} max {}",
                summary["scenarios"],
                summary["input_tokens"]["median"],
                summary["input_tokens"]["max"],
                summary["uncached_input_tokens"]["median"],
                summary["uncached_input_tokens"]["max"],
                summary["bytes"]["median"],
                summary["bytes"]["max"]
            );
        }
    }
    Ok(())
}
