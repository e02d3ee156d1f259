//! The scale subresource of Deployments and StatefulSets.

use aiops_core::Kind;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{api_error, start};

#[tokio::test]
async fn get_and_patch_scale() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client, "prod");
    let scale = deployments.get_scale("payment-service").await?;
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    let status = scale.status.expect("scale status");
    assert_eq!((status.replicas, status.selector.as_deref()), (1, Some("app=payment")));

    let scaled = deployments
        .patch_scale("payment-service", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await?;
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(3));
    let deployment = deployments.get("payment-service").await?;
    assert_eq!((deployment.spec.replicas, deployment.metadata.generation), (Some(3), Some(2)));
    assert_eq!(
        sim.get(Kind::Deployment, Some("prod"), "payment-service").map(|d| d["spec"]["replicas"].clone()),
        Some(json!(3))
    );

    let preview = deployments
        .patch_scale(
            "payment-service",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"spec": {"replicas": 0}})),
        )
        .await?;
    assert_eq!(preview.spec.and_then(|s| s.replicas), Some(0));
    assert_eq!(deployments.get("payment-service").await?.spec.replicas, Some(3), "dry run stored nothing");
    Ok(())
}

#[tokio::test]
async fn replace_scale_checks_resource_version() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "prod");
    let mut scale = sets.get_scale("db").await?;
    scale.spec.get_or_insert_default().replicas = Some(5);
    let replaced = sets.replace_scale("db", &PostParams::default(), &scale).await?;
    assert_eq!(replaced.spec.and_then(|s| s.replicas), Some(5));
    // The same (now stale) Scale again is a conflict on the StatefulSet.
    let status = api_error(sets.replace_scale("db", &PostParams::default(), &scale).await);
    assert_eq!(status.code, 409);
    assert!(
        status.message.starts_with("Operation cannot be fulfilled on statefulsets.apps \"db\""),
        "{}",
        status.message
    );

    let status = api_error(
        sets.patch_scale("db", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": -2}}))).await,
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    let status = api_error(Api::<Deployment>::namespaced(client.clone(), "prod").get_scale("nope").await);
    assert_eq!((status.code, status.message.as_str()), (404, "deployments.apps \"nope\" not found"));
    // Pods have no scale subresource.
    let status = api_error(Api::<Pod>::namespaced(client, "prod").get_scale("web-1").await);
    assert_eq!(status.code, 404);
    Ok(())
}
