//! Test helpers for the API: `aiops serve-api` as a child process over a corpus snapshot, a
//! minimal HTTP/1.1 client over loopback, and the `aiops` binary in remote mode.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Credentials the remote CLI signs with: fake, and never sent anywhere but loopback.
pub const ACCESS_KEY: &str = "AKIDAPITEST";

/// The environment the `aiops` children run in: fake AWS credentials, no profile files, no
/// instance metadata.
pub fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aiops-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aiops-test")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AIOPS_API_URL")
        .env_remove("AIOPS_CORS_ORIGIN")
}

/// A running `aiops serve-api`; killed when dropped.
pub struct ServeApi {
    child: Child,
    pub url: String,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl ServeApi {
    /// Serves the corpus snapshot `snapshot` with the offline reasoner on a free port.
    pub fn start(snapshot: &str, extra: &[&str]) -> ServeApi {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aiops"));
        aws_env(&mut cmd)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["serve-api", "--port", "0", "--reasoner", "offline", "--snapshot"])
            .arg(crate::support::corpus(snapshot))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("aiops serve-api starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("first line");
        let url = line.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "serve-api printed {line:?}");
        let addr = url.trim_start_matches("http://").to_string();
        ServeApi { child, url, addr, dir }
    }

    /// Runs `aiops --api URL ARGS…` and returns its output.
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_aiops"));
        aws_env(&mut cmd).arg("--api").arg(&self.url).args(args).stdin(Stdio::null());
        cmd.output().expect("aiops runs")
    }

    /// One HTTP request to the server.
    pub fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        http(&self.addr, method, path, headers, body)
    }

    /// `GET path` as JSON, expecting 200.
    pub fn get_json(&self, path: &str) -> Value {
        let r = self.http("GET", path, &[], b"");
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }

    /// Polls `GET /investigations/{id}` until `done` says so (bounded: 120 s).
    pub fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let d = self.get_json(&format!("/investigations/{id}"));
            if done(&d) {
                return d;
            }
            assert!(Instant::now() < deadline, "investigation {id} never got there: {d:#}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ServeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A minimal HTTP/1.1 exchange (one request per connection).
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write");
    // A server may answer (413) before reading a large body: ignore a broken pipe then.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status: u16 = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    Response { status, headers, body }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n.min(rest.len())]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

/// The stdout of a CLI run as JSON, asserting it succeeded.
pub fn ok_json(what: &str, out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}
