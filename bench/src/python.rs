//! The Python baseline: `bench/python/handler.py` (boto3 and the kubernetes client, the same
//! initialisation as the k8s-read function) under `bench/python/bootstrap.py` (a minimal
//! runtime loop), started from its own venv, `$AIOPS_VENVS/pybench` (made by scripts/bench).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde_json::{Value, json};

use crate::process::{Running, Target, round2};

/// The baseline's row name in the figures.
pub const NAME: &str = "python-baseline";

/// The venv's interpreter.
pub fn venv_python() -> PathBuf {
    let venvs = std::env::var_os("AIOPS_VENVS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache/aiops-venvs")
    });
    venvs.join("pybench/bin/python")
}

/// The baseline as a target, when its venv and scripts exist.
pub fn target(script_dir: &Path) -> Option<Target> {
    let python = venv_python();
    let script = script_dir.join("bootstrap.py");
    (python.is_file() && script.is_file()).then(|| Target {
        name: NAME.to_string(),
        program: python,
        args: vec![script.display().to_string()],
    })
}

/// One start of each of `targets` followed by its first get_pods invocation against the
/// simulated cluster: initialisation, the first invocation, and the memory after it. Checks
/// that each answered with the pods, so a baseline that cannot reach the cluster is no figure.
///
/// # Errors
/// When a target fails to start or to answer.
pub async fn first_invocation(targets: &[Target], aws_url: &str) -> anyhow::Result<Value> {
    let mut rows = Vec::new();
    for t in targets {
        let running = Running::start(t, aws_url).await?;
        let event = json!({"investigation_id": "inv-20250101T000000-python00", "call": {"id": "t0-0", "tool": "get_pods", "args": {"namespace": "production"}, "home": "k8s-read"}});
        let reply = running.api.invoke(event, Duration::from_secs(60)).await?;
        if !reply.ok || reply.body.get("ok") != Some(&Value::Bool(true)) {
            bail!("{} did not list the pods: {}", t.name, reply.body);
        }
        rows.push(json!({
            "name": t.name,
            "init_ms": round2(running.init_ms),
            "first_get_pods_ms": round2(reply.millis()),
            "peak_rss_mib": round2(running.peak_rss_mib().unwrap_or(0.0)),
        }));
        running.stop().await;
    }
    Ok(json!({"rows": rows}))
}
