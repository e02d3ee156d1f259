//! Tool handlers per invocation: each tool function's release binary, started as a Lambda
//! against the Runtime API, sent the same tool call again and again. The cluster is the
//! simulated one (a snapshot served over loopback, reached through the EKS path: DescribeCluster
//! → kube client); DynamoDB is moto behind the counting fake AWS endpoint, so each figure says
//! how much of an invocation was the emulator's.

use std::time::Duration;

use anyhow::bail;
use serde_json::{Value, json};

use crate::fake_aws::FakeAws;
use crate::process::{Running, Target, recommended_memory_mb, round2, summary};

/// The tool calls measured: (function, tool, arguments for the demo snapshot).
pub fn calls() -> Vec<(&'static str, &'static str, Value)> {
    let ns = "production";
    let pod = "payment-service-7d9f8b6c5d-x2k4p";
    vec![
        ("k8s-read", "get_pods", json!({"namespace": ns})),
        ("k8s-read", "describe_pod", json!({"namespace": ns, "pod": pod})),
        ("k8s-read", "get_events", json!({"namespace": ns})),
        ("k8s-read", "get_pod_logs", json!({"namespace": ns, "pod": pod})),
        ("k8s-read", "get_deployments", json!({"namespace": ns})),
        ("k8s-read", "get_nodes", json!({})),
        ("k8s-read", "get_services", json!({"namespace": ns})),
        ("diagnose", "analyze_pod_issues", json!({"namespace": ns, "pod": pod})),
        ("diagnose", "check_resource_usage", json!({"namespace": ns, "deployment": "payment-service"})),
        ("diagnose", "connectivity_test", json!({"namespace": ns, "service": "payment-service"})),
        ("aws-read", "describe_cluster", json!({})),
        ("aws-read", "list_nodegroups", json!({})),
        ("aws-read", "get_node_health", json!({})),
    ]
}

/// Runs `runs` invocations (after 3 unmeasured ones) of every call whose function was built.
///
/// # Errors
/// When a function cannot start or an invocation gets no answer.
pub async fn measure(bin_dir: &std::path::Path, fake: &FakeAws, runs: usize) -> anyhow::Result<Value> {
    let all = calls();
    let mut functions: Vec<&str> = all.iter().map(|(f, _, _)| *f).collect();
    functions.dedup();
    let mut rows = Vec::new();
    let mut sizes = Vec::new();
    for function in functions {
        let Some(target) = Target::binary(bin_dir, function) else { continue };
        let running = Running::start(&target, &fake.url()).await?;
        let _ = fake.take_calls();
        for (n, (_, tool, args)) in all.iter().filter(|(f, _, _)| *f == function).enumerate() {
            let inv = format!("inv-20250101T000000-bench{n:04}");
            let mut total = Vec::new();
            let mut emulator = Vec::new();
            let mut requests = 0usize;
            let mut outcome = Value::Null;
            for i in 0..runs + 3 {
                let event = json!({"investigation_id": inv, "call": {"id": format!("t{i}-0"), "tool": tool, "args": args, "home": function}});
                let reply = running.api.invoke(event, Duration::from_secs(60)).await?;
                if !reply.ok {
                    bail!("{function} failed {tool}: {}", reply.body);
                }
                let calls = fake.take_calls();
                if i >= 3 {
                    total.push(reply.millis());
                    emulator.push(calls.iter().map(|c| c.millis).sum::<f64>());
                    requests = calls.len();
                }
                outcome = reply.body;
            }
            let mean_emulator = emulator.iter().sum::<f64>() / emulator.len().max(1) as f64;
            rows.push(json!({
                "function": function,
                "tool": tool,
                "ok": outcome.get("ok").cloned().unwrap_or(Value::Null),
                "invocation_ms": summary(&total),
                "aws_requests": requests,
                "aws_emulator_ms_mean": round2(mean_emulator),
            }));
        }
        let peak = running.peak_rss_mib().unwrap_or(0.0);
        sizes.push(
            json!({"function": function, "peak_rss_mib": round2(peak), "memory_mb": recommended_memory_mb(peak)}),
        );
        running.stop().await;
    }
    Ok(json!({"runs": runs, "rows": rows, "memory": sizes}))
}
