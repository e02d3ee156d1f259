//! `moto_server` on a free loopback port, started once per test binary and stopped when the
//! test process exits (a watchdog shell kills it when its parent is gone).
//!
//! The server comes from the venv `scripts/setup` creates (`$AIOPS_VENVS/moto`, default
//! `~/.cache/aiops-venvs/moto`), or from `$AIOPS_MOTO_SERVER`, or from `PATH`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    endpoint: String,
    port: u16,
}

/// The shared moto server of this test binary, started on first use.
///
/// # Errors
/// When `moto_server` cannot be found or does not come up; the message says how to install it.
pub fn shared() -> anyhow::Result<&'static Moto> {
    static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start().map_err(|e| format!("{e:#}"))).as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

fn find_server() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("AIOPS_MOTO_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let venvs = std::env::var("AIOPS_VENVS").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".cache/aiops-venvs")
    });
    let candidate = venvs.join("moto/bin/moto_server");
    if candidate.is_file() {
        return Ok(candidate);
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join("moto_server");
            if c.is_file() {
                return Ok(c);
            }
        }
    }
    bail!("moto_server not found: run scripts/setup (it installs moto[server] into {})", candidate.display())
}

impl Moto {
    /// Starts a new moto server.
    ///
    /// # Errors
    /// When it cannot be found or started within 30 s.
    pub fn start() -> anyhow::Result<Moto> {
        let server = find_server()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let me = std::process::id();
        // The watchdog ends moto when the test process (its grandparent) is gone.
        let script = format!(
            "\"{}\" -H 127.0.0.1 -p {port} >/dev/null 2>&1 & child=$!; while kill -0 {me} 2>/dev/null; do sleep 1; done; kill $child",
            server.display()
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("failed to start moto_server")?;
        let moto = Moto { endpoint: format!("http://127.0.0.1:{port}"), port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if moto.request("GET", "/moto-api/", "").is_ok() {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        bail!("moto_server at {} did not answer within 30 s", moto.endpoint)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Switches Step Functions to really executing definitions, with Lambda tasks served
    /// from the queued results (no Docker).
    ///
    /// # Errors
    /// When moto refuses the request.
    pub fn enable_stepfunctions_execution(&self) -> anyhow::Result<()> {
        self.request(
            "POST",
            "/moto-api/config",
            r#"{"stepfunctions":{"execute_state_machine":true},"lambda":{"use_docker":false}}"#,
        )?;
        Ok(())
    }

    /// Queues results that moto's simple Lambda backend returns, in order, for invocations.
    ///
    /// # Errors
    /// When moto refuses the request.
    pub fn queue_lambda_results(&self, region: &str, results: &[serde_json::Value]) -> anyhow::Result<()> {
        let body = serde_json::json!({
            "account_id": "123456789012",
            "region": region,
            "results": results.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        });
        self.request("POST", "/moto-api/static/lambda-simple/response", &body.to_string())?;
        Ok(())
    }

    /// Creates an IAM role Lambda may assume (moto's CreateFunction checks the role exists) and
    /// returns its ARN. A raw query-protocol call, so the tests need no IAM SDK crate.
    ///
    /// # Errors
    /// When moto refuses the request or its answer has no ARN.
    pub fn create_lambda_role(&self, name: &str) -> anyhow::Result<String> {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let encode = |v: &str| -> String {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={}&AssumeRolePolicyDocument={}",
            encode(name),
            encode(trust)
        );
        let out = self.raw(
            "POST",
            "/",
            "application/x-www-form-urlencoded",
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20251130/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n",
            &body,
        )?;
        out.split_once("<Arn>")
            .and_then(|(_, rest)| rest.split_once("</Arn>"))
            .map(|(arn, _)| arn.to_string())
            .ok_or_else(|| anyhow::anyhow!("CreateRole answered without an ARN: {out}"))
    }

    /// Sends a raw HTTP/1.1 request and returns the body.
    ///
    /// # Errors
    /// I/O errors and non-2xx statuses.
    pub fn request(&self, method: &str, path: &str, body: &str) -> anyhow::Result<String> {
        self.raw(method, path, "application/json", "", body)
    }

    /// A raw HTTP/1.1 request with a content type and extra header lines (each ending `\r\n`).
    fn raw(&self, method: &str, path: &str, content_type: &str, headers: &str, body: &str) -> anyhow::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        let status = out.split_whitespace().nth(1).unwrap_or("0").to_string();
        if !status.starts_with('2') {
            bail!("moto answered {status} to {method} {path}: {}", out.lines().last().unwrap_or_default());
        }
        Ok(out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
    }
}
