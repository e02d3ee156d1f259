//! Writes through the kube client: patch (merge, strategic, JSON), replace, create, delete,
//! dry runs, conflicts and validation.

use aiops_core::Kind;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::{api_error, start};

fn rv_of(d: &Deployment) -> u64 {
    d.metadata.resource_version.as_deref().and_then(|rv| rv.parse().ok()).unwrap_or_default()
}

fn containers(d: &Deployment) -> Vec<(String, Option<String>)> {
    let spec = d.spec.template.spec.clone().unwrap_or_default();
    spec.containers
        .into_iter()
        .map(|c| {
            let memory = c.resources.and_then(|r| r.limits).and_then(|l| l.get("memory").map(|q| q.0.clone()));
            (c.name, memory)
        })
        .collect()
}

#[tokio::test]
async fn merge_patch_bumps_resource_version_and_generation() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client, "prod");
    let before = deployments.get("payment-service").await?;
    let after = deployments
        .patch("payment-service", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await?;
    assert_eq!(after.spec.replicas, Some(3));
    assert_eq!(after.metadata.generation, Some(2));
    assert!(rv_of(&after) > rv_of(&before), "{} -> {}", rv_of(&before), rv_of(&after));
    assert_eq!(rv_of(&after), sim.resource_version());
    // Status belongs to the status subresource: unchanged.
    assert_eq!(after.status.as_ref().and_then(|s| s.ready_replicas), Some(0));
    let stored = sim.get(Kind::Deployment, Some("prod"), "payment-service").expect("stored");
    assert_eq!(stored["spec"]["replicas"], 3);
    // A patch that changes nothing keeps the resourceVersion, as on a real server.
    let again = deployments
        .patch("payment-service", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await?;
    assert_eq!(rv_of(&again), rv_of(&after));
    // Metadata-only changes do not bump the generation.
    let labelled = deployments
        .patch(
            "payment-service",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "pay"}}})),
        )
        .await?;
    assert_eq!(labelled.metadata.generation, Some(2));
    Ok(())
}

#[tokio::test]
async fn strategic_patch_merges_containers_by_name() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client, "prod");
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "payment", "resources": {"limits": {"memory": "512Mi"}}, "env": [{"name": "JAVA_OPTS", "value": "-Xmx400m"}]}
    ]}}}});
    let after = deployments.patch("payment-service", &PatchParams::default(), &Patch::Strategic(patch)).await?;
    assert_eq!(
        containers(&after),
        [("payment".to_string(), Some("512Mi".to_string())), ("envoy".to_string(), None)],
        "the sidecar stays, the payment container gets the new limit"
    );
    let spec = after.spec.template.spec.expect("pod spec");
    let env: Vec<String> = spec.containers[0].env.iter().flatten().map(|e| e.name.clone()).collect();
    assert_eq!(env, ["LOG_LEVEL", "JAVA_OPTS"]);
    assert_eq!(spec.containers[0].image.as_deref(), Some("registry.example.com/payment:1.0"));
    // The same body as a merge patch replaces the whole list.
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "payment", "image": "registry.example.com/payment:1.1"}]}}}});
    let after = deployments.patch("payment-service", &PatchParams::default(), &Patch::Merge(patch)).await?;
    assert_eq!(containers(&after), [("payment".to_string(), None)]);
    Ok(())
}

#[tokio::test]
async fn json_patch_applies_and_a_failed_test_is_422() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client, "prod");
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "add", "path": "/metadata/annotations", "value": {"aiops/restartedAt": "2025-06-01T12:00:00Z"}}
    ]))?;
    let after = deployments.patch("payment-service", &PatchParams::default(), &Patch::Json::<()>(ops.clone())).await?;
    assert_eq!(after.spec.replicas, Some(4));
    assert!(after.metadata.annotations.is_some_and(|a| a.contains_key("aiops/restartedAt")));
    // The test op now fails (replicas is 4).
    let status =
        api_error(deployments.patch("payment-service", &PatchParams::default(), &Patch::Json::<()>(ops)).await);
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    Ok(())
}

#[tokio::test]
async fn dry_run_changes_nothing() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    let rv = sim.resource_version();
    let preview = deployments
        .patch("api", &PatchParams::default().dry_run(), &Patch::Merge(json!({"spec": {"replicas": 0}})))
        .await?;
    assert_eq!(preview.spec.replicas, Some(0), "the would-be result");
    assert_eq!(deployments.get("api").await?.spec.replicas, Some(2), "nothing stored");
    assert_eq!(sim.resource_version(), rv);
    // A dry-run create and delete leave the cluster as it was.
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "new"}, "data": {"a": "b"}}))?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client, "prod");
    configmaps.create(&PostParams { dry_run: true, ..PostParams::default() }, &cm).await?;
    assert!(configmaps.get_opt("new").await?.is_none());
    configmaps.delete("payment-config", &DeleteParams::default().dry_run()).await?;
    assert!(configmaps.get_opt("payment-config").await?.is_some());
    assert_eq!(sim.resource_version(), rv);
    Ok(())
}

#[tokio::test]
async fn replace_with_a_stale_resource_version_is_409() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client, "prod");
    let mut stale = deployments.get("api").await?;
    deployments.patch("api", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 5}}))).await?;
    stale.spec.replicas = Some(1);
    let status = api_error(deployments.replace("api", &PostParams::default(), &stale).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on deployments.apps \"api\": the object has been modified; please apply your \
         changes to the latest version and try again"
    );
    // With the current version the replace goes through.
    let mut fresh = deployments.get("api").await?;
    fresh.spec.replicas = Some(1);
    let replaced = deployments.replace("api", &PostParams::default(), &fresh).await?;
    assert_eq!(replaced.spec.replicas, Some(1));
    assert_eq!(replaced.metadata.uid, fresh.metadata.uid);
    // A merge patch carrying a stale resourceVersion is refused the same way.
    let status = api_error(
        deployments
            .patch(
                "api",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}})),
            )
            .await,
    );
    assert_eq!(status.code, 409);
    Ok(())
}

#[tokio::test]
async fn invalid_writes_are_refused() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "prod");
    let status = api_error(
        deployments.patch("api", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": "three"}}))).await,
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"), "{}", status.message);
    assert!(status.message.starts_with("Deployment.apps \"api\" is invalid"), "{}", status.message);
    let status = api_error(
        deployments.patch("api", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"name": "other"}}))).await,
    );
    assert_eq!(status.code, 422);
    let status = api_error(
        deployments.patch("api", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": -1}}))).await,
    );
    assert_eq!(status.code, 422);
    let status = api_error(deployments.patch("nope", &PatchParams::default(), &Patch::Merge(json!({}))).await);
    assert_eq!(status.code, 404);
    let status = api_error(
        deployments
            .patch(
                "api",
                &PatchParams::apply("aiops"),
                &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment"})),
            )
            .await,
    );
    assert_eq!(status.code, 415);
    let mut renamed = deployments.get("api").await?;
    renamed.metadata.name = Some("api-2".into());
    let status = api_error(deployments.replace("api", &PostParams::default(), &renamed).await);
    assert_eq!(status.code, 400);
    assert_eq!(sim.get(Kind::Deployment, Some("prod"), "api").map(|d| d["spec"]["replicas"].clone()), Some(json!(2)));
    Ok(())
}

#[tokio::test]
async fn create_and_delete() -> anyhow::Result<()> {
    let (sim, client) = start().await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "prod");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "flags", "labels": {"app": "payment"}}, "data": {"cache": "off"}}),
    )?;
    let created = configmaps.create(&PostParams::default(), &cm).await?;
    assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
    assert_eq!(created.metadata.namespace.as_deref(), Some("prod"));
    let status = api_error(configmaps.create(&PostParams::default(), &cm).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(status.message, "configmaps \"flags\" already exists");
    let listed = configmaps.list(&ListParams::default().labels("app=payment")).await?;
    assert_eq!(listed.items.len(), 1);

    let deleted = configmaps.delete("flags", &DeleteParams::default()).await?;
    assert!(deleted.left().is_some_and(|cm| cm.metadata.name.as_deref() == Some("flags")));
    assert!(configmaps.get_opt("flags").await?.is_none());
    let status = api_error(configmaps.delete("flags", &DeleteParams::default()).await);
    assert_eq!(status.code, 404);

    // A precondition on a stale resourceVersion is a conflict.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "prod");
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions { resource_version: Some("1".into()), uid: None }),
        ..DeleteParams::default()
    };
    let status = api_error(pods.delete("web-1", &dp).await);
    assert_eq!(status.code, 409);

    // Deleting a namespace removes what is in it.
    Api::<Namespace>::all(client.clone()).delete("staging", &DeleteParams::default()).await?;
    assert!(Api::<Pod>::namespaced(client, "staging").list(&ListParams::default()).await?.items.is_empty());
    let objects: Vec<Value> = sim.objects();
    assert!(objects.iter().all(|o| o["metadata"]["namespace"] != "staging"));
    Ok(())
}

#[tokio::test]
async fn status_subresource_changes_only_status() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let deployments: Api<Deployment> = Api::namespaced(client, "prod");
    let patch = json!({"spec": {"replicas": 9}, "status": {"readyReplicas": 1}});
    let after = deployments.patch_status("payment-service", &PatchParams::default(), &Patch::Merge(patch)).await?;
    assert_eq!(after.status.and_then(|s| s.ready_replicas), Some(1));
    assert_eq!(after.spec.replicas, Some(1), "spec is not written through /status");
    Ok(())
}
