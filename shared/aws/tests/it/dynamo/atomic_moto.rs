//! A second moto server whose DynamoDB writes are atomic, as DynamoDB's are, for the tests
//! that race conditional writes against each other.
//!
//! Why: moto 5 evaluates a condition and then writes without a lock
//! (`moto/dynamodb/models/table.py`, `Table.put_item`: `current = self.get_item(…)`, then the
//! `ConditionExpression` is parsed and evaluated, then `self.items[…] = item`), and
//! `moto_server` serves each request on its own thread. Two concurrent puts guarded by
//! `attribute_not_exists(sk)` can therefore both succeed there, which DynamoDB never allows:
//! 40 concurrent audit appends against the shared moto produced duplicate sequence numbers.
//! This server is the same `moto_server` (same venv), started through a few lines of Python
//! that first wrap the DynamoDB backend's write operations in one lock. Only the race tests
//! use it; everything else runs on [`aiops_testkit::moto::shared`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const LAUNCHER: &str = r#"
import sys, threading
from moto.dynamodb.models import DynamoDBBackend
lock = threading.RLock()
def atomic(op):
    def locked(*args, **kwargs):
        with lock:
            return op(*args, **kwargs)
    return locked
for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    if hasattr(DynamoDBBackend, name):
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

/// The Python of the venv that holds `moto_server` (found as aiops-testkit finds it).
fn python() -> anyhow::Result<PathBuf> {
    let server = match std::env::var("AIOPS_MOTO_SERVER") {
        Ok(p) => PathBuf::from(p),
        Err(_) => std::env::var("AIOPS_VENVS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into())).join(".cache/aiops-venvs")
            })
            .join("moto/bin/moto_server"),
    };
    let python = server.with_file_name("python");
    if python.is_file() {
        Ok(python)
    } else {
        bail!("no python beside {}: run scripts/setup (it installs moto[server])", server.display())
    }
}

fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    let mut out = String::new();
    s.write_all(request.as_bytes()).is_ok() && s.read_to_string(&mut out).is_ok() && out.starts_with("HTTP/1.1 200")
}

fn start() -> anyhow::Result<String> {
    let python = python()?;
    let script = std::env::temp_dir().join(format!("aiops-atomic-moto-{}.py", std::process::id()));
    std::fs::write(&script, LAUNCHER).with_context(|| format!("failed to write {}", script.display()))?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let me = std::process::id();
    // As in aiops-testkit: a watchdog ends the server when the test process is gone.
    let watchdog = format!(
        "\"{}\" \"{}\" {port} >/dev/null 2>&1 & child=$!; while kill -0 {me} 2>/dev/null; do sleep 1; done; kill $child; rm -f \"{}\"",
        python.display(),
        script.display(),
        script.display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("failed to start the atomic moto server")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if answers(port) {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    bail!("the atomic moto server on port {port} did not answer within 30 s")
}

/// The endpoint of this test binary's atomic moto server, started on first use.
pub fn endpoint() -> anyhow::Result<&'static str> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER.get_or_init(|| start().map_err(|e| format!("{e:#}"))).as_deref().map_err(|e| anyhow::anyhow!("{e}"))
}
