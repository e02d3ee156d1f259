//! The diagnostic tools (check_resource_usage, connectivity_test) over the scenario corpus, as a
//! table test: every scenario's `tools:` expectations in expect.yaml, plus cases over older
//! scenarios whose folders predate the tools. Each case names the scenario in its assertion.

use std::path::Path;

use aiops_core::analyze::{ClusterState, Severity};
use aiops_core::snapshot::Snapshot;
use aiops_core::tools::{ConnectivityTarget, HopStatus, Render, UsageTarget, connectivity, resource_usage};
use serde_json::{Value, json};

use crate::corpus::{corpus_dir, scenarios};

struct Case {
    scenario: String,
    tool: String,
    args: Value,
    expect: Value,
}

/// Cases over scenarios that carry no `tools:` section.
fn builtin() -> Vec<Case> {
    let case = |scenario: &str, tool: &str, args: Value, expect: Value| Case {
        scenario: scenario.into(),
        tool: tool.into(),
        args,
        expect,
    };
    vec![
        case(
            "demo-oom-crashloop",
            "check_resource_usage",
            json!({"namespace": "production", "deployment": "payment-service"}),
            json!({"metrics": false, "reasons": ["OOMKilled"],
                   "must_mention": ["512Mi", "does not serve the resource metrics API", "SystemOOM", "set_container_resources"]}),
        ),
        case("healthy-cluster", "check_resource_usage", json!({}), json!({"metrics": false, "healthy": true})),
        case(
            "networkpolicy-blocks-dns",
            "connectivity_test",
            json!({"namespace": "risk", "service": "risk-db", "source_namespace": "risk", "source_pod": "fraud-check-6c8d7f9b5-gq2w4"}),
            json!({"first_broken": "dns_egress", "must_mention": ["default-deny-egress", "allow no DNS (port 53)"]}),
        ),
        case(
            "service-selector-mismatch",
            "connectivity_test",
            json!({"namespace": "production", "service": "orders-api", "port": 80}),
            json!({"first_broken": "selector", "must_mention": ["app=orders-api-v2 matches no pod", "app=orders-api ("]}),
        ),
        case(
            "readiness-probe-failing",
            "connectivity_test",
            json!({"namespace": "production", "service": "catalog-api"}),
            json!({"first_broken": "endpoints", "broken": ["endpoints", "readiness"], "must_mention": ["statuscode: 503"]}),
        ),
        case(
            "dns-nxdomain-wrong-service",
            "connectivity_test",
            json!({"namespace": "production", "service": "postgresql", "source_namespace": "production",
                   "source_pod": "inventory-sync-59c7d8b6f4-vx9tn"}),
            json!({"first_broken": "dns_logs", "must_mention": ["looks up postgres.production.svc.cluster.local"]}),
        ),
        case(
            "dns-failure-logs",
            "connectivity_test",
            json!({"namespace": "production", "service": "orders-api"}),
            json!({"broken": ["dns_service"], "must_mention": ["has no ready endpoint"]}),
        ),
        case(
            "ingress-missing-backend",
            "connectivity_test",
            json!({"namespace": "production", "service": "api-gateway"}),
            json!({"first_broken": "service", "must_mention": ["production/api-gateway does not exist", "gateway-api"]}),
        ),
    ]
}

fn from_expect_files() -> Vec<Case> {
    let mut out = Vec::new();
    for dir in scenarios() {
        let text = std::fs::read_to_string(dir.join("expect.yaml")).expect("expect.yaml");
        let expect: Value = serde_saphyr::from_str(&text).expect("expect.yaml parses");
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        for t in expect["tools"].as_array().cloned().unwrap_or_default() {
            out.push(Case {
                scenario: name.clone(),
                tool: t["tool"].as_str().unwrap_or_default().to_string(),
                args: t["args"].clone(),
                expect: t,
            });
        }
    }
    out
}

fn state_of(scenario: &str) -> ClusterState {
    let snap = Snapshot::load(&corpus_dir().join(scenario)).unwrap_or_else(|e| panic!("{scenario}: {e}"));
    ClusterState::from_snapshot(&snap).unwrap_or_else(|e| panic!("{scenario}: {e}"))
}

fn s(args: &Value, key: &str) -> Option<String> {
    args[key].as_str().map(str::to_string)
}

/// Runs one case; returns the problems found.
fn check(case: &Case) -> Vec<String> {
    let who = format!("{} {} {}", case.scenario, case.tool, case.args);
    let state = state_of(&case.scenario);
    let e = &case.expect;
    let mut problems = Vec::new();
    let text = match case.tool.as_str() {
        "check_resource_usage" => {
            let target = UsageTarget {
                namespace: s(&case.args, "namespace"),
                pod: s(&case.args, "pod"),
                deployment: s(&case.args, "deployment"),
            };
            let got = match resource_usage(&state, &target) {
                Ok(g) => g,
                Err(err) => return vec![format!("{who}: {err}")],
            };
            if let Some(m) = e["metrics"].as_bool()
                && got.metrics.available != m
            {
                problems.push(format!(
                    "{who}: metrics available {} (want {m}): {}",
                    got.metrics.available, got.metrics.note
                ));
            }
            if let Some(h) = e["healthy"].as_bool()
                && got.healthy != h
            {
                let loud: Vec<String> = got
                    .findings
                    .iter()
                    .filter(|f| f.severity > Severity::Info)
                    .map(|f| format!("{} {}/{} [{}] {}", f.kind, f.namespace, f.name, f.reason, f.message))
                    .collect();
                problems.push(format!("{who}: healthy {} (want {h}): {loud:#?}", got.healthy));
            }
            for r in e["reasons"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !got.findings.iter().any(|f| f.reason == r) {
                    let reasons: Vec<&str> = got.findings.iter().map(|f| f.reason.as_str()).collect();
                    problems.push(format!("{who}: no {r} finding; found {reasons:?}"));
                }
            }
            got.text()
        }
        "connectivity_test" => {
            let target = ConnectivityTarget {
                namespace: s(&case.args, "namespace").unwrap_or_default(),
                service: s(&case.args, "service").unwrap_or_default(),
                port: case.args["port"].as_i64().and_then(|p| i32::try_from(p).ok()),
                source_namespace: s(&case.args, "source_namespace"),
                source_pod: s(&case.args, "source_pod"),
            };
            let got = match connectivity(&state, &target) {
                Ok(g) => g,
                Err(err) => return vec![format!("{who}: {err}")],
            };
            let text = got.text();
            if let Some(want) = e.get("first_broken") {
                let want = want.as_str();
                if got.first_broken.as_deref() != want {
                    problems.push(format!("{who}: first broken {:?}, want {want:?}:\n{text}", got.first_broken));
                }
            }
            for step in e["broken"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !got.hops.iter().any(|h| h.step == step && h.status == HopStatus::Broken) {
                    problems.push(format!("{who}: hop {step} is not broken:\n{text}"));
                }
            }
            text
        }
        other => return vec![format!("{who}: unknown tool {other}")],
    };
    for m in e["must_mention"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !text.contains(m) {
            problems.push(format!("{who}: the result does not mention {m:?}:\n{text}"));
        }
    }
    problems
}

#[test]
fn diagnostic_tools_over_the_corpus() {
    let from_files = from_expect_files();
    assert!(
        from_files.iter().any(|c| c.tool == "check_resource_usage")
            && from_files.iter().any(|c| c.tool == "connectivity_test"),
        "the corpus has tool expectations for both tools"
    );
    let cases: Vec<Case> = from_files.into_iter().chain(builtin()).collect();
    let mut problems = Vec::new();
    for case in &cases {
        problems.extend(check(case));
    }
    assert!(problems.is_empty(), "{} problems over {} cases:\n{}", problems.len(), cases.len(), problems.join("\n"));
}

#[test]
fn resource_usage_runs_on_every_scenario_and_knows_whether_metrics_are_there() {
    let mut problems = Vec::new();
    for dir in scenarios() {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let has_metrics = std::fs::read_to_string(Path::new(&dir).join("cluster.yaml"))
            .map(|t| t.contains("kind: PodMetrics"))
            .unwrap_or(false);
        let state = state_of(&name);
        match resource_usage(&state, &UsageTarget::default()) {
            Ok(got) if got.metrics.available != has_metrics => {
                problems.push(format!(
                    "{name}: metrics available {} but the snapshot has PodMetrics: {has_metrics}",
                    got.metrics.available
                ));
            }
            Ok(got) if !has_metrics && !got.text().contains("does not serve the resource metrics API") => {
                problems.push(format!("{name}: the absence of metrics is not said plainly"));
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
