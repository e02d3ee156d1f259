//! The Kubernetes resource kinds AgenticAIOps reads, with their API coordinates.
//!
//! One table serves the simulated cluster (routing and discovery), the kube-rs reader
//! (dynamic `ApiResource`s) and the snapshot writer, so the three can never disagree.
//!
//! Some kinds are *optional*: served only by clusters that run an add-on (the resource
//! metrics API, `metrics.k8s.io`, is served by metrics-server). A reader treats such a kind's
//! group being absent as "no objects", the simulated cluster serves it only when its snapshot
//! holds objects of it, and a capture writes them when the cluster serves them. The typed forms
//! of the metrics kinds, which k8s-openapi does not have, are in [`metrics`].

use serde::{Deserialize, Serialize};

/// A resource kind known to AgenticAIOps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Namespace,
    Node,
    Pod,
    Service,
    Endpoints,
    Event,
    PersistentVolumeClaim,
    PersistentVolume,
    ConfigMap,
    Secret,
    ServiceAccount,
    ResourceQuota,
    LimitRange,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    Ingress,
    IngressClass,
    NetworkPolicy,
    StorageClass,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    /// `metrics.k8s.io/v1beta1` PodMetrics (metrics-server); optional.
    PodMetrics,
    /// `metrics.k8s.io/v1beta1` NodeMetrics (metrics-server); optional.
    NodeMetrics,
}

/// API coordinates of a [`Kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: Kind,
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// The `kind:` field value.
    pub name: &'static str,
    /// The lower-case plural used in URLs.
    pub plural: &'static str,
    pub namespaced: bool,
    /// Subresources the simulated cluster serves for this kind.
    pub subresources: &'static [&'static str],
    /// Served only by clusters running an add-on (see the module docs); read-only.
    pub optional: bool,
}

impl KindInfo {
    /// How errors and reports name the resource: the plural, qualified by the group for
    /// optional kinds (`pods.metrics.k8s.io`) so they are not taken for the core ones.
    pub fn resource_name(&self) -> String {
        if self.optional { format!("{}.{}", self.plural, self.group) } else { self.plural.to_string() }
    }

    /// `apiVersion` as written in objects: `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }
}

const fn k(
    kind: Kind,
    group: &'static str,
    version: &'static str,
    name: &'static str,
    plural: &'static str,
    namespaced: bool,
    subresources: &'static [&'static str],
) -> KindInfo {
    KindInfo { kind, group, version, name, plural, namespaced, subresources, optional: false }
}

/// An optional, read-only kind of an add-on API.
const fn optional(
    kind: Kind,
    group: &'static str,
    version: &'static str,
    name: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> KindInfo {
    KindInfo { kind, group, version, name, plural, namespaced, subresources: &[], optional: true }
}

/// Every kind, in the order a snapshot lists them.
pub const KINDS: &[KindInfo] = &[
    k(Kind::Namespace, "", "v1", "Namespace", "namespaces", false, &["status"]),
    k(Kind::Node, "", "v1", "Node", "nodes", false, &["status"]),
    k(Kind::Pod, "", "v1", "Pod", "pods", true, &["status", "log"]),
    k(Kind::Service, "", "v1", "Service", "services", true, &["status"]),
    k(Kind::Endpoints, "", "v1", "Endpoints", "endpoints", true, &[]),
    k(Kind::Event, "", "v1", "Event", "events", true, &[]),
    k(Kind::PersistentVolumeClaim, "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &["status"]),
    k(Kind::PersistentVolume, "", "v1", "PersistentVolume", "persistentvolumes", false, &["status"]),
    k(Kind::ConfigMap, "", "v1", "ConfigMap", "configmaps", true, &[]),
    k(Kind::Secret, "", "v1", "Secret", "secrets", true, &[]),
    k(Kind::ServiceAccount, "", "v1", "ServiceAccount", "serviceaccounts", true, &[]),
    k(Kind::ResourceQuota, "", "v1", "ResourceQuota", "resourcequotas", true, &["status"]),
    k(Kind::LimitRange, "", "v1", "LimitRange", "limitranges", true, &[]),
    k(Kind::Deployment, "apps", "v1", "Deployment", "deployments", true, &["status", "scale"]),
    k(Kind::ReplicaSet, "apps", "v1", "ReplicaSet", "replicasets", true, &["status", "scale"]),
    k(Kind::StatefulSet, "apps", "v1", "StatefulSet", "statefulsets", true, &["status", "scale"]),
    k(Kind::DaemonSet, "apps", "v1", "DaemonSet", "daemonsets", true, &["status"]),
    k(Kind::Job, "batch", "v1", "Job", "jobs", true, &["status"]),
    k(Kind::CronJob, "batch", "v1", "CronJob", "cronjobs", true, &["status"]),
    k(Kind::Ingress, "networking.k8s.io", "v1", "Ingress", "ingresses", true, &["status"]),
    k(Kind::IngressClass, "networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, &[]),
    k(Kind::NetworkPolicy, "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, &[]),
    k(Kind::StorageClass, "storage.k8s.io", "v1", "StorageClass", "storageclasses", false, &[]),
    k(
        Kind::HorizontalPodAutoscaler,
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["status"],
    ),
    k(Kind::PodDisruptionBudget, "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &["status"]),
    optional(Kind::PodMetrics, "metrics.k8s.io", "v1beta1", "PodMetrics", "pods", true),
    optional(Kind::NodeMetrics, "metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", false),
];

impl Kind {
    /// The API coordinates of this kind.
    pub fn info(self) -> &'static KindInfo {
        // KINDS lists every variant exactly once, in declaration order.
        &KINDS[self as usize]
    }

    /// Finds a kind by its `kind:` name (`Pod`) and `apiVersion` group; older group versions
    /// (`autoscaling/v1`, `extensions/v1beta1`) are accepted for the same kind name.
    pub fn from_kind_name(name: &str) -> Option<Kind> {
        KINDS.iter().find(|i| i.name == name).map(|i| i.kind)
    }

    /// Finds a kind by API group and plural (`apps`, `deployments`).
    pub fn from_plural(group: &str, plural: &str) -> Option<Kind> {
        KINDS.iter().find(|i| i.group == group && i.plural == plural).map(|i| i.kind)
    }

    /// Every kind.
    pub fn all() -> impl Iterator<Item = Kind> {
        KINDS.iter().map(|i| i.kind)
    }

    /// Whether the kind is served only by some clusters (see the module docs).
    pub fn is_optional(self) -> bool {
        self.info().optional
    }
}

/// The typed forms of the resource metrics API (`metrics.k8s.io/v1beta1`), as metrics-server
/// serves them and `kubectl get podmetrics -A -o yaml` prints them.
pub mod metrics {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde::{Deserialize, Serialize};

    /// Usage of one container over the sampling window.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct ContainerMetrics {
        pub name: String,
        /// `cpu` (cores, e.g. `12m` or `1234567n`) and `memory` (working set, e.g. `412Mi`).
        #[serde(default)]
        pub usage: BTreeMap<String, Quantity>,
    }

    /// A PodMetrics object: the usage of a pod's containers.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct PodMetrics {
        #[serde(default)]
        pub metadata: ObjectMeta,
        /// The end of the sampling window (RFC 3339).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timestamp: Option<String>,
        /// The sampling window, e.g. `15s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub window: Option<String>,
        #[serde(default)]
        pub containers: Vec<ContainerMetrics>,
    }

    /// A NodeMetrics object: the usage of a node.
    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    pub struct NodeMetrics {
        #[serde(default)]
        pub metadata: ObjectMeta,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timestamp: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub window: Option<String>,
        #[serde(default)]
        pub usage: BTreeMap<String, Quantity>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_declaration_order() {
        for (i, info) in KINDS.iter().enumerate() {
            assert_eq!(info.kind as usize, i, "{} is out of order", info.name);
            assert_eq!(info.kind.info().name, info.name);
        }
    }

    #[test]
    fn api_version_of_core_and_grouped_kinds() {
        assert_eq!(Kind::Pod.info().api_version(), "v1");
        assert_eq!(Kind::Deployment.info().api_version(), "apps/v1");
        assert_eq!(Kind::from_plural("apps", "deployments"), Some(Kind::Deployment));
        assert_eq!(Kind::from_kind_name("HorizontalPodAutoscaler"), Some(Kind::HorizontalPodAutoscaler));
    }

    #[test]
    fn metrics_kinds_are_optional_and_apart_from_core_pods() {
        assert_eq!(Kind::from_plural("metrics.k8s.io", "pods"), Some(Kind::PodMetrics));
        assert_eq!(Kind::from_plural("", "pods"), Some(Kind::Pod));
        assert_eq!(Kind::PodMetrics.info().api_version(), "metrics.k8s.io/v1beta1");
        assert!(Kind::PodMetrics.is_optional() && Kind::NodeMetrics.is_optional());
        assert!(!Kind::NodeMetrics.info().namespaced);
        assert_eq!(KINDS.iter().filter(|i| i.optional).count(), 2);
        assert_eq!(Kind::PodMetrics.info().resource_name(), "pods.metrics.k8s.io");
        assert_eq!(Kind::Pod.info().resource_name(), "pods");
    }
}
