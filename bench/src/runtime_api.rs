//! A minimal Lambda Runtime API on loopback: what a function process talks to on AWS, enough
//! for `lambda_runtime` (and the Python baseline's loop) to run.
//!
//! Served: `GET /2018-06-01/runtime/invocation/next` (waits for an event queued with
//! [`RuntimeApi::invoke`]; answers with the `Lambda-Runtime-*` headers),
//! `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error`, and
//! `POST /2018-06-01/runtime/init/error`. The instant of the first request of any kind is kept:
//! it ends a cold start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// What a function answered to one event.
#[derive(Debug)]
pub struct Reply {
    /// `…/response` (true) or `…/error` (false).
    pub ok: bool,
    /// The body the function posted.
    pub body: Value,
    /// When the event was handed to the function (the `next` answer was built).
    pub delivered: Instant,
    /// When its answer arrived.
    pub answered: Instant,
}

impl Reply {
    /// Milliseconds from delivery to answer: the invocation as the function's handler saw it,
    /// plus one loopback round trip.
    pub fn millis(&self) -> f64 {
        self.answered.duration_since(self.delivered).as_secs_f64() * 1000.0
    }
}

struct Queued {
    id: String,
    payload: Value,
    reply: oneshot::Sender<Reply>,
}

struct Inner {
    first: watch::Sender<Option<Instant>>,
    init_error: Mutex<Option<String>>,
    queue: tokio::sync::Mutex<mpsc::Receiver<Queued>>,
    pending: Mutex<HashMap<String, (Instant, oneshot::Sender<Reply>)>>,
}

/// A running Runtime API. Dropping it stops the server.
pub struct RuntimeApi {
    addr: SocketAddr,
    inner: Arc<Inner>,
    sender: mpsc::Sender<Queued>,
    first: watch::Receiver<Option<Instant>>,
    next_id: AtomicU64,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Not graceful: a `next` request may wait forever for an event that never comes.
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Serves on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.context("bind the Runtime API")?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = mpsc::channel(64);
        let (first_tx, first_rx) = watch::channel(None);
        let inner = Arc::new(Inner {
            first: first_tx,
            init_error: Mutex::new(None),
            queue: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi { addr, inner, sender, first: first_rx, next_id: AtomicU64::new(1), task })
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// The instant of the first request, once there was one.
    pub fn first_request(&self) -> Option<Instant> {
        *self.first.borrow()
    }

    /// What the function reported through `init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.inner.init_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits up to `timeout` for the first request.
    pub async fn wait_first_request(&self, timeout: Duration) -> Option<Instant> {
        let mut rx = self.first.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(v)) => *v,
            _ => None,
        }
    }

    /// Hands `payload` to the function and waits up to `timeout` for its answer.
    ///
    /// # Errors
    /// When the function does not answer in time.
    pub async fn invoke(&self, payload: Value, timeout: Duration) -> anyhow::Result<Reply> {
        let id = format!("bench-{:08}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.sender.send(Queued { id: id.clone(), payload, reply: tx }).await.context("Runtime API stopped")?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => bail!("invocation {id} was dropped"),
            Err(_) => bail!("invocation {id} got no answer within {timeout:?}"),
        }
    }
}

fn mark_first(inner: &Inner) {
    inner.first.send_if_modified(|v| {
        if v.is_none() {
            *v = Some(Instant::now());
            true
        } else {
            false
        }
    });
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    mark_first(&inner);
    let queued = inner.queue.lock().await.recv().await;
    let Some(q) = queued else { return StatusCode::GONE.into_response() };
    let delivered = Instant::now();
    let deadline = jiff::Timestamp::now().as_millisecond() + 900_000;
    inner.pending.lock().unwrap_or_else(PoisonError::into_inner).insert(q.id.clone(), (delivered, q.reply));
    (
        [
            ("content-type", "application/json".to_string()),
            ("lambda-runtime-aws-request-id", q.id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench".to_string()),
            ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_string()),
        ],
        q.payload.to_string(),
    )
        .into_response()
}

fn answer(inner: &Inner, id: &str, ok: bool, body: &[u8]) -> StatusCode {
    mark_first(inner);
    let answered = Instant::now();
    let Some((delivered, reply)) = inner.pending.lock().unwrap_or_else(PoisonError::into_inner).remove(id) else {
        return StatusCode::NOT_FOUND;
    };
    let body = serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()));
    let _ = reply.send(Reply { ok, body, delivered, answered });
    StatusCode::ACCEPTED
}

async fn response(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&inner, &id, true, &body)
}

async fn error(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&inner, &id, false, &body)
}

async fn init_error(State(inner): State<Arc<Inner>>, body: Bytes) -> StatusCode {
    mark_first(&inner);
    *inner.init_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(String::from_utf8_lossy(&body).into());
    StatusCode::ACCEPTED
}
