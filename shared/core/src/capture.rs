//! Capturing a live cluster into the snapshot format, through the [`ClusterReader`] port.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use crate::error::Result;
use crate::k8s::decode;
use crate::kinds::Kind;
use crate::ports::{ClusterReader, LogRequest, Scope};
use crate::snapshot::{LogKey, Snapshot, scrub_for_snapshot};

/// Lines of each container log a capture keeps.
pub const CAPTURE_TAIL_LINES: i64 = 2000;
/// Bytes of each container log a capture keeps.
pub const CAPTURE_LIMIT_BYTES: i64 = 1024 * 1024;

/// What a capture saw besides the snapshot itself.
#[derive(Debug, Default)]
pub struct CaptureReport {
    /// Objects per kind.
    pub counts: BTreeMap<&'static str, usize>,
    /// Logs written.
    pub logs: usize,
    /// Kinds or logs that could not be read, with the reason (e.g. forbidden).
    pub skipped: Vec<String>,
}

/// Reads every kind (namespaced kinds limited to `namespace` when given; cluster-scoped kinds
/// always) and the current and previous logs of every container into a [`Snapshot`]. The
/// optional metrics kinds (PodMetrics, NodeMetrics) are captured when the cluster serves the
/// metrics API; a cluster without metrics-server gives none, which is not an error.
/// Secrets come metadata-only from the reader; ConfigMap values are dropped. A kind the
/// identity may not list is skipped and reported, not fatal.
///
/// # Errors
/// The reader's error when pods cannot be listed.
pub async fn capture(reader: &dyn ClusterReader, namespace: Option<&str>) -> Result<(Snapshot, CaptureReport)> {
    let mut report = CaptureReport::default();
    let mut objects = Vec::new();
    let scope = Scope::namespace(namespace);
    for kind in Kind::all() {
        let info = kind.info();
        let items = match reader.list(kind, &scope).await {
            Ok(items) => items,
            Err(e) if kind != Kind::Pod => {
                report.skipped.push(format!("{}: {e}", info.resource_name()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let items: Vec<_> = items
            .into_iter()
            .filter(|o| {
                kind != Kind::Namespace
                    || namespace.is_none_or(|ns| o.pointer("/metadata/name").and_then(|n| n.as_str()) == Some(ns))
            })
            .collect();
        report.counts.insert(info.name, items.len());
        objects.extend(items.iter().map(scrub_for_snapshot));
    }
    let mut logs = BTreeMap::new();
    let pods: Vec<Pod> = objects
        .iter()
        .filter(|o| o.get("kind").and_then(|k| k.as_str()) == Some("Pod"))
        .filter_map(|o| decode(o.clone()).ok())
        .collect();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for p in &pods {
        *names.entry(p.metadata.name.clone().unwrap_or_default()).or_default() += 1;
    }
    for pod in &pods {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status.as_ref();
        let statuses = status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .chain(status.and_then(|s| s.init_container_statuses.as_ref()).into_iter().flatten());
        for cs in statuses {
            let started = cs.state.as_ref().is_some_and(|s| s.running.is_some() || s.terminated.is_some());
            let restarted = cs.restart_count > 0 || cs.last_state.as_ref().is_some_and(|s| s.terminated.is_some());
            for previous in [false, true] {
                if (!previous && !started) || (previous && !restarted) {
                    continue;
                }
                let request = LogRequest {
                    namespace: ns.clone(),
                    pod: name.clone(),
                    container: Some(cs.name.clone()),
                    previous,
                    tail_lines: Some(CAPTURE_TAIL_LINES),
                    since_seconds: None,
                    timestamps: true,
                    limit_bytes: Some(CAPTURE_LIMIT_BYTES),
                };
                match reader.logs(&request).await {
                    Ok(text) => {
                        let key = LogKey {
                            // Pod names repeated across namespaces need the namespace in the file name.
                            namespace: (names.get(&name).copied().unwrap_or(0) > 1).then(|| ns.clone()),
                            pod: name.clone(),
                            container: cs.name.clone(),
                            previous,
                        };
                        logs.insert(key, text);
                        report.logs += 1;
                    }
                    Err(e) => report.skipped.push(format!(
                        "log {ns}/{name}/{}{}: {e}",
                        cs.name,
                        if previous { " (previous)" } else { "" }
                    )),
                }
            }
        }
    }
    let mut snapshot = Snapshot::from_objects(objects, Some(reader.now()));
    snapshot.logs = logs;
    Ok((snapshot, report))
}
