//! Ports: the traits adapters implement (kube-rs, AWS SDK, SQLite, …). Object-safe, used as
//! `Arc<dyn Port>`.

use jiff::Timestamp;
use serde_json::Value;

use crate::error::Result;
use crate::kinds::Kind;

/// Which objects a list covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// A namespace, or every namespace when `None` (ignored for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// A Kubernetes label selector (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// A Kubernetes field selector (`involvedObject.name=web-1`).
    pub field_selector: Option<String>,
}

impl Scope {
    /// Every object of a kind in every namespace.
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Every object of a kind in one namespace, or everywhere for `None`.
    pub fn namespace(ns: Option<&str>) -> Scope {
        Scope { namespace: ns.map(str::to_string), ..Scope::default() }
    }
}

/// A request for a container's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRequest {
    pub namespace: String,
    pub pod: String,
    /// The container; the pod's only (or default) container when `None`.
    pub container: Option<String>,
    /// The previous, terminated instance of the container.
    pub previous: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub timestamps: bool,
    /// Ask the server to stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

/// Read access to a cluster: the only way tools and analyzers fetch Kubernetes objects.
///
/// Implementations return objects as the API server serves them (JSON with `apiVersion` and
/// `kind`), follow pagination, and never return Secret values (metadata only). All methods are
/// read-only and idempotent.
#[async_trait::async_trait]
pub trait ClusterReader: Send + Sync {
    /// Lists objects of `kind` in `scope`, following `continue` tokens.
    ///
    /// # Errors
    /// `Error::Backend` classified as throttled, transient, forbidden or fatal.
    async fn list(&self, kind: Kind, scope: &Scope) -> Result<Vec<Value>>;

    /// Gets one object; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// `Error::Backend` as for [`ClusterReader::list`].
    async fn get(&self, kind: Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>>;

    /// Reads a container log as text.
    ///
    /// # Errors
    /// `Error::NotFound` when the pod or container (or its previous instance) does not exist.
    async fn logs(&self, request: &LogRequest) -> Result<String>;

    /// "Now" for ages and windows: the wall clock for a live cluster, the capture time for a
    /// snapshot.
    fn now(&self) -> Timestamp;
}
