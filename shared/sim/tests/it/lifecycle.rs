//! Starting from a snapshot folder, refusing snapshots that cannot be a cluster, stopping.

use aiops_core::Kind;
use aiops_core::snapshot::Snapshot;
use aiops_sim::{SimCluster, SimError};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde_json::json;

use crate::support::{self, PAYMENT_POD, client};

#[tokio::test]
async fn serves_a_snapshot_folder() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    support::snapshot().write(dir.path())?;
    let sim = SimCluster::start(Snapshot::load(dir.path())?).await?;
    assert_eq!(sim.captured_at().to_string(), support::CAPTURED_AT);
    assert!(sim.url().starts_with("http://127.0.0.1:"), "{}", sim.url());
    let pods: Api<Pod> = Api::namespaced(client(&sim)?, "prod");
    assert_eq!(pods.list(&ListParams::default()).await?.items.len(), 5);
    let lp = LogParams { previous: true, container: Some("payment".into()), ..LogParams::default() };
    assert_eq!(pods.logs(PAYMENT_POD, &lp).await?, "starting\nOOMKilled: heap exhausted\n");
    // Everything the snapshot holds of the served kinds, and nothing else (no EndpointSlice).
    let objects = sim.objects();
    assert_eq!(objects.len(), support::objects().len() - 1);
    assert_eq!(objects[0]["kind"], "Namespace", "objects come in table order");
    assert!(sim.get(Kind::Node, Some("ignored"), "node-b").is_some());
    Ok(())
}

#[tokio::test]
async fn snapshots_that_cannot_be_a_cluster_are_refused() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "prod"}});
    let twice = Snapshot::from_objects(vec![pod.clone(), pod], None);
    let err = SimCluster::start(twice).await.expect_err("duplicate");
    assert!(matches!(err, SimError::DuplicateObject { ref name, .. } if name == "a"), "{err}");
    let no_namespace = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}});
    let err = SimCluster::start(Snapshot::from_objects(vec![no_namespace], None)).await.expect_err("no namespace");
    assert!(matches!(err, SimError::InvalidObject { index: 0, .. }), "{err}");
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() -> anyhow::Result<()> {
    let sim = SimCluster::start(support::snapshot()).await?;
    let pods: Api<Pod> = Api::all(client(&sim)?);
    pods.list(&ListParams::default()).await?;
    let url = sim.url();
    sim.shutdown().await;
    let fresh: Api<Pod> = Api::all(kube::Client::try_from(kube::Config::new(url.parse()?))?);
    assert!(fresh.list(&ListParams::default()).await.is_err(), "served after shutdown");

    let sim = SimCluster::start(support::snapshot()).await?;
    let url = sim.url();
    drop(sim);
    tokio::task::yield_now().await;
    let fresh: Api<Pod> = Api::all(kube::Client::try_from(kube::Config::new(url.parse()?))?);
    assert!(fresh.list(&ListParams::default()).await.is_err(), "served after drop");
    Ok(())
}
