//! The resource metrics API through `KubeReader`: PodMetrics and NodeMetrics read when the
//! simulated cluster serves them, "no metrics" (not an error) when it does not, as on a
//! cluster without metrics-server; and the tools built on them (check_resource_usage,
//! connectivity_test) and `capture` end to end over corpus snapshots.

use std::path::{Path, PathBuf};

use aiops_core::kinds::metrics::{NodeMetrics, PodMetrics};
use aiops_core::ports::{ClusterReader, Scope};
use aiops_core::snapshot::Snapshot;
use aiops_core::{Error, Kind, tools};
use aiops_kube::KubeReader;
use serde_json::json;

use crate::fixtures::{self, CAPTURED_AT, names};

fn corpus(name: &str) -> PathBuf {
    Path::new(&manifest_dir()).join("../../tests/snapshots").join(name)
}

fn with_metrics() -> Snapshot {
    let mut snapshot = fixtures::snapshot();
    for (pod, memory) in [("web-1", "412340Ki"), ("web-2", "398112Ki")] {
        snapshot.objects.push(json!({
            "apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
            "metadata": {"name": pod, "namespace": "production", "creationTimestamp": CAPTURED_AT},
            "timestamp": "2025-03-01T09:59:45Z", "window": "15.018s",
            "containers": [{"name": "app", "usage": {"cpu": "23456789n", "memory": memory}}]
        }));
    }
    snapshot.objects.push(json!({
        "apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
        "metadata": {"name": "node-1", "creationTimestamp": CAPTURED_AT},
        "timestamp": "2025-03-01T09:59:45Z", "window": "20.041s",
        "usage": {"cpu": "812345678n", "memory": "5242880Ki"}
    }));
    snapshot
}

async fn serve(snapshot: Snapshot) -> (aiops_sim::SimCluster, KubeReader) {
    let now = snapshot.captured_at;
    let sim = aiops_sim::SimCluster::start(snapshot).await.expect("start the simulated cluster");
    let client = aiops_kube::from_url(&sim.url()).await.expect("client");
    (sim, KubeReader::new(client, Some(now)))
}

#[tokio::test]
async fn pod_and_node_metrics_are_read_when_served() {
    let (_sim, reader) = serve(with_metrics()).await;
    let pods = reader.list(Kind::PodMetrics, &Scope::namespace(Some("production"))).await.expect("list pod metrics");
    assert_eq!(names(&pods), ["production/web-1", "production/web-2"]);
    for p in &pods {
        assert_eq!(
            (p["apiVersion"].as_str(), p["kind"].as_str()),
            (Some("metrics.k8s.io/v1beta1"), Some("PodMetrics"))
        );
    }
    let typed: PodMetrics = aiops_core::k8s::decode(pods[0].clone()).expect("decodes as PodMetrics");
    assert_eq!(typed.containers[0].usage["memory"].0, "412340Ki");
    assert!(reader.list(Kind::PodMetrics, &Scope::namespace(Some("staging"))).await.expect("staging").is_empty());
    let node = reader.get(Kind::NodeMetrics, None, "node-1").await.expect("get").expect("node-1 has metrics");
    let typed: NodeMetrics = aiops_core::k8s::decode(node).expect("decodes as NodeMetrics");
    assert_eq!(typed.usage["cpu"].0, "812345678n");
    assert_eq!(reader.list(Kind::NodeMetrics, &Scope::all()).await.expect("list node metrics").len(), 1);
}

#[tokio::test]
async fn a_cluster_without_metrics_server_has_no_metrics_rather_than_an_error() {
    let (_sim, url) = fixtures::sim().await;
    let client = aiops_kube::from_url(&url).await.expect("client");
    let reader = KubeReader::new(client, Some(fixtures::captured_at()));
    for scope in [Scope::all(), Scope::namespace(Some("production"))] {
        let pods = reader.list(Kind::PodMetrics, &scope).await.expect("group not served is no metrics");
        assert!(pods.is_empty(), "{pods:?}");
    }
    assert!(reader.list(Kind::NodeMetrics, &Scope::all()).await.expect("node metrics").is_empty());
    assert_eq!(reader.get(Kind::PodMetrics, Some("production"), "web-1").await.expect("get"), None);
    // The core kinds of the same plural still answer.
    assert_eq!(reader.list(Kind::Pod, &Scope::namespace(Some("production"))).await.expect("pods").len(), 3);
}

async fn corpus_reader(name: &str) -> (aiops_sim::SimCluster, KubeReader) {
    serve(Snapshot::load(&corpus(name)).expect("corpus snapshot loads")).await
}

#[tokio::test]
async fn check_resource_usage_with_metrics_server() {
    let (_sim, reader) = corpus_reader("metrics-memory-near-limit").await;
    let out = tools::run(&reader, "check_resource_usage", &json!({"namespace": "search", "deployment": "search-api"}))
        .await
        .expect("check_resource_usage");
    assert_eq!(out.data["metrics"]["available"], true, "{}", out.text);
    let reasons: Vec<&str> =
        out.data["findings"].as_array().into_iter().flatten().filter_map(|f| f["reason"].as_str()).collect();
    assert!(reasons.contains(&"MemoryNearLimit") && reasons.contains(&"OOMKilled"), "{reasons:?}\n{}", out.text);
    for want in ["962Mi", "94%", "1Gi", "set_container_resources"] {
        assert!(out.text.contains(want), "{want:?} missing:\n{}", out.text);
    }
    // Node totals count the pods of every namespace on the scope's nodes, fetched by node.
    let nodes = out.data["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert!(nodes.iter().all(|n| n["pods"].as_u64().unwrap_or(0) > 3 && n["memory_usage"].is_string()), "{nodes:?}");
}

#[tokio::test]
async fn check_resource_usage_without_metrics_server_says_so_and_still_finds_the_oom() {
    let (_sim, reader) = corpus_reader("demo-oom-crashloop").await;
    let out = tools::run(
        &reader,
        "check_resource_usage",
        &json!({"namespace": "production", "pod": "payment-service-7d9f8b6c5d-x2k4p"}),
    )
    .await
    .expect("check_resource_usage");
    assert_eq!(out.data["metrics"]["available"], false);
    assert!(out.text.contains("does not serve the resource metrics API (metrics.k8s.io"), "{}", out.text);
    assert!(out.text.contains("OOMKilled") && out.text.contains("512Mi"), "{}", out.text);
    assert!(out.text.contains("SystemOOM"), "the kubelet's node events are read: {}", out.text);
    let err = tools::run(&reader, "check_resource_usage", &json!({"namespace": "production", "deployment": "nope"}))
        .await
        .expect_err("no such deployment");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn connectivity_test_names_the_policy_that_drops_the_traffic() {
    let (_sim, reader) = corpus_reader("networkpolicy-blocks-service").await;
    // As in the scenario's expect.yaml (the generator's names are deterministic).
    let args = json!({"namespace": "payments", "service": "payments-api", "port": 80,
        "source_namespace": "production", "source_pod": "checkout-api-mqx8qcmfkb-4fpg4"});
    let out = tools::run(&reader, "connectivity_test", &args).await.expect("connectivity_test");
    assert_eq!(out.data["first_broken"], "ingress_policy", "{}", out.text);
    assert!(out.text.contains("first broken link: ingress_policy"), "{}", out.text);
    assert!(
        out.text.contains("default-deny-ingress") && out.text.contains("allow-checkout-to-payments-api"),
        "{}",
        out.text
    );
    let statuses: Vec<(&str, &str)> = out.data["hops"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| (h["step"].as_str().unwrap_or_default(), h["status"].as_str().unwrap_or_default()))
        .collect();
    // kube-dns is read from kube-system by name; the source's logs show no DNS error.
    assert!(statuses.contains(&("dns_service", "ok")) && statuses.contains(&("dns_logs", "ok")), "{statuses:?}");

    let mut args = args;
    args["source_pod"] = json!("checkout-api-nope");
    let err = tools::run(&reader, "connectivity_test", &args).await.expect_err("no such source");
    assert_eq!(err.to_string(), "source pod production/checkout-api-nope not found");
}

#[tokio::test]
async fn capture_writes_metrics_only_when_served() {
    let (_sim, reader) = serve(with_metrics()).await;
    let (snapshot, report) = aiops_core::capture::capture(&reader, None).await.expect("capture");
    assert_eq!(report.counts.get("PodMetrics"), Some(&2));
    assert_eq!(report.counts.get("NodeMetrics"), Some(&1));
    let dir = tempfile::tempdir().expect("tempdir");
    snapshot.write(dir.path()).expect("write");
    let back = Snapshot::load(dir.path()).expect("load");
    assert_eq!(back.of_kind(Kind::PodMetrics).count(), 2);
    // Served again from the written folder.
    let (_sim2, reader2) = serve(back).await;
    assert_eq!(reader2.list(Kind::PodMetrics, &Scope::all()).await.expect("list").len(), 2);

    let (_sim3, url) = fixtures::sim().await;
    let client = aiops_kube::from_url(&url).await.expect("client");
    let reader3 = KubeReader::new(client, Some(fixtures::captured_at()));
    let (snapshot, report) = aiops_core::capture::capture(&reader3, Some("production")).await.expect("capture");
    assert_eq!(snapshot.of_kind(Kind::PodMetrics).count(), 0);
    assert!(report.skipped.iter().all(|s| !s.contains("metrics")), "not served is not an error: {:?}", report.skipped);
    assert_eq!(report.counts.get("PodMetrics"), Some(&0));
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
