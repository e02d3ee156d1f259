//! Remote mode: `aiops --api URL ask | investigations | approvals list | approve | reject |
//! audit [verify]` as HTTP calls to the deployed API (or to `aiops serve-api`), signed with
//! SigV4 (service `execute-api`) with credentials from the standard AWS chain. `ask` follows
//! the investigation with progress until it answers or waits for an approval.
//!
//! The JSON printed is the CLI contract's (DESIGN.md), the same as local mode's: the API's
//! views carry the same fields as the stored records. Also here: `aiops investigations` in
//! local mode, which reads the same views from the local store.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use aiops_cli::local::open_store;
use aiops_cli::source::UsageError;
use aiops_core::agent::audit::{AuditEvent, AuditHead, verify_trail};
use aiops_core::ports::StateStore;
use aiops_fn_api::Problem;
use aiops_fn_api::views::{
    Approval, ApprovalList, AuditPage, InvestigationDetail, InvestigationPage, InvestigationSummary, Started, Status,
    investigation_detail,
};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{AskArgs, Command, Failure, Output, WritesArg};

/// How often an investigation is polled while it is followed.
const POLL: Duration = Duration::from_millis(700);

/// How long `ask` and `investigations show --wait` follow before giving up.
const FOLLOW_LIMIT: Duration = Duration::from_secs(30 * 60);

/// `aiops investigations …`.
#[derive(clap::Subcommand)]
pub enum InvestigationsCommand {
    /// List investigations, newest first.
    List {
        /// Only investigations in this state.
        #[arg(long, value_parser = ["running", "waiting_approval", "succeeded", "failed"])]
        status: Option<String>,
        /// Page size (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// The `next` cursor of a previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one investigation: status, steps so far, findings, answer, pending approval.
    Show {
        id: String,
        /// Wait until it is no longer running (answered, failed, or waiting for an approval).
        #[arg(long)]
        wait: bool,
    },
}

/// A client of the API.
pub struct Remote {
    base: String,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    credentials: Option<Credentials>,
    region: String,
}

/// Why a call failed. (Deliberately not a `std::error::Error`: it converts into a
/// [`Failure`] with the exit code its status calls for, not through `anyhow`.)
#[derive(Debug)]
pub enum RemoteError {
    /// The API answered with a problem.
    Refused(Problem),
    /// The API could not be reached or answered with something that is not this API.
    Transport(String),
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::Refused(p) => write!(f, "the API refused the request ({}): {}", p.status, p.detail),
            RemoteError::Transport(m) => f.write_str(m),
        }
    }
}

impl From<RemoteError> for Failure {
    fn from(e: RemoteError) -> Failure {
        let code = match &e {
            RemoteError::Refused(p) if matches!(p.status, 400 | 413 | 415 | 422) => 2,
            _ => 1,
        };
        Failure { code, error: anyhow::anyhow!("{e}") }
    }
}

/// The region of an `https://ID.execute-api.REGION.amazonaws.com` URL.
fn region_of(host: &str) -> Option<String> {
    let rest = host.split_once(".execute-api.")?.1;
    let region = rest.split('.').next()?;
    (!region.is_empty()).then(|| region.to_string())
}

impl Remote {
    /// A client for the API at `url` (`https://…/prod` or `http://127.0.0.1:PORT`).
    ///
    /// # Errors
    /// A usage error for a URL that is not http(s); a failure when TLS cannot be set up.
    pub async fn connect(url: &str) -> Result<Remote, Failure> {
        let base = url.trim_end_matches('/').to_string();
        let uri: hyper::Uri = base.parse().map_err(|_| UsageError(format!("--api {url:?} is not a URL")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(UsageError(format!("--api {url:?} is not an http(s) URL")).into());
        }
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let credentials = match sdk.credentials_provider() {
            Some(p) => {
                tokio::time::timeout(Duration::from_secs(5), p.provide_credentials()).await.ok().and_then(Result::ok)
            }
            None => None,
        };
        if credentials.is_none() {
            eprintln!("no AWS credentials found: requests to {base} are not signed (a deployed API refuses them)");
        }
        let region = uri
            .host()
            .and_then(region_of)
            .or_else(|| sdk.region().map(ToString::to_string))
            .unwrap_or_else(|| "us-east-1".to_string());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| anyhow::anyhow!("cannot load the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Remote { base, client, credentials, region })
    }

    /// One call: `path` (with its query) under the base URL, a JSON body, extra headers.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<(StatusCode, Value), RemoteError> {
        let url = format!("{}{path}", self.base);
        let uri: hyper::Uri = url.parse().map_err(|e| RemoteError::Transport(format!("bad URL {url}: {e}")))?;
        let authority = uri.authority().map(ToString::to_string).unwrap_or_default();
        let payload = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut all: Vec<(String, String)> =
            vec![("host".into(), authority), ("accept".into(), "application/json, application/problem+json".into())];
        if body.is_some() {
            all.push(("content-type".into(), "application/json".into()));
        }
        all.extend(headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())));
        if let Some(creds) = &self.credentials {
            all.extend(self.sign(method.as_str(), &url, &all, &payload, creds)?);
        }
        let mut req = Request::builder().method(method.clone()).uri(uri);
        for (k, v) in &all {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| RemoteError::Transport(format!("cannot build the request: {e}")))?;
        let response = self
            .client
            .request(req)
            .await
            .map_err(|e| RemoteError::Transport(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| RemoteError::Transport(format!("the response from {} broke off: {e}", self.base)))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok((status, value));
        }
        match serde_json::from_value::<Problem>(value) {
            Ok(p) => Err(RemoteError::Refused(p)),
            Err(_) => {
                let text = String::from_utf8_lossy(&bytes);
                let text: String = text.chars().take(300).collect();
                Err(RemoteError::Transport(format!(
                    "{method} {path}: HTTP {status} ({content_type}) from {}: {text}",
                    self.base
                )))
            }
        }
    }

    /// The SigV4 headers (`authorization`, `x-amz-date`, maybe `x-amz-security-token`).
    fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        payload: &[u8],
        creds: &Credentials,
    ) -> Result<Vec<(String, String)>, RemoteError> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            RemoteError::Transport(format!("cannot sign the request ({what}): {e}"))
        };
        let identity = creds.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| fail("parameters", &e))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(payload),
        )
        .map_err(|e| fail("request", &e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| fail("signature", &e))?.into_parts();
        Ok(instructions.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, RemoteError> {
        let (_, v) = self.call(Method::GET, path, None, &[]).await?;
        decode(path, v)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Result<T, RemoteError> {
        let (_, v) = self.call(Method::POST, path, Some(body), headers).await?;
        decode(path, v)
    }
}

fn decode<T: DeserializeOwned>(path: &str, v: Value) -> Result<T, RemoteError> {
    serde_json::from_value(v).map_err(|e| RemoteError::Transport(format!("unexpected answer to {path}: {e}")))
}

/// Percent-encodes a path segment or query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `command` against the API at `api`; `None` when it has no remote equivalent (it
/// then runs locally).
pub async fn dispatch(api: &str, output: Output, command: &Command) -> Option<Result<(), Failure>> {
    let run = async {
        let r = Remote::connect(api).await?;
        match command {
            Command::Ask(a) => ask(&r, output, a).await,
            Command::Investigations(c) => investigations_remote(&r, output, c).await,
            Command::Approvals(crate::ApprovalsCommand::List { all }) => approvals_list(&r, output, *all).await,
            Command::Approve(a) => decide(&r, output, &a.id, json!({"comment": a.comment}), true).await,
            Command::Reject(a) => decide(&r, output, &a.id, json!({"reason": a.reason}), false).await,
            Command::Audit(a) => match a.args.as_slice() {
                [verb, id] if verb == "verify" => audit(&r, output, id, true).await,
                [id] => audit(&r, output, id, false).await,
                _ => Err(UsageError("usage: aiops audit ID | aiops audit verify ID".into()).into()),
            },
            _ => Ok(()),
        }
    };
    let remote = matches!(
        command,
        Command::Ask(_)
            | Command::Investigations(_)
            | Command::Approvals(_)
            | Command::Approve(_)
            | Command::Reject(_)
            | Command::Audit(_)
    );
    if remote { Some(run.await) } else { None }
}

/// A random Idempotency-Key, so a retried start cannot start twice.
fn idempotency_key() -> String {
    use sha2::Digest;
    let seed = format!("{:?}\0{}\0{:?}", SystemTime::now(), std::process::id(), std::thread::current().id());
    format!("cli-{}", &hex::encode(sha2::Sha256::digest(seed.as_bytes()))[..24])
}

async fn ask(r: &Remote, output: Output, a: &AskArgs) -> Result<(), Failure> {
    let s = &a.source;
    if s.snapshot.is_some() || s.kubeconfig.is_some() || s.context.is_some() {
        return Err(UsageError(
            "--snapshot, --kubeconfig and --context do not apply with --api: the deployed stack investigates its own cluster (--eks-cluster names it)".into(),
        )
        .into());
    }
    if a.reasoner.is_some() || a.approval_timeout.is_some() {
        return Err(UsageError(
            "--reasoner and --approval-timeout are the deployed stack's settings, not the caller's".into(),
        )
        .into());
    }
    crate::ask::check_question(&a.question)?;
    let started: Started = match &a.continue_from {
        Some(id) => {
            r.post(&format!("/investigations/{}/messages", enc(id)), &json!({"question": a.question}), &[]).await?
        }
        None => {
            let body = json!({
                "question": a.question, "namespace": a.namespace, "cluster": s.eks_cluster,
                "writes": a.writes == WritesArg::Approval,
            });
            let key = idempotency_key();
            let headers = [("idempotency-key", key.as_str())];
            match r.post("/investigations", &body, &headers).await {
                // One retry with the same key: the API answers it with the same investigation.
                Err(RemoteError::Transport(_)) | Err(RemoteError::Refused(Problem { status: 503, .. })) => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    r.post("/investigations", &body, &headers).await?
                }
                other => other?,
            }
        }
    };
    let id = started.investigation_id.clone();
    eprintln!("investigation {id} (remote: {})", r.base);
    let approver = match (a.approve, a.reject) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let d = follow(r, &id, true, approver, a.reason.as_deref()).await?;
    print_outcome(r, &d, output)
}

/// Polls an investigation until it is no longer running; an approval it waits on is decided
/// when `approver` says how (approve: `Some(true)`), else following stops there.
async fn follow(
    r: &Remote,
    id: &str,
    progress: bool,
    approver: Option<bool>,
    reason: Option<&str>,
) -> Result<InvestigationDetail, Failure> {
    let path = format!("/investigations/{}", enc(id));
    let deadline = Instant::now() + FOLLOW_LIMIT;
    let mut shown = 0usize;
    let mut decided: Option<String> = None;
    loop {
        let d: InvestigationDetail = r.get(&path).await?;
        if progress {
            for step in d.steps.iter().skip(shown) {
                eprintln!("→ {}", step.replacen(':', " ", 1).replace(',', ", "));
            }
            shown = d.steps.len();
        }
        match d.status {
            Status::Succeeded | Status::Failed => return Ok(d),
            Status::WaitingApproval => match (&d.pending_approval, approver) {
                (Some(p), Some(approve)) if decided.as_deref() != Some(p.id.as_str()) => {
                    let (verb, body) = if approve {
                        ("approve", json!({"comment": "approved by flag"}))
                    } else {
                        ("reject", json!({"reason": reason.unwrap_or("rejected by flag")}))
                    };
                    let a: Approval = r.post(&format!("/approvals/{}/{verb}", enc(&p.id)), &body, &[]).await?;
                    if progress {
                        eprintln!("  {verb}d {} as {}", a.id, a.decided_by.as_deref().unwrap_or("?"));
                    }
                    decided = Some(p.id.clone());
                }
                (Some(_), None) => return Ok(d),
                _ => {}
            },
            Status::Running => {}
        }
        if Instant::now() > deadline {
            return Err(Failure {
                code: 1,
                error: anyhow::anyhow!(
                    "investigation {id} is still running after {} minutes",
                    FOLLOW_LIMIT.as_secs() / 60
                ),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The CLI contract's `ask` output from the API's view (see `ask::print_outcome`).
fn outcome_json(d: &InvestigationDetail) -> Value {
    json!({
        "investigation_id": d.investigation_id,
        "status": d.status,
        "reasoner": d.reasoner,
        "answer": d.answer.clone().unwrap_or_default(),
        "findings": d.findings,
        "proposed_actions": d.proposed_actions,
        "executed_actions": d.executed_actions,
        "steps": d.steps,
        "tokens": d.tokens,
        "error": d.error,
        "pending_approval": d.pending_approval,
    })
}

fn print_outcome(r: &Remote, d: &InvestigationDetail, output: Output) -> Result<(), Failure> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&outcome_json(d))?),
        Output::Text => {
            if let Some(e) = &d.error {
                println!("The investigation failed: {e}");
            } else if let Some(a) = &d.answer {
                println!("{a}");
            }
            for a in &d.executed_actions {
                println!("\nExecuted: {} ({}). {}", a.summary, a.action_id, a.result);
            }
        }
    }
    if let Some(p) = &d.pending_approval {
        eprintln!("\nApproval {} waits for a decision: {}", p.id, p.summary);
        for line in p.diff.lines() {
            eprintln!("    {line}");
        }
        eprintln!("  expires {}", p.expires_at);
        eprintln!("  approve: aiops --api {} approve {}", r.base, p.id);
        eprintln!("  reject:  aiops --api {} reject {} --reason \"…\"", r.base, p.id);
        eprintln!("  page:    {}/ui", r.base);
    }
    if d.status == Status::Failed {
        return Err(Failure { code: 1, error: anyhow::anyhow!("investigation {} failed", d.investigation_id) });
    }
    Ok(())
}

fn print_page(output: Output, page: &InvestigationPage) -> Result<(), Failure> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(page)?),
        Output::Text => {
            if page.investigations.is_empty() {
                println!("No investigations.");
            }
            for i in &page.investigations {
                let status = serde_json::to_value(i.status)?;
                println!(
                    "{}  {:<16}  {}  {}",
                    i.investigation_id,
                    status.as_str().unwrap_or_default(),
                    i.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    i.question
                );
            }
            if let Some(n) = &page.next {
                println!("(more: --cursor {n})");
            }
        }
    }
    Ok(())
}

fn print_detail(output: Output, d: &InvestigationDetail) -> Result<(), Failure> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(d)?),
        Output::Text => {
            let status = serde_json::to_value(d.status)?;
            println!("{}  {}  asked by {}", d.investigation_id, status.as_str().unwrap_or_default(), d.actor);
            println!("Question: {}", d.question);
            if !d.steps.is_empty() {
                println!("Steps: {}", d.steps.join(" → "));
            }
            if let Some(a) = &d.answer {
                println!("\n{a}");
            }
            if let Some(e) = &d.error {
                println!("\nError: {e}");
            }
            if let Some(p) = &d.pending_approval {
                println!("\nWaiting for approval {}: {}", p.id, p.summary);
            }
        }
    }
    Ok(())
}

async fn investigations_remote(r: &Remote, output: Output, c: &InvestigationsCommand) -> Result<(), Failure> {
    match c {
        InvestigationsCommand::List { status, limit, cursor } => {
            let mut path = format!("/investigations?limit={limit}");
            if let Some(s) = status {
                path.push_str(&format!("&status={}", enc(s)));
            }
            if let Some(c) = cursor {
                path.push_str(&format!("&cursor={}", enc(c)));
            }
            let page: InvestigationPage = r.get(&path).await?;
            print_page(output, &page)
        }
        InvestigationsCommand::Show { id, wait } => {
            let d = if *wait {
                follow(r, id, false, None, None).await?
            } else {
                r.get(&format!("/investigations/{}", enc(id))).await?
            };
            print_detail(output, &d)
        }
    }
}

/// `aiops investigations …` in local mode: the same views, read from the local store.
pub async fn investigations_local(data_dir: &Path, output: Output, c: InvestigationsCommand) -> Result<(), Failure> {
    let store = open_store(data_dir)?;
    match c {
        InvestigationsCommand::List { status, limit, cursor } => {
            if !(1..=100).contains(&limit) {
                return Err(UsageError(format!("--limit {limit} is not between 1 and 100")).into());
            }
            let status = status.map(|s| serde_json::from_value::<Status>(Value::String(s))).transpose()?;
            let (items, next) =
                store.list_investigations(status.map(Into::into), limit as usize, cursor.as_deref()).await?;
            let page =
                InvestigationPage { investigations: items.iter().map(InvestigationSummary::from).collect(), next };
            print_page(output, &page)
        }
        InvestigationsCommand::Show { id, wait } => {
            let deadline = Instant::now() + FOLLOW_LIMIT;
            loop {
                let s = store.as_ref();
                let d = investigation_detail(s, s, s, &id).await?.ok_or_else(|| Failure {
                    code: 1,
                    error: anyhow::anyhow!("investigation {id} not found in {}", data_dir.display()),
                })?;
                if !wait || d.status != Status::Running || Instant::now() > deadline {
                    return print_detail(output, &d);
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

async fn approvals_list(r: &Remote, output: Output, all: bool) -> Result<(), Failure> {
    let path = if all { "/approvals".to_string() } else { "/approvals?status=pending".to_string() };
    let list: ApprovalList = r.get(&path).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&list)?),
        Output::Text => {
            if list.approvals.is_empty() {
                println!("No {}approvals.", if all { "" } else { "pending " });
            }
            for a in &list.approvals {
                let status = serde_json::to_value(a.status)?;
                println!(
                    "{}  {:<8}  {}  (investigation {}, expires {})",
                    a.id,
                    status.as_str().unwrap_or_default(),
                    a.summary,
                    a.investigation_id,
                    a.expires_at
                );
                for line in a.diff.lines() {
                    println!("      {line}");
                }
            }
        }
    }
    Ok(())
}

async fn decide(r: &Remote, output: Output, id: &str, body: Value, approve: bool) -> Result<(), Failure> {
    if !approve && body["reason"].as_str().is_none_or(|s| s.trim().is_empty()) {
        return Err(UsageError("a rejection needs --reason".into()).into());
    }
    let verb = if approve { "approve" } else { "reject" };
    let body = if body.get("comment").is_some_and(Value::is_null) { json!({}) } else { body };
    let a: Approval = r.post(&format!("/approvals/{}/{verb}", enc(id)), &body, &[]).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&json!({"approval": a}))?),
        Output::Text => println!("{} {}: {}", if approve { "Approved" } else { "Rejected" }, a.id, a.summary),
    }
    Ok(())
}

async fn audit(r: &Remote, output: Output, id: &str, verify: bool) -> Result<(), Failure> {
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut after = 0u64;
    loop {
        let page: AuditPage = r.get(&format!("/investigations/{}/audit?limit=100&after={after}", enc(id))).await?;
        for e in &page.events {
            events.push(e.to_event().map_err(|e| anyhow::anyhow!("an audit event of {id} cannot be read: {e}"))?);
        }
        match page.next {
            Some(n) if n > after => after = n,
            _ => break,
        }
    }
    if verify {
        let detail: InvestigationDetail = r.get(&format!("/investigations/{}", enc(id))).await?;
        let head = detail.audit_head.map(|h| AuditHead { seq: h.seq, hash: h.hash });
        let result = verify_trail(id, &events, head.as_ref());
        match output {
            Output::Json => println!(
                "{}",
                json!({"investigation_id": id, "events": events.len(), "intact": result.is_ok(), "problem": result.as_ref().err().map(ToString::to_string)})
            ),
            Output::Text => match &result {
                Ok(()) => println!("audit trail of {id}: {} events, hash chain intact", events.len()),
                Err(e) => println!("audit trail of {id}: NOT intact: {e}"),
            },
        }
        return result
            .map_err(|e| Failure { code: 1, error: anyhow::anyhow!("audit trail of {id} is not intact: {e}") });
    }
    if events.is_empty() {
        return Err(Failure { code: 1, error: anyhow::anyhow!("no audit events for investigation {id}") });
    }
    match output {
        Output::Json => {
            println!("{}", serde_json::to_string_pretty(&json!({"investigation_id": id, "events": events}))?)
        }
        Output::Text => {
            println!("Audit trail of {id} ({} events):", events.len());
            for e in &events {
                println!("{}", crate::trail::render_event(e));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_an_execute_api_host() {
        assert_eq!(region_of("abc123.execute-api.eu-west-1.amazonaws.com").as_deref(), Some("eu-west-1"));
        assert_eq!(region_of("127.0.0.1"), None);
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(enc("inv-1_a.b~"), "inv-1_a.b~");
        assert_eq!(enc("a/b c?"), "a%2Fb%20c%3F");
    }
}
