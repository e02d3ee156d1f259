//! The approvals page (`GET /ui`) in headless Chromium against `aiops serve-api`: the page
//! lists the pending approval with its diff and evidence, a click on Approve decides it, and
//! the decision is in the store. Chromium is driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`, through two FIFOs), so the test needs no websocket library.
//!
//! Needs Debian's `chromium` (scripts/setup installs it); without it the test says so and
//! skips.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aiops_core::agent::approval::ApprovalStatus;
use aiops_core::ports::ApprovalStore;
use serde_json::{Value, json};

use crate::serving::ServeApi;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Chromium with a DevTools session over `--remote-debugging-pipe`.
struct Browser {
    child: Child,
    to: std::fs::File,
    from: BufReader<std::fs::File>,
    next_id: u64,
    session: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn launch(binary: &Path) -> Browser {
        let dir = tempfile::tempdir().expect("tempdir");
        let (to_path, from_path) = (dir.path().join("cdp-in"), dir.path().join("cdp-out"));
        for p in [&to_path, &from_path] {
            let ok = Command::new("mkfifo").arg(p).status().expect("mkfifo runs").success();
            assert!(ok, "mkfifo {}", p.display());
        }
        // Chromium reads commands on fd 3 and writes replies on fd 4.
        let script = "exec \"$0\" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
                      --no-first-run --no-default-browser-check --user-data-dir=\"$1\" \
                      --remote-debugging-pipe about:blank 3<\"$2\" 4>\"$3\"";
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(binary)
            .arg(dir.path().join("profile"))
            .arg(&to_path)
            .arg(&from_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // Opening order matches the shell's: its fd 3 (our writer) first, then fd 4.
        let to = OpenOptions::new().write(true).open(&to_path).expect("open the command pipe");
        let from = BufReader::new(OpenOptions::new().read(true).open(&from_path).expect("open the reply pipe"));
        Browser { child, to, from, next_id: 0, session: None, _dir: dir }
    }

    /// Sends a command and returns its result (events in between are skipped).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to chromium");
        loop {
            let mut buf = Vec::new();
            let n = self.from.read_until(0, &mut buf).expect("read from chromium");
            assert!(n > 0, "chromium closed the pipe");
            buf.pop();
            let reply: Value = serde_json::from_slice(&buf).expect("CDP JSON");
            if reply["id"] == json!(id) {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// Opens `url` in a new page and attaches to it.
    fn open(&mut self, url: &str) {
        let target = self.call("Target.createTarget", json!({"url": url}));
        let target_id = target["targetId"].as_str().expect("target").to_string();
        let attached = self.call("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        self.session = Some(attached["sessionId"].as_str().expect("session").to_string());
    }

    /// Evaluates JavaScript in the page and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true, "awaitPromise": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is truthy (bounded: 60 s). While the page is still
    /// loading (`document.body` null, say) an exception means "not yet".
    fn wait_until(&mut self, what: &str, expression: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let guarded = format!("(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()");
        loop {
            let v = self.eval(&guarded);
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(Instant::now() < deadline, "the page never showed {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn the_approvals_page_shows_the_request_and_approving_decides_it_in_the_store() {
    let Some(binary) = chromium() else {
        eprintln!(
            "SKIPPED: chromium is not installed (scripts/setup installs Debian's chromium package when it runs as root or with sudo)"
        );
        return;
    };
    let api = ServeApi::start("demo-oom-crashloop", &[]);
    let body = json!({"question": "Why is the payment-service pod crashing?", "writes": true}).to_string();
    let started = api.http("POST", "/investigations", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(started.status, 202, "{}", started.body);
    let id = started.json()["investigation_id"].as_str().expect("id").to_string();
    let waiting = api.wait_for(&id, |d| d["status"] == "waiting_approval" && d["pending_approval"].is_object());
    let approval = waiting["pending_approval"]["id"].as_str().expect("approval").to_string();

    let mut browser = Browser::launch(&binary);
    browser.open(&format!("{}/ui", api.url));
    browser.wait_until("the list", "document.body.dataset.loaded === 'true'");
    let card = format!("document.querySelector('article.approval[data-id=\"{approval}\"]')");
    let shown = browser.eval(&format!(
        "(() => {{ const c = {card}; return c && {{ text: c.innerText, diff: c.querySelector('pre.diff').innerText, \
         evidence: c.querySelectorAll('ul.evidence li').length }}; }})()"
    ));
    assert!(shown.is_object(), "the pending approval {approval} is not on the page");
    assert!(shown["diff"].as_str().is_some_and(|d| d.contains("1Gi")), "no diff: {shown:#}");
    assert!(shown["evidence"].as_u64().is_some_and(|n| n > 0), "no evidence: {shown:#}");
    assert!(shown["text"].as_str().is_some_and(|t| t.contains("payment-service")), "{shown:#}");

    // Reject asks for a reason before anything is sent.
    browser.eval(&format!("{card}.querySelector('button.reject').click()"));
    browser.eval(&format!("{card}.querySelector('button.confirm-reject').click()"));
    let said = browser.wait_until("the reason prompt", &format!("{card}.querySelector('.outcome').innerText"));
    assert!(said.as_str().is_some_and(|s| s.contains("needs a reason")), "{said}");

    browser.eval(&format!("{card}.querySelector('input.comment').value = 'fine by me'"));
    browser.eval(&format!("{card}.querySelector('button.approve').click()"));
    let outcome = browser.wait_until(
        "the decision",
        &format!("{card}.dataset.status === 'approved' && {card}.querySelector('.outcome').innerText"),
    );
    assert!(outcome.as_str().is_some_and(|s| s.contains("Approved by local:anonymous")), "{outcome}");

    // The decision is in the store (the approval is approved, or already used by the write).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let store = aiops_cli::local::open_store(api.dir.path()).expect("store");
    let decided = rt.block_on(store.get(&approval)).expect("read").expect("approval");
    assert!(matches!(decided.status, ApprovalStatus::Approved | ApprovalStatus::Used), "{:?}", decided.status);
    assert_eq!(decided.decided_by.as_deref(), Some("local:anonymous"));
    assert_eq!(decided.comment.as_deref(), Some("fine by me"));
    let done = api.wait_for(&id, |d| d["status"] == "succeeded");
    assert_eq!(done["executed_actions"].as_array().map(Vec::len), Some(1), "{done:#}");
}
