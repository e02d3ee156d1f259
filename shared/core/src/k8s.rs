//! Small helpers over Kubernetes objects shared by the tools and the analyzers: typed
//! decoding with clear errors, ages, kubectl's pod STATUS column, selectors.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, ErrorClass, Result};

/// Decodes an object served by the cluster into its typed form.
///
/// # Errors
/// `Error::Backend` (invalid input) naming the object when it does not have the kind's shape.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T> {
    let what = describe_value(&value);
    serde_json::from_value(value).map_err(|e| Error::Backend {
        class: ErrorClass::InvalidInput,
        operation: format!("read {what}"),
        message: format!("the object does not have the expected shape: {e}"),
        source: Some(Box::new(e)),
    })
}

/// Decodes a list of objects.
///
/// # Errors
/// As [`decode`], for the first object that fails.
pub fn decode_all<T: DeserializeOwned>(values: Vec<Value>) -> Result<Vec<T>> {
    values.into_iter().map(decode).collect()
}

/// `Kind namespace/name` of a raw object, for messages.
pub fn describe_value(v: &Value) -> String {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("object");
    let name = v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
    match v.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// The name of an object (empty when absent).
pub fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

/// The namespace of an object (empty when absent).
pub fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or_default()
}

/// kubectl-style age of `t` at `now`: `45s`, `12m`, `5h`, `3d`.
pub fn age(t: Option<&Time>, now: Timestamp) -> String {
    let Some(t) = t else { return "<unknown>".into() };
    human_duration(now.as_second() - t.0.as_second())
}

/// `45s`, `12m`, `5h3m`, `3d` for a number of seconds.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=3599 => format!("{}m", s / 60),
        3600..=86_399 => {
            let m = (s % 3600) / 60;
            if m == 0 || s >= 8 * 3600 { format!("{}h", s / 3600) } else { format!("{}h{}m", s / 3600, m) }
        }
        _ => format!("{}d", s / 86_400),
    }
}

/// Seconds between `t` and `now` (negative when `t` is in the future).
pub fn seconds_since(t: &Time, now: Timestamp) -> i64 {
    now.as_second() - t.0.as_second()
}

/// The STATUS column of `kubectl get pods`.
pub fn pod_status(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let mut reason = status
        .and_then(|s| s.reason.clone())
        .or_else(|| status.and_then(|s| s.phase.clone()))
        .unwrap_or_else(|| "Unknown".into());
    let mut initializing = false;
    let inits = status.and_then(|s| s.init_container_statuses.as_ref());
    let init_total = pod.spec.as_ref().and_then(|s| s.init_containers.as_ref()).map_or(0, Vec::len);
    for (i, cs) in inits.into_iter().flatten().enumerate() {
        let state = cs.state.as_ref();
        if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            if t.exit_code == 0 {
                continue;
            }
            reason = match &t.reason {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ if t.signal.unwrap_or(0) != 0 => format!("Init:Signal:{}", t.signal.unwrap_or(0)),
                _ => format!("Init:ExitCode:{}", t.exit_code),
            };
        } else if let Some(w) = state
            .and_then(|s| s.waiting.as_ref())
            .filter(|w| w.reason.as_deref().is_some_and(|r| !r.is_empty() && r != "PodInitializing"))
        {
            reason = format!("Init:{}", w.reason.as_deref().unwrap_or_default());
        } else {
            reason = format!("Init:{i}/{init_total}");
        }
        initializing = true;
        break;
    }
    if !initializing {
        let mut has_running = false;
        let containers = status.and_then(|s| s.container_statuses.as_ref());
        for cs in containers.into_iter().flatten().rev() {
            let state = cs.state.as_ref();
            if let Some(w) =
                state.and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.clone()).filter(|r| !r.is_empty())
            {
                reason = w;
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match &t.reason {
                    Some(r) if !r.is_empty() => r.clone(),
                    _ if t.signal.unwrap_or(0) != 0 => format!("Signal:{}", t.signal.unwrap_or(0)),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if state.is_some_and(|s| s.running.is_some()) && cs.ready {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = if is_ready(pod) { "Running".into() } else { "NotReady".into() };
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.and_then(|s| s.reason.as_deref()) == Some("NodeLost") {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    reason
}

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    condition_status(pod, "Ready") == Some("True")
}

/// The status of a pod condition.
pub fn condition_status<'a>(pod: &'a Pod, ty: &str) -> Option<&'a str> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == ty))
        .map(|c| c.status.as_str())
}

/// Container statuses of a pod (regular containers).
pub fn container_statuses(pod: &Pod) -> &[ContainerStatus] {
    pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default()
}

/// Total restarts of a pod's containers.
pub fn restarts(pod: &Pod) -> i32 {
    container_statuses(pod).iter().map(|c| c.restart_count).sum()
}

/// Whether a label map matches an equality-based selector map (as Services and
/// `matchLabels` use). An empty selector matches nothing here, as a Service's does.
pub fn selector_matches(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    if selector.is_empty() {
        return false;
    }
    let Some(labels) = labels else { return false };
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Renders a label map as `a=b,c=d`.
pub fn labels_string(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: Value) -> Pod {
        decode(v).expect("pod")
    }

    #[test]
    fn status_column_matches_kubectl() {
        struct Case {
            name: &'static str,
            pod: Value,
            want: &'static str,
        }
        let cases = [
            Case {
                name: "crashloop",
                pod: json!({"metadata": {"name": "a"}, "status": {"phase": "Running", "containerStatuses": [
                    {"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 5,
                     "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                     "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}),
                want: "CrashLoopBackOff",
            },
            Case {
                name: "init failing",
                pod: json!({"metadata": {"name": "a"}, "spec": {"containers": [], "initContainers": [{"name": "i"}]},
                    "status": {"phase": "Pending", "initContainerStatuses": [
                    {"name": "i", "image": "x", "imageID": "", "ready": false, "restartCount": 2,
                     "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}),
                want: "Init:Error",
            },
            Case {
                name: "evicted",
                pod: json!({"metadata": {"name": "a"}, "status": {"phase": "Failed", "reason": "Evicted"}}),
                want: "Evicted",
            },
            Case {
                name: "terminating",
                pod: json!({"metadata": {"name": "a", "deletionTimestamp": "2025-01-01T00:00:00Z"}, "status": {"phase": "Running"}}),
                want: "Terminating",
            },
            Case {
                name: "pending",
                pod: json!({"metadata": {"name": "a"}, "status": {"phase": "Pending"}}),
                want: "Pending",
            },
        ];
        for c in cases {
            assert_eq!(pod_status(&pod(c.pod)), c.want, "{}", c.name);
        }
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(3 * 86_400), "3d");
    }
}
