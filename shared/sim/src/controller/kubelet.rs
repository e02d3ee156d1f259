//! The scheduler's and the kubelet's part of a new pod: its spec (the ReplicaSet's template,
//! bound to a node) and its status. The simulated cluster runs no container, so whether each
//! container runs is decided from what the snapshot knew about the pods being replaced (the
//! `evidence`).
//!
//! For each container, the evidence is the status of the container of the same name in those
//! pods, preferring a pod that ran the same image, then one where it fails. Then:
//! - no evidence, or the container was running and ready: it runs and is ready;
//! - the image changed: the new image is assumed to work;
//! - it was OOMKilled at memory limit L: it runs if the new limit is above L (or there is no
//!   limit any more); otherwise it is OOMKilled again and goes into CrashLoopBackOff;
//! - it could not pull its image: the same image fails the same way;
//! - any other failure (a crash with an exit code, CreateContainerConfigError, running but not
//!   ready, …): it fails the same way (the old state is copied) unless its `command`, `args`,
//!   `env` or `envFrom` changed.
//!
//! So a restart (a template change that only adds the `restartedAt` annotation) never fixes a
//! crash, and a healthy pod is replaced by a healthy one. A new container runs from "now": no
//! restarts, `startedAt` and the pod's `startTime` are the cluster's clock. Pod-level failures
//! (unschedulable pods) and init containers are not simulated.

use serde_json::{Value, json};

use super::{EventSpec, controller_ref, hash64};

/// A node a pod is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) name: String,
    /// Its `InternalIP`, the pod's `hostIP`.
    pub(crate) ip: Option<String>,
}

/// What the controller decided for a new pod before its containers start.
#[derive(Debug, Clone)]
pub(crate) struct PodStart {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) uid: String,
    pub(crate) node: Option<Node>,
    pub(crate) pod_ip: String,
    /// "Now", as written in objects.
    pub(crate) stamp: String,
}

/// Why an old container was failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Terminated with reason `OOMKilled` (now or last time).
    OomKilled,
    /// Waiting on `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName` or `ErrImageNeverPull`.
    ImagePull,
    /// Anything else that is not running and ready.
    Other,
}

/// What a new container does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Runs and is ready.
    Runs,
    /// Fails as the container status `status` of the old pod `pod` (name, uid) did.
    Fails { failure: Failure, status: Value, pod: (String, String) },
}

/// Whether a pod is ready: its `Ready` condition, else (a snapshot without conditions) running
/// with every container ready.
pub(crate) fn is_ready(pod: &Value) -> bool {
    let conditions = pod.pointer("/status/conditions").and_then(Value::as_array);
    if let Some(ready) =
        conditions.into_iter().flatten().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
    {
        return ready.get("status").and_then(Value::as_str) == Some("True");
    }
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array);
    pod.pointer("/status/phase").and_then(Value::as_str) == Some("Running")
        && statuses.is_some_and(|s| !s.is_empty() && s.iter().all(|c| c.get("ready") == Some(&json!(true))))
}

/// How an old container status fails; `None` when it is running and ready.
pub(crate) fn classify(status: &Value) -> Option<Failure> {
    let running = status.pointer("/state/running").is_some();
    if running && status.get("ready").and_then(Value::as_bool).unwrap_or(true) {
        return None;
    }
    let terminated = |state: &str| status.pointer(&format!("/{state}/terminated/reason")).and_then(Value::as_str);
    if terminated("state") == Some("OOMKilled") || terminated("lastState") == Some("OOMKilled") {
        return Some(Failure::OomKilled);
    }
    match status.pointer("/state/waiting/reason").and_then(Value::as_str) {
        Some("ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull") => {
            Some(Failure::ImagePull)
        }
        _ => Some(Failure::Other),
    }
}

fn str_field<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

/// The container named `name` in a list of containers or container statuses.
fn named<'a>(list: Option<&'a Value>, name: &str) -> Option<&'a Value> {
    list?.as_array()?.iter().find(|c| str_field(c, "name") == Some(name))
}

/// A memory quantity in bytes (`512Mi`, `1G`, `1e9`, `536870912`).
pub(crate) fn quantity_bytes(quantity: &str) -> Option<f64> {
    let quantity = quantity.trim();
    let split =
        quantity.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024_f64,
        "Mi" => 1024_f64.powi(2),
        "Gi" => 1024_f64.powi(3),
        "Ti" => 1024_f64.powi(4),
        "Pi" => 1024_f64.powi(5),
        "Ei" => 1024_f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exponent => 10_f64.powi(exponent.strip_prefix(['e', 'E'])?.parse::<i32>().ok()?),
    };
    Some(number * factor)
}

/// A container's memory limit in bytes.
fn memory_limit(container: &Value) -> Option<f64> {
    match container.pointer("/resources/limits/memory")? {
        Value::String(q) => quantity_bytes(q),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// What decides whether a crashing container still crashes, besides its image.
fn behaviour(container: &Value) -> [Option<&Value>; 4] {
    ["command", "args", "env", "envFrom"].map(|field| container.get(field).filter(|v| !v.is_null()))
}

/// Decides what the new container `container` (its spec) does, from the pods in `evidence`.
pub(crate) fn decide(container: &Value, evidence: &[Value]) -> Outcome {
    let name = str_field(container, "name").unwrap_or_default();
    let image = str_field(container, "image");
    let candidates = evidence.iter().filter_map(|pod| {
        let status = named(pod.pointer("/status/containerStatuses"), name)?;
        let spec = named(pod.pointer("/spec/containers"), name).unwrap_or(&Value::Null);
        Some((pod, spec, status))
    });
    // Same image first, then failing first; the first such in evidence order.
    let Some((pod, old_spec, status)) =
        candidates.min_by_key(|(_, spec, status)| (str_field(spec, "image") != image, classify(status).is_none()))
    else {
        return Outcome::Runs;
    };
    let Some(failure) = classify(status) else { return Outcome::Runs };
    if str_field(old_spec, "image").is_some_and(|old| Some(old) != image) {
        return Outcome::Runs;
    }
    let fixed = match failure {
        Failure::OomKilled => match (memory_limit(old_spec), memory_limit(container)) {
            (Some(old), Some(new)) => new > old,
            (Some(_), None) => true,
            (None, _) => false,
        },
        Failure::ImagePull => false,
        Failure::Other => old_spec.is_object() && behaviour(old_spec) != behaviour(container),
    };
    if fixed {
        return Outcome::Runs;
    }
    let meta = |field: &str| pod.pointer(&format!("/metadata/{field}")).and_then(Value::as_str).unwrap_or_default();
    Outcome::Fails { failure, status: status.clone(), pod: (meta("name").to_string(), meta("uid").to_string()) }
}

/// 64 hex digits from a seed (a fake digest or container id).
fn hex64(seed: &str) -> String {
    (0..4).map(|i| format!("{:016x}", hash64(format!("{seed}#{i}").as_bytes()))).collect()
}

/// The `imageID` of an image: as an old pod reported it, else a digest made up from its name.
fn image_id(image: &str, evidence: &[Value]) -> String {
    let known = evidence
        .iter()
        .filter_map(|p| p.pointer("/status/containerStatuses").and_then(Value::as_array))
        .flatten()
        .filter(|s| str_field(s, "image") == Some(image))
        .find_map(|s| str_field(s, "imageID").filter(|id| !id.is_empty()));
    if let Some(id) = known {
        return id.to_string();
    }
    let repository = image.split('@').next().unwrap_or(image);
    let repository = match repository.rfind(':') {
        Some(colon) if !repository[colon..].contains('/') => &repository[..colon],
        _ => repository,
    };
    format!("{repository}@sha256:{}", hex64(image))
}

/// Whether an old pod pulled `image` (the pull is then "already present"; nodes are not told
/// apart).
fn image_known(image: &str, evidence: &[Value]) -> bool {
    evidence
        .iter()
        .filter_map(|p| p.pointer("/status/containerStatuses").and_then(Value::as_array))
        .flatten()
        .any(|s| str_field(s, "image") == Some(image) && classify(s) != Some(Failure::ImagePull))
}

/// The kubelet's CrashLoopBackOff message for a container of a new pod.
fn back_off_message(container: &str, start: &PodStart) -> String {
    format!(
        "back-off 10s restarting failed container={container} pod={}_{}({})",
        start.name, start.namespace, start.uid
    )
}

/// A copied container state, made the new pod's: times are now, the old pod's name and uid
/// become the new one's, the container id is the new container's.
fn rebase(value: &Value, old_pod: &(String, String), start: &PodStart, container_id: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "startedAt" | "finishedAt" if !v.is_null() => json!(start.stamp),
                        "containerID" => json!(container_id),
                        _ => rebase(v, old_pod, start, container_id),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| rebase(v, old_pod, start, container_id)).collect()),
        Value::String(s) => {
            let mut s = s.clone();
            for (old, new) in [(&old_pod.0, &start.name), (&old_pod.1, &start.uid)] {
                if !old.is_empty() {
                    s = s.replace(old.as_str(), new);
                }
            }
            Value::String(s)
        }
        other => other.clone(),
    }
}

/// The status of a new container and the kubelet's events about it.
fn container_status(
    container: &Value,
    outcome: &Outcome,
    start: &PodStart,
    evidence: &[Value],
) -> (Value, Vec<EventSpec>) {
    let name = str_field(container, "name").unwrap_or_default();
    let image = str_field(container, "image").unwrap_or_default();
    let container_id = format!("containerd://{}", hex64(&format!("{}/{name}", start.uid)));
    let event = |warning: bool, reason: &'static str, message: String| EventSpec {
        component: "kubelet",
        warning,
        reason,
        message,
        field_path: Some(format!("spec.containers{{{name}}}")),
    };
    let pulled = if image_known(image, evidence) {
        vec![event(false, "Pulled", format!("Container image \"{image}\" already present on machine"))]
    } else {
        vec![
            event(false, "Pulling", format!("Pulling image \"{image}\"")),
            event(false, "Pulled", format!("Successfully pulled image \"{image}\"")),
        ]
    };
    let ran = |events: &mut Vec<EventSpec>| {
        events.extend(pulled.iter().cloned());
        events.push(event(false, "Created", format!("Created container {name}")));
        events.push(event(false, "Started", format!("Started container {name}")));
    };
    let back_off = event(
        true,
        "BackOff",
        format!("Back-off restarting failed container {name} in pod {}_{}({})", start.name, start.namespace, start.uid),
    );
    let mut status = json!({
        "name": name,
        "image": image,
        "imageID": image_id(image, evidence),
        "containerID": container_id,
        "ready": false,
        "started": false,
        "restartCount": 0,
    });
    let mut events = Vec::new();
    match outcome {
        Outcome::Runs => {
            status["ready"] = json!(true);
            status["started"] = json!(true);
            status["state"] = json!({"running": {"startedAt": start.stamp}});
            ran(&mut events);
        }
        Outcome::Fails { failure: Failure::OomKilled, .. } => {
            status["restartCount"] = json!(1);
            status["state"] =
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": back_off_message(name, start)}});
            status["lastState"] = json!({"terminated": {
                "exitCode": 137, "reason": "OOMKilled", "containerID": container_id,
                "startedAt": start.stamp, "finishedAt": start.stamp,
            }});
            ran(&mut events);
            events.push(back_off);
        }
        Outcome::Fails { failure: Failure::ImagePull, status: old, pod } => {
            let waiting = rebase(old.pointer("/state/waiting").unwrap_or(&Value::Null), pod, start, &container_id);
            let detail = match (str_field(&waiting, "reason"), str_field(&waiting, "message")) {
                (Some("ErrImagePull"), Some(message)) => format!(": {message}"),
                _ => String::new(),
            };
            status["state"] = json!({"waiting": waiting});
            status["imageID"] = json!("");
            if let Some(map) = status.as_object_mut() {
                map.remove("containerID");
            }
            events.push(event(false, "Pulling", format!("Pulling image \"{image}\"")));
            events.push(event(true, "Failed", format!("Failed to pull image \"{image}\"{detail}")));
            events.push(event(false, "BackOff", format!("Back-off pulling image \"{image}\"")));
        }
        Outcome::Fails { failure: Failure::Other, status: old, pod } => {
            let mut state = rebase(old.get("state").unwrap_or(&Value::Null), pod, start, &container_id);
            if state.pointer("/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff") {
                state["waiting"]["message"] = json!(back_off_message(name, start));
            }
            let last = rebase(old.get("lastState").unwrap_or(&Value::Null), pod, start, &container_id);
            let has_run =
                state.get("running").is_some() || state.get("terminated").is_some() || last.get("terminated").is_some();
            let restarted = state.get("terminated").is_some() || last.get("terminated").is_some();
            status["restartCount"] = json!(i32::from(restarted));
            status["started"] = json!(state.get("running").is_some());
            status["state"] = state.clone();
            if last.as_object().is_some_and(|l| !l.is_empty()) {
                status["lastState"] = last;
            }
            if has_run {
                ran(&mut events);
                if state.pointer("/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff") {
                    events.push(back_off);
                }
            } else {
                if let Some(map) = status.as_object_mut() {
                    map.remove("containerID");
                }
                events.extend(pulled.iter().cloned());
                let why = state
                    .pointer("/waiting/message")
                    .or_else(|| state.pointer("/waiting/reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("container failed to start");
                events.push(event(true, "Failed", format!("Error: {why}")));
            }
        }
    }
    (status, events)
}

/// The QoS class of a pod with these containers.
fn qos_class(containers: &[Value]) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for container in containers {
        let limits = container.pointer("/resources/limits").and_then(Value::as_object);
        let requests = container.pointer("/resources/requests").and_then(Value::as_object);
        any |= limits.is_some_and(|l| !l.is_empty()) || requests.is_some_and(|r| !r.is_empty());
        for resource in ["cpu", "memory"] {
            let limit = limits.and_then(|l| l.get(resource));
            let request = requests.and_then(|r| r.get(resource)).or(limit);
            guaranteed &= limit.is_some() && request == limit;
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

/// The pod condition `Ready` or `ContainersReady`.
fn condition(kind: &str, ready: bool, unready: &[&str], stamp: &str) -> Value {
    let mut condition =
        json!({"type": kind, "status": if ready { "True" } else { "False" }, "lastTransitionTime": stamp});
    if !ready {
        condition["reason"] = json!("ContainersNotReady");
        condition["message"] = json!(format!("containers with unready status: [{}]", unready.join(" ")));
    }
    condition
}

/// A new pod of the ReplicaSet `rs`, started as decided from `evidence`, and the kubelet's
/// events about it.
pub(crate) fn start_pod(rs: &Value, start: &PodStart, evidence: &[Value]) -> (Value, Vec<EventSpec>) {
    let template = rs.pointer("/spec/template").cloned().unwrap_or_else(|| json!({}));
    let mut spec = template.get("spec").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    if let Some(node) = &start.node {
        spec["nodeName"] = json!(node.name);
    }
    let containers: Vec<Value> = spec.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut statuses = Vec::new();
    let mut events = Vec::new();
    for container in &containers {
        let (status, container_events) = container_status(container, &decide(container, evidence), start, evidence);
        statuses.push(status);
        events.extend(container_events);
    }
    let unready: Vec<&str> =
        statuses.iter().filter(|s| s.get("ready") != Some(&json!(true))).filter_map(|s| str_field(s, "name")).collect();
    let ready = unready.is_empty();
    let never_started = statuses.iter().any(|s| {
        s.pointer("/state/waiting").is_some()
            && s.get("restartCount") == Some(&json!(0))
            && s.get("lastState").is_none()
    });
    let mut status = json!({
        "phase": if never_started { "Pending" } else { "Running" },
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": start.stamp},
            {"type": "Initialized", "status": "True", "lastTransitionTime": start.stamp},
            condition("Ready", ready, &unready, &start.stamp),
            condition("ContainersReady", ready, &unready, &start.stamp),
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": start.stamp},
        ],
        "podIP": start.pod_ip,
        "podIPs": [{"ip": start.pod_ip}],
        "startTime": start.stamp,
        "qosClass": qos_class(&containers),
        "containerStatuses": statuses,
    });
    if let Some(ip) = start.node.as_ref().and_then(|n| n.ip.as_ref()) {
        status["hostIP"] = json!(ip);
        status["hostIPs"] = json!([{"ip": ip}]);
    }
    let rs_name = rs.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let mut metadata = json!({
        "name": start.name,
        "generateName": format!("{rs_name}-"),
        "namespace": start.namespace,
        "uid": start.uid,
        "creationTimestamp": start.stamp,
        "labels": template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
        "ownerReferences": [controller_ref(rs)],
    });
    if let Some(annotations) = template.pointer("/metadata/annotations").filter(|a| a.is_object()) {
        metadata["annotations"] = annotations.clone();
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status});
    (pod, events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(image: &str, memory: &str, env: &str) -> Value {
        json!({"name": "app", "image": image, "env": [{"name": "MODE", "value": env}],
               "resources": {"limits": {"memory": memory}}})
    }

    fn pod(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "old-pod", "uid": "old-uid"},
               "spec": {"containers": [spec]}, "status": {"containerStatuses": [status]}})
    }

    fn oom() -> Value {
        json!({"name": "app", "ready": false, "restartCount": 5,
               "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}})
    }

    fn failure(outcome: &Outcome) -> Option<Failure> {
        match outcome {
            Outcome::Runs => None,
            Outcome::Fails { failure, .. } => Some(*failure),
        }
    }

    #[test]
    fn oom_killed_containers_recover_only_with_a_larger_limit() {
        let old = [pod(container("app:1", "512Mi", "a"), oom())];
        assert_eq!(failure(&decide(&container("app:1", "1Gi", "a"), &old)), None);
        assert_eq!(failure(&decide(&container("app:1", "512Mi", "a"), &old)), Some(Failure::OomKilled));
        assert_eq!(failure(&decide(&container("app:1", "536870912", "a"), &old)), Some(Failure::OomKilled));
        assert_eq!(failure(&decide(&container("app:1", "256Mi", "a"), &old)), Some(Failure::OomKilled));
        assert_eq!(failure(&decide(&container("app:2", "512Mi", "a"), &old)), None, "a new image is assumed to work");
    }

    #[test]
    fn other_failures_repeat_unless_the_relevant_field_changed() {
        let pull = json!({"name": "app", "ready": false, "restartCount": 0,
                          "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}});
        let old = [pod(container("app:nope", "1Gi", "a"), pull)];
        assert_eq!(failure(&decide(&container("app:nope", "2Gi", "a"), &old)), Some(Failure::ImagePull));
        assert_eq!(failure(&decide(&container("app:1", "1Gi", "a"), &old)), None);

        let crash = json!({"name": "app", "ready": false, "restartCount": 3,
                           "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                           "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}});
        let old = [pod(container("app:1", "1Gi", "a"), crash)];
        assert_eq!(failure(&decide(&container("app:1", "2Gi", "a"), &old)), Some(Failure::Other), "memory is no fix");
        assert_eq!(failure(&decide(&container("app:1", "1Gi", "b"), &old)), None, "env changed");
    }

    #[test]
    fn healthy_or_unknown_containers_run() {
        let running = json!({"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}});
        let old = [pod(container("app:1", "1Gi", "a"), running)];
        assert_eq!(decide(&container("app:1", "64Mi", "a"), &old), Outcome::Runs);
        assert_eq!(decide(&container("app:1", "64Mi", "a"), &[]), Outcome::Runs);
    }

    #[test]
    fn copied_failures_belong_to_the_new_pod() {
        let config = json!({"name": "app", "ready": false, "restartCount": 0, "state": {"waiting": {
            "reason": "CreateContainerConfigError", "message": "secret \"db\" not found (pod old-pod, old-uid)"}}});
        let old = [pod(container("app:1", "1Gi", "a"), config)];
        let rs = json!({"metadata": {"name": "web-abc", "uid": "rs-uid"}, "apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                              "spec": {"containers": [container("app:1", "1Gi", "a")]}}}});
        let start = PodStart {
            name: "web-abc-xyz".into(),
            namespace: "prod".into(),
            uid: "new-uid".into(),
            node: Some(Node { name: "node-a".into(), ip: Some("10.0.0.1".into()) }),
            pod_ip: "10.1.2.3".into(),
            stamp: "2025-06-01T12:00:05Z".into(),
        };
        let (pod, events) = start_pod(&rs, &start, &old);
        assert_eq!(pod["status"]["phase"], "Pending");
        let waiting = &pod["status"]["containerStatuses"][0]["state"]["waiting"];
        assert_eq!(waiting["reason"], "CreateContainerConfigError");
        assert_eq!(waiting["message"], "secret \"db\" not found (pod web-abc-xyz, new-uid)");
        assert!(events.iter().any(|e| e.reason == "Failed" && e.warning), "{events:?}");
        assert_eq!(pod["spec"]["nodeName"], "node-a");
        assert_eq!(pod["status"]["qosClass"], "Burstable");
        assert_eq!(crate::validate::check_shape(aiops_core::Kind::Pod, &pod), Ok(()), "decodes as a typed Pod");
    }

    #[test]
    fn an_image_that_cannot_be_pulled_still_cannot_be() {
        let pull = json!({"name": "app", "image": "app:nope", "imageID": "", "ready": false, "restartCount": 0,
                          "state": {"waiting": {"reason": "ErrImagePull", "message": "manifest unknown"}}});
        let old = [pod(container("app:nope", "1Gi", "a"), pull)];
        let rs = json!({"metadata": {"name": "web-abc", "uid": "rs-uid"}, "apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "spec": {"template": {"spec": {"containers": [container("app:nope", "2Gi", "a")]}}}});
        let start = PodStart {
            name: "web-abc-xyz".into(),
            namespace: "prod".into(),
            uid: "new-uid".into(),
            node: None,
            pod_ip: "10.1.2.3".into(),
            stamp: "2025-06-01T12:00:05Z".into(),
        };
        let (pod, events) = start_pod(&rs, &start, &old);
        assert_eq!(pod["status"]["phase"], "Pending");
        assert_eq!(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "ErrImagePull");
        let failed = events.iter().find(|e| e.reason == "Failed").map(|e| e.message.as_str());
        assert_eq!(failed, Some("Failed to pull image \"app:nope\": manifest unknown"));
        assert_eq!(crate::validate::check_shape(aiops_core::Kind::Pod, &pod), Ok(()));
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes("512Mi"), Some(536_870_912.0));
        assert_eq!(quantity_bytes("1G"), Some(1e9));
        assert_eq!(quantity_bytes("1e3"), Some(1000.0));
        assert_eq!(quantity_bytes("lots"), None);
    }
}
