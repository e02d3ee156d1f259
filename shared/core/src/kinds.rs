//! The Kubernetes resource kinds AgenticAIOps reads, with their API coordinates.
//!
//! One table serves the simulated cluster (routing and discovery), the kube-rs reader
//! (dynamic `ApiResource`s) and the snapshot writer, so the three can never disagree.

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
}

impl KindInfo {
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
    KindInfo { kind, group, version, name, plural, namespaced, subresources }
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
}
