//! `aiops bench`: the benchmarks whose figures the README quotes. Each measurement runs in a
//! child process of its own so its peak memory (VmHWM) is its own.

use std::process::Command;
use std::time::Instant;

use aiops_core::analyze::{ClusterState, analyze};
use aiops_core::fixtures::{self, event, pod};
use serde_json::{Value, json};

use crate::Failure;

/// A generated cluster: `pods` pods in deployments of 10, 30 pods a node, 5 events a pod, and
/// a realistic share of failures (about 3%: OOM crash loops, image pulls, unschedulable pods,
/// failing readiness).
pub fn generate(pods: usize) -> Vec<Value> {
    let mut objects = Vec::with_capacity(pods * 7);
    let nodes = pods.div_ceil(30).max(1);
    for n in 0..nodes {
        objects.push(fixtures::node(
            &format!("ip-10-0-{}-{}.eu-west-1.compute.internal", n / 250, n % 250),
            "4",
            "15Gi",
        ));
    }
    let namespaces = (pods / 1000).max(1);
    for ns in 0..namespaces {
        objects.push(fixtures::namespace(&format!("team-{ns}")));
    }
    let deployments = pods.div_ceil(10);
    for d in 0..deployments {
        let ns = format!("team-{}", d % namespaces);
        let name = format!("svc-{d}");
        let hash = format!("{:010x}", d * 7919 + 1);
        let failing = d % 33 == 7;
        objects.push(fixtures::deployment(&ns, &name, 10, if failing { 9 } else { 10 }, 3));
        objects.push(fixtures::replicaset(&ns, &name, &hash, 3, &format!("registry.example.com/{name}:1.0.0"), 10, 10));
        objects.push(fixtures::service(&ns, &name, &name));
        let rs = format!("{name}-{hash}");
        let mut eps = Vec::new();
        for i in 0..10 {
            let pname = format!("{rs}-{:05x}", i);
            let node = format!(
                "ip-10-0-{}-{}.eu-west-1.compute.internal",
                ((d * 10 + i) % nodes) / 250,
                ((d * 10 + i) % nodes) % 250
            );
            let mut p = pod(&pname)
                .in_ns(&ns)
                .owned_by_rs(&rs)
                .on_node(&node)
                .labels(&[("app", &name), ("pod-template-hash", &hash)]);
            let broken = failing && i == 0;
            if broken {
                p = match d % 4 {
                    0 => p.memory_limit("512Mi").crashlooping(6).oom_killed(),
                    1 => p.waiting("ImagePullBackOff", "Back-off pulling image"),
                    2 => p.unschedulable("0/40 nodes are available: 40 Insufficient memory."),
                    _ => p.unready(),
                };
            }
            objects.push(p.build());
            eps.push((pname.clone(), !broken));
            for e in 0..5 {
                let (ty, reason, msg) = match (broken, e) {
                    (true, 0) => ("Warning", "BackOff", "Back-off restarting failed container app"),
                    (true, 1) => {
                        ("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")
                    }
                    (_, 0) => ("Normal", "Scheduled", "Successfully assigned pod"),
                    (_, 1) => ("Normal", "Pulled", "Container image already present on machine"),
                    (_, 2) => ("Normal", "Created", "Created container app"),
                    (_, 3) => ("Normal", "Started", "Started container app"),
                    _ => ("Normal", "Pulling", "Pulling image"),
                };
                objects.push(event(&ns, "Pod", &pname, ty, reason, msg, 1 + e, 60 * (e as i64 + 1)));
            }
        }
        let refs: Vec<(&str, bool)> = eps.iter().map(|(n, r)| (n.as_str(), *r)).collect();
        objects.push(fixtures::endpoints(&ns, &name, &refs));
    }
    objects
}

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

/// One measurement, in this process: generate, decode, analyze.
pub fn analyze_one(pods: usize) -> Value {
    let objects = generate(pods);
    let events = objects.iter().filter(|o| o["kind"] == "Event").count();
    let baseline = peak_rss_mib();
    let now = fixtures::NOW.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let t0 = Instant::now();
    let state = ClusterState::from_objects(&objects, Default::default(), now);
    let decode_ms = t0.elapsed().as_secs_f64() * 1000.0;
    drop(objects);
    let Ok(state) = state else { return json!({"error": "generated objects do not decode"}) };
    let t1 = Instant::now();
    let findings = analyze(&state);
    let analyze_ms = t1.elapsed().as_secs_f64() * 1000.0;
    json!({
        "pods": pods, "events": events, "findings": findings.len(),
        "decode_ms": decode_ms, "analyze_ms": analyze_ms, "total_ms": decode_ms + analyze_ms,
        "peak_rss_mib": peak_rss_mib(), "generator_rss_mib": baseline,
    })
}

/// `aiops bench analyze`: 1k, 10k and 50k pods, each in a child process.
pub fn analyze_table(sizes: &[usize]) -> Result<Vec<Value>, Failure> {
    let exe = std::env::current_exe().map_err(anyhow::Error::from)?;
    let mut rows = Vec::new();
    for &n in sizes {
        let out = Command::new(&exe)
            .args(["bench", "analyze-one", "--pods", &n.to_string()])
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
