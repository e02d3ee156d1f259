//! The snapshot format: a folder holding `cluster.yaml` (a `kind: List` of objects as
//! `kubectl get -o yaml` prints them), `logs/<pod>_<container>[.previous].log` and an optional
//! `meta.yaml` with `capturedAt:`.
//!
//! Loading is strict about shape and clear about failures: every error names the file and,
//! for a bad object, its index in the list. Writing produces the same format, with Secret and
//! ConfigMap values dropped (their names and keys are kept: a missing key is a diagnosis).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::kinds::Kind;

/// Errors loading or writing a snapshot folder.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The folder does not exist or is not a folder.
    #[error("snapshot folder {0} does not exist or is not a folder")]
    NotAFolder(PathBuf),
    /// The folder has no `cluster.yaml`.
    #[error("snapshot folder {0} has no cluster.yaml")]
    MissingClusterYaml(PathBuf),
    /// A file could not be read or written.
    #[error("failed to access {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML.
    #[error("{path} is not valid YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    /// The YAML is valid but not a list of Kubernetes objects.
    #[error("{path}: {message}")]
    Shape { path: PathBuf, message: String },
    /// One object of the list cannot be read.
    #[error("{path}: item {index} ({what}): {message}")]
    BadItem { path: PathBuf, index: usize, what: String, message: String },
    /// A log file name does not follow `<pod>_<container>[.previous].log`.
    #[error("{0}: log files are named <pod>_<container>.log or <pod>_<container>.previous.log")]
    BadLogName(PathBuf),
}

/// Which container log a text belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogKey {
    /// The pod's namespace when the file name carries it (`<ns>_<pod>_<container>.log`).
    pub namespace: Option<String>,
    pub pod: String,
    pub container: String,
    /// The log of the previous (terminated) instance of the container.
    pub previous: bool,
}

/// A loaded snapshot: the objects, the logs, and the moment it was captured.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Every object, each with `apiVersion`, `kind` and `metadata.name`.
    pub objects: Vec<Value>,
    /// Container logs.
    pub logs: BTreeMap<LogKey, String>,
    /// "Now" for this snapshot: `meta.yaml` `capturedAt`, else the newest timestamp in it.
    pub captured_at: Timestamp,
}

impl Snapshot {
    /// Loads a snapshot folder.
    ///
    /// # Errors
    /// [`SnapshotError`] naming the file (and the item) that cannot be read.
    pub fn load(dir: &Path) -> Result<Snapshot, SnapshotError> {
        if !dir.is_dir() {
            return Err(SnapshotError::NotAFolder(dir.to_path_buf()));
        }
        let cluster = dir.join("cluster.yaml");
        if !cluster.is_file() {
            return Err(SnapshotError::MissingClusterYaml(dir.to_path_buf()));
        }
        let text = read(&cluster)?;
        let objects = parse_objects(&cluster, &text)?;
        let logs = load_logs(&dir.join("logs"))?;
        let meta = dir.join("meta.yaml");
        let captured_at = if meta.is_file() {
            let value: Value = parse_yaml(&meta, &read(&meta)?)?;
            match value.get("capturedAt").and_then(Value::as_str) {
                Some(s) => s.parse::<Timestamp>().map_err(|e| SnapshotError::Shape {
                    path: meta.clone(),
                    message: format!("capturedAt {s:?} is not an RFC 3339 time: {e}"),
                })?,
                None => {
                    return Err(SnapshotError::Shape { path: meta, message: "expected a capturedAt: field".into() });
                }
            }
        } else {
            latest_timestamp(&objects).unwrap_or(Timestamp::UNIX_EPOCH)
        };
        Ok(Snapshot { objects, logs, captured_at })
    }

    /// Builds a snapshot from objects in memory (tests, generators).
    pub fn from_objects(objects: Vec<Value>, captured_at: Option<Timestamp>) -> Snapshot {
        let captured_at = captured_at.or_else(|| latest_timestamp(&objects)).unwrap_or(Timestamp::UNIX_EPOCH);
        Snapshot { objects, logs: BTreeMap::new(), captured_at }
    }

    /// The log text for a container, looked up with and without the namespace.
    pub fn log(&self, namespace: &str, pod: &str, container: &str, previous: bool) -> Option<&str> {
        let mut key = LogKey {
            namespace: Some(namespace.to_string()),
            pod: pod.to_string(),
            container: container.to_string(),
            previous,
        };
        if let Some(text) = self.logs.get(&key) {
            return Some(text);
        }
        key.namespace = None;
        self.logs.get(&key).map(String::as_str)
    }

    /// Objects of one kind.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Value> {
        let name = kind.info().name;
        self.objects.iter().filter(move |o| o.get("kind").and_then(Value::as_str) == Some(name))
    }

    /// Writes the snapshot into `dir` (created if missing): `cluster.yaml`, `meta.yaml`, logs.
    ///
    /// # Errors
    /// [`SnapshotError::Io`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), SnapshotError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Io { path, source }
        };
        std::fs::create_dir_all(dir.join("logs")).map_err(io(dir))?;
        let items: Vec<Value> = self.objects.iter().map(scrub_for_snapshot).collect();
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}});
        let yaml = serde_saphyr::to_string(&list)
            .map_err(|e| SnapshotError::Yaml { path: dir.join("cluster.yaml"), message: e.to_string() })?;
        let path = dir.join("cluster.yaml");
        std::fs::write(&path, yaml).map_err(io(&path))?;
        let path = dir.join("meta.yaml");
        std::fs::write(&path, format!("capturedAt: \"{}\"\n", self.captured_at)).map_err(io(&path))?;
        for (key, text) in &self.logs {
            let mut name = match &key.namespace {
                Some(ns) => format!("{ns}_{}_{}", key.pod, key.container),
                None => format!("{}_{}", key.pod, key.container),
            };
            name.push_str(if key.previous { ".previous.log" } else { ".log" });
            let path = dir.join("logs").join(name);
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        Ok(())
    }
}

/// Drops what a snapshot must never hold: Secret and ConfigMap values (keys are kept, values
/// emptied), and managed fields.
pub fn scrub_for_snapshot(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    if (kind == "Secret" || kind == "ConfigMap")
        && let Some(map) = object.as_object_mut()
    {
        for field in ["data", "stringData", "binaryData"] {
            if let Some(Value::Object(values)) = map.get_mut(field) {
                for v in values.values_mut() {
                    *v = Value::String(String::new());
                }
            }
        }
    }
    object
}

fn read(path: &Path) -> Result<String, SnapshotError> {
    std::fs::read_to_string(path).map_err(|source| SnapshotError::Io { path: path.to_path_buf(), source })
}

fn parse_yaml(path: &Path, text: &str) -> Result<Value, SnapshotError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: usize::MAX,
            max_nodes: usize::MAX,
            max_total_scalar_bytes: usize::MAX,
            max_reader_input_bytes: None,
        },
    };
    serde_saphyr::from_str_with_options::<Value>(text, options)
        .map_err(|e| SnapshotError::Yaml { path: path.to_path_buf(), message: e.to_string() })
}

/// Parses `cluster.yaml`: a `kind: List`, a bare sequence, or a single object.
fn parse_objects(path: &Path, text: &str) -> Result<Vec<Value>, SnapshotError> {
    let value = parse_yaml(path, text)?;
    let items = match value {
        Value::Object(mut map) if map.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List")) => {
            match map.remove("items") {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(_) => {
                    return Err(SnapshotError::Shape {
                        path: path.to_path_buf(),
                        message: "items: is not a list".into(),
                    });
                }
            }
        }
        Value::Object(map) => vec![Value::Object(map)],
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        _ => {
            return Err(SnapshotError::Shape {
                path: path.to_path_buf(),
                message: "expected a kind: List of Kubernetes objects".into(),
            });
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        out.push(check_item(path, index, item)?);
    }
    Ok(out)
}

fn check_item(path: &Path, index: usize, item: Value) -> Result<Value, SnapshotError> {
    let bad = |what: String, message: &str| SnapshotError::BadItem {
        path: path.to_path_buf(),
        index,
        what,
        message: message.to_string(),
    };
    let Value::Object(map) = item else {
        return Err(bad("not an object".into(), "each item must be a Kubernetes object"));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = map.pointer_str("/metadata/name").unwrap_or_default();
    let what = format!("{} {}", if kind.is_empty() { "?" } else { kind }, if name.is_empty() { "?" } else { name });
    if kind.is_empty() {
        return Err(bad(what, "missing kind"));
    }
    if map.get("apiVersion").and_then(Value::as_str).is_none() {
        return Err(bad(what, "missing apiVersion"));
    }
    if name.is_empty() {
        return Err(bad(what, "missing metadata.name"));
    }
    if let Some(k) = Kind::from_kind_name(kind) {
        let namespaced = k.info().namespaced;
        let has_ns = map.pointer_str("/metadata/namespace").is_some_and(|s| !s.is_empty());
        if namespaced && !has_ns {
            return Err(bad(what, "a namespaced object without metadata.namespace"));
        }
    }
    Ok(Value::Object(map))
}

trait PointerStr {
    fn pointer_str(&self, pointer: &str) -> Option<&str>;
}

impl PointerStr for Map<String, Value> {
    fn pointer_str(&self, pointer: &str) -> Option<&str> {
        let mut parts = pointer.trim_start_matches('/').split('/');
        let first = parts.next()?;
        let mut cur = self.get(first)?;
        for p in parts {
            cur = cur.get(p)?;
        }
        cur.as_str()
    }
}

fn load_logs(dir: &Path) -> Result<BTreeMap<LogKey, String>, SnapshotError> {
    let mut logs = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(logs);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| SnapshotError::Io { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| SnapshotError::Io { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
        if !file.ends_with(".log") {
            continue;
        }
        let (stem, previous) = match file.strip_suffix(".previous.log") {
            Some(stem) => (stem, true),
            None => (file.trim_end_matches(".log"), false),
        };
        let parts: Vec<&str> = stem.split('_').collect();
        let key = match parts.as_slice() {
            [pod, container] if !pod.is_empty() && !container.is_empty() => {
                LogKey { namespace: None, pod: (*pod).to_string(), container: (*container).to_string(), previous }
            }
            [ns, pod, container] if !ns.is_empty() && !pod.is_empty() && !container.is_empty() => LogKey {
                namespace: Some((*ns).to_string()),
                pod: (*pod).to_string(),
                container: (*container).to_string(),
                previous,
            },
            _ => return Err(SnapshotError::BadLogName(path)),
        };
        let bytes = std::fs::read(&path).map_err(|source| SnapshotError::Io { path: path.clone(), source })?;
        logs.insert(key, String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(logs)
}

/// The newest RFC 3339 time found in the objects' time fields (keys ending in `Time`,
/// `Timestamp` or `At`).
pub fn latest_timestamp(objects: &[Value]) -> Option<Timestamp> {
    fn walk(v: &Value, best: &mut Option<Timestamp>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if let Value::String(s) = v {
                        if (k.ends_with("Time") || k.ends_with("Timestamp") || k.ends_with("At"))
                            && let Ok(t) = s.parse::<Timestamp>()
                            && best.is_none_or(|b| t > b)
                        {
                            *best = Some(t);
                        }
                    } else {
                        walk(v, best);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, best)),
            _ => {}
        }
    }
    let mut best = None;
    objects.iter().for_each(|o| walk(o, &mut best));
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn loads_list_logs_and_latest_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "cluster.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n    namespace: prod\n    creationTimestamp: \"2025-01-01T10:00:00Z\"\n  status:\n    startTime: \"2025-01-01T10:05:00Z\"\n",
        );
        write(dir.path(), "logs/a_app.log", "hello\n");
        write(dir.path(), "logs/a_app.previous.log", "boom\n");
        let snap = Snapshot::load(dir.path()).expect("load");
        assert_eq!(snap.objects.len(), 1);
        assert_eq!(snap.captured_at.to_string(), "2025-01-01T10:05:00Z");
        assert_eq!(snap.log("prod", "a", "app", true), Some("boom\n"));
        assert_eq!(snap.log("prod", "a", "app", false), Some("hello\n"));
    }

    #[test]
    fn bad_item_names_file_and_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "cluster.yaml",
            "kind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n",
        );
        let err = Snapshot::load(dir.path()).expect_err("namespace missing");
        let msg = err.to_string();
        assert!(msg.contains("cluster.yaml") && msg.contains("item 0") && msg.contains("Pod a"), "{msg}");
    }

    #[test]
    fn bad_yaml_and_missing_folder_are_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Snapshot::load(&dir.path().join("nope")).expect_err("missing");
        assert!(err.to_string().contains("does not exist"));
        write(dir.path(), "cluster.yaml", "kind: List\nitems: [\n");
        let err = Snapshot::load(dir.path()).expect_err("bad yaml");
        assert!(err.to_string().contains("not valid YAML"), "{err}");
    }

    #[test]
    fn write_then_load_round_trips_and_drops_secret_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let objects = vec![serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "prod", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "data": {"password": "aHVudGVyMg=="}
        })];
        let snap = Snapshot::from_objects(objects, None);
        snap.write(dir.path()).expect("write");
        let text = std::fs::read_to_string(dir.path().join("cluster.yaml")).expect("read");
        assert!(!text.contains("aHVudGVyMg"), "secret value leaked: {text}");
        let back = Snapshot::load(dir.path()).expect("load");
        assert_eq!(back.objects[0]["data"]["password"], "");
        assert_eq!(back.captured_at, snap.captured_at);
    }
}
