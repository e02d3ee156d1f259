//! The resource metrics API (`metrics.k8s.io/v1beta1`): served, read-only, when the snapshot
//! holds PodMetrics or NodeMetrics; absent (404, not in discovery) otherwise, as on a cluster
//! without metrics-server.

use aiops_core::snapshot::Snapshot;
use aiops_sim::SimCluster;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::Discovery;
use serde_json::json;

use crate::support::{self, CAPTURED_AT, api_error, client, start};

fn pod_metrics(ns: &str, name: &str, memory: &str) -> serde_json::Value {
    json!({
        "apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": CAPTURED_AT},
        "timestamp": "2025-06-01T11:59:45Z", "window": "15.018s",
        "containers": [{"name": "api", "usage": {"cpu": "12345678n", "memory": memory}}]
    })
}

async fn with_metrics() -> anyhow::Result<(SimCluster, kube::Client)> {
    let mut objects = support::objects();
    objects.push(pod_metrics("prod", "api-7d9f-abc", "131072Ki"));
    objects.push(pod_metrics("prod", "api-7d9f-def", "98304Ki"));
    objects.push(json!({
        "apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
        "metadata": {"name": "node-a", "creationTimestamp": CAPTURED_AT},
        "timestamp": "2025-06-01T11:59:45Z", "window": "20.041s",
        "usage": {"cpu": "512345678n", "memory": "3145728Ki"}
    }));
    let sim = SimCluster::start(Snapshot::from_objects(objects, CAPTURED_AT.parse().ok())).await?;
    let client = client(&sim)?;
    Ok((sim, client))
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", kind), plural)
}

#[tokio::test]
async fn without_metrics_objects_the_group_is_not_served() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    assert!(kube::discovery::group(&client, "metrics.k8s.io").await.is_err(), "metrics.k8s.io must not be discovered");
    let discovery = Discovery::new(client.clone()).run().await?;
    assert!(discovery.groups().all(|g| g.name() != "metrics.k8s.io"));
    let pods: Api<DynamicObject> = Api::namespaced_with(client.clone(), "prod", &resource("PodMetrics", "pods"));
    let status = api_error(pods.list(&ListParams::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"), "{status:?}");
    let nodes: Api<DynamicObject> = Api::all_with(client, &resource("NodeMetrics", "nodes"));
    assert_eq!(api_error(nodes.get("node-a").await).code, 404);
    Ok(())
}

#[tokio::test]
async fn metrics_objects_are_served_and_discovered() -> anyhow::Result<()> {
    let (_sim, client) = with_metrics().await?;
    let discovery = Discovery::new(client.clone()).run().await?;
    let (res, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "PodMetrics"))
        .ok_or_else(|| anyhow::anyhow!("PodMetrics not discovered"))?;
    assert_eq!(res.plural, "pods");
    assert!(caps.supports_operation(kube::discovery::verbs::LIST));
    assert!(!caps.supports_operation(kube::discovery::verbs::CREATE), "the metrics API is read-only");
    assert!(discovery.resolve_gvk(&GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", "NodeMetrics")).is_some());

    let pods: Api<DynamicObject> = Api::namespaced_with(client.clone(), "prod", &resource("PodMetrics", "pods"));
    let list = pods.list(&ListParams::default()).await?;
    let names: Vec<String> = list.items.iter().filter_map(|o| o.metadata.name.clone()).collect();
    assert_eq!(names, ["api-7d9f-abc", "api-7d9f-def"]);
    let one = pods.get("api-7d9f-abc").await?;
    assert_eq!(one.data["containers"][0]["usage"]["memory"], "131072Ki");
    let staging: Api<DynamicObject> = Api::namespaced_with(client.clone(), "staging", &resource("PodMetrics", "pods"));
    assert!(staging.list(&ListParams::default()).await?.items.is_empty());
    // The core pods of the same plural are untouched.
    let core: Api<Pod> = Api::namespaced(client.clone(), "prod");
    assert_eq!(core.list(&ListParams::default()).await?.items.len(), 5);
    let nodes: Api<DynamicObject> = Api::all_with(client, &resource("NodeMetrics", "nodes"));
    assert_eq!(nodes.get("node-a").await?.data["usage"]["cpu"], "512345678n");
    Ok(())
}

#[tokio::test]
async fn the_metrics_api_is_read_only() -> anyhow::Result<()> {
    let (_sim, client) = with_metrics().await?;
    let pods: Api<DynamicObject> = Api::namespaced_with(client, "prod", &resource("PodMetrics", "pods"));
    let mut obj = pods.get("api-7d9f-abc").await?;
    obj.metadata.name = Some("new".into());
    obj.metadata.resource_version = None;
    assert_eq!(api_error(pods.create(&PostParams::default(), &obj).await).code, 405);
    assert_eq!(api_error(pods.delete("api-7d9f-abc", &DeleteParams::default()).await).code, 405);
    assert!(pods.get("api-7d9f-abc").await.is_ok(), "still there");
    Ok(())
}

#[tokio::test]
async fn deleting_a_pod_drops_its_metrics() -> anyhow::Result<()> {
    let (_sim, client) = with_metrics().await?;
    let core: Api<Pod> = Api::namespaced(client.clone(), "prod");
    core.delete("api-7d9f-abc", &DeleteParams::default()).await?;
    let pods: Api<DynamicObject> = Api::namespaced_with(client, "prod", &resource("PodMetrics", "pods"));
    assert_eq!(api_error(pods.get("api-7d9f-abc").await).code, 404);
    assert!(pods.get("api-7d9f-def").await.is_ok());
    Ok(())
}
