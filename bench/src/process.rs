//! Function processes: the environment Lambda gives them (and the variables each of ours
//! reads), starting one against a Runtime API, its peak memory, and the statistics the
//! figures quote.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::runtime_api::RuntimeApi;

/// The functions of `functions/*` (api and sweep when their binaries exist), in the order the
/// figures list them.
pub const FUNCTIONS: &[&str] = &["reason", "k8s-read", "diagnose", "aws-read", "approval", "k8s-write", "api", "sweep"];

/// Something to start as a Lambda function process.
#[derive(Debug, Clone)]
pub struct Target {
    /// The figure's row name.
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl Target {
    /// A binary of `bin_dir`, if it was built.
    pub fn binary(bin_dir: &Path, name: &str) -> Option<Target> {
        let program = bin_dir.join(name);
        program.is_file().then(|| Target { name: name.to_string(), program, args: Vec::new() })
    }
}

/// The environment of a Lambda function named `function` (what the Lambda service sets, the
/// variables of shared/aws/src/config.rs and the functions' headers), with every AWS endpoint at
/// `aws_url` on loopback and credentials that are fake.
pub fn lambda_env(function: &str, runtime_api: &str, aws_url: &str) -> Vec<(String, String)> {
    let name = format!("aiops-{function}");
    let vars = [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("_HANDLER", "bootstrap"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2025/01/01/[$LATEST]0123456789abcdef"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK"),
        ("AWS_SECRET_ACCESS_KEY", "benchmark-secret"),
        ("AWS_SESSION_TOKEN", "benchmark-session"),
        // No profile files and no instance metadata: everything comes from the variables.
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AIOPS_STATE_TABLE", "aiops-state"),
        ("AIOPS_AUDIT_TABLE", "aiops-audit"),
        ("AIOPS_APPROVALS_TABLE", "aiops-approvals"),
        ("AIOPS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:aiops"),
        ("AIOPS_CLUSTER_NAME", crate::fake_aws::CLUSTER),
        ("AIOPS_APPROVALS_URL", "http://127.0.0.1/approvals"),
        ("AIOPS_STATE_MACHINE_ARN", "arn:aws:states:eu-west-1:123456789012:stateMachine:aiops-investigation"),
        ("BEDROCK_MODEL_ID", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ];
    let mut env: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.into()));
    env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), name.clone()));
    env.push(("AWS_LAMBDA_LOG_GROUP_NAME".into(), format!("/aws/lambda/{name}")));
    env.push(("AWS_ENDPOINT_URL".into(), aws_url.into()));
    env
}

/// A started function process and its Runtime API.
pub struct Running {
    pub api: RuntimeApi,
    pub child: Child,
    /// Milliseconds from just before the spawn to its first Runtime API request.
    pub init_ms: f64,
}

impl Running {
    /// Starts `target` and waits for its first Runtime API request.
    ///
    /// # Errors
    /// When it cannot be started, exits first (with what it printed), or makes no request
    /// within 30 s.
    pub async fn start(target: &Target, aws_url: &str) -> anyhow::Result<Running> {
        let api = RuntimeApi::start().await?;
        let mut cmd = Command::new(&target.program);
        cmd.args(&target.args)
            .env_clear()
            .envs(lambda_env(&target.name, &api.authority(), aws_url))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", target.program.display()))?;
        let first = tokio::select! {
            first = api.wait_first_request(Duration::from_secs(30)) => first,
            status = child.wait() => {
                let mut err = String::new();
                if let Some(mut s) = child.stderr.take() {
                    let _ = s.read_to_string(&mut err).await;
                }
                bail!("{} exited ({}) before asking for an event: {}", target.name, status.map(|s| s.to_string()).unwrap_or_default(), err.trim());
            }
        };
        let Some(first) = first else { bail!("{} made no Runtime API request within 30 s", target.name) };
        if let Some(e) = api.init_error() {
            bail!("{} reported an init error: {e}", target.name);
        }
        let init_ms = first.duration_since(started).as_secs_f64() * 1000.0;
        Ok(Running { api, child, init_ms })
    }

    /// The process's memory high-water mark (VmHWM) so far, in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.child.id().and_then(vm_hwm_mib)
    }

    /// Ends the process.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `VmHWM` of a process, in MiB.
pub fn vm_hwm_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Median, p99 (nearest rank), min and max of `samples`, with their count.
pub fn summary(samples: &[f64]) -> Value {
    let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return json!({"n": 0});
    }
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
    json!({"n": v.len(), "median": round2(median), "p99": round2(rank(0.99)), "min": round2(v[0]), "max": round2(v[v.len() - 1])})
}

/// Rounds to 2 decimals for the figures.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The Lambda memory size for a measured peak: the smallest of the usual sizes that leaves at
/// least twice the peak (headroom for larger clusters, logs and the allocator), never under
/// Lambda's 128 MB minimum.
pub fn recommended_memory_mb(peak_mib: f64) -> u32 {
    const SIZES: &[u32] = &[128, 256, 512, 1024, 1769, 3008];
    let need = peak_mib * 2.0 * 1.048_576; // MiB → MB
    SIZES.iter().copied().find(|&s| f64::from(s) >= need).unwrap_or(3008)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_nearest_rank_p99_and_the_middle_median() {
        let s = summary(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s["median"], 3.0);
        assert_eq!(s["p99"], 5.0);
        assert_eq!(s["min"], 1.0);
        let even = summary(&[1.0, 2.0, 3.0, 10.0]);
        assert_eq!(even["median"], 2.5);
        assert_eq!(summary(&[])["n"], 0);
    }

    #[test]
    fn memory_size_leaves_twice_the_peak() {
        assert_eq!(recommended_memory_mb(20.0), 128);
        assert_eq!(recommended_memory_mb(70.0), 256);
        assert_eq!(recommended_memory_mb(300.0), 1024);
    }
}
