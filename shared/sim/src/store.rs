//! The cluster's state: objects indexed by kind, namespace and name, and the global
//! resourceVersion counter.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use aiops_core::Kind;
use aiops_core::kinds::KindInfo;
use aiops_core::snapshot::Snapshot;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::SimError;

/// `(namespace, name)`; the namespace is empty for cluster-scoped kinds. Ordering by this key
/// gives lists sorted by namespace, then name.
pub(crate) type ObjectKey = (String, String);

/// Objects and counters. Every method is synchronous: handlers never hold the lock across an
/// `.await`.
#[derive(Debug, Default)]
pub(crate) struct Store {
    kinds: BTreeMap<Kind, BTreeMap<ObjectKey, Value>>,
    /// The last resourceVersion handed out.
    resource_version: u64,
    /// `continue` tokens issued before this resourceVersion are expired (410).
    expired_before: u64,
    /// Sequence for generated uids and names.
    sequence: u64,
}

impl Store {
    /// Loads objects: kinds outside the table are skipped; every object gets a resourceVersion
    /// and a uid when it lacks one, and the counter starts above every numeric one present.
    pub(crate) fn load(objects: Vec<Value>) -> Result<Store, SimError> {
        let resource_version = objects
            .iter()
            .filter_map(|o| o.pointer("/metadata/resourceVersion").and_then(Value::as_str))
            .filter_map(|rv| rv.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let mut store = Store { resource_version, ..Store::default() };
        for (index, mut object) in objects.into_iter().enumerate() {
            let kind_name = object.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
            let Some(kind) = Kind::from_kind_name(&kind_name) else {
                tracing::debug!(index, kind = %kind_name, "object of a kind the simulated cluster does not serve skipped");
                continue;
            };
            let info = kind.info();
            let bad =
                |message: &str| SimError::InvalidObject { index, kind: kind_name.clone(), message: message.into() };
            let Some(map) = object.as_object_mut() else {
                return Err(bad("not a JSON object"));
            };
            // Served under the table's version, whatever version the snapshot was written with.
            map.insert("apiVersion".into(), json!(info.api_version()));
            let meta = map.entry("metadata").or_insert_with(|| json!({}));
            let Some(meta) = meta.as_object_mut() else {
                return Err(bad("metadata is not an object"));
            };
            let name = meta.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            if name.is_empty() {
                return Err(bad("missing metadata.name"));
            }
            let namespace = if info.namespaced {
                let ns = meta.get("namespace").and_then(Value::as_str).unwrap_or_default().to_string();
                if ns.is_empty() {
                    return Err(bad(&format!("{name} is namespaced but has no metadata.namespace")));
                }
                ns
            } else {
                meta.remove("namespace");
                String::new()
            };
            if meta.get("resourceVersion").and_then(Value::as_str).is_none_or(str::is_empty) {
                store.resource_version += 1;
                meta.insert("resourceVersion".into(), json!(store.resource_version.to_string()));
            }
            if meta.get("uid").and_then(Value::as_str).is_none_or(str::is_empty) {
                meta.insert("uid".into(), json!(store.new_uid()));
            }
            let key = (namespace, name);
            let objects = store.kinds.entry(kind).or_default();
            if objects.contains_key(&key) {
                return Err(SimError::DuplicateObject { kind: kind_name, namespace: key.0, name: key.1 });
            }
            objects.insert(key, object);
        }
        Ok(store)
    }

    /// The current (last handed out) resourceVersion.
    pub(crate) fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Hands out the next resourceVersion.
    pub(crate) fn next_resource_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// The resourceVersion before which `continue` tokens are expired.
    pub(crate) fn expired_before(&self) -> u64 {
        self.expired_before
    }

    /// Expires every `continue` token issued so far.
    pub(crate) fn expire_continue_tokens(&mut self) {
        self.expired_before = self.resource_version + 1;
    }

    /// A new uid, unique in this cluster and stable from run to run.
    pub(crate) fn new_uid(&mut self) -> String {
        self.sequence += 1;
        format!("5a1e0000-0000-4000-8000-{:012x}", self.sequence)
    }

    /// Five characters for a `generateName` object, as the real server appends.
    pub(crate) fn name_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        self.sequence += 1;
        let mut n = self.sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut out = String::with_capacity(5);
        for _ in 0..5 {
            let i = usize::try_from(n % ALPHABET.len() as u64).unwrap_or(0);
            out.push(char::from(ALPHABET[i]));
            n /= ALPHABET.len() as u64;
        }
        out
    }

    /// One object.
    pub(crate) fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Value> {
        self.kinds.get(&kind)?.get(&(namespace.to_string(), name.to_string()))
    }

    /// Objects of a kind, sorted by namespace then name; only `namespace` when given.
    pub(crate) fn iter(&self, kind: Kind, namespace: Option<&str>) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.kinds
            .get(&kind)
            .into_iter()
            .flat_map(|objects| objects.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|want| want == ns))
    }

    /// Inserts or replaces an object under its key.
    pub(crate) fn put(&mut self, kind: Kind, namespace: &str, name: &str, object: Value) {
        self.kinds.entry(kind).or_default().insert((namespace.to_string(), name.to_string()), object);
    }

    /// Removes an object; removing a Namespace removes every object in it, as the namespace
    /// controller eventually does, and removing a Pod removes its PodMetrics, as metrics-server
    /// stops reporting it.
    pub(crate) fn remove(&mut self, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
        let removed = self.kinds.get_mut(&kind)?.remove(&(namespace.to_string(), name.to_string()));
        if removed.is_some()
            && kind == Kind::Pod
            && let Some(metrics) = self.kinds.get_mut(&Kind::PodMetrics)
        {
            metrics.remove(&(namespace.to_string(), name.to_string()));
        }
        if removed.is_some() && kind == Kind::Namespace {
            for (other, objects) in &mut self.kinds {
                if other.info().namespaced {
                    objects.retain(|(ns, _), _| ns != name);
                }
            }
        }
        removed
    }

    /// Every object, in table order, then namespace, then name.
    pub(crate) fn all(&self) -> Vec<Value> {
        self.kinds.values().flat_map(|objects| objects.values().cloned()).collect()
    }
}

/// What the server shares between requests: the store, the snapshot's logs and time, and the
/// clock.
#[derive(Debug)]
pub(crate) struct Shared {
    store: RwLock<Store>,
    /// The kinds served: the table less the optional kinds the snapshot holds nothing of. Fixed
    /// at load, since optional kinds are read-only.
    served: Vec<&'static KindInfo>,
    /// The snapshot with its objects moved into the store: logs and `captured_at` remain.
    snapshot: Snapshot,
    /// When the server was loaded: the cluster's clock runs from `captured_at` at this instant.
    started: Instant,
}

impl Shared {
    /// Loads a snapshot.
    pub(crate) fn new(mut snapshot: Snapshot) -> Result<Shared, SimError> {
        let objects = std::mem::take(&mut snapshot.objects);
        let store = Store::load(objects)?;
        let served = crate::discovery::served_kinds(|kind| store.iter(kind, None).next().is_some());
        Ok(Shared { store: RwLock::new(store), served, snapshot, started: Instant::now() })
    }

    /// The kinds this cluster serves.
    pub(crate) fn served(&self) -> &[&'static KindInfo] {
        &self.served
    }

    /// Read access. A panic in another request cannot leave the store half-written (each write
    /// replaces whole objects), so a poisoned lock is used as it is.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Write access (see [`Shared::read`] on poisoning).
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the snapshot was captured.
    pub(crate) fn captured_at(&self) -> Timestamp {
        self.snapshot.captured_at
    }

    /// The cluster's clock: `captured_at` plus the wall-clock time elapsed since the server was
    /// loaded, so that the ages of the snapshot's objects and of new ones stay consistent.
    pub(crate) fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.started.elapsed()).unwrap_or(SignedDuration::ZERO);
        self.snapshot.captured_at.checked_add(elapsed).unwrap_or(self.snapshot.captured_at)
    }

    /// A container log from the snapshot.
    pub(crate) fn log(&self, namespace: &str, pod: &str, container: &str, previous: bool) -> Option<&str> {
        self.snapshot.log(namespace, pod, container, previous)
    }
}

/// Sets a `metadata` field of an object (creating `metadata` when missing).
pub(crate) fn set_meta(object: &mut Value, field: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        let meta = map.entry("metadata").or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(field.to_string(), value);
        }
    }
}

/// Removes a `metadata` field of an object.
pub(crate) fn remove_meta(object: &mut Value, field: &str) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove(field);
    }
}

/// A string field of `metadata`.
pub(crate) fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// A timestamp as Kubernetes writes one in an object (`metav1.Time`): RFC 3339, whole seconds.
pub(crate) fn k8s_time(time: Timestamp) -> String {
    Timestamp::from_second(time.as_second()).unwrap_or(time).to_string()
}
