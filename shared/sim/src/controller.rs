//! The controllers of a real cluster, reduced to a deterministic pass: how the simulated
//! cluster reacts to a write to a Deployment.
//!
//! When a write stores a change to a Deployment's `spec` (PUT, PATCH or the `scale`
//! subresource; never a dry run, never a write to `/status`), [`deployment_written`] runs at
//! once, under the same lock as the write. The answer to the write is the Deployment as
//! written (its `status` not yet updated, as a real server answers); the controllers' writes
//! get the following resourceVersions, so the next request sees the converged cluster. No
//! time passes in between: there is no surge, no partial rollout, no terminating pod.
//!
//! The pass plays:
//! - the deployment controller. A `spec.template` that none of the Deployment's ReplicaSets
//!   has gives a new ReplicaSet `<deployment>-<pod-template-hash>` (the hash is computed from
//!   the template, 10 characters of the real alphabet) at the next
//!   `deployment.kubernetes.io/revision`, set on it and on the Deployment, owned by the
//!   Deployment, with the `pod-template-hash` label in its labels, selector and template. A
//!   template equal to an older ReplicaSet's (ignoring `pod-template-hash`) is a rollback: that
//!   ReplicaSet is reused and moves to the next revision, its previous one appended to
//!   `deployment.kubernetes.io/revision-history`, as Kubernetes does. Either way the new
//!   ReplicaSet is scaled to `spec.replicas` and every other one to 0. A change of
//!   `spec.replicas` alone scales the current ReplicaSet. A paused Deployment is only scaled.
//!   Events: `ScalingReplicaSet` ("Scaled up replica set X from 0 to 1").
//! - the ReplicaSet controller: pods named `<replicaset>-<5 characters>` (from a hash of the
//!   ReplicaSet's name and an index, skipping names in use) are created from the template or
//!   deleted (not ready ones first, then the newest). Events: `SuccessfulCreate`,
//!   `SuccessfulDelete`.
//! - the scheduler and the kubelet: a new pod is bound to a Ready, schedulable Node, gets an
//!   IP, and its containers run or fail as decided in [`kubelet`] from what the snapshot knew
//!   about the pods being replaced. Events: `Scheduled`, `Pulled`, `Created`, `Started`,
//!   `BackOff`, … on new pods, `Killing` on deleted ones.
//! - status: the ReplicaSets' and the Deployment's (`observedGeneration`, replica counts,
//!   conditions `Available` and `Progressing` — `NewReplicaSetAvailable` when every new pod is
//!   ready, `ProgressDeadlineExceeded` when a new pod fails: no time passes, so a rollout that
//!   fails has failed).
//! - the endpoints controller: the Endpoints of every Service selecting a pod created or
//!   deleted are recomputed (`addresses` for ready pods, `notReadyAddresses` for the others).
//!
//! Timestamps are [`SimCluster::now`](crate::SimCluster::now); everything else (names, uids,
//! IPs, hashes) depends only on the snapshot and the writes, so a test replaying the same writes
//! sees the same cluster.
//!
//! A Deployment none of whose ReplicaSets is in the snapshot is left alone: which pods it
//! owns, and so what to replace, is unknown. Deployments created through the API, other
//! workloads (StatefulSets, DaemonSets, Jobs), direct writes to ReplicaSets or pods, and
//! deletions (no garbage collection) have no controller.

mod endpoints;
mod kubelet;

use aiops_core::Kind;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::selectors::{LabelSelector, selector_string};
use crate::store::{Store, k8s_time, meta_str, set_meta};

const REVISION: &str = "deployment.kubernetes.io/revision";
const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const HASH_LABEL: &str = "pod-template-hash";
/// The characters of generated names (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no
/// look-alike digits.
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Reacts to a stored write of the Deployment `new` (previously `old`) in `namespace`.
pub(crate) fn deployment_written(store: &mut Store, now: Timestamp, namespace: &str, old: &Value, new: &Value) {
    if old.get("spec") == new.get("spec") {
        return;
    }
    let Some(name) = meta_str(new, "name") else { return };
    let mut pass = Pass { store, stamp: k8s_time(now), namespace: namespace.to_string(), touched: Vec::new() };
    pass.reconcile(name);
    pass.sync_endpoints();
}

/// An Event to record: who reports it and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventSpec {
    /// `reportingComponent` and `source.component`: `kubelet`, `deployment-controller`, …
    pub(crate) component: &'static str,
    /// `Normal` or, when set, `Warning`.
    pub(crate) warning: bool,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    /// `involvedObject.fieldPath` (`spec.containers{app}`) for container events.
    pub(crate) field_path: Option<String>,
}

impl EventSpec {
    fn normal(component: &'static str, reason: &'static str, message: String) -> EventSpec {
        EventSpec { component, warning: false, reason, message, field_path: None }
    }
}

/// One controller pass over a namespace.
struct Pass<'a> {
    store: &'a mut Store,
    /// "Now", as written in objects.
    stamp: String,
    namespace: String,
    /// Labels of the pods created or deleted: the Services selecting one get new Endpoints.
    touched: Vec<Map<String, Value>>,
}

impl Pass<'_> {
    fn get(&self, kind: Kind, name: &str) -> Option<Value> {
        self.store.get(kind, &self.namespace, name).cloned()
    }

    /// Objects of a kind in the namespace, sorted by name.
    fn list(&self, kind: Kind) -> Vec<Value> {
        self.store.iter(kind, Some(&self.namespace)).map(|(_, o)| o.clone()).collect()
    }

    /// Stores an object with the next resourceVersion.
    fn put(&mut self, kind: Kind, mut object: Value) {
        let name = meta_str(&object, "name").unwrap_or_default().to_string();
        let rv = self.store.next_resource_version();
        set_meta(&mut object, "resourceVersion", json!(rv.to_string()));
        self.store.put(kind, &self.namespace, &name, object);
    }

    /// Stores `object` when it differs from `before`.
    fn put_if_changed(&mut self, kind: Kind, before: &Value, object: Value) {
        if &object != before {
            self.put(kind, object);
        }
    }

    fn remove(&mut self, kind: Kind, name: &str) {
        if self.store.remove(kind, &self.namespace, name).is_some() {
            self.store.next_resource_version();
        }
    }

    /// Records a core/v1 Event about `object`; `host` is the node of kubelet events.
    fn record(&mut self, object: &Value, event: EventSpec, host: Option<&str>) {
        let name = meta_str(object, "name").unwrap_or_default();
        let uid = meta_str(object, "uid").unwrap_or_default();
        let key = format!("{uid}/{}/{}/{}", event.reason, event.message, self.store.resource_version());
        let event_name = format!("{name}.{:016x}", hash64(key.as_bytes()));
        let mut involved = json!({
            "apiVersion": object.get("apiVersion").cloned().unwrap_or_else(|| json!("v1")),
            "kind": object.get("kind").cloned().unwrap_or_default(),
            "name": name,
            "namespace": self.namespace,
            "uid": uid,
            "resourceVersion": meta_str(object, "resourceVersion").unwrap_or_default(),
        });
        if let Some(path) = &event.field_path {
            involved["fieldPath"] = json!(path);
        }
        let mut source = json!({"component": event.component});
        if let Some(host) = host {
            source["host"] = json!(host);
        }
        let object = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": event_name,
                "namespace": self.namespace,
                "uid": self.store.new_uid(),
                "creationTimestamp": self.stamp,
            },
            "involvedObject": involved,
            "reason": event.reason,
            "message": event.message,
            "type": if event.warning { "Warning" } else { "Normal" },
            "source": source,
            "reportingComponent": event.component,
            "reportingInstance": host.unwrap_or_default(),
            "firstTimestamp": self.stamp,
            "lastTimestamp": self.stamp,
            "count": 1,
        });
        self.put(Kind::Event, object);
    }

    /// The ReplicaSets controlled by `deployment`, oldest revision first.
    fn owned_replicasets(&self, deployment: &Value) -> Vec<Value> {
        let uid = meta_str(deployment, "uid").unwrap_or_default();
        let name = meta_str(deployment, "name").unwrap_or_default();
        let mut owned: Vec<Value> = self
            .list(Kind::ReplicaSet)
            .into_iter()
            .filter(|rs| {
                owner(rs).is_some_and(|o| {
                    o.get("kind").and_then(Value::as_str) == Some("Deployment")
                        && match o.get("uid").and_then(Value::as_str) {
                            Some(owner_uid) if !owner_uid.is_empty() => owner_uid == uid,
                            _ => o.get("name").and_then(Value::as_str) == Some(name),
                        }
                })
            })
            .collect();
        owned.sort_by_key(revision);
        owned
    }

    /// The pods of a ReplicaSet: those it controls, and orphans its selector matches.
    fn pods_of(&self, rs: &Value) -> Vec<Value> {
        let uid = meta_str(rs, "uid").unwrap_or_default();
        let selector = rs.pointer("/spec/selector").map(selector_string).unwrap_or_default();
        let selector = LabelSelector::parse(&selector).ok().filter(|s| !s.is_empty());
        self.list(Kind::Pod)
            .into_iter()
            .filter(|pod| match owner(pod) {
                Some(o) => {
                    o.get("kind").and_then(Value::as_str) == Some("ReplicaSet") && o.get("uid") == Some(&json!(uid))
                }
                None => selector.as_ref().is_some_and(|s| s.matches_object(pod)),
            })
            .collect()
    }

    /// Brings the Deployment `name` to its spec.
    fn reconcile(&mut self, name: &str) {
        let Some(deployment) = self.get(Kind::Deployment, name) else { return };
        let owned = self.owned_replicasets(&deployment);
        let Some(newest) = owned.last() else {
            tracing::debug!(namespace = %self.namespace, %name, "no ReplicaSet of this Deployment: not reconciled");
            return;
        };
        let newest_name = meta_str(newest, "name").unwrap_or_default().to_string();
        let replicas = spec_replicas(&deployment);
        let template = deployment.pointer("/spec/template").cloned().unwrap_or_else(|| json!({}));
        let wanted = normalized_template(&template);
        let next_revision = revision(newest).max(revision(&deployment)) + 1;
        let matching = owned
            .iter()
            .rev()
            .find(|rs| rs.pointer("/spec/template").is_some_and(|t| normalized_template(t) == wanted));
        let paused = deployment.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);

        // What is known about the pods being replaced: the current ReplicaSet's first.
        let mut evidence = self.pods_of(newest);
        for rs in owned.iter().rev().skip(1) {
            evidence.extend(self.pods_of(rs));
        }

        let (active, new_revision) = match matching {
            _ if paused => (newest_name.clone(), None),
            Some(rs) if meta_str(rs, "name") == Some(newest_name.as_str()) => (newest_name.clone(), None),
            Some(rs) => {
                let rs_name = meta_str(rs, "name").unwrap_or_default().to_string();
                self.reuse_replicaset(rs, next_revision);
                (rs_name, Some(next_revision))
            }
            None => (self.create_replicaset(&deployment, &template, next_revision, replicas), Some(next_revision)),
        };
        self.scale_replicaset(&deployment, &active, replicas, &evidence);
        if new_revision.is_some() {
            for rs in &owned {
                let rs_name = meta_str(rs, "name").unwrap_or_default();
                if rs_name != active {
                    self.scale_replicaset(&deployment, rs_name, 0, &[]);
                }
            }
        }
        self.update_status(name, &active, new_revision);
    }

    /// Moves an older ReplicaSet to `revision` (a rollback to its template).
    fn reuse_replicaset(&mut self, rs: &Value, revision_number: i64) {
        let mut updated = rs.clone();
        let previous = revision(rs);
        let history =
            match rs.pointer("/metadata/annotations").and_then(|a| a.get(REVISION_HISTORY)).and_then(Value::as_str) {
                Some(h) if !h.is_empty() => format!("{h},{previous}"),
                _ => previous.to_string(),
            };
        set_annotation(&mut updated, REVISION, &revision_number.to_string());
        set_annotation(&mut updated, REVISION_HISTORY, &history);
        self.put_if_changed(Kind::ReplicaSet, rs, updated);
    }

    /// Creates the ReplicaSet of `template` at `revision` with `replicas` (its pods come
    /// next); returns its name.
    fn create_replicaset(
        &mut self,
        deployment: &Value,
        template: &Value,
        revision_number: i64,
        replicas: i64,
    ) -> String {
        let deployment_name = meta_str(deployment, "name").unwrap_or_default();
        let normalized = normalized_template(template);
        let mut collisions = deployment.pointer("/status/collisionCount").and_then(Value::as_u64).unwrap_or(0);
        let (name, hash) = loop {
            let hash = pod_template_hash(&normalized, collisions);
            let name = format!("{deployment_name}-{hash}");
            if self.get(Kind::ReplicaSet, &name).is_none() || collisions > 1000 {
                break (name, hash);
            }
            collisions += 1;
        };
        let mut rs_template = template.clone();
        insert_path(&mut rs_template, &["metadata", "labels", HASH_LABEL], json!(hash));
        let mut selector = deployment.pointer("/spec/selector").cloned().unwrap_or_else(|| json!({}));
        insert_path(&mut selector, &["matchLabels", HASH_LABEL], json!(hash));
        let labels = rs_template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({}));
        let mut spec = json!({"replicas": replicas, "selector": selector, "template": rs_template});
        if let Some(min_ready) = deployment.pointer("/spec/minReadySeconds") {
            spec["minReadySeconds"] = min_ready.clone();
        }
        let rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "uid": self.store.new_uid(),
                "creationTimestamp": self.stamp,
                "generation": 1,
                "labels": labels,
                "annotations": {
                    REVISION: revision_number.to_string(),
                    DESIRED_REPLICAS: replicas.to_string(),
                    MAX_REPLICAS: (replicas + max_surge(deployment, replicas)).to_string(),
                },
                "ownerReferences": [controller_ref(deployment)],
            },
            "spec": spec,
            "status": {"replicas": 0},
        });
        self.put(Kind::ReplicaSet, rs);
        if replicas > 0 {
            let message = format!("Scaled up replica set {name} from 0 to {replicas}");
            self.record(deployment, EventSpec::normal("deployment-controller", "ScalingReplicaSet", message), None);
        }
        name
    }

    /// Scales a ReplicaSet to `replicas` and creates or deletes its pods to match; new pods
    /// behave as decided from the ReplicaSet's own pods, then `evidence`.
    fn scale_replicaset(&mut self, deployment: &Value, rs_name: &str, replicas: i64, evidence: &[Value]) {
        let Some(rs) = self.get(Kind::ReplicaSet, rs_name) else { return };
        let before = rs.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
        let mut updated = rs.clone();
        insert_path(&mut updated, &["spec", "replicas"], json!(replicas));
        if before != replicas {
            let generation = rs.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            set_meta(&mut updated, "generation", json!(generation + 1));
        }
        let desired = spec_replicas(deployment);
        set_annotation(&mut updated, DESIRED_REPLICAS, &desired.to_string());
        set_annotation(&mut updated, MAX_REPLICAS, &(desired + max_surge(deployment, desired)).to_string());
        self.put_if_changed(Kind::ReplicaSet, &rs, updated);
        if before != replicas {
            let direction = if replicas > before { "up" } else { "down" };
            let message = format!("Scaled {direction} replica set {rs_name} from {before} to {replicas}");
            self.record(deployment, EventSpec::normal("deployment-controller", "ScalingReplicaSet", message), None);
        }

        let Some(rs) = self.get(Kind::ReplicaSet, rs_name) else { return };
        let pods = self.pods_of(&rs);
        let count = i64::try_from(pods.len()).unwrap_or(i64::MAX);
        if count < replicas {
            let mut known = pods.clone();
            known.extend(evidence.iter().cloned());
            let mut index = 0_u64;
            for _ in count..replicas {
                index = self.create_pod(&rs, &known, index) + 1;
            }
        } else if count > replicas {
            let mut victims = pods;
            // Not ready first, then the newest (then by name, for a stable order).
            victims.sort_by(|a, b| {
                let key = |p: &Value| {
                    (kubelet::is_ready(p), meta_str(p, "creationTimestamp").unwrap_or_default().to_string())
                };
                let (ready_a, created_a) = key(a);
                let (ready_b, created_b) = key(b);
                ready_a
                    .cmp(&ready_b)
                    .then_with(|| created_b.cmp(&created_a))
                    .then_with(|| meta_str(b, "name").cmp(&meta_str(a, "name")))
            });
            let excess = usize::try_from(count - replicas).unwrap_or(0);
            for pod in victims.iter().take(excess) {
                self.delete_pod(&rs, pod);
            }
        }
    }

    /// Creates one pod of `rs`, its name from the first free index at or after `from`;
    /// returns the index used.
    fn create_pod(&mut self, rs: &Value, evidence: &[Value], from: u64) -> u64 {
        let rs_name = meta_str(rs, "name").unwrap_or_default().to_string();
        let mut index = from;
        let name = loop {
            let name = format!("{rs_name}-{}", encode(hash64(format!("{rs_name}/{index}").as_bytes()), 5));
            if self.get(Kind::Pod, &name).is_none() || index > from + 1000 {
                break name;
            }
            index += 1;
        };
        let node = self.schedule(&name, evidence);
        let pod_ip = self.pod_ip(&name, evidence);
        let start = kubelet::PodStart {
            name: name.clone(),
            namespace: self.namespace.clone(),
            uid: self.store.new_uid(),
            node: node.clone(),
            pod_ip,
            stamp: self.stamp.clone(),
        };
        let (pod, events) = kubelet::start_pod(rs, &start, evidence);
        self.touched.push(labels_of(&pod));
        self.put(Kind::Pod, pod.clone());
        let message = format!("Created pod: {name}");
        self.record(rs, EventSpec::normal("replicaset-controller", "SuccessfulCreate", message), None);
        let Some(pod) = self.get(Kind::Pod, &name) else { return index };
        let node_name = node.as_ref().map(|n| n.name.clone());
        if let Some(node_name) = &node_name {
            let message = format!("Successfully assigned {}/{name} to {node_name}", self.namespace);
            self.record(&pod, EventSpec::normal("default-scheduler", "Scheduled", message), None);
        }
        for event in events {
            self.record(&pod, event, node_name.as_deref());
        }
        index
    }

    /// Deletes a pod of `rs`.
    fn delete_pod(&mut self, rs: &Value, pod: &Value) {
        let name = meta_str(pod, "name").unwrap_or_default().to_string();
        let node = pod.pointer("/spec/nodeName").and_then(Value::as_str).map(str::to_string);
        for container in pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten() {
            let container = container.get("name").and_then(Value::as_str).unwrap_or_default();
            let event = EventSpec {
                field_path: Some(format!("spec.containers{{{container}}}")),
                ..EventSpec::normal("kubelet", "Killing", format!("Stopping container {container}"))
            };
            self.record(pod, event, node.as_deref());
        }
        self.touched.push(labels_of(pod));
        self.remove(Kind::Pod, &name);
        let message = format!("Deleted pod: {name}");
        self.record(rs, EventSpec::normal("replicaset-controller", "SuccessfulDelete", message), None);
    }

    /// The node for a new pod: a Ready, schedulable Node chosen by a hash of the pod's name,
    /// else the node of a pod it replaces.
    fn schedule(&self, pod: &str, evidence: &[Value]) -> Option<kubelet::Node> {
        let nodes: Vec<&Value> = self.store.iter(Kind::Node, None).map(|(_, n)| n).filter(|n| schedulable(n)).collect();
        if !nodes.is_empty() {
            let index = usize::try_from(hash64(pod.as_bytes()) % nodes.len() as u64).unwrap_or(0);
            let node = nodes[index];
            let ip = node
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
                .and_then(|a| a.get("address").and_then(Value::as_str))
                .map(str::to_string);
            return Some(kubelet::Node { name: meta_str(node, "name").unwrap_or_default().to_string(), ip });
        }
        evidence.iter().find_map(|p| {
            let name = p.pointer("/spec/nodeName").and_then(Value::as_str)?;
            let ip = p.pointer("/status/hostIP").and_then(Value::as_str).map(str::to_string);
            Some(kubelet::Node { name: name.to_string(), ip })
        })
    }

    /// An IP for a new pod, in the network of the pods it replaces (else 10.244.0.0/16), not
    /// used by any pod.
    fn pod_ip(&self, pod: &str, evidence: &[Value]) -> String {
        let prefix = evidence
            .iter()
            .filter_map(|p| p.pointer("/status/podIP").and_then(Value::as_str))
            .find_map(|ip| {
                let parts: Vec<&str> = ip.split('.').collect();
                (parts.len() == 4).then(|| format!("{}.{}", parts[0], parts[1]))
            })
            .unwrap_or_else(|| "10.244".to_string());
        let used: Vec<String> = self
            .store
            .iter(Kind::Pod, None)
            .filter_map(|(_, p)| p.pointer("/status/podIP").and_then(Value::as_str).map(str::to_string))
            .collect();
        let mut attempt = 0_u32;
        loop {
            let hash = hash64(format!("{pod}/{attempt}").as_bytes());
            let ip = format!("{prefix}.{}.{}", hash % 256, 2 + (hash >> 8) % 252);
            if !used.contains(&ip) || attempt > 1000 {
                return ip;
            }
            attempt += 1;
        }
    }

    /// Writes the status of the Deployment `name` and its ReplicaSets; `active` is the
    /// ReplicaSet of the current template, `new_revision` the revision a rollout moved to.
    fn update_status(&mut self, name: &str, active: &str, new_revision: Option<i64>) {
        let Some(deployment) = self.get(Kind::Deployment, name) else { return };
        let mut totals = Totals::default();
        for rs in self.owned_replicasets(&deployment) {
            let pods = self.pods_of(&rs);
            let count = i64::try_from(pods.len()).unwrap_or(i64::MAX);
            let ready = i64::try_from(pods.iter().filter(|p| kubelet::is_ready(p)).count()).unwrap_or(i64::MAX);
            let mut status = json!({
                "replicas": count,
                "observedGeneration": rs.pointer("/metadata/generation").cloned().unwrap_or_else(|| json!(1)),
            });
            for (field, value) in
                [("fullyLabeledReplicas", count), ("readyReplicas", ready), ("availableReplicas", ready)]
            {
                if value > 0 {
                    status[field] = json!(value);
                }
            }
            let mut updated = rs.clone();
            updated["status"] = status;
            self.put_if_changed(Kind::ReplicaSet, &rs, updated);

            totals.desired += rs.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0);
            totals.actual += count;
            totals.ready += ready;
            if meta_str(&rs, "name") == Some(active) {
                totals.updated = count;
                totals.updated_ready = ready;
            }
        }

        let replicas = spec_replicas(&deployment);
        let mut status = json!({
            "observedGeneration": deployment.pointer("/metadata/generation").cloned().unwrap_or_else(|| json!(1)),
        });
        let unavailable = (totals.desired - totals.ready).max(0);
        for (field, value) in [
            ("replicas", totals.actual),
            ("updatedReplicas", totals.updated),
            ("readyReplicas", totals.ready),
            ("availableReplicas", totals.ready),
            ("unavailableReplicas", unavailable),
        ] {
            if value > 0 {
                status[field] = json!(value);
            }
        }
        if let Some(collisions) = deployment.pointer("/status/collisionCount") {
            status["collisionCount"] = collisions.clone();
        }
        let old_conditions: Vec<Value> =
            deployment.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
        let available = totals.ready >= replicas - max_unavailable(&deployment, replicas);
        let (available_reason, available_message) = if available {
            ("MinimumReplicasAvailable", "Deployment has minimum availability.")
        } else {
            ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        };
        let complete = totals.updated == replicas && totals.updated_ready == replicas && totals.actual == replicas;
        let (progressing, progressing_reason, progressing_message) = if complete {
            (true, "NewReplicaSetAvailable", format!("ReplicaSet \"{active}\" has successfully progressed."))
        } else if totals.updated_ready < totals.updated {
            (false, "ProgressDeadlineExceeded", format!("ReplicaSet \"{active}\" has timed out progressing."))
        } else {
            (true, "ReplicaSetUpdated", format!("ReplicaSet \"{active}\" is progressing."))
        };
        let mut conditions = vec![
            self.condition(&old_conditions, "Available", available, available_reason, available_message),
            self.condition(&old_conditions, "Progressing", progressing, progressing_reason, &progressing_message),
        ];
        conditions.extend(
            old_conditions
                .iter()
                .filter(|c| !matches!(c.get("type").and_then(Value::as_str), Some("Available" | "Progressing")))
                .cloned(),
        );
        status["conditions"] = json!(conditions);

        let mut updated = deployment.clone();
        updated["status"] = status;
        if let Some(revision_number) = new_revision {
            set_annotation(&mut updated, REVISION, &revision_number.to_string());
        }
        self.put_if_changed(Kind::Deployment, &deployment, updated);
    }

    /// A Deployment condition; its `lastTransitionTime` is kept while its status is unchanged,
    /// and the whole condition is kept when nothing changed.
    fn condition(&self, old: &[Value], kind: &str, status: bool, reason: &str, message: &str) -> Value {
        let status = if status { "True" } else { "False" };
        let previous = old.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(kind));
        if let Some(previous) = previous.filter(|p| {
            p.get("status").and_then(Value::as_str) == Some(status)
                && p.get("reason").and_then(Value::as_str) == Some(reason)
                && p.get("message").and_then(Value::as_str) == Some(message)
        }) {
            return previous.clone();
        }
        let transition = previous
            .filter(|p| p.get("status").and_then(Value::as_str) == Some(status))
            .and_then(|p| p.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(self.stamp));
        json!({
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": self.stamp,
            "lastTransitionTime": transition,
        })
    }
}

/// Replica counts over a Deployment's ReplicaSets.
#[derive(Debug, Default)]
struct Totals {
    /// Sum of the ReplicaSets' `spec.replicas`.
    desired: i64,
    /// Pods.
    actual: i64,
    /// Ready pods.
    ready: i64,
    /// Pods of the current ReplicaSet.
    updated: i64,
    /// Ready pods of the current ReplicaSet.
    updated_ready: i64,
}

/// The controller owner reference of an object.
fn owner(object: &Value) -> Option<&Value> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool).unwrap_or(false))
}

/// A controller owner reference to `object`.
fn controller_ref(object: &Value) -> Value {
    json!({
        "apiVersion": object.get("apiVersion").cloned().unwrap_or_default(),
        "kind": object.get("kind").cloned().unwrap_or_default(),
        "name": meta_str(object, "name").unwrap_or_default(),
        "uid": meta_str(object, "uid").unwrap_or_default(),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// `metadata.labels` of an object.
fn labels_of(object: &Value) -> Map<String, Value> {
    object.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default()
}

/// The `deployment.kubernetes.io/revision` of an object; 0 without one.
fn revision(object: &Value) -> i64 {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `spec.replicas` (1 when absent, as the API server defaults it).
fn spec_replicas(deployment: &Value) -> i64 {
    deployment.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1).max(0)
}

/// A rolling update's `maxSurge` or `maxUnavailable` for `replicas`: an integer or a
/// percentage (rounded up for the surge, down for unavailability), 25% by default. A
/// `Recreate` Deployment has neither.
fn rolling_parameter(deployment: &Value, field: &str, replicas: i64, round_up: bool) -> i64 {
    let strategy = deployment.pointer("/spec/strategy");
    if strategy.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("Recreate") {
        return 0;
    }
    let value = strategy.and_then(|s| s.pointer(&format!("/rollingUpdate/{field}")));
    let percent = match value {
        Some(Value::Number(n)) => return n.as_i64().unwrap_or(0).max(0),
        Some(Value::String(s)) => s.strip_suffix('%').and_then(|p| p.trim().parse::<i64>().ok()).unwrap_or(25),
        _ => 25,
    };
    let scaled = replicas * percent;
    if round_up { (scaled + 99) / 100 } else { scaled / 100 }
}

fn max_surge(deployment: &Value, replicas: i64) -> i64 {
    rolling_parameter(deployment, "maxSurge", replicas, true)
}

fn max_unavailable(deployment: &Value, replicas: i64) -> i64 {
    rolling_parameter(deployment, "maxUnavailable", replicas, false)
}

/// Whether a Node takes new pods: not cordoned, and Ready (or without conditions).
fn schedulable(node: &Value) -> bool {
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false) {
        return false;
    }
    let ready = node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")));
    ready.is_none_or(|c| c.get("status").and_then(Value::as_str) == Some("True"))
}

/// Sets `metadata.annotations[key]`.
fn set_annotation(object: &mut Value, key: &str, value: &str) {
    insert_path(object, &["metadata", "annotations", key], json!(value));
}

/// Sets the value at a path of object keys, creating (or replacing non-object) parents.
fn insert_path(object: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut current = object;
    for key in parents {
        if !current.is_object() {
            *current = json!({});
        }
        let Some(map) = current.as_object_mut() else { return };
        current = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
    if !current.is_object() {
        *current = json!({});
    }
    if let Some(map) = current.as_object_mut() {
        map.insert((*last).to_string(), value);
    }
}

/// A pod template as compared and hashed: decoded and re-encoded as the typed
/// `PodTemplateSpec` (so that `null`s, defaults and key order do not matter, and a template
/// read back through a typed client compares equal), without the `pod-template-hash` label.
fn normalized_template(template: &Value) -> Value {
    let mut normalized = serde_json::from_value::<k8s_openapi::api::core::v1::PodTemplateSpec>(template.clone())
        .ok()
        .and_then(|t| serde_json::to_value(t).ok())
        .unwrap_or_else(|| template.clone());
    if let Some(labels) = normalized.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove(HASH_LABEL);
    }
    normalized
}

/// The `pod-template-hash` of a normalized template: like Kubernetes', the decimal digits of a
/// 32-bit FNV-1a hash (of the template and the collision count) mapped onto [`ALPHABET`],
/// here zero-padded to 10 characters.
fn pod_template_hash(normalized: &Value, collisions: u64) -> String {
    let mut text = canonical(normalized);
    if collisions > 0 {
        text.push_str(&collisions.to_string());
    }
    format!("{:010}", fnv32(text.as_bytes()))
        .bytes()
        .map(|digit| char::from(ALPHABET[usize::from(digit) % ALPHABET.len()]))
        .collect()
}

/// `len` characters of [`ALPHABET`] from a hash.
fn encode(mut hash: u64, len: usize) -> String {
    let base = ALPHABET.len() as u64;
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        out.push(char::from(ALPHABET[usize::try_from(hash % base).unwrap_or(0)]));
        hash /= base;
    }
    out
}

/// JSON text with object keys sorted, whatever the map's order.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> =
                keys.into_iter().map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&map[k]))).collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// 32-bit FNV-1a.
fn fnv32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, b| (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// A 64-bit hash of `bytes` for generated names, ids and IPs: FNV-1a, then the SplitMix64
/// finalizer so that similar inputs give unrelated outputs.
fn hash64(bytes: &[u8]) -> u64 {
    let fnv =
        bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    let mut z = (fnv ^ (fnv >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_ignores_its_own_label_nulls_and_key_order() {
        let a = json!({"metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
                       "spec": {"containers": [{"name": "web", "image": "web:1"}]}});
        let b = json!({"spec": {"containers": [{"image": "web:1", "name": "web"}]},
                       "metadata": {"labels": {"pod-template-hash": "x", "app": "web"}}});
        assert_eq!(normalized_template(&a), normalized_template(&b));
        let hash = pod_template_hash(&normalized_template(&a), 0);
        assert_eq!(hash.len(), 10);
        // Decimal digits mapped as Kubernetes maps them: only these ten characters appear.
        assert!(hash.chars().all(|c| "456789bcdf".contains(c)), "{hash}");
        assert_eq!(hash, pod_template_hash(&normalized_template(&b), 0), "stable");
        assert_ne!(hash, pod_template_hash(&normalized_template(&a), 1), "a collision changes it");
    }

    #[test]
    fn rolling_parameters() {
        let d = json!({"spec": {"replicas": 3}});
        assert_eq!((max_surge(&d, 3), max_unavailable(&d, 3)), (1, 0));
        let d = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 2, "maxUnavailable": "50%"}}}});
        assert_eq!((max_surge(&d, 4), max_unavailable(&d, 4)), (2, 2));
        let d = json!({"spec": {"strategy": {"type": "Recreate"}}});
        assert_eq!((max_surge(&d, 4), max_unavailable(&d, 4)), (0, 0));
    }

    #[test]
    fn names_use_the_kubernetes_alphabet() {
        let suffix = encode(hash64(b"web-abc/0"), 5);
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| ALPHABET.contains(&b)), "{suffix}");
        assert_ne!(suffix, encode(hash64(b"web-abc/1"), 5));
    }
}
