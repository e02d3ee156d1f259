//! The scenario corpus (tests/snapshots) as a table test: every scenario's expected root
//! cause is found with its key numbers; healthy controls report nothing above info; no
//! obviously wrong action is proposed.

use std::path::{Path, PathBuf};

use aiops_core::analyze::{ClusterState, Finding, Severity, analyze};
use aiops_core::snapshot::Snapshot;
use serde_json::Value;

/// The corpus folder.
pub fn corpus_dir() -> PathBuf {
    Path::new(&manifest_dir()).join("../../tests/snapshots")
}

/// Every scenario folder (those with a cluster.yaml), sorted.
pub fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/snapshots exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("cluster.yaml").is_file())
        .collect();
    v.sort();
    v
}

fn load_expect(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("expect.yaml")).expect("expect.yaml");
    serde_saphyr::from_str::<Value>(&text).expect("expect.yaml parses")
}

/// All findings and the symptoms in their chains, as (kind, namespace, name, reason, root?).
fn flatten(findings: &[Finding]) -> Vec<(String, String, String, String, bool)> {
    let mut out = Vec::new();
    for f in findings {
        out.push((f.kind.clone(), f.namespace.clone(), f.name.clone(), f.reason.clone(), true));
        for c in &f.chain {
            out.push((c.kind.clone(), c.namespace.clone(), c.name.clone(), c.reason.clone(), false));
        }
    }
    out
}

fn matches(f: &Finding, kind: &str, ns: &str, name: &str, reason: Option<&str>) -> bool {
    f.kind == kind
        && (ns.is_empty() || f.namespace == ns)
        && name_matches(&f.name, name)
        && reason.is_none_or(|r| f.reason == r)
}

/// `name` is an exact name, or `prefix*` from an `also_accept` entry's `name_prefix`.
fn name_matches(actual: &str, want: &str) -> bool {
    match want.strip_suffix('*') {
        Some(prefix) => actual.starts_with(prefix),
        None => actual == want,
    }
}

fn check(dir: &Path) -> Vec<String> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
    let mut problems = Vec::new();
    let snap = match Snapshot::load(dir) {
        Ok(s) => s,
        Err(e) => return vec![format!("{name}: does not load: {e}")],
    };
    let state = match ClusterState::from_snapshot(&snap) {
        Ok(s) => s,
        Err(e) => return vec![format!("{name}: does not decode: {e}")],
    };
    let findings = analyze(&state);
    let expect = load_expect(dir);
    let summary = || {
        findings
            .iter()
            .map(|f| {
                format!(
                    "\n    {} {} {}/{} [{}] {}",
                    f.severity.as_str(),
                    f.kind,
                    f.namespace,
                    f.name,
                    f.reason,
                    f.message
                )
            })
            .collect::<String>()
    };
    if expect["healthy"].as_bool() == Some(true) {
        let loud: Vec<&Finding> = findings.iter().filter(|f| f.severity > Severity::Info).collect();
        if !loud.is_empty() {
            problems.push(format!("{name}: healthy control raised alarms:{}", summary()));
        }
    }
    let flat = flatten(&findings);
    for (i, e) in expect["findings"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let kind = e["kind"].as_str().unwrap_or_default();
        let ns = e["namespace"].as_str().unwrap_or_default();
        let fname = e["name"].as_str().unwrap_or_default();
        let reason = e["reason"].as_str();
        let mut alternatives = vec![(kind.to_string(), ns.to_string(), fname.to_string(), reason.map(str::to_string))];
        for alt in e["also_accept"].as_array().cloned().unwrap_or_default() {
            let alt_name = match alt["name_prefix"].as_str() {
                Some(prefix) => format!("{prefix}*"),
                None => alt["name"].as_str().unwrap_or(fname).to_string(),
            };
            alternatives.push((
                alt["kind"].as_str().unwrap_or(kind).to_string(),
                alt["namespace"].as_str().unwrap_or(ns).to_string(),
                alt_name,
                alt["reason"].as_str().map(str::to_string),
            ));
        }
        let found_root =
            findings.iter().find(|f| alternatives.iter().any(|(k, n, m, r)| matches(f, k, n, m, r.as_deref())));
        let found_any = flat.iter().any(|(k, n, m, r, _)| {
            alternatives.iter().any(|(ak, an, am, ar)| {
                ak == k && (an.is_empty() || an == n) && name_matches(m, am) && ar.as_deref().is_none_or(|x| x == r)
            })
        });
        match (i, found_root) {
            (0, None) => {
                problems.push(format!(
                    "{name}: root cause {kind} {ns}/{fname} [{}] not found as a root finding:{}",
                    reason.unwrap_or("?"),
                    summary()
                ));
                continue;
            }
            (_, None) if !found_any => {
                problems.push(format!(
                    "{name}: finding {kind} {ns}/{fname} [{}] not found, as root or in a chain:{}",
                    reason.unwrap_or("?"),
                    summary()
                ));
                continue;
            }
            (_, None) => continue,
            (_, Some(f)) => {
                if let Some(sev) = e["severity"].as_str().and_then(Severity::parse)
                    && f.severity < sev
                {
                    problems.push(format!(
                        "{name}: {kind} {fname} severity {} below expected {}",
                        f.severity.as_str(),
                        sev.as_str()
                    ));
                }
                let text = format!("{} {}", f.message, f.evidence.join(" "));
                for m in e["must_mention"].as_array().cloned().unwrap_or_default() {
                    let m = m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string());
                    if !text.contains(&m) {
                        problems.push(format!("{name}: {kind} {fname} does not mention {m:?}: {}", f.message));
                    }
                }
            }
        }
    }
    let typed: Vec<(&str, &Value)> = findings
        .iter()
        .flat_map(|f| f.actions.iter())
        .filter_map(|a| Some((a.tool.as_deref()?, a.args.as_ref()?)))
        .collect();
    if let Some(want) = expect.get("action").filter(|a| a.is_object()) {
        let tool = want["tool"].as_str().unwrap_or_default();
        let ok = typed.iter().any(|(t, args)| {
            *t == tool
                && want["args"].as_object().is_none_or(|w| {
                    w.iter().all(|(k, v)| match k.as_str() {
                        "namespace" | "deployment" | "container" | "revision" | "replicas" => args.get(k) == Some(v),
                        _ => args.get(k).is_some(),
                    })
                })
        });
        if !ok {
            problems.push(format!(
                "{name}: expected action {tool} {} not proposed; typed actions: {typed:?}",
                want["args"]
            ));
        }
    }
    for bad in expect["must_not_propose"].as_array().cloned().unwrap_or_default() {
        let bad = bad.as_str().unwrap_or_default();
        if typed.iter().any(|(t, _)| *t == bad) {
            problems.push(format!("{name}: proposes {bad}, which would be wrong here"));
        }
    }
    problems
}

#[test]
fn every_scenario_finds_its_root_cause() {
    let all = scenarios();
    assert!(all.len() >= 30, "the corpus has {} scenarios; expected at least 30", all.len());
    let mut problems = Vec::new();
    for dir in &all {
        problems.extend(check(dir));
    }
    assert!(problems.is_empty(), "{} problems over {} scenarios:\n{}", problems.len(), all.len(), problems.join("\n"));
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
