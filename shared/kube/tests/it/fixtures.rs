//! A small cluster snapshot and helpers to serve it with the simulated cluster.

use aiops_core::snapshot::{LogKey, Snapshot};
use jiff::Timestamp;
use serde_json::{Value, json};

/// "Now" of the fixture snapshot.
pub const CAPTURED_AT: &str = "2025-03-01T10:00:00Z";
/// ConfigMaps in namespace `bulk`: more than two pages of 500.
pub const BULK_CONFIGMAPS: usize = 1200;
/// The value of the Secret's `password` key (base64 of "hunter2").
pub const SECRET_PASSWORD_B64: &str = "aHVudGVyMg==";

pub const WEB_1_LOG: &str = "starting\nlistening on :8080\nGET /healthz 200\n";
pub const WEB_1_PREVIOUS_LOG: &str = "starting\njava.lang.OutOfMemoryError: Java heap space\n";

pub fn captured_at() -> Timestamp {
    CAPTURED_AT.parse().expect("fixed timestamp")
}

fn pod(ns: &str, name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app": app},
            "uid": format!("uid-{ns}-{name}"),
            "creationTimestamp": "2025-03-01T09:00:00Z",
        },
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": format!("{app}:1.0")}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "app",
                "ready": true,
                "restartCount": 1,
                "image": format!("{app}:1.0"),
                "imageID": "",
                "state": {"running": {"startedAt": "2025-03-01T09:30:00Z"}},
            }],
        },
    })
}

fn event(ns: &str, name: &str, object: &str, reason: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2025-03-01T09:55:00Z"},
        "involvedObject": {"kind": "Pod", "name": object, "namespace": ns, "apiVersion": "v1"},
        "reason": reason,
        "message": format!("{reason} for {object}"),
        "type": "Warning",
        "count": 3,
        "lastTimestamp": "2025-03-01T09:59:00Z",
    })
}

/// Pods in two namespaces, events, a Secret with a value, a node, and 1,200 ConfigMaps, with
/// the current and previous log of `production/web-1`.
pub fn snapshot() -> Snapshot {
    let mut objects = vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "production"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "staging"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bulk"}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "labels": {"kubernetes.io/os": "linux"}}}),
        pod("production", "web-1", "web"),
        pod("production", "web-2", "web"),
        pod("production", "db-0", "db"),
        pod("staging", "web-1", "web"),
        event("production", "web-1.17a1", "web-1", "BackOff"),
        event("production", "db-0.17a2", "db-0", "Unhealthy"),
        event("staging", "web-1.17a3", "web-1", "Pulled"),
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db-credentials", "namespace": "production", "labels": {"app": "db"}},
            "type": "Opaque",
            "data": {"password": SECRET_PASSWORD_B64},
            "stringData": {"user": "admin"},
        }),
    ];
    for i in 0..BULK_CONFIGMAPS {
        objects.push(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:04}"), "namespace": "bulk"},
            "data": {"index": i.to_string()},
        }));
    }
    let mut snapshot = Snapshot::from_objects(objects, Some(captured_at()));
    let key = |previous| LogKey {
        namespace: Some("production".into()),
        pod: "web-1".into(),
        container: "app".into(),
        previous,
    };
    snapshot.logs.insert(key(false), WEB_1_LOG.to_string());
    snapshot.logs.insert(key(true), WEB_1_PREVIOUS_LOG.to_string());
    snapshot
}

/// The simulated cluster serving [`snapshot`], and its URL.
pub async fn sim() -> (aiops_sim::SimCluster, String) {
    let sim = aiops_sim::SimCluster::start(snapshot()).await.expect("start the simulated cluster");
    let url = sim.url().to_string();
    (sim, url)
}

/// Names of objects, as `namespace/name` (or `name`), sorted.
pub fn names(objects: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = objects
        .iter()
        .map(|o| {
            let meta = &o["metadata"];
            match meta["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", meta["name"].as_str().unwrap_or_default()),
                None => meta["name"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    names.sort();
    names
}
