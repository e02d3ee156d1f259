//! Profiles the analyzers on a generated cluster without the CLI around them:
//! `cargo run --profile profiling -p aiops-core --example analyze_profile -- 10000`.

use std::time::Instant;

fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .map_or(0.0, |kb: f64| kb / 1024.0)
}

fn main() {
    let pods: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let lists = aiops_core::fixtures::generated_cluster_lists(pods);
    let input = rss_mib("VmRSS:");
    let now = aiops_core::fixtures::NOW.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let t0 = Instant::now();
    let state = aiops_core::analyze::ClusterState::from_json_lists(
        lists.iter().map(|(k, t)| (*k, t.as_str())),
        Default::default(),
        now,
    )
    .unwrap_or_else(|e| panic!("generated objects do not decode: {e}"));
    let decode = t0.elapsed();
    let decoded = rss_mib("VmRSS:");
    let t1 = Instant::now();
    let findings = aiops_core::analyze::analyze(&state);
    println!(
        "{pods} pods: decode {decode:?}, analyze {:?}, {} findings; RSS input {input:.0} MiB, after decode {decoded:.0}, peak {:.0}",
        t1.elapsed(),
        findings.len(),
        rss_mib("VmHWM:")
    );
}
