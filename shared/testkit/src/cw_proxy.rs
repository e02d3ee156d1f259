//! A CloudWatch translating proxy in front of moto.
//!
//! aws-sdk-cloudwatch speaks only Smithy RPC v2 CBOR (`POST
//! /service/GraniteServiceVersion20100801/operation/<Op>`, `content-type: application/cbor`,
//! `smithy-protocol: rpc-v2-cbor`); moto speaks CloudWatch's awsJson1_0 (`X-Amz-Target:
//! GraniteServiceVersion20100801.<Op>`). [`CwProxy`] listens on 127.0.0.1, decodes each CBOR
//! request, forwards it to moto as JSON (keeping the SDK's `Authorization` header, from which
//! moto reads the service, account and region), and re-encodes moto's answer as CBOR in the
//! shapes the SDK decodes: timestamps as CBOR tag 1 (epoch seconds), doubles as floats, errors
//! as a map with `__type` and `message`.
//!
//! Operations known to round-trip: `PutMetricData` (seeding), `GetMetricData`, `ListMetrics`.
//! Others are forwarded the same way; their answers are typed by field name only (see
//! [`TIMESTAMP_FIELDS`] and [`DOUBLE_FIELDS`]). Request compression is not supported: build the
//! test client with `disable_request_compression(true)` (the SDK compresses only bodies over
//! 10 KiB by default).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use ciborium::value::Value as Cbor;
use serde_json::{Map, Number, Value as Json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// CloudWatch's Smithy service name: the path segment of RPC v2 CBOR and the `X-Amz-Target`
/// prefix of awsJson1_0.
const SERVICE: &str = "GraniteServiceVersion20100801";

/// Response fields that are timestamps (CBOR tag 1 on the way back).
pub const TIMESTAMP_FIELDS: &[&str] = &[
    "Timestamps",
    "Timestamp",
    "StartTime",
    "EndTime",
    "LastModified",
    "AlarmConfigurationUpdatedTimestamp",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "CreationDate",
    "LastUpdateDate",
];

/// Response fields that are doubles (CBOR floats on the way back, even when moto prints them
/// as integers).
pub const DOUBLE_FIELDS: &[&str] =
    &["Values", "Value", "Sum", "Average", "Minimum", "Maximum", "SampleCount", "Counts", "Threshold"];

/// A running proxy. Dropping it stops the server.
#[derive(Debug)]
pub struct CwProxy {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

#[derive(Clone)]
struct Upstream {
    /// `host:port` of moto.
    authority: String,
}

impl CwProxy {
    /// Starts a proxy on 127.0.0.1 (free port) forwarding to moto at `moto_endpoint`
    /// (`http://127.0.0.1:PORT`), on the current tokio runtime.
    ///
    /// # Errors
    /// When the endpoint is not a plain `http://host:port` URL or no port can be bound.
    pub async fn start(moto_endpoint: &str) -> anyhow::Result<CwProxy> {
        let authority = moto_endpoint
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/').to_string())
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .with_context(|| format!("moto endpoint {moto_endpoint:?} is not http://host:port"))?;
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.context("failed to bind the CloudWatch proxy")?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(&format!("/service/{SERVICE}/operation/{{op}}"), post(handle))
            .with_state(Upstream { authority });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "cloudwatch proxy stopped");
            }
        });
        Ok(CwProxy { addr, stop: Some(stop), task: Some(task) })
    }

    /// `http://127.0.0.1:PORT`: the `endpoint_url` of the CloudWatch client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for CwProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn handle(State(up): State<Upstream>, Path(op): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    match forward(&up, &op, &headers, &body).await {
        Ok(resp) => resp,
        Err(e) => cbor_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", &format!("cloudwatch proxy: {e:#}")),
    }
}

async fn forward(up: &Upstream, op: &str, headers: &HeaderMap, body: &[u8]) -> anyhow::Result<Response> {
    if headers.get("content-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip")) {
        return Ok(cbor_error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "the CloudWatch proxy does not decompress requests: build the client with disable_request_compression(true)",
        ));
    }
    let request = if body.is_empty() {
        Json::Object(Map::new())
    } else {
        match ciborium::from_reader::<Cbor, _>(body) {
            Ok(v) => cbor_to_json(v),
            Err(e) => {
                return Ok(cbor_error(
                    StatusCode::BAD_REQUEST,
                    "SerializationException",
                    &format!("invalid CBOR: {e}"),
                ));
            }
        }
    };
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| {
            "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0".to_string()
        });
    let mut extra = vec![("Authorization".to_string(), authorization)];
    for name in ["x-amz-date", "x-amz-security-token"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            extra.push((name.to_string(), v.to_string()));
        }
    }
    let payload = request.to_string();
    let (authority, op_name) = (up.authority.clone(), op.to_string());
    let upstream = tokio::task::spawn_blocking(move || post_json(&authority, &op_name, &extra, payload.as_bytes()))
        .await
        .context("the forwarding task failed")??;
    let query_error = upstream.header("x-amzn-query-error");
    let request_id = upstream.header("x-amzn-requestid");
    let status = StatusCode::from_u16(upstream.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let parsed: Option<Json> = if upstream.body.is_empty() {
        Some(Json::Object(Map::new()))
    } else {
        serde_json::from_slice(&upstream.body).ok()
    };
    let mut response = match (status.is_success(), parsed) {
        (true, Some(json)) => cbor_response(StatusCode::OK, &json_to_cbor(&json)),
        (true, None) => cbor_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            "moto answered with a body that is not JSON",
        ),
        (false, Some(Json::Object(mut map))) => {
            // Keep `__type` and `message` as moto wrote them (the SDK strips a `ns#` prefix).
            if !map.contains_key("__type") {
                map.insert("__type".into(), Json::String("InternalFailure".into()));
            }
            cbor_response(status, &json_to_cbor(&Json::Object(map)))
        }
        (false, _) => {
            let text = String::from_utf8_lossy(&upstream.body);
            let code = if upstream.status == 404 { "UnknownOperationException" } else { "InternalFailure" };
            cbor_error(status, code, &format!("moto answered {}: {}", upstream.status, text.trim()))
        }
    };
    let headers = response.headers_mut();
    if let Some(q) = query_error.and_then(|q| HeaderValue::from_str(&q).ok()) {
        headers.insert("x-amzn-query-error", q);
    }
    if let Some(id) = request_id.and_then(|q| HeaderValue::from_str(&q).ok()) {
        headers.insert("x-amzn-requestid", id);
    }
    Ok(response)
}

fn cbor_response(status: StatusCode, value: &Cbor) -> Response {
    let mut body = Vec::new();
    if let Err(e) = ciborium::into_writer(value, &mut body) {
        return (StatusCode::INTERNAL_SERVER_ERROR, format!("cbor encoding failed: {e}")).into_response();
    }
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/cbor"));
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    resp
}

/// An RPC v2 CBOR error: a map with `__type` and `message`.
fn cbor_error(status: StatusCode, code: &str, message: &str) -> Response {
    let value = Cbor::Map(vec![
        (Cbor::Text("__type".into()), Cbor::Text(format!("com.amazonaws.cloudwatch#{code}"))),
        (Cbor::Text("message".into()), Cbor::Text(message.into())),
    ]);
    cbor_response(status, &value)
}

/// A CBOR request as JSON: tag 1 timestamps become epoch-second numbers, byte strings base64.
pub fn cbor_to_json(value: Cbor) -> Json {
    match value {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(b),
        Cbor::Integer(i) => {
            let n = i128::from(i);
            if let Ok(v) = i64::try_from(n) {
                Json::Number(v.into())
            } else if let Ok(v) = u64::try_from(n) {
                Json::Number(v.into())
            } else {
                Number::from_f64(n as f64).map_or(Json::Null, Json::Number)
            }
        }
        Cbor::Float(f) => Number::from_f64(f).map_or(Json::Null, Json::Number),
        Cbor::Text(s) => Json::String(s),
        Cbor::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        // Tag 1 (epoch seconds) and any other tag: the tagged value itself.
        Cbor::Tag(_, inner) => cbor_to_json(*inner),
        Cbor::Array(items) => Json::Array(items.into_iter().map(cbor_to_json).collect()),
        Cbor::Map(pairs) => Json::Object(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Cbor::Text(s) => s,
                        other => cbor_to_json(other).to_string(),
                    };
                    (key, cbor_to_json(v))
                })
                .collect(),
        ),
        _ => Json::Null,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Typed {
    Timestamp,
    Double,
}

/// A JSON answer as CBOR in the SDK's shapes: fields named in [`TIMESTAMP_FIELDS`] become tag 1
/// epoch seconds, fields named in [`DOUBLE_FIELDS`] floats; `null` members are left out.
pub fn json_to_cbor(value: &Json) -> Cbor {
    typed_cbor(value, None)
}

fn typed_cbor(value: &Json, typed: Option<Typed>) -> Cbor {
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(n) => match typed {
            Some(Typed::Timestamp) => {
                let inner = match n.as_i64() {
                    Some(i) => Cbor::Integer(i.into()),
                    None => Cbor::Float(n.as_f64().unwrap_or_default()),
                };
                Cbor::Tag(1, Box::new(inner))
            }
            Some(Typed::Double) => Cbor::Float(n.as_f64().unwrap_or_default()),
            None => {
                if let Some(i) = n.as_i64() {
                    Cbor::Integer(i.into())
                } else if let Some(u) = n.as_u64() {
                    Cbor::Integer(u.into())
                } else {
                    Cbor::Float(n.as_f64().unwrap_or_default())
                }
            }
        },
        Json::String(s) => match typed {
            // An ISO 8601 timestamp, should moto ever print one.
            Some(Typed::Timestamp) => match parse_iso_seconds(s) {
                Some(secs) => Cbor::Tag(1, Box::new(Cbor::Float(secs))),
                None => Cbor::Text(s.clone()),
            },
            _ => Cbor::Text(s.clone()),
        },
        Json::Array(items) => Cbor::Array(items.iter().map(|v| typed_cbor(v, typed)).collect()),
        Json::Object(map) => Cbor::Map(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let t = if TIMESTAMP_FIELDS.contains(&k.as_str()) {
                        Some(Typed::Timestamp)
                    } else if DOUBLE_FIELDS.contains(&k.as_str()) {
                        Some(Typed::Double)
                    } else {
                        None
                    };
                    (Cbor::Text(k.clone()), typed_cbor(v, t))
                })
                .collect(),
        ),
    }
}

/// Epoch seconds of `YYYY-MM-DDTHH:MM:SS[.fff][Z|+00:00]` (UTC only).
fn parse_iso_seconds(s: &str) -> Option<f64> {
    let s = s.trim_end_matches('Z').trim_end_matches("+00:00");
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) as f64 + frac)
}

struct Upstreamed {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Upstreamed {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
}

/// POSTs an awsJson1_0 request to moto over a fresh HTTP/1.1 connection (blocking).
fn post_json(authority: &str, op: &str, extra: &[(String, String)], body: &[u8]) -> anyhow::Result<Upstreamed> {
    let mut stream =
        TcpStream::connect(authority).with_context(|| format!("failed to connect to moto at {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {SERVICE}.{op}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").context("moto's answer has no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("moto's answer has no status line")?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Upstreamed { status, headers, body })
}

fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else { bail!("truncated chunked body") };
        let size_text = String::from_utf8_lossy(&raw[..eol]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_doubles_are_typed_by_field() {
        let json = serde_json::json!({"MetricDataResults": [{"Id": "m0", "Timestamps": [1700000000], "Values": [12, 1.5], "StatusCode": "Complete", "NextToken": null}]});
        let cbor = json_to_cbor(&json);
        let Cbor::Map(top) = cbor else { panic!("map") };
        let Cbor::Array(results) = &top[0].1 else { panic!("array") };
        let Cbor::Map(r) = &results[0] else { panic!("map") };
        let get = |k: &str| r.iter().find(|(kk, _)| kk == &Cbor::Text(k.into())).map(|(_, v)| v.clone());
        assert_eq!(
            get("Timestamps"),
            Some(Cbor::Array(vec![Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000.into())))]))
        );
        assert_eq!(get("Values"), Some(Cbor::Array(vec![Cbor::Float(12.0), Cbor::Float(1.5)])));
        assert_eq!(get("Id"), Some(Cbor::Text("m0".into())));
        assert_eq!(get("NextToken"), None, "nulls are left out");
    }

    #[test]
    fn cbor_requests_become_json() {
        let cbor = Cbor::Map(vec![
            (Cbor::Text("StartTime".into()), Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_000.5)))),
            (Cbor::Text("MaxDatapoints".into()), Cbor::Integer(10.into())),
        ]);
        assert_eq!(cbor_to_json(cbor), serde_json::json!({"StartTime": 1_700_000_000.5, "MaxDatapoints": 10}));
    }

    #[test]
    fn iso_timestamps_parse() {
        assert_eq!(parse_iso_seconds("1970-01-02T00:00:01Z"), Some(86_401.0));
        assert_eq!(parse_iso_seconds("2023-11-14T22:13:20.5+00:00"), Some(1_700_000_000.5));
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap_or_default(), b"abcde");
    }
}
