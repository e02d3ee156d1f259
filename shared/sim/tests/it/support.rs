//! The test cluster: a small prod/staging snapshot with the payment-service pod OOMKilled in
//! CrashLoopBackOff, served by a fresh `SimCluster` per test, and a kube client for it.

use aiops_core::snapshot::{LogKey, Snapshot};
use aiops_sim::SimCluster;
use serde_json::{Value, json};

pub const CAPTURED_AT: &str = "2025-06-01T12:00:00Z";
pub const PAYMENT_POD: &str = "payment-service-5c6b-xyz";

fn pod(ns: &str, name: &str, labels: Value, node: &str, phase: &str, containers: &[&str]) -> Value {
    let specs: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": format!("registry.example.com/{c}:1.0"), "resources": {"limits": {"memory": "256Mi"}}}))
        .collect();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": format!("registry.example.com/{c}:1.0"), "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2025-06-01T10:00:00Z"}}}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "creationTimestamp": "2025-06-01T10:00:00Z"},
        "spec": {"nodeName": node, "containers": specs},
        "status": {"phase": phase, "containerStatuses": statuses}
    })
}

fn deployment(ns: &str, name: &str, app: &str, replicas: i64, ready: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "generation": 1, "labels": {"app": app}, "creationTimestamp": "2025-05-01T00:00:00Z"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [
                    {"name": app, "image": format!("registry.example.com/{app}:1.0"),
                     "env": [{"name": "LOG_LEVEL", "value": "info"}],
                     "resources": {"limits": {"memory": "256Mi"}}},
                    {"name": "envoy", "image": "envoyproxy/envoy:v1.30"}
                ]}
            }
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "observedGeneration": 1}
    })
}

fn event(ns: &str, name: &str, kind: &str, object: &str, reason: &str, type_: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": {"kind": kind, "name": object, "namespace": ns},
        "reason": reason, "type": type_, "message": format!("{reason} for {object}"),
        "lastTimestamp": "2025-06-01T11:59:00Z", "count": 3
    })
}

/// Every object of the test snapshot.
pub fn objects() -> Vec<Value> {
    let mut payment = pod(
        "prod",
        PAYMENT_POD,
        json!({"app": "payment", "tier": "backend"}),
        "node-a",
        "Running",
        &["payment", "envoy"],
    );
    payment["status"]["containerStatuses"][0] = json!({
        "name": "payment", "image": "registry.example.com/payment:1.0", "imageID": "", "ready": false, "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    });
    let mut pulling = pod("prod", "worker-0", json!({"app": "worker"}), "node-b", "Pending", &["worker"]);
    pulling["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": "ImagePullBackOff"}});
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "staging"}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {"pool": "general"}}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-b", "labels": {"pool": "spot"}}, "spec": {"unschedulable": true}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        pod("prod", "api-7d9f-abc", json!({"app": "api", "tier": "backend"}), "node-a", "Running", &["api"]),
        pod("prod", "api-7d9f-def", json!({"app": "api", "tier": "backend"}), "node-b", "Running", &["api"]),
        payment,
        pod("prod", "web-1", json!({"app": "web", "tier": "frontend"}), "node-b", "Pending", &["web"]),
        pulling,
        pod("staging", "api-1", json!({"app": "api"}), "node-a", "Running", &["api"]),
        deployment("prod", "api", "api", 2, 2),
        deployment("prod", "payment-service", "payment", 1, 0),
        deployment("staging", "api", "api", 1, 1),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "prod", "generation": 1},
            "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}},
            "status": {"replicas": 3}
        }),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "prod"}, "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "payment-config", "namespace": "prod"}, "data": {"DB_HOST": ""}}),
        event("prod", "payment.1", "Pod", PAYMENT_POD, "BackOff", "Warning"),
        event("prod", "payment.2", "Pod", PAYMENT_POD, "OOMKilling", "Warning"),
        event("prod", "payment.3", "Pod", PAYMENT_POD, "Pulled", "Normal"),
        event("prod", "web.1", "Pod", "web-1", "FailedScheduling", "Warning"),
        event("prod", "api.1", "Deployment", "api", "ScalingReplicaSet", "Normal"),
        event("staging", "api.1", "Pod", "api-1", "Started", "Normal"),
        // A kind the simulated cluster does not serve is skipped, not an error.
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "api-x", "namespace": "prod"}}),
    ]
}

/// The current log of the payment container: stamped lines, one unstamped continuation.
pub const PAYMENT_LOG: &str = "\
2025-06-01T11:50:00Z starting payment-service v1.4.2
2025-06-01T11:58:30Z connected to postgres at db:5432
2025-06-01T11:59:10Z allocating cache: 512MiB
2025-06-01T11:59:40.250Z java.lang.OutOfMemoryError: Java heap space
\tat com.example.Cache.fill(Cache.java:42)
";

/// The previous (OOMKilled) instance's log.
pub const PAYMENT_PREVIOUS_LOG: &str =
    "2025-06-01T11:40:00Z starting\n2025-06-01T11:45:00Z OOMKilled: heap exhausted\n";

/// The envoy sidecar's log: no timestamps.
pub const ENVOY_LOG: &str = "[info] envoy started\n[warn] upstream payment unhealthy\n";

fn log(pod: &str, container: &str, previous: bool, text: &str) -> (LogKey, String) {
    (LogKey { namespace: Some("prod".into()), pod: pod.into(), container: container.into(), previous }, text.into())
}

/// The test snapshot.
pub fn snapshot() -> Snapshot {
    let captured_at = CAPTURED_AT.parse().ok();
    let mut snapshot = Snapshot::from_objects(objects(), captured_at);
    snapshot.logs.extend([
        log(PAYMENT_POD, "payment", false, PAYMENT_LOG),
        log(PAYMENT_POD, "payment", true, PAYMENT_PREVIOUS_LOG),
        log(PAYMENT_POD, "envoy", false, ENVOY_LOG),
        // Without a namespace, as `logs/<pod>_<container>.log` is named.
        (
            LogKey { namespace: None, pod: "api-7d9f-abc".into(), container: "api".into(), previous: false },
            "GET /healthz 200\n".into(),
        ),
    ]);
    snapshot
}

/// A started cluster over the test snapshot and a kube client for it.
pub async fn start() -> anyhow::Result<(SimCluster, kube::Client)> {
    let sim = SimCluster::start(snapshot()).await?;
    let client = client(&sim)?;
    Ok((sim, client))
}

/// A kube client for a running cluster, exactly as an adapter would build one.
pub fn client(sim: &SimCluster) -> anyhow::Result<kube::Client> {
    let config = kube::Config::new(sim.url().parse()?);
    Ok(kube::Client::try_from(config)?)
}

/// The `Status` of a failed kube call; fails the test for any other outcome.
pub fn api_error<T: std::fmt::Debug>(result: kube::Result<T>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Names of typed objects.
pub fn names<K: kube::Resource>(items: &[K]) -> Vec<String> {
    items.iter().map(|o| o.meta().name.clone().unwrap_or_default()).collect()
}
