//! [`ClusterState`]: the typed view of a cluster the analyzers read. Built from a snapshot or
//! gathered through the [`ClusterReader`] port; analyzers never fetch anything themselves.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, LimitRange, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod,
    ResourceQuota, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::error::Result;
use crate::k8s::{self, decode};
use crate::kinds::Kind;
use crate::kinds::metrics::{NodeMetrics, PodMetrics};
use crate::ports::{ClusterReader, LogRequest, Scope};
use crate::snapshot::{LogKey, Snapshot};

/// Every object of a cluster (or of one namespace, plus cluster-scoped objects), typed.
#[derive(Debug, Default, Clone)]
pub struct ClusterState {
    /// "Now" for ages and windows.
    pub now: Timestamp,
    pub namespaces: Vec<Namespace>,
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub events: Vec<Event>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub pvs: Vec<PersistentVolume>,
    pub config_maps: Vec<ConfigMap>,
    pub secrets: Vec<Secret>,
    pub service_accounts: Vec<ServiceAccount>,
    pub quotas: Vec<ResourceQuota>,
    pub limit_ranges: Vec<LimitRange>,
    pub deployments: Vec<Deployment>,
    pub replicasets: Vec<ReplicaSet>,
    pub statefulsets: Vec<StatefulSet>,
    pub daemonsets: Vec<DaemonSet>,
    pub jobs: Vec<Job>,
    pub cronjobs: Vec<CronJob>,
    pub ingresses: Vec<Ingress>,
    pub ingress_classes: Vec<IngressClass>,
    pub network_policies: Vec<NetworkPolicy>,
    pub storage_classes: Vec<StorageClass>,
    pub hpas: Vec<HorizontalPodAutoscaler>,
    pub pdbs: Vec<PodDisruptionBudget>,
    /// Usage from the resource metrics API; empty when the cluster does not serve it (no
    /// metrics-server) or the snapshot holds none.
    pub pod_metrics: Vec<PodMetrics>,
    /// Node usage from the resource metrics API (see `pod_metrics`).
    pub node_metrics: Vec<NodeMetrics>,
    /// Container logs.
    pub logs: BTreeMap<LogKey, String>,
    /// Which kinds were read; an analyzer about a kind that was not read stays silent
    /// rather than concluding that objects are missing.
    pub read_kinds: Vec<Kind>,
    event_index: HashMap<(String, String, String), Vec<usize>>,
    /// (namespace, name) → index in `replicasets`, and how many ReplicaSets it covers.
    rs_index: HashMap<(String, String), usize>,
    rs_indexed: usize,
    /// (namespace, controller kind, controller name) → indexes in `pods`, and how many pods
    /// it covers: a list changed after [`ClusterState::index`] falls back to a scan.
    controller_index: HashMap<(String, String, String), Vec<usize>>,
    /// namespace → indexes in `pods`.
    namespace_index: HashMap<String, Vec<usize>>,
    pods_indexed: usize,
    /// (namespace, name) → index in `pod_metrics`, and how many it covers.
    pod_metrics_index: HashMap<(String, String), usize>,
    pod_metrics_indexed: usize,
}

impl ClusterState {
    /// Builds the state from raw objects (unknown kinds are ignored).
    ///
    /// # Errors
    /// An object of a known kind that does not have that kind's shape, named.
    pub fn from_objects(objects: &[Value], logs: BTreeMap<LogKey, String>, now: Timestamp) -> Result<ClusterState> {
        let mut s = ClusterState { now, logs, read_kinds: Kind::all().collect(), ..ClusterState::default() };
        for o in objects {
            let Some(kind) = o.get("kind").and_then(Value::as_str).and_then(Kind::from_kind_name) else { continue };
            s.push(kind, o.clone())?;
        }
        s.index();
        Ok(s)
    }

    /// Builds the state from a loaded snapshot.
    ///
    /// # Errors
    /// As [`ClusterState::from_objects`].
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<ClusterState> {
        ClusterState::from_objects(&snapshot.objects, snapshot.logs.clone(), snapshot.captured_at)
    }

    /// Gathers the state through a reader: every kind in scope, then the logs of the
    /// containers that are failing (at most `max_logs`).
    ///
    /// # Errors
    /// The reader's error for pods; other kinds that cannot be listed (e.g. forbidden) are
    /// left out of `read_kinds`.
    pub async fn gather(reader: &dyn ClusterReader, namespace: Option<&str>, max_logs: usize) -> Result<ClusterState> {
        let mut s = ClusterState { now: reader.now(), ..ClusterState::default() };
        let scope = Scope::namespace(namespace);
        for kind in Kind::all() {
            match reader.list(kind, &scope).await {
                Ok(items) => {
                    for o in items {
                        s.push(kind, o)?;
                    }
                    s.read_kinds.push(kind);
                }
                Err(e) if kind == Kind::Pod => return Err(e),
                Err(e) => tracing::debug!(kind = kind.info().name, error = %e, "kind not readable; skipped"),
            }
        }
        s.index();
        let mut wanted = Vec::new();
        for pod in &s.pods {
            let ns = k8s::namespace(&pod.metadata).to_string();
            let name = k8s::name(&pod.metadata).to_string();
            let status = pod.status.as_ref();
            for cs in status
                .and_then(|st| st.container_statuses.as_ref())
                .into_iter()
                .flatten()
                .chain(status.and_then(|st| st.init_container_statuses.as_ref()).into_iter().flatten())
            {
                let last_failed =
                    cs.last_state.as_ref().and_then(|l| l.terminated.as_ref()).is_some_and(|t| t.exit_code != 0);
                let now_failed =
                    cs.state.as_ref().and_then(|l| l.terminated.as_ref()).is_some_and(|t| t.exit_code != 0);
                let running_unready = cs.state.as_ref().is_some_and(|st| st.running.is_some()) && !cs.ready;
                if last_failed {
                    wanted.push((ns.clone(), name.clone(), cs.name.clone(), true));
                }
                if now_failed || running_unready {
                    wanted.push((ns.clone(), name.clone(), cs.name.clone(), false));
                }
            }
        }
        for (ns, pod, container, previous) in wanted.into_iter().take(max_logs) {
            let request = LogRequest {
                namespace: ns.clone(),
                pod: pod.clone(),
                container: Some(container.clone()),
                previous,
                tail_lines: Some(300),
                limit_bytes: Some(256 * 1024),
                ..LogRequest::default()
            };
            if let Ok(text) = reader.logs(&request).await {
                s.logs.insert(LogKey { namespace: Some(ns), pod, container, previous }, text);
            }
        }
        Ok(s)
    }

    /// Gathers only some kinds, each over its own scope, with no logs: what a narrow tool
    /// needs (nodes and every pod for node totals, one namespace's policies, …). The same kind
    /// may be asked for over several scopes (namespaces); an object listed twice is kept once.
    ///
    /// # Errors
    /// The reader's error for pods; other kinds that cannot be listed are left out of
    /// `read_kinds`, as in [`ClusterState::gather`].
    pub async fn gather_kinds(reader: &dyn ClusterReader, wanted: &[(Kind, Scope)]) -> Result<ClusterState> {
        let mut s = ClusterState { now: reader.now(), ..ClusterState::default() };
        let mut seen: std::collections::HashSet<(Kind, String, String)> = std::collections::HashSet::new();
        let mut failed: Vec<Kind> = Vec::new();
        for (kind, scope) in wanted {
            match reader.list(*kind, scope).await {
                Ok(items) => {
                    for o in items {
                        let ns = o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
                        let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                        if seen.insert((*kind, ns.to_string(), name.to_string())) {
                            s.push(*kind, o)?;
                        }
                    }
                    if !s.read_kinds.contains(kind) {
                        s.read_kinds.push(*kind);
                    }
                }
                Err(e) if *kind == Kind::Pod => return Err(e),
                Err(e) => {
                    tracing::debug!(kind = kind.info().name, error = %e, "kind not readable; skipped");
                    failed.push(*kind);
                }
            }
        }
        // A kind read over one scope but not another was not fully read.
        s.read_kinds.retain(|k| !failed.contains(k));
        s.index();
        Ok(s)
    }

    /// Reads the logs of `(namespace, pod, container, previous)` into the state (at most the
    /// last `tail_lines` lines of each); a log that cannot be read is left out.
    pub async fn read_logs(
        &mut self,
        reader: &dyn ClusterReader,
        wanted: Vec<(String, String, String, bool)>,
        tail_lines: i64,
    ) {
        for (ns, pod, container, previous) in wanted {
            let request = LogRequest {
                namespace: ns.clone(),
                pod: pod.clone(),
                container: Some(container.clone()),
                previous,
                tail_lines: Some(tail_lines),
                limit_bytes: Some(256 * 1024),
                ..LogRequest::default()
            };
            if let Ok(text) = reader.logs(&request).await {
                self.logs.insert(LogKey { namespace: Some(ns), pod, container, previous }, text);
            }
        }
    }

    fn push(&mut self, kind: Kind, o: Value) -> Result<()> {
        match kind {
            Kind::Namespace => self.namespaces.push(decode(o)?),
            Kind::Node => self.nodes.push(decode(o)?),
            Kind::Pod => self.pods.push(decode(o)?),
            Kind::Service => self.services.push(decode(o)?),
            Kind::Endpoints => self.endpoints.push(decode(o)?),
            Kind::Event => self.events.push(decode(o)?),
            Kind::PersistentVolumeClaim => self.pvcs.push(decode(o)?),
            Kind::PersistentVolume => self.pvs.push(decode(o)?),
            Kind::ConfigMap => self.config_maps.push(decode(o)?),
            Kind::Secret => self.secrets.push(decode(o)?),
            Kind::ServiceAccount => self.service_accounts.push(decode(o)?),
            Kind::ResourceQuota => self.quotas.push(decode(o)?),
            Kind::LimitRange => self.limit_ranges.push(decode(o)?),
            Kind::Deployment => self.deployments.push(decode(o)?),
            Kind::ReplicaSet => self.replicasets.push(decode(o)?),
            Kind::StatefulSet => self.statefulsets.push(decode(o)?),
            Kind::DaemonSet => self.daemonsets.push(decode(o)?),
            Kind::Job => self.jobs.push(decode(o)?),
            Kind::CronJob => self.cronjobs.push(decode(o)?),
            Kind::Ingress => self.ingresses.push(decode(o)?),
            Kind::IngressClass => self.ingress_classes.push(decode(o)?),
            Kind::NetworkPolicy => self.network_policies.push(decode(o)?),
            Kind::StorageClass => self.storage_classes.push(decode(o)?),
            Kind::HorizontalPodAutoscaler => {
                // Older snapshots may carry autoscaling/v1 HPAs; v2 reads their common fields.
                self.hpas.push(decode(o)?)
            }
            Kind::PodDisruptionBudget => self.pdbs.push(decode(o)?),
            Kind::PodMetrics => self.pod_metrics.push(decode(o)?),
            Kind::NodeMetrics => self.node_metrics.push(decode(o)?),
        }
        Ok(())
    }

    /// Builds the lookup indexes (events by object, ReplicaSets and pod metrics by name, pods by
    /// controller): without them a 10k-pod cluster costs pods × workloads scans.
    pub(crate) fn index(&mut self) {
        self.event_index.clear();
        for (i, e) in self.events.iter().enumerate() {
            let o = &e.involved_object;
            let ns = o.namespace.clone().or_else(|| e.metadata.namespace.clone()).unwrap_or_default();
            let key = (o.kind.clone().unwrap_or_default(), ns, o.name.clone().unwrap_or_default());
            self.event_index.entry(key).or_default().push(i);
        }
        self.rs_index = self
            .replicasets
            .iter()
            .enumerate()
            .map(|(i, r)| ((k8s::namespace(&r.metadata).to_string(), k8s::name(&r.metadata).to_string()), i))
            .collect();
        self.rs_indexed = self.replicasets.len();
        self.pod_metrics_index = self
            .pod_metrics
            .iter()
            .enumerate()
            .map(|(i, m)| ((k8s::namespace(&m.metadata).to_string(), k8s::name(&m.metadata).to_string()), i))
            .collect();
        self.pod_metrics_indexed = self.pod_metrics.len();
        let mut by_controller: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        let mut by_namespace: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in self.pods.iter().enumerate() {
            by_namespace.entry(k8s::namespace(&p.metadata).to_string()).or_default().push(i);
            if let Some((kind, name)) = self.controller_of(&p.metadata) {
                by_controller.entry((k8s::namespace(&p.metadata).to_string(), kind, name)).or_default().push(i);
            }
        }
        self.controller_index = by_controller;
        self.namespace_index = by_namespace;
        self.pods_indexed = self.pods.len();
    }

    /// Keeps only the objects of one namespace (cluster-scoped objects stay).
    pub fn retain_namespace(&mut self, ns: &str) {
        fn keep<T>(v: &mut Vec<T>, ns: &str, meta: impl Fn(&T) -> &ObjectMeta) {
            v.retain(|o| meta(o).namespace.as_deref() == Some(ns));
        }
        keep(&mut self.pods, ns, |o| &o.metadata);
        keep(&mut self.services, ns, |o| &o.metadata);
        keep(&mut self.endpoints, ns, |o| &o.metadata);
        keep(&mut self.events, ns, |o| &o.metadata);
        keep(&mut self.pvcs, ns, |o| &o.metadata);
        keep(&mut self.config_maps, ns, |o| &o.metadata);
        keep(&mut self.secrets, ns, |o| &o.metadata);
        keep(&mut self.service_accounts, ns, |o| &o.metadata);
        keep(&mut self.quotas, ns, |o| &o.metadata);
        keep(&mut self.limit_ranges, ns, |o| &o.metadata);
        keep(&mut self.deployments, ns, |o| &o.metadata);
        keep(&mut self.replicasets, ns, |o| &o.metadata);
        keep(&mut self.statefulsets, ns, |o| &o.metadata);
        keep(&mut self.daemonsets, ns, |o| &o.metadata);
        keep(&mut self.jobs, ns, |o| &o.metadata);
        keep(&mut self.cronjobs, ns, |o| &o.metadata);
        keep(&mut self.ingresses, ns, |o| &o.metadata);
        keep(&mut self.network_policies, ns, |o| &o.metadata);
        keep(&mut self.hpas, ns, |o| &o.metadata);
        keep(&mut self.pdbs, ns, |o| &o.metadata);
        keep(&mut self.pod_metrics, ns, |o| &o.metadata);
        self.index();
    }

    /// Whether a kind was read (an absent object of an unread kind proves nothing).
    pub fn has_read(&self, kind: Kind) -> bool {
        self.read_kinds.contains(&kind)
    }

    /// Whether usage from the resource metrics API is at hand: some PodMetrics or NodeMetrics
    /// were read. A cluster without metrics-server (or a snapshot without metrics) has none.
    pub fn has_metrics(&self) -> bool {
        !self.pod_metrics.is_empty() || !self.node_metrics.is_empty()
    }

    /// The PodMetrics of a pod, when the metrics API reported it.
    pub fn pod_metrics_of(&self, namespace: &str, name: &str) -> Option<&PodMetrics> {
        if self.pod_metrics_indexed == self.pod_metrics.len() {
            let i = self.pod_metrics_index.get(&(namespace.to_string(), name.to_string()))?;
            return self.pod_metrics.get(*i);
        }
        self.pod_metrics.iter().find(|m| k8s::namespace(&m.metadata) == namespace && k8s::name(&m.metadata) == name)
    }

    /// The NodeMetrics of a node, when the metrics API reported it.
    pub fn node_metrics_of(&self, name: &str) -> Option<&NodeMetrics> {
        self.node_metrics.iter().find(|m| k8s::name(&m.metadata) == name)
    }

    /// Events about one object, newest first.
    pub fn events_for(&self, kind: &str, namespace: &str, name: &str) -> Vec<&Event> {
        let key = (kind.to_string(), namespace.to_string(), name.to_string());
        let mut v: Vec<&Event> = self.event_index.get(&key).into_iter().flatten().map(|i| &self.events[*i]).collect();
        v.sort_by_key(|e| std::cmp::Reverse(crate::tools::event_last_time(e)));
        v
    }

    /// A container log (namespaced key first, then the plain one).
    pub fn log(&self, namespace: &str, pod: &str, container: &str, previous: bool) -> Option<&str> {
        let mut key =
            LogKey { namespace: Some(namespace.into()), pod: pod.into(), container: container.into(), previous };
        if let Some(t) = self.logs.get(&key) {
            return Some(t);
        }
        key.namespace = None;
        self.logs.get(&key).map(String::as_str)
    }

    /// The workload controlling a pod, following ReplicaSet → Deployment: `(kind, name)`.
    pub fn controller_of(&self, meta: &ObjectMeta) -> Option<(String, String)> {
        let owner = meta.owner_references.as_ref()?.iter().find(|o| o.controller == Some(true))?;
        if owner.kind == "ReplicaSet" {
            let ns = meta.namespace.as_deref().unwrap_or_default();
            let rs = if self.rs_indexed == self.replicasets.len() {
                self.rs_index.get(&(ns.to_string(), owner.name.clone())).and_then(|i| self.replicasets.get(*i))
            } else {
                self.replicasets
                    .iter()
                    .find(|r| k8s::namespace(&r.metadata) == ns && k8s::name(&r.metadata) == owner.name)
            };
            if let Some(rs) = rs {
                if let Some(dep) = rs
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .find(|o| o.controller == Some(true) && o.kind == "Deployment")
                {
                    return Some(("Deployment".into(), dep.name.clone()));
                }
            } else if let Some(hash) = meta.labels.as_ref().and_then(|l| l.get("pod-template-hash")) {
                // The ReplicaSet was not read: its name is <deployment>-<hash>.
                if let Some(dep) = owner.name.strip_suffix(&format!("-{hash}")) {
                    return Some(("Deployment".into(), dep.to_string()));
                }
            }
        }
        Some((owner.kind.clone(), owner.name.clone()))
    }

    /// The pods of one namespace, in list order.
    pub fn pods_in<'a>(&'a self, namespace: &str) -> Box<dyn Iterator<Item = &'a Pod> + 'a> {
        if self.pods_indexed == self.pods.len() {
            let ids = self.namespace_index.get(namespace).map_or(&[][..], Vec::as_slice);
            return Box::new(ids.iter().filter_map(move |i| self.pods.get(*i)));
        }
        let namespace = namespace.to_string();
        Box::new(self.pods.iter().filter(move |p| k8s::namespace(&p.metadata) == namespace))
    }

    /// Pods in a namespace that a workload controls (through its ReplicaSets for Deployments).
    pub fn pods_of(&self, kind: &str, namespace: &str, name: &str) -> Vec<&Pod> {
        if self.pods_indexed == self.pods.len() {
            let key = (namespace.to_string(), kind.to_string(), name.to_string());
            return self.controller_index.get(&key).into_iter().flatten().filter_map(|i| self.pods.get(*i)).collect();
        }
        self.pods
            .iter()
            .filter(|p| k8s::namespace(&p.metadata) == namespace)
            .filter(|p| self.controller_of(&p.metadata).is_some_and(|(k, n)| k == kind && n == name))
            .collect()
    }
}
