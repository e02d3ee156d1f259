//! aiops-sim: the simulated cluster, a Kubernetes API server on loopback over a
//! [`Snapshot`].
//!
//! [`SimCluster::start`] serves a snapshot on `http://127.0.0.1:{free port}` (plain HTTP) so
//! that the real kube-rs client (and so the `aiops-kube` adapters) works against it
//! unchanged. It backs the tests of everything that talks to Kubernetes, `aiops demo` and
//! `aiops ask --snapshot`.
//!
//! Belongs here: the HTTP surface of an API server for the kinds in
//! [`aiops_core::kinds::KINDS`] (routes and discovery are derived from that table, never
//! repeated), with the behaviour clients notice — selectors, paging, `Status` errors with the
//! real messages, pod logs, writes with optimistic concurrency, dry runs, the scale
//! subresource. Does not belong here: analysis, tools, the kube client, anything that decides.
//!
//! What is served:
//! - discovery: `/version` (v1.31.0), `/api`, `/apis`, `/apis/{group}`, the resource list of
//!   each group version (with `pods/log`, `*/status`, `*/scale`), and aggregated discovery
//!   (`Accept: …;as=APIGroupDiscoveryList`);
//! - list (cluster-wide or per namespace) with `labelSelector`, `fieldSelector` (any dotted
//!   path, see [`selectors`]), `limit` and `continue` (a malformed token is 400 BadRequest; a
//!   token is 410 Expired once [`SimCluster::expire_continue_tokens`] was called), sorted by
//!   namespace then name, with `remainingItemCount`; get; `PartialObjectMetadata` answers for
//!   `Api::get_metadata`/`list_metadata`;
//! - create, replace (409 on a stale resourceVersion), patch (merge, strategic merge, JSON
//!   patch; see [`patch`]), delete (with preconditions), all with `dryRun=All`;
//! - `status` and `scale` subresources, and pod logs (see [`logs`]);
//! - a Deployment controller: a write that changes a Deployment's spec rolls out a new
//!   ReplicaSet (or rolls back to an older one) or scales the current one, replaces the pods,
//!   decides whether the new pods run from what the snapshot knew about the old ones (raising
//!   the memory limit of an OOMKilled container fixes it, a restart does not), and updates
//!   statuses, Endpoints and Events, before the next request (see `controller.rs`);
//! - a clock: [`SimCluster::now`] is the capture time plus the time elapsed since the start;
//! - the resource metrics API (`metrics.k8s.io/v1beta1` PodMetrics and NodeMetrics, get and
//!   list only) when, and only when, the snapshot holds such objects: otherwise the group is
//!   absent from discovery and its paths answer 404, as on a cluster without metrics-server.
//!   Deleting a pod drops its PodMetrics.
//!
//! Not served: watch (`?watch=true` answers 405 MethodNotAllowed: the cluster only changes
//! through this API, so a client can list again), server-side apply (415), deletecollection,
//! protobuf, tables (`as=Table`), authentication (any request is allowed), controllers other
//! than the Deployment one (a scaled StatefulSet does not create Pods, a deleted pod is not
//! recreated; deleting an owner does not delete its dependents, except that deleting a
//! Namespace removes what is in it). Objects of kinds outside the table are not served. A list
//! continued with a token sees the current state, not the state of its first page. A write that
//! changes nothing keeps the resourceVersion, as on a real server.

pub mod logs;
pub mod patch;
pub mod selectors;
pub mod status;

mod controller;
mod discovery;
mod resources;
mod routes;
mod store;
mod subresources;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use aiops_core::Kind;
use aiops_core::snapshot::Snapshot;
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::store::Shared;

/// Errors starting the simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No port could be bound on 127.0.0.1.
    #[error("failed to bind the simulated cluster to 127.0.0.1")]
    Bind {
        #[source]
        source: std::io::Error,
    },
    /// An object of the snapshot cannot be served (no name, a namespaced object without a
    /// namespace, not a JSON object).
    #[error("snapshot object {index} ({kind}) cannot be served: {message}")]
    InvalidObject {
        /// The object's index in the snapshot's list.
        index: usize,
        /// Its `kind`.
        kind: String,
        /// What is wrong with it.
        message: String,
    },
    /// Two objects of the snapshot have the same kind, namespace and name.
    #[error("snapshot holds {kind} {namespace}/{name} twice")]
    DuplicateObject { kind: String, namespace: String, name: String },
}

/// A running simulated cluster. Dropping it stops the server.
#[derive(Debug)]
pub struct SimCluster {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimCluster {
    /// Loads `snapshot` and serves it on 127.0.0.1 on a free port, on the current tokio
    /// runtime. Objects lacking `metadata.resourceVersion` or `metadata.uid` get one.
    ///
    /// # Errors
    /// [`SimError::Bind`] when no port can be bound; [`SimError::InvalidObject`] and
    /// [`SimError::DuplicateObject`] when the snapshot cannot be served as a cluster.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub async fn start(snapshot: Snapshot) -> Result<SimCluster, SimError> {
        let shared = Arc::new(Shared::new(snapshot)?);
        let listener =
            tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|source| SimError::Bind { source })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind { source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = routes::router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "simulated cluster stopped");
            }
        });
        tracing::debug!(%addr, "simulated cluster started");
        Ok(SimCluster { addr, shared, stop: Some(stop), task: Some(task) })
    }

    /// The server's base URL, `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// When the snapshot was captured.
    pub fn captured_at(&self) -> Timestamp {
        self.shared.captured_at()
    }

    /// "Now" for this cluster: [`captured_at`](SimCluster::captured_at) plus the wall-clock
    /// time elapsed since [`start`](SimCluster::start), so that the ages of the snapshot's
    /// objects and of the objects created since stay consistent. New objects' timestamps
    /// (`creationTimestamp`, a pod's `startTime`, an Event's `lastTimestamp`) come from it,
    /// truncated to whole seconds as Kubernetes writes them.
    pub fn now(&self) -> Timestamp {
        self.shared.now()
    }

    /// Every object as the server holds it now (after any writes), ordered by kind (table
    /// order), namespace and name.
    pub fn objects(&self) -> Vec<Value> {
        self.shared.read().all()
    }

    /// One object as the server holds it now; `namespace` is ignored for cluster-scoped kinds.
    pub fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Option<Value> {
        let namespace = if kind.info().namespaced { namespace.unwrap_or_default() } else { "" };
        self.shared.read().get(kind, namespace, name).cloned()
    }

    /// The cluster's current resourceVersion (the last one handed out).
    pub fn resource_version(&self) -> u64 {
        self.shared.read().resource_version()
    }

    /// Expires every `continue` token handed out so far: continuing a list with one answers
    /// 410 Gone (reason Expired), as a real server does after compaction. For testing clients'
    /// handling of that case.
    pub fn expire_continue_tokens(&self) {
        self.shared.write().expire_continue_tokens();
    }

    /// Stops the server and waits for it to finish (open connections are closed).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Graceful shutdown waits for idle keep-alive connections; don't wait long for them.
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(1), task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
