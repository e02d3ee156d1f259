//! The AWS endpoint the benchmarked functions are pointed at (`AWS_ENDPOINT_URL`), on
//! loopback: EKS `DescribeCluster` answered here (the simulated cluster's URL and a CA), every
//! other request forwarded to moto when one is given, and each forwarded call recorded (its
//! operation, sizes and time) so a run can count its DynamoDB requests. Nothing leaves the
//! machine: without moto, other requests get a 400 error.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::json;
use tokio::task::JoinHandle;

/// A throwaway self-signed CA (key discarded): EKS returns the cluster CA as base64 of PEM and
/// the kube client parses it. The simulated cluster is plain HTTP, so it is never used.
pub const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUNOd5Y2wcpQOKjbiwbAEPdJ5eQbkwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAgFw0yNjExMzAwODQwMDVaGA8yMTI2MTEw
NjA4NDAwNVowFTETMBEGA1UEAwwKa3ViZXJuZXRlczBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABNOYEv64SGBJZAs876/LMvlFv3DszKwFZT9/HUWVNd3KQyQK1HVF
BWdLW9yAieD/cPwdATtZS3xYwQndXFeSyLKjUzBRMB0GA1UdDgQWBBRFo/zYLMOF
OaVcUn2cxGyOG5/kgzAfBgNVHSMEGDAWgBRFo/zYLMOFOaVcUn2cxGyOG5/kgzAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIFVNZddzRh4BNmzxNam7
CADQaFgSYxAeDqLNi+rl+qtHAiEA8OCSak/0asYEvlQ7AGlSqHUP0ppqbdV1Ptb/
S/LitoI=
-----END CERTIFICATE-----
";

/// The EKS cluster name the functions are configured with.
pub const CLUSTER: &str = "bench";

/// One request forwarded to moto.
#[derive(Debug, Clone)]
pub struct Call {
    /// `dynamodb:PutItem`, `eks:GET /clusters/x/node-groups`, …
    pub operation: String,
    pub request_bytes: usize,
    pub response_bytes: usize,
    pub millis: f64,
}

struct Inner {
    kube_url: String,
    moto: Option<String>,
    calls: Mutex<Vec<Call>>,
}

/// A running fake AWS endpoint. Dropping it stops the server.
pub struct FakeAws {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FakeAws {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeAws {
    /// Serves on a free loopback port. `kube_url` is the API server DescribeCluster names;
    /// `moto` the emulator's `host:port` that other requests go to.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(kube_url: &str, moto: Option<&str>) -> anyhow::Result<FakeAws> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.context("bind the fake AWS endpoint")?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            kube_url: kube_url.to_string(),
            moto: moto.map(|m| m.trim_start_matches("http://").trim_end_matches('/').to_string()),
            calls: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/clusters/{name}", get(describe_cluster))
            .fallback(forward)
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeAws { addr, inner, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes the calls forwarded so far.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.inner.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

async fn describe_cluster(State(inner): State<Arc<Inner>>, Path(name): Path<String>) -> Response {
    if name != CLUSTER {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            axum::Json(json!({"message": format!("No cluster found for name: {name}.")})),
        )
            .into_response();
    }
    axum::Json(json!({"cluster": {
        "name": CLUSTER,
        "arn": format!("arn:aws:eks:eu-west-1:123456789012:cluster/{CLUSTER}"),
        "endpoint": inner.kube_url,
        "status": "ACTIVE",
        "version": "1.31",
        "certificateAuthority": {"data": base64::engine::general_purpose::STANDARD.encode(CA_PEM)},
    }}))
    .into_response()
}

async fn forward(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let operation = match headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(t) if t.starts_with("DynamoDB_") => format!("dynamodb:{}", t.rsplit('.').next().unwrap_or(t)),
        Some(t) => t.to_string(),
        None => format!("{method} {}", uri.path()),
    };
    let Some(moto) = inner.moto.clone() else {
        return (
            StatusCode::BAD_REQUEST,
            [("x-amzn-errortype", "UnknownOperationException")],
            format!("the bench's AWS endpoint does not serve {operation}"),
        )
            .into_response();
    };
    let request_bytes = body.len();
    let started = Instant::now();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let sent = tokio::task::spawn_blocking(move || send(&moto, method.as_str(), &path, &headers, &body)).await;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    match sent {
        Ok(Ok((status, head, body))) => {
            inner.calls.lock().unwrap_or_else(PoisonError::into_inner).push(Call {
                operation,
                request_bytes,
                response_bytes: body.len(),
                millis,
            });
            let mut resp = Response::new(axum::body::Body::from(body));
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            for (k, v) in head {
                if ["content-length", "transfer-encoding", "connection"].contains(&k.to_ascii_lowercase().as_str()) {
                    continue;
                }
                if let (Ok(k), Ok(v)) =
                    (axum::http::HeaderName::try_from(k.as_str()), axum::http::HeaderValue::try_from(v.as_str()))
                {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Ok(Err(e)) => (StatusCode::BAD_GATEWAY, format!("moto: {e:#}")).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("forwarding task: {e}")).into_response(),
    }
}

type Upstream = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 exchange with moto over a fresh connection (blocking).
fn send(authority: &str, method: &str, path: &str, headers: &HeaderMap, body: &[u8]) -> anyhow::Result<Upstream> {
    let mut stream = TcpStream::connect(authority).with_context(|| format!("connect to moto at {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in headers {
        let name = k.as_str();
        if ["host", "connection", "content-length", "transfer-encoding"].contains(&name) {
            continue;
        }
        head.push_str(&format!("{name}: {}\r\n", v.to_str().unwrap_or_default()));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").context("moto's answer has no header end")?;
    let text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("moto's answer has no status line")?;
    let head: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut out = raw[split + 4..].to_vec();
    if head
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"))
    {
        out = dechunk(&out)?;
    }
    Ok((status, head, out))
}

fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else { bail!("truncated chunked body") };
        let size_text = String::from_utf8_lossy(&raw[..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if raw.len() < size {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}
