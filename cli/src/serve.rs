//! `aiops serve-api`: the API's router ([`aiops_fn_api::router`], the same one the Lambda
//! serves) on a local listener, over local mode's stores (SQLite in `--data-dir`) and the
//! local engine running `statemachine/investigation.asl.json`. For development and tests.
//!
//! There is no API Gateway here, so no verified identity: the actor of a request is the
//! access key id of its SigV4 `Authorization` header, **unverified** (the signature is not
//! checked), as `local:sigv4:<key id>`, or `local:anonymous` for an unsigned request. Bind
//! to loopback (the default) unless everyone who can reach the port may act as anyone.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aiops_cli::local::{LocalCallback, LocalOptions, LocalStack};
use aiops_cli::source::{Source, SourceArgs, UsageError};
use aiops_core::ports::TaskCallback;
use aiops_fn_api::{ApiConfig, Caller, Deps, Sweeps, router};
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use crate::{Failure, ReasonerArg};

/// `aiops serve-api` arguments.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port; the address is printed on the first line).
    #[arg(long)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    #[command(flatten)]
    source: SourceArgs,
    /// Which reasoner: Bedrock (default when AWS credentials are found) or the offline one.
    #[arg(long, value_enum)]
    reasoner: Option<ReasonerArg>,
    /// Seconds an approval may wait before it counts as rejected.
    #[arg(long, default_value_t = 900)]
    approval_timeout: u64,
    /// The one origin browsers may call the API from (no CORS when unset).
    #[arg(long, env = "AIOPS_CORS_ORIGIN")]
    cors_origin: Option<String>,
}

/// Resumes the local engine as soon as a decision is recorded (another process's decisions
/// are picked up by the ticker in [`run`]).
struct EngineCallback {
    stack: Arc<LocalStack>,
}

#[async_trait::async_trait]
impl TaskCallback for EngineCallback {
    async fn succeed(&self, token: &str, output: &Value) -> aiops_core::Result<()> {
        LocalCallback { store: self.stack.store.clone() }.succeed(token, output).await?;
        self.stack.deliver_decisions().await;
        Ok(())
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> aiops_core::Result<()> {
        LocalCallback { store: self.stack.store.clone() }.fail(token, error, cause).await?;
        self.stack.deliver_decisions().await;
        Ok(())
    }
}

/// The access key id of a SigV4 `Authorization` header (`AWS4-HMAC-SHA256
/// Credential=AKID/date/region/service/aws4_request, …`), unverified.
pub fn sigv4_access_key(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let credential = rest.split(',').map(str::trim).find_map(|p| p.strip_prefix("Credential="))?;
    let key = credential.split('/').next()?;
    let plausible = !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| key.to_string())
}

/// The local front door: the (unverified) caller.
async fn local_front_door(mut req: Request, next: Next) -> Response {
    let actor =
        sigv4_access_key(req.headers()).map_or_else(|| "local:anonymous".to_string(), |k| format!("local:sigv4:{k}"));
    req.extensions_mut().insert(Caller(actor));
    next.run(req).await
}

/// `aiops serve-api --port P [--bind ADDR] [source]`: serves until interrupted.
pub async fn run(data_dir: &Path, args: ServeArgs) -> Result<(), Failure> {
    let cors_origin =
        ApiConfig::cors_from_vars(|k| (k == "AIOPS_CORS_ORIGIN").then(|| args.cors_origin.clone()).flatten())
            .map_err(|e| UsageError(e.replace("AIOPS_CORS_ORIGIN", "--cors-origin")))?;
    let reasoner = crate::choose_reasoner(args.reasoner).await?;
    let cluster = args.source.eks_cluster.clone();
    let source = Source::open(&args.source).await?;
    let label = source.label.clone();
    let mut options = LocalOptions::new(data_dir.to_path_buf());
    options.approval_timeout_seconds = args.approval_timeout;
    let notifier: Arc<dyn aiops_core::ports::Notifier> = Arc::new(aiops_local::TerminalNotifier::stderr());
    let sweep_config = aiops_core::sweep::SweepConfig {
        policy: options.policy.clone(),
        approval_timeout_seconds: args.approval_timeout,
        cluster: label.clone(),
        ..Default::default()
    };
    let stack = Arc::new(LocalStack::new(source, reasoner, notifier.clone(), options)?);
    let sweeps = Sweeps {
        store: stack.store.clone(),
        reader: Some(stack.source.reader_arc() as Arc<dyn aiops_core::ports::ClusterReader>),
        notifier: Some(notifier),
        trigger: None,
        config: sweep_config,
    };
    let deps = Deps {
        state: stack.store.clone(),
        audit: stack.store.clone(),
        approvals: stack.store.clone(),
        starter: stack.clone(),
        callback: Arc::new(EngineCallback { stack: stack.clone() }),
        config: ApiConfig { approval_timeout_seconds: args.approval_timeout, cluster, cors_origin },
        sweeps: Some(sweeps),
    };
    let app = router(Arc::new(deps)).layer(axum::middleware::from_fn(local_front_door));
    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(anyhow::Error::from)?;
    // The first line is the address (tests and scripts read it).
    println!("http://{addr}");
    eprintln!(
        "aiops API on http://{addr} over {label} ({} reasoner), data in {}; approvals page: http://{addr}/ui",
        stack.reasoner_name,
        data_dir.display()
    );
    if !args.bind.is_loopback() {
        eprintln!("warning: {} is not loopback; callers' identities are not verified here", args.bind);
    }
    // Decisions recorded by another process (`aiops approve` on the same data directory).
    let ticker = stack.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            ticker.deliver_decisions().await;
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| anyhow::anyhow!("the API server failed: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_key_id_is_read_from_a_sigv4_header_and_junk_is_not() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251130/eu-west-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .expect("header"),
        );
        assert_eq!(sigv4_access_key(&h).as_deref(), Some("AKIDEXAMPLE"));
        h.insert(header::AUTHORIZATION, "Bearer xyz".parse().expect("header"));
        assert_eq!(sigv4_access_key(&h), None);
        h.insert(header::AUTHORIZATION, "AWS4-HMAC-SHA256 Credential=a b/x".parse().expect("header"));
        assert_eq!(sigv4_access_key(&h), None);
    }
}
