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

/// Runs `$body` with `$list` bound to the typed list of `$kind` in a [`ClusterState`].
macro_rules! with_list {
    ($s:expr, $kind:expr, |$list:ident| $body:expr) => {
        with_list!(@arms $s, $kind, $list, $body;
            Namespace => namespaces, Node => nodes, Pod => pods, Service => services,
            Endpoints => endpoints, Event => events, PersistentVolumeClaim => pvcs,
            PersistentVolume => pvs, ConfigMap => config_maps, Secret => secrets,
            ServiceAccount => service_accounts, ResourceQuota => quotas, LimitRange => limit_ranges,
            Deployment => deployments, ReplicaSet => replicasets, StatefulSet => statefulsets,
            DaemonSet => daemonsets, Job => jobs, CronJob => cronjobs, Ingress => ingresses,
            IngressClass => ingress_classes, NetworkPolicy => network_policies,
            StorageClass => storage_classes, HorizontalPodAutoscaler => hpas,
            PodDisruptionBudget => pdbs, PodMetrics => pod_metrics, NodeMetrics => node_metrics)
    };
    (@arms $s:expr, $kind:expr, $list:ident, $body:expr; $($k:ident => $field:ident),*) => {
        match $kind {
            $(Kind::$k => {
                let $list = &mut $s.$field;
                $body
            })*
        }
    };
}

/// Decodes a JSON array into `list`, growing it once by exactly the number of items. serde's
/// own `Vec` grows by doubling, so at its last growth it holds three lists' worth (50k Events
/// are 50 MB of structs before their strings). The items are counted first by a parse that
/// keeps nothing (a `Vec` of a zero-sized type never allocates).
fn extend_from_json<T: serde::de::DeserializeOwned>(list: &mut Vec<T>, text: &str) -> serde_json::Result<()> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
    struct Into<'a, T>(&'a mut Vec<T>);
    impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for Into<'_, T> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
            while let Some(item) = seq.next_element()? {
                self.0.push(item);
            }
            Ok(())
        }
    }
    impl<'de, T: serde::Deserialize<'de>> DeserializeSeed<'de> for Into<'_, T> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    let count = serde_json::from_str::<Vec<IgnoredAny>>(text)?.len();
    list.reserve_exact(count);
    let mut de = serde_json::Deserializer::from_str(text);
    Into(list).deserialize(&mut de)?;
    de.end()
}

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
    /// (namespace, Deployment name) → indexes in `replicasets` of the ReplicaSets it owns.
    rs_owner_index: HashMap<(String, String), Vec<usize>>,
    rs_indexed: usize,
    /// (namespace, controller kind, controller name) → indexes in `pods`, and how many pods
    /// it covers: a list changed after [`ClusterState::index`] falls back to a scan.
    controller_index: HashMap<(String, String, String), Vec<usize>>,
    /// namespace → indexes in `pods`.
    namespace_index: HashMap<String, Vec<usize>>,
    /// (namespace, label key, label value) → indexes in `pods`: selectors without a scan.
    label_index: HashMap<(String, String, String), Vec<usize>>,
    pods_indexed: usize,
    /// (namespace, name) → index in `pod_metrics`, and how many it covers.
    pod_metrics_index: HashMap<(String, String), usize>,
    pod_metrics_indexed: usize,
}

/// The namespace of the cluster add-ons every workload depends on.
const SYSTEM_NAMESPACE: &str = "kube-system";

impl ClusterState {
    /// Builds the state from raw objects (unknown kinds are ignored).
    ///
    /// # Errors
    /// An object of a known kind that does not have that kind's shape, named.
    pub fn from_objects(objects: &[Value], logs: BTreeMap<LogKey, String>, now: Timestamp) -> Result<ClusterState> {
        ClusterState::from_values(objects.to_vec(), logs, now)
    }

    /// As [`ClusterState::from_objects`], consuming the objects: each raw object is freed once
    /// it is decoded, so the raw and the typed form of the whole cluster are never held at once.
    ///
    /// # Errors
    /// As [`ClusterState::from_objects`].
    pub fn from_values(objects: Vec<Value>, logs: BTreeMap<LogKey, String>, now: Timestamp) -> Result<ClusterState> {
        let mut s = ClusterState { now, logs, read_kinds: Kind::all().collect(), ..ClusterState::default() };
        for o in objects {
            let Some(kind) = o.get("kind").and_then(Value::as_str).and_then(Kind::from_kind_name) else { continue };
            s.push(kind, o)?;
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

    /// Gathers the state through a reader: every kind in scope (for a namespace, kube-system's
    /// objects too, as far as the reader may read them), then the logs of the containers that
    /// are failing (at most `max_logs`).
    ///
    /// # Errors
    /// The reader's error for pods; other kinds that cannot be listed (e.g. forbidden) are
    /// left out of `read_kinds`.
    pub async fn gather(reader: &dyn ClusterReader, namespace: Option<&str>, max_logs: usize) -> Result<ClusterState> {
        let mut s = ClusterState { now: reader.now(), ..ClusterState::default() };
        let scope = Scope::namespace(namespace);
        // Every namespace depends on kube-system's add-ons (DNS, the CNI, kube-proxy): a
        // namespace's analysis reads them too, so a root cause there is found from here.
        let add_ons = namespace.filter(|ns| *ns != SYSTEM_NAMESPACE).map(|_| Scope::namespace(Some(SYSTEM_NAMESPACE)));
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
            if let Some(add_ons) = add_ons.as_ref().filter(|_| kind.info().namespaced && s.read_kinds.contains(&kind)) {
                // Best effort: a reader not allowed into kube-system still analyses its namespace.
                match reader.list(kind, add_ons).await {
                    Ok(items) => {
                        for o in items {
                            s.push(kind, o)?;
                        }
                    }
                    Err(e) => tracing::debug!(kind = kind.info().name, error = %e, "kube-system not readable; skipped"),
                }
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
        // Older snapshots may carry autoscaling/v1 HPAs; v2 reads their common fields.
        with_list!(self, kind, |list| list.push(decode(o)?));
        Ok(())
    }

    /// Decodes one kind's objects from JSON text (an array, as the `items` of an API list
    /// response carry them) straight into their typed form, with no intermediate JSON value.
    ///
    /// # Errors
    /// Text that is not an array of objects of that kind's shape, with serde's position.
    pub fn push_json_list(&mut self, kind: Kind, text: &str) -> Result<()> {
        with_list!(self, kind, |list| extend_from_json(list, text).map_err(|e| {
            crate::error::Error::Backend {
                class: crate::error::ErrorClass::InvalidInput,
                operation: format!("read a list of {}", kind.info().name),
                message: format!("the objects do not have the expected shape: {e}"),
                source: Some(Box::new(e)),
            }
        })?);
        // Now, so that the next kinds' objects reuse the slack.
        self.compact();
        Ok(())
    }

    /// Builds the state from JSON text per kind (see [`ClusterState::push_json_list`]); every
    /// kind counts as read.
    ///
    /// # Errors
    /// As [`ClusterState::push_json_list`].
    pub fn from_json_lists<S: AsRef<str>>(
        lists: impl IntoIterator<Item = (Kind, S)>,
        logs: BTreeMap<LogKey, String>,
        now: Timestamp,
    ) -> Result<ClusterState> {
        let mut s = ClusterState { now, logs, read_kinds: Kind::all().collect(), ..ClusterState::default() };
        // One kind's text at a time: an owned text is dropped once it is decoded.
        for (kind, text) in lists {
            s.push_json_list(kind, text.as_ref())?;
        }
        s.index();
        Ok(s)
    }

    /// Builds the lookup indexes (events by object, ReplicaSets and pod metrics by name, pods by
    /// controller): without them a 10k-pod cluster costs pods × workloads scans.
    pub(crate) fn index(&mut self) {
        self.compact();
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
        let mut by_owner: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, r) in self.replicasets.iter().enumerate() {
            for o in r.metadata.owner_references.iter().flatten().filter(|o| o.kind == "Deployment") {
                by_owner.entry((k8s::namespace(&r.metadata).to_string(), o.name.clone())).or_default().push(i);
            }
        }
        self.rs_owner_index = by_owner;
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
        let mut by_label: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        for (i, p) in self.pods.iter().enumerate() {
            by_namespace.entry(k8s::namespace(&p.metadata).to_string()).or_default().push(i);
            for (k, v) in p.metadata.labels.iter().flatten() {
                by_label.entry((k8s::namespace(&p.metadata).to_string(), k.clone(), v.clone())).or_default().push(i);
            }
            if let Some((kind, name)) = self.controller_of(&p.metadata) {
                by_controller.entry((k8s::namespace(&p.metadata).to_string(), kind, name)).or_default().push(i);
            }
        }
        self.controller_index = by_controller;
        self.namespace_index = by_namespace;
        self.label_index = by_label;
        self.pods_indexed = self.pods.len();
    }

    /// Gives back the slack of decoded lists: serde grows a `Vec` to at least four items, so a
    /// pod's one container status (752 bytes) holds room for four, 2.2 kB of nothing per pod.
    fn compact(&mut self) {
        fn owners(meta: &mut ObjectMeta) {
            if let Some(v) = meta.owner_references.as_mut() {
                v.shrink_to_fit();
            }
        }
        for p in &mut self.pods {
            owners(&mut p.metadata);
            if let Some(st) = p.status.as_mut() {
                for v in
                    [&mut st.container_statuses, &mut st.init_container_statuses, &mut st.ephemeral_container_statuses]
                        .into_iter()
                        .flatten()
                {
                    v.shrink_to_fit();
                }
                if let Some(v) = st.conditions.as_mut() {
                    v.shrink_to_fit();
                }
            }
        }
        for r in &mut self.replicasets {
            owners(&mut r.metadata);
        }
        for e in &mut self.endpoints {
            for s in e.subsets.iter_mut().flatten() {
                for v in [&mut s.addresses, &mut s.not_ready_addresses].into_iter().flatten() {
                    v.shrink_to_fit();
                }
            }
        }
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

    /// The ReplicaSets a Deployment owns (by the owner's name; [`crate::tools::revisions_of`]
    /// also checks its uid), in list order.
    pub fn replicasets_of(&self, namespace: &str, deployment: &str) -> Vec<&ReplicaSet> {
        if self.rs_indexed == self.replicasets.len() {
            let key = (namespace.to_string(), deployment.to_string());
            return self
                .rs_owner_index
                .get(&key)
                .into_iter()
                .flatten()
                .filter_map(|i| self.replicasets.get(*i))
                .collect();
        }
        self.replicasets
            .iter()
            .filter(|r| {
                k8s::namespace(&r.metadata) == namespace
                    && r.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.kind == "Deployment" && o.name == deployment)
            })
            .collect()
    }

    /// The pods of one namespace that an equality selector (a Service's) selects, in list
    /// order; an empty selector selects nothing.
    pub fn pods_selected(&self, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<&Pod> {
        if selector.is_empty() {
            return Vec::new();
        }
        if self.pods_indexed == self.pods.len() {
            // The shortest posting list of the selector's pairs, checked against the rest.
            let mut shortest: Option<&Vec<usize>> = None;
            for (k, v) in selector {
                match self.label_index.get(&(namespace.to_string(), k.clone(), v.clone())) {
                    None => return Vec::new(),
                    Some(ids) if shortest.is_none_or(|s| ids.len() < s.len()) => shortest = Some(ids),
                    Some(_) => {}
                }
            }
            return shortest
                .into_iter()
                .flatten()
                .filter_map(|i| self.pods.get(*i))
                .filter(|p| k8s::selector_matches(selector, p.metadata.labels.as_ref()))
                .collect();
        }
        self.pods_in(namespace).filter(|p| k8s::selector_matches(selector, p.metadata.labels.as_ref())).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, generated_cluster, generated_cluster_lists};

    fn names<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Vec<String> {
        pods.into_iter().map(|p| k8s::name(&p.metadata).to_string()).collect()
    }

    #[test]
    fn indexed_lookups_agree_with_scans() {
        let mut s = fixtures::state(generated_cluster(300));
        let selector: BTreeMap<String, String> = [("app".to_string(), "svc-4".to_string())].into();
        let both: BTreeMap<String, String> =
            [("app".to_string(), "svc-4".to_string()), ("pod-template-hash".to_string(), "x".to_string())].into();
        let indexed = (names(s.pods_selected("team-0", &selector)), s.replicasets_of("team-0", "svc-4").len());
        assert_eq!(indexed.0.len(), 10, "the ten pods of svc-4");
        assert_eq!(indexed.1, 1);
        assert!(s.pods_selected("team-0", &both).is_empty(), "every pair must match");
        assert!(s.pods_selected("team-0", &BTreeMap::new()).is_empty(), "an empty selector selects nothing");
        assert!(s.pods_selected("other", &selector).is_empty(), "only the namespace's pods");
        // A list changed after indexing falls back to a scan, with the same answers.
        let extra = fixtures::pod("extra").in_ns("team-0").labels(&[("app", "svc-4")]).build();
        s.pods.push(decode(extra).unwrap_or_else(|e| panic!("{e}")));
        s.replicasets.pop();
        let scanned = names(s.pods_selected("team-0", &selector));
        assert_eq!(scanned.len(), 11);
        assert_eq!(scanned[..10], indexed.0[..]);
        assert_eq!(s.replicasets_of("team-0", "svc-4").len(), 1, "svc-4's ReplicaSet, found by a scan");
        assert!(s.replicasets_of("team-0", "svc-29").is_empty(), "the removed one is gone");
    }

    #[test]
    fn json_lists_decode_like_values() {
        let now = fixtures::NOW.parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let lists = generated_cluster_lists(100);
        let from_text =
            ClusterState::from_json_lists(lists.iter().map(|(k, t)| (*k, t.as_str())), BTreeMap::new(), now)
                .unwrap_or_else(|e| panic!("{e}"));
        let from_values = fixtures::state(generated_cluster(100));
        assert_eq!(from_text.pods, from_values.pods);
        assert_eq!(from_text.events, from_values.events);
        assert_eq!(super::super::analyze(&from_text), super::super::analyze(&from_values));
        let err = ClusterState::from_json_lists([(Kind::Pod, r#"[{"spec": 7}]"#)], BTreeMap::new(), now)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("Pod") && err.contains("expected shape"), "{err}");
    }
}
