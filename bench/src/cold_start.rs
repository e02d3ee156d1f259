//! Cold starts: process start → first Runtime API request, for every function binary, the
//! hello-world Lambda and the Python baseline, run in turn (A B C … A B C …) so drift in the
//! machine's speed hits them alike. Each run is a fresh process; it is ended once it asks for
//! its first event.

use serde_json::{Value, json};

use crate::process::{Running, Target, round2, summary};

/// Measures `runs` cold starts of each target (after one unmeasured warm-up round that loads
/// the files into the page cache). Rows keep the targets' order; `baseline` names the row the
/// ratios divide by.
///
/// # Errors
/// When a target cannot start or fails its initialisation.
pub async fn measure(targets: &[Target], aws_url: &str, runs: usize, baseline: &str) -> anyhow::Result<Value> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut rss: Vec<f64> = vec![0.0; targets.len()];
    for round in 0..=runs {
        for (i, t) in targets.iter().enumerate() {
            let running = Running::start(t, aws_url).await?;
            let ms = running.init_ms;
            rss[i] = rss[i].max(running.peak_rss_mib().unwrap_or(0.0));
            running.stop().await;
            if round > 0 {
                samples[i].push(ms);
            }
        }
    }
    let base = targets
        .iter()
        .position(|t| t.name == baseline)
        .and_then(|i| summary(&samples[i])["median"].as_f64())
        .filter(|m| *m > 0.0);
    let rows: Vec<Value> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = summary(&samples[i]);
            let ratio = base.and_then(|b| s["median"].as_f64().map(|m| round2(m / b)));
            json!({"name": t.name, "init_ms": s, "ratio_to_hello": ratio, "rss_after_init_mib": round2(rss[i])})
        })
        .collect();
    Ok(json!({"runs": runs, "baseline": baseline, "rows": rows}))
}
