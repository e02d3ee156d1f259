//! Profiles the analyzers on a generated cluster without the CLI around them (the same input as
//! `aiops bench analyze`: one line per kind, its name, a tab, the JSON array of its objects):
//! `analyze_profile write 10000 /tmp/c.txt`, then `analyze_profile read /tmp/c.txt`, built with
//! `cargo build --profile profiling -p aiops-core --example analyze_profile`.

use std::io::{BufRead, Write};
use std::time::Instant;

use aiops_core::kinds::Kind;

fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .map_or(0.0, |kb: f64| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("write") => {
            let pods: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
            let mut out = std::io::BufWriter::new(std::fs::File::create(args.get(3).ok_or("no file")?)?);
            for (kind, items) in aiops_core::fixtures::generated_cluster_lists(pods) {
                writeln!(out, "{}\t{items}", kind.info().name)?;
            }
        }
        Some("read") => {
            let file = std::fs::File::open(args.get(2).ok_or("no file")?)?;
            let now = aiops_core::fixtures::NOW.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let lists = std::io::BufReader::new(file).lines().map_while(Result::ok).filter_map(|mut line| {
                let tab = line.find('\t')?;
                let kind = Kind::from_kind_name(&line[..tab])?;
                line.replace_range(..=tab, "");
                Some((kind, line))
            });
            let t0 = Instant::now();
            let state = aiops_core::analyze::ClusterState::from_json_lists(lists, Default::default(), now)?;
            let decode = t0.elapsed();
            let decoded = status_mib("VmRSS:");
            let t1 = Instant::now();
            let findings = aiops_core::analyze::analyze(&state);
            println!(
                "{} pods: decode {decode:?}, analyze {:?}, {} findings, RSS after decode {decoded:.0} MiB, peak {:.0} MiB",
                state.pods.len(),
                t1.elapsed(),
                findings.len(),
                status_mib("VmHWM:")
            );
        }
        _ => return Err("usage: analyze_profile write PODS FILE | read FILE".into()),
    }
    Ok(())
}
