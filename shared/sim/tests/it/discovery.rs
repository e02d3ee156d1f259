//! Discovery, as kube-rs runs it (classic and aggregated), finds every kind of the table.

use aiops_core::kinds::KINDS;
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope, verbs};

use crate::support::start;

fn assert_every_kind_found(discovery: &Discovery, how: &str) {
    // Optional kinds (metrics.k8s.io) are served only with objects; see metrics.rs.
    for info in KINDS.iter().filter(|i| !i.optional) {
        let gvk = GroupVersionKind::gvk(info.group, info.version, info.name);
        let (resource, caps) =
            discovery.resolve_gvk(&gvk).unwrap_or_else(|| panic!("{how}: {} not discovered", info.name));
        assert_eq!(resource.plural, info.plural, "{how}: {}", info.name);
        let scope = if info.namespaced { Scope::Namespaced } else { Scope::Cluster };
        assert_eq!(caps.scope, scope, "{how}: {}", info.name);
        assert!(caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::PATCH), "{how}: {}", info.name);
    }
    let (_, pods) = discovery.resolve_gvk(&GroupVersionKind::gvk("", "v1", "Pod")).expect("pods");
    let pod_subresources: Vec<&str> = pods.subresources.iter().map(|(r, _)| r.plural.as_str()).collect();
    assert!(pod_subresources.contains(&"log") && pod_subresources.contains(&"status"), "{how}: {pod_subresources:?}");
    let (_, deployments) =
        discovery.resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")).expect("deployments");
    let scale = deployments.subresources.iter().find(|(r, _)| r.plural == "scale");
    assert!(scale.is_some_and(|(_, caps)| caps.supports_operation(verbs::UPDATE)), "{how}: deployments/scale missing");
}

#[tokio::test]
async fn version_is_a_recent_kubernetes() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let version = client.apiserver_version().await?;
    assert_eq!(version.git_version, "v1.31.0");
    assert_eq!((version.major.as_str(), version.minor.as_str()), ("1", "31"));
    Ok(())
}

#[tokio::test]
async fn discovery_finds_every_kind_of_the_table() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let discovery = Discovery::new(client).run().await?;
    assert_every_kind_found(&discovery, "classic");
    let mut groups: Vec<&str> = discovery.groups().map(|g| g.name()).collect();
    groups.sort_unstable();
    assert_eq!(groups, ["", "apps", "autoscaling", "batch", "networking.k8s.io", "policy", "storage.k8s.io"]);
    Ok(())
}

#[tokio::test]
async fn aggregated_discovery_finds_every_kind_of_the_table() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let discovery = Discovery::new(client).run_aggregated().await?;
    assert_every_kind_found(&discovery, "aggregated");
    Ok(())
}

#[tokio::test]
async fn pinned_group_and_unknown_group() -> anyhow::Result<()> {
    let (_sim, client) = start().await?;
    let apps = kube::discovery::group(&client, "apps").await?;
    let (resource, _) = apps.recommended_kind("StatefulSet").expect("statefulsets");
    assert_eq!(resource.api_version, "apps/v1");
    let err = kube::discovery::group(&client, "example.com").await;
    assert!(err.is_err(), "an unknown group must not be discovered");
    Ok(())
}
