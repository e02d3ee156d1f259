//! Fixture builders for tests and benchmark generators: Kubernetes objects as JSON, shaped
//! like `kubectl get -o yaml` output, built with sentences such as
//! `pod("api").in_ns("prod").crashlooping(5).oom_killed()`.
//!
//! Times are relative to [`NOW`], the capture time used by fixtures.

use serde_json::{Value, json};

/// The capture time fixtures are relative to.
pub const NOW: &str = "2025-11-30T10:00:00Z";

/// A time `secs` seconds before [`NOW`].
pub fn ago(secs: i64) -> String {
    let now: jiff::Timestamp = NOW.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    (now - jiff::SignedDuration::from_secs(secs)).to_string()
}

/// A deterministic UUID-shaped uid for a name.
pub fn uid(seed: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A pod builder.
#[derive(Debug, Clone)]
pub struct PodBuilder(Value);

/// Starts a running, ready pod with one container `app`.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": uid(name), "creationTimestamp": ago(86_400), "labels": {"app": name}},
        "spec": {"nodeName": "node-1", "restartPolicy": "Always", "containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0"),
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}}]},
        "status": {"phase": "Running", "startTime": ago(86_400), "conditions": [
            {"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": "True"}, {"type": "Ready", "status": "True", "lastTransitionTime": ago(86_000)}],
            "containerStatuses": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0"), "imageID": "", "ready": true, "started": true,
                "restartCount": 0, "state": {"running": {"startedAt": ago(86_000)}}}]}
    }))
}

impl PodBuilder {
    /// Sets the namespace.
    pub fn in_ns(mut self, ns: &str) -> Self {
        self.0["metadata"]["namespace"] = json!(ns);
        self
    }

    /// Places the pod on a node.
    pub fn on_node(mut self, node: &str) -> Self {
        self.0["spec"]["nodeName"] = json!(node);
        self
    }

    /// Sets labels.
    pub fn labels(mut self, labels: &[(&str, &str)]) -> Self {
        let map: serde_json::Map<String, Value> = labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        self.0["metadata"]["labels"] = Value::Object(map);
        self
    }

    /// Makes the pod owned by ReplicaSet `rs` (with its pod-template-hash label).
    pub fn owned_by_rs(mut self, rs: &str) -> Self {
        self.0["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": uid(rs), "controller": true, "blockOwnerDeletion": true}]);
        if let Some(hash) = rs.rsplit('-').next() {
            self.0["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        }
        self
    }

    /// Makes the pod owned by a controller of another kind.
    pub fn owned_by(mut self, kind: &str, name: &str) -> Self {
        let api = match kind {
            "Job" => "batch/v1",
            "ReplicaSet" | "StatefulSet" | "DaemonSet" => "apps/v1",
            _ => "v1",
        };
        self.0["metadata"]["ownerReferences"] =
            json!([{"apiVersion": api, "kind": kind, "name": name, "uid": uid(name), "controller": true}]);
        self
    }

    /// Sets the container's memory limit.
    pub fn memory_limit(mut self, q: &str) -> Self {
        self.0["spec"]["containers"][0]["resources"]["limits"]["memory"] = json!(q);
        self
    }

    /// Sets the container's requests.
    pub fn requests(mut self, cpu: &str, memory: &str) -> Self {
        self.0["spec"]["containers"][0]["resources"]["requests"] = json!({"cpu": cpu, "memory": memory});
        self
    }

    /// Sets the container image.
    pub fn image(mut self, image: &str) -> Self {
        self.0["spec"]["containers"][0]["image"] = json!(image);
        self.0["status"]["containerStatuses"][0]["image"] = json!(image);
        self
    }

    fn not_ready(&mut self) {
        self.0["status"]["conditions"][2]["status"] = json!("False");
        self.0["status"]["conditions"][3]["status"] = json!("False");
        self.0["status"]["conditions"][3]["lastTransitionTime"] = json!(ago(600));
        self.0["status"]["containerStatuses"][0]["ready"] = json!(false);
    }

    /// The container is in CrashLoopBackOff after `restarts` restarts, last exit 1 (Error).
    pub fn crashlooping(mut self, restarts: i32) -> Self {
        self.not_ready();
        let cs = &mut self.0["status"]["containerStatuses"][0];
        cs["restartCount"] = json!(restarts);
        cs["started"] = json!(false);
        cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container=app"}});
        cs["lastState"] =
            json!({"terminated": {"reason": "Error", "exitCode": 1, "startedAt": ago(130), "finishedAt": ago(120)}});
        self
    }

    /// The last termination was an OOM kill (exit code 137).
    pub fn oom_killed(mut self) -> Self {
        let last = &mut self.0["status"]["containerStatuses"][0]["lastState"]["terminated"];
        last["reason"] = json!("OOMKilled");
        last["exitCode"] = json!(137);
        self
    }

    /// The last termination exited with `code`.
    pub fn exit_code(mut self, code: i32) -> Self {
        self.0["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] = json!(code);
        self
    }

    /// The container waits with `reason` and `message` (ImagePullBackOff, CreateContainerConfigError, …).
    pub fn waiting(mut self, reason: &str, message: &str) -> Self {
        self.not_ready();
        self.0["status"]["phase"] = json!("Pending");
        self.0["status"]["containerStatuses"][0]["state"] = json!({"waiting": {"reason": reason, "message": message}});
        self.0["status"]["containerStatuses"][0]["started"] = json!(false);
        self
    }

    /// Pending and unschedulable with the scheduler's `message`.
    pub fn unschedulable(mut self, message: &str) -> Self {
        self.0["spec"].as_object_mut().map(|s| s.remove("nodeName"));
        self.0["status"] = json!({"phase": "Pending", "qosClass": "Burstable", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message, "lastTransitionTime": ago(900)}]});
        self
    }

    /// Running but not ready.
    pub fn unready(mut self) -> Self {
        self.not_ready();
        self
    }

    /// Completed successfully (a Job's pod).
    pub fn succeeded(mut self) -> Self {
        self.0["status"]["phase"] = json!("Succeeded");
        self.0["status"]["conditions"][3]["status"] = json!("False");
        self.0["status"]["containerStatuses"][0]["ready"] = json!(false);
        self.0["status"]["containerStatuses"][0]["state"] = json!({"terminated": {"reason": "Completed", "exitCode": 0, "startedAt": ago(3600), "finishedAt": ago(3500)}});
        self
    }

    /// Evicted with `message`.
    pub fn evicted(mut self, message: &str) -> Self {
        self.0["status"] = json!({"phase": "Failed", "reason": "Evicted", "message": message, "startTime": ago(7200)});
        self
    }

    /// Being deleted since `secs` ago.
    pub fn terminating_for(mut self, secs: i64) -> Self {
        self.0["metadata"]["deletionTimestamp"] = json!(ago(secs));
        self.0["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        self
    }

    /// Edits the raw object.
    pub fn with(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.0);
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// A Deployment with its current ReplicaSet `<name>-<hash>` at revision `revision`.
pub fn deployment(ns: &str, name: &str, replicas: i32, ready: i32, revision: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "generation": revision, "creationTimestamp": ago(864_000),
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string()}, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0")}]}}},
        "status": {"observedGeneration": revision, "replicas": replicas, "readyReplicas": ready, "updatedReplicas": replicas,
            "availableReplicas": ready, "unavailableReplicas": replicas - ready,
            "conditions": [
                {"type": "Available", "status": if ready >= replicas { "True" } else { "False" }, "reason": if ready >= replicas { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" }},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    })
}

/// A ReplicaSet owned by Deployment `deployment`.
pub fn replicaset(
    ns: &str,
    deployment: &str,
    hash: &str,
    revision: i64,
    image: &str,
    replicas: i32,
    ready: i32,
) -> Value {
    let name = format!("{deployment}-{hash}");
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": ns, "uid": uid(&name), "creationTimestamp": ago(864_000),
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
            "labels": {"app": deployment, "pod-template-hash": hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment, "uid": uid(deployment), "controller": true}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": deployment, "pod-template-hash": hash}},
            "template": {"metadata": {"labels": {"app": deployment, "pod-template-hash": hash}}, "spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}
    })
}

/// A Ready node with `cpu` and `memory` allocatable.
pub fn node(name: &str, cpu: &str, memory: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": uid(name), "creationTimestamp": ago(2_592_000),
            "labels": {"kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/zone": "eu-west-1a", "eks.amazonaws.com/nodegroup": "general"}},
        "spec": {"providerID": format!("aws:///eu-west-1a/i-{}", &uid(name)[..17].replace('-', ""))},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "29"}, "capacity": {"cpu": cpu, "memory": memory, "pods": "29"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
            "nodeInfo": {"kubeletVersion": "v1.31.2-eks-94953ac", "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux", "osImage": "Amazon Linux 2023", "systemUUID": ""}}
    })
}

/// A core/v1 Event about `kind ns/name`.
#[allow(clippy::too_many_arguments)] // reads like the Event it builds
pub fn event(
    ns: &str,
    kind: &str,
    name: &str,
    type_: &str,
    reason: &str,
    message: &str,
    count: i32,
    last_secs_ago: i64,
) -> Value {
    let ename = format!("{name}.{}", &uid(&format!("{name}{reason}{message}"))[..16].replace('-', ""));
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": ename, "namespace": ns, "creationTimestamp": ago(last_secs_ago + 600)},
        "involvedObject": {"kind": kind, "namespace": ns, "name": name, "uid": uid(name), "apiVersion": "v1"},
        "type": type_, "reason": reason, "message": message, "count": count,
        "firstTimestamp": ago(last_secs_ago + 600), "lastTimestamp": ago(last_secs_ago),
        "source": {"component": "kubelet"}, "reportingComponent": "kubelet"
    })
}

/// A Service selecting `app=<selector_app>` on port 80 → 8080.
pub fn service(ns: &str, name: &str, selector_app: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(864_000)},
        "spec": {"type": "ClusterIP", "clusterIP": "10.100.12.34", "selector": {"app": selector_app},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}
    })
}

/// Endpoints of a Service: `(pod, ready)` addresses.
pub fn endpoints(ns: &str, name: &str, pods: &[(&str, bool)]) -> Value {
    let addr = |p: &str, i: usize| json!({"ip": format!("10.0.1.{}", i + 10), "targetRef": {"kind": "Pod", "name": p, "namespace": ns}});
    let ready: Vec<Value> = pods.iter().enumerate().filter(|(_, (_, r))| *r).map(|(i, (p, _))| addr(p, i)).collect();
    let not_ready: Vec<Value> =
        pods.iter().enumerate().filter(|(_, (_, r))| !*r).map(|(i, (p, _))| addr(p, i)).collect();
    let mut subset = json!({"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    let subsets = if pods.is_empty() { json!([]) } else { json!([subset]) };
    json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}, "subsets": subsets})
}

/// A Namespace.
pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": uid(name), "creationTimestamp": ago(2_592_000)}, "status": {"phase": "Active"}})
}

/// Builds a [`crate::analyze::ClusterState`] at [`NOW`] from objects.
///
/// # Panics
/// When an object does not decode — fixtures are test code.
#[allow(clippy::expect_used)]
pub fn state(objects: Vec<Value>) -> crate::analyze::ClusterState {
    let now = NOW.parse().expect("NOW parses");
    crate::analyze::ClusterState::from_objects(&objects, Default::default(), now).expect("fixtures decode")
}

// ---- Workload controllers: rollouts, StatefulSets, DaemonSets, Jobs, CronJobs, HPAs, PDBs ----

/// Marks a Deployment (from [`deployment`]) as stuck: its current revision's rollout exceeded the
/// progress deadline of `deadline_secs` (Progressing=False, reason ProgressDeadlineExceeded).
pub fn deployment_past_deadline(mut d: Value, deadline_secs: i32) -> Value {
    let name = d["metadata"]["name"].as_str().unwrap_or_default().to_string();
    d["spec"]["progressDeadlineSeconds"] = json!(deadline_secs);
    d["status"]["conditions"][1] = json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": format!("ReplicaSet \"{name}\" has timed out progressing."), "lastUpdateTime": ago(300), "lastTransitionTime": ago(300)});
    d
}

/// Marks a Deployment (from [`deployment`]) as paused.
pub fn deployment_paused(mut d: Value) -> Value {
    d["spec"]["paused"] = json!(true);
    d["status"]["conditions"][1] = json!({"type": "Progressing", "status": "Unknown", "reason": "DeploymentPaused", "message": "Deployment is paused"});
    d
}

/// Sets a Deployment's updated replica count (pods of its current revision).
pub fn deployment_updated(mut d: Value, updated: i32) -> Value {
    d["status"]["updatedReplicas"] = json!(updated);
    d
}

/// Gives a ReplicaSet (from [`replicaset`]) a ReplicaFailure=True FailedCreate condition; only
/// its ready pods exist.
pub fn replicaset_failing(mut rs: Value, message: &str) -> Value {
    rs["status"]["replicas"] = rs["status"]["readyReplicas"].clone();
    rs["status"]["conditions"] = json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": message, "lastTransitionTime": ago(900)}]);
    rs
}

/// A StatefulSet with `ready` of `replicas` pods ready, all on revision `<name>-5d8f7c9b4`.
pub fn statefulset(ns: &str, name: &str, replicas: i32, ready: i32) -> Value {
    let rev = format!("{name}-5d8f7c9b4");
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "generation": 1, "creationTimestamp": ago(864_000), "labels": {"app": name}},
        "spec": {"replicas": replicas, "serviceName": name, "podManagementPolicy": "OrderedReady", "selector": {"matchLabels": {"app": name}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0")}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": replicas,
            "updatedReplicas": replicas, "currentRevision": rev, "updateRevision": rev}
    })
}

/// Puts a StatefulSet (from [`statefulset`]) in the middle of a rolling update to `update_revision`
/// with `updated` pods on it.
pub fn statefulset_updating(mut ss: Value, update_revision: &str, updated: i32) -> Value {
    let replicas = ss["spec"]["replicas"].as_i64().unwrap_or(1);
    ss["status"]["updateRevision"] = json!(update_revision);
    ss["status"]["updatedReplicas"] = json!(updated);
    ss["status"]["currentReplicas"] = json!(replicas - i64::from(updated));
    ss
}

/// A DaemonSet scheduled on `desired` nodes with `ready` pods ready.
pub fn daemonset(ns: &str, name: &str, desired: i32, ready: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "generation": 1, "creationTimestamp": ago(864_000), "labels": {"app": name}},
        "spec": {"selector": {"matchLabels": {"app": name}}, "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0")}]}}},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": desired, "currentNumberScheduled": desired, "numberReady": ready,
            "numberAvailable": ready, "numberUnavailable": desired - ready, "numberMisscheduled": 0, "updatedNumberScheduled": desired}
    })
}

/// Sets the nodeSelector of a DaemonSet's (or any workload's) pod template.
pub fn workload_node_selector(mut w: Value, selector: &[(&str, &str)]) -> Value {
    let map: serde_json::Map<String, Value> = selector.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    w["spec"]["template"]["spec"]["nodeSelector"] = Value::Object(map);
    w
}

/// A Job builder.
#[derive(Debug, Clone)]
pub struct JobBuilder(Value);

/// Starts a Job that is running one pod, created an hour ago, with backoffLimit 6.
pub fn job(ns: &str, name: &str) -> JobBuilder {
    JobBuilder(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(3600), "labels": {"job-name": name}},
        "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
            "template": {"metadata": {"labels": {"job-name": name}}, "spec": {"restartPolicy": "Never",
                "containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0")}]}}},
        "status": {"active": 1, "startTime": ago(3600)}
    }))
}

impl JobBuilder {
    /// Makes the Job owned by CronJob `cronjob`.
    pub fn owned_by_cronjob(mut self, cronjob: &str) -> Self {
        self.0["metadata"]["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob, "uid": uid(cronjob), "controller": true}]);
        self
    }

    /// Created (and started) `secs` ago.
    pub fn created_ago(mut self, secs: i64) -> Self {
        self.0["metadata"]["creationTimestamp"] = json!(ago(secs));
        self.0["status"]["startTime"] = json!(ago(secs));
        self
    }

    /// Completed successfully.
    pub fn complete(mut self) -> Self {
        let start = self.0["status"]["startTime"].clone();
        self.0["status"] = json!({"succeeded": 1, "startTime": start, "completionTime": ago(60), "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": ago(60)}]});
        self
    }

    /// Failed after `failed` pod failures with backoffLimit `limit`.
    pub fn failed_backoff(mut self, failed: i32, limit: i32) -> Self {
        let start = self.0["status"]["startTime"].clone();
        self.0["spec"]["backoffLimit"] = json!(limit);
        self.0["status"] = json!({"failed": failed, "startTime": start, "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": ago(120)}]});
        self
    }

    /// Failed by running past activeDeadlineSeconds `secs`.
    pub fn deadline_exceeded(mut self, secs: i64) -> Self {
        let start = self.0["status"]["startTime"].clone();
        self.0["spec"]["activeDeadlineSeconds"] = json!(secs);
        self.0["status"] = json!({"failed": 1, "startTime": start, "conditions": [
            {"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline", "lastTransitionTime": ago(120)}]});
        self
    }

    /// Edits the raw object.
    pub fn with(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.0);
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// A CronJob builder.
#[derive(Debug, Clone)]
pub struct CronJobBuilder(Value);

/// Starts a CronJob on `schedule`, created 10 days ago, last scheduled a minute ago.
pub fn cronjob(ns: &str, name: &str, schedule: &str) -> CronJobBuilder {
    CronJobBuilder(json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(864_000)},
        "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": false,
            "jobTemplate": {"spec": {"backoffLimit": 3, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "app", "image": format!("registry.example.com/{name}:1.0.0")}]}}}}},
        "status": {"lastScheduleTime": ago(60)}
    }))
}

impl CronJobBuilder {
    /// Suspended.
    pub fn suspended(mut self) -> Self {
        self.0["spec"]["suspend"] = json!(true);
        self
    }

    /// Last scheduled `secs` ago.
    pub fn last_scheduled_ago(mut self, secs: i64) -> Self {
        self.0["status"]["lastScheduleTime"] = json!(ago(secs));
        self
    }

    /// Never scheduled.
    pub fn never_scheduled(mut self) -> Self {
        self.0["status"] = json!({});
        self
    }

    /// Last succeeded `secs` ago.
    pub fn last_successful_ago(mut self, secs: i64) -> Self {
        self.0["status"]["lastSuccessfulTime"] = json!(ago(secs));
        self
    }

    /// concurrencyPolicy Forbid.
    pub fn forbid_concurrency(mut self) -> Self {
        self.0["spec"]["concurrencyPolicy"] = json!("Forbid");
        self
    }

    /// Lists Job `job` as active.
    pub fn active(mut self, job: &str) -> Self {
        let ns = self.0["metadata"]["namespace"].clone();
        self.0["status"]["active"] =
            json!([{"apiVersion": "batch/v1", "kind": "Job", "name": job, "namespace": ns, "uid": uid(job)}]);
        self
    }

    /// Edits the raw object.
    pub fn with(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.0);
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// A HorizontalPodAutoscaler (autoscaling/v2) builder.
#[derive(Debug, Clone)]
pub struct HpaBuilder(Value);

/// Starts an HPA scaling Deployment `deployment` between `min` and `max` replicas on cpu
/// (target 70%), currently at `min` replicas with cpu at 35% and every condition healthy.
pub fn hpa(ns: &str, name: &str, deployment: &str, min: i32, max: i32) -> HpaBuilder {
    HpaBuilder(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(864_000)},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment}, "minReplicas": min, "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
        "status": {"currentReplicas": min, "desiredReplicas": min,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 35, "averageValue": "35m"}}}],
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "recommended size matches current size"},
                {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
                {"type": "ScalingLimited", "status": "False", "reason": "DesiredWithinRange", "message": "the desired count is within the acceptable range"}]}
    }))
}

impl HpaBuilder {
    /// At `replicas` replicas with cpu at `utilization`% of requests.
    pub fn current(mut self, replicas: i32, utilization: i32) -> Self {
        self.0["status"]["currentReplicas"] = json!(replicas);
        self.0["status"]["desiredReplicas"] = json!(replicas);
        self.0["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] = json!(utilization);
        self
    }

    /// Sets condition `type_` (AbleToScale, ScalingActive, ScalingLimited).
    pub fn condition(mut self, type_: &str, status: &str, reason: &str, message: &str) -> Self {
        let c = json!({"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": ago(1800)});
        if let Some(list) = self.0["status"]["conditions"].as_array_mut() {
            match list.iter_mut().find(|x| x["type"] == type_) {
                Some(x) => *x = c,
                None => list.push(c),
            }
        }
        self
    }

    /// No current metrics (the HPA could not read them).
    pub fn no_metrics(mut self) -> Self {
        self.0["status"]["currentMetrics"] = json!([]);
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// A PodDisruptionBudget builder.
#[derive(Debug, Clone)]
pub struct PdbBuilder(Value);

/// Starts a PDB selecting `app=<app>` with minAvailable 1 over 3 healthy pods (2 disruptions allowed).
pub fn pdb(ns: &str, name: &str, app: &str) -> PdbBuilder {
    PdbBuilder(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "generation": 1, "creationTimestamp": ago(864_000)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}},
        "status": {"observedGeneration": 1, "expectedPods": 3, "currentHealthy": 3, "desiredHealthy": 1, "disruptionsAllowed": 2,
            "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "", "lastTransitionTime": ago(86_400), "observedGeneration": 1}]}
    }))
}

impl PdbBuilder {
    /// spec.minAvailable (a count or a percentage such as "100%"), replacing maxUnavailable.
    pub fn min_available(mut self, v: Value) -> Self {
        if let Some(s) = self.0["spec"].as_object_mut() {
            s.remove("maxUnavailable");
            s.insert("minAvailable".into(), v);
        }
        self
    }

    /// spec.maxUnavailable (a count or a percentage), replacing minAvailable.
    pub fn max_unavailable(mut self, v: Value) -> Self {
        if let Some(s) = self.0["spec"].as_object_mut() {
            s.remove("minAvailable");
            s.insert("maxUnavailable".into(), v);
        }
        self
    }

    /// The status counts; the DisruptionAllowed condition follows `allowed`.
    pub fn status(mut self, expected: i32, healthy: i32, desired: i32, allowed: i32) -> Self {
        let st = &mut self.0["status"];
        st["expectedPods"] = json!(expected);
        st["currentHealthy"] = json!(healthy);
        st["desiredHealthy"] = json!(desired);
        st["disruptionsAllowed"] = json!(allowed);
        st["conditions"][0]["status"] = json!(if allowed > 0 { "True" } else { "False" });
        st["conditions"][0]["reason"] = json!(if allowed > 0 { "SufficientPods" } else { "InsufficientPods" });
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// Marks a Node (from [`node`]) cordoned (spec.unschedulable), as a drain does first.
pub fn node_cordoned(mut n: Value) -> Value {
    n["spec"]["unschedulable"] = json!(true);
    n["spec"]["taints"] =
        json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": ago(1200)}]);
    n
}

// ---- Services, Ingresses, storage, nodes, network policies, quotas ----

impl PodBuilder {
    /// Declares a named container port on the container.
    pub fn container_port(mut self, name: &str, port: i32) -> Self {
        let c = &mut self.0["spec"]["containers"][0];
        if !c["ports"].is_array() {
            c["ports"] = json!([]);
        }
        if let Some(ports) = c["ports"].as_array_mut() {
            ports.push(json!({"name": name, "containerPort": port, "protocol": "TCP"}));
        }
        self
    }

    /// Mounts PersistentVolumeClaim `claim` at `path` in the container (volume `data`).
    pub fn mounts_claim(mut self, claim: &str, path: &str) -> Self {
        self.0["spec"]["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]);
        self.0["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "data", "mountPath": path}]);
        self
    }
}

/// Sets the targetPort (a number or a port name) of a Service's first port (from [`service`]).
pub fn service_target_port(mut s: Value, target: Value) -> Value {
    s["spec"]["ports"][0]["targetPort"] = target;
    s
}

/// Sets a condition of a Node (from [`node`]), changed `since_secs` ago; adds it when absent.
pub fn node_condition(mut n: Value, type_: &str, status: &str, reason: &str, message: &str, since_secs: i64) -> Value {
    let c = json!({"type": type_, "status": status, "reason": reason, "message": message,
        "lastHeartbeatTime": ago(since_secs.min(40)), "lastTransitionTime": ago(since_secs)});
    if let Some(conds) = n["status"]["conditions"].as_array_mut() {
        match conds.iter_mut().find(|x| x["type"] == type_) {
            Some(x) => *x = c,
            None => conds.push(c),
        }
    }
    if status != "True" && type_ == "Ready" {
        n["spec"]["taints"] =
            json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ago(since_secs)}]);
    }
    n
}

/// Makes a Node (from [`node`]) created `secs` ago.
pub fn node_created_ago(mut n: Value, secs: i64) -> Value {
    n["metadata"]["creationTimestamp"] = json!(ago(secs));
    n
}

/// A StorageClass; `default` adds the is-default-class annotation.
pub fn storage_class(name: &str, provisioner: &str, default: bool, binding_mode: &str) -> Value {
    let mut sc = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": name, "uid": uid(name), "creationTimestamp": ago(2_592_000)},
        "provisioner": provisioner, "parameters": {"type": "gp3"}, "reclaimPolicy": "Delete",
        "volumeBindingMode": binding_mode, "allowVolumeExpansion": true
    });
    if default {
        sc["metadata"]["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    }
    sc
}

/// A PersistentVolumeClaim builder.
#[derive(Debug, Clone)]
pub struct PvcBuilder(Value);

/// Starts a 10Gi ReadWriteOnce claim of `class` (None: no storageClassName) in `phase`, created
/// `age_secs` ago; a Bound claim is bound to volume `pvc-<uid>`.
pub fn pvc(ns: &str, name: &str, class: Option<&str>, phase: &str, age_secs: i64) -> PvcBuilder {
    let mut v = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(age_secs)},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}, "volumeMode": "Filesystem"},
        "status": {"phase": phase}
    });
    if let Some(c) = class {
        v["spec"]["storageClassName"] = json!(c);
    }
    if phase == "Bound" {
        v["spec"]["volumeName"] = json!(format!("pvc-{}", uid(name)));
        v["status"]["accessModes"] = json!(["ReadWriteOnce"]);
        v["status"]["capacity"] = json!({"storage": "10Gi"});
    }
    PvcBuilder(v)
}

impl PvcBuilder {
    /// Names the PersistentVolume the claim is (or was) bound to.
    pub fn volume(mut self, pv: &str) -> Self {
        self.0["spec"]["volumeName"] = json!(pv);
        self
    }

    /// Sets status.capacity.storage (and the request).
    pub fn capacity(mut self, q: &str) -> Self {
        self.0["status"]["capacity"] = json!({"storage": q});
        self.0["spec"]["resources"]["requests"]["storage"] = json!(q);
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// An IngressClass served by `controller` (`ingress.k8s.aws/alb`, `k8s.io/ingress-nginx`).
pub fn ingress_class(name: &str, controller: &str) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
        "metadata": {"name": name, "uid": uid(name), "creationTimestamp": ago(2_592_000)}, "spec": {"controller": controller}})
}

/// A Secret (metadata only, as captured).
pub fn secret(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(864_000)}})
}

/// An Ingress builder.
#[derive(Debug, Clone)]
pub struct IngressBuilder(Value);

/// Starts an Ingress of class `class` routing `host`/ to service `service` port `port`, created a
/// day ago, with a load balancer address.
pub fn ingress(ns: &str, name: &str, class: &str, host: &str, service: &str, port: i32) -> IngressBuilder {
    IngressBuilder(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(86_400)},
        "spec": {"ingressClassName": class, "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": port}}}}]}}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": format!("k8s-{ns}-{name}-1a2b3c4d5e.eu-west-1.elb.amazonaws.com")}]}}
    }))
}

impl IngressBuilder {
    /// Terminates TLS for its host with Secret `secret`.
    pub fn tls(mut self, secret: &str) -> Self {
        let host = self.0["spec"]["rules"][0]["host"].clone();
        self.0["spec"]["tls"] = json!([{"hosts": [host], "secretName": secret}]);
        self
    }

    /// No controller has given it an address.
    pub fn no_address(mut self) -> Self {
        self.0["status"] = json!({"loadBalancer": {}});
        self
    }

    /// The object.
    pub fn build(self) -> Value {
        self.0
    }
}

/// A NetworkPolicy selecting `pod_selector` with `policy_types` and the given ingress and egress
/// rules (JSON arrays as in the API).
pub fn network_policy(
    ns: &str,
    name: &str,
    pod_selector: Value,
    policy_types: &[&str],
    ingress: Value,
    egress: Value,
) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(864_000)},
        "spec": {"podSelector": pod_selector, "policyTypes": policy_types, "ingress": ingress, "egress": egress}})
}

/// A ResourceQuota with `(resource, hard, used)` entries.
pub fn resource_quota(ns: &str, name: &str, entries: &[(&str, &str, &str)]) -> Value {
    let hard: serde_json::Map<String, Value> = entries.iter().map(|(r, h, _)| (r.to_string(), json!(h))).collect();
    let used: serde_json::Map<String, Value> = entries.iter().map(|(r, _, u)| (r.to_string(), json!(u))).collect();
    json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": name, "namespace": ns, "uid": uid(name), "creationTimestamp": ago(864_000)},
        "spec": {"hard": hard.clone()}, "status": {"hard": hard, "used": used}})
}

/// A generated cluster: `pods` pods in deployments of 10, 30 pods a node, 5 events a pod, and
/// a realistic share of failures (about 3%: OOM crash loops, image pulls, unschedulable pods,
/// failing readiness).
pub fn generated_cluster(pods: usize) -> Vec<Value> {
    let mut objects = Vec::with_capacity(pods * 7);
    let nodes = pods.div_ceil(30).max(1);
    for n in 0..nodes {
        objects.push(node(&format!("ip-10-0-{}-{}.eu-west-1.compute.internal", n / 250, n % 250), "4", "15Gi"));
    }
    let namespaces = (pods / 1000).max(1);
    for ns in 0..namespaces {
        objects.push(namespace(&format!("team-{ns}")));
    }
    let deployments = pods.div_ceil(10);
    for d in 0..deployments {
        let ns = format!("team-{}", d % namespaces);
        let name = format!("svc-{d}");
        let hash = format!("{:010x}", d * 7919 + 1);
        let failing = d % 33 == 7;
        objects.push(deployment(&ns, &name, 10, if failing { 9 } else { 10 }, 3));
        objects.push(replicaset(&ns, &name, &hash, 3, &format!("registry.example.com/{name}:1.0.0"), 10, 10));
        objects.push(service(&ns, &name, &name));
        let rs = format!("{name}-{hash}");
        let mut eps = Vec::new();
        for i in 0..10 {
            let pname = format!("{rs}-{:05x}", i);
            let node = format!(
                "ip-10-0-{}-{}.eu-west-1.compute.internal",
                ((d * 10 + i) % nodes) / 250,
                ((d * 10 + i) % nodes) % 250
            );
            let mut p = pod(&pname)
                .in_ns(&ns)
                .owned_by_rs(&rs)
                .on_node(&node)
                .labels(&[("app", &name), ("pod-template-hash", &hash)]);
            let broken = failing && i == 0;
            if broken {
                p = match d % 4 {
                    0 => p.memory_limit("512Mi").crashlooping(6).oom_killed(),
                    1 => p.waiting("ImagePullBackOff", "Back-off pulling image"),
                    2 => p.unschedulable("0/40 nodes are available: 40 Insufficient memory."),
                    _ => p.unready(),
                };
            }
            objects.push(p.build());
            eps.push((pname.clone(), !broken));
            for e in 0..5 {
                let (ty, reason, msg) = match (broken, e) {
                    (true, 0) => ("Warning", "BackOff", "Back-off restarting failed container app"),
                    (true, 1) => {
                        ("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")
                    }
                    (_, 0) => ("Normal", "Scheduled", "Successfully assigned pod"),
                    (_, 1) => ("Normal", "Pulled", "Container image already present on machine"),
                    (_, 2) => ("Normal", "Created", "Created container app"),
                    (_, 3) => ("Normal", "Started", "Started container app"),
                    _ => ("Normal", "Pulling", "Pulling image"),
                };
                objects.push(event(&ns, "Pod", &pname, ty, reason, msg, 1 + e, 60 * (e as i64 + 1)));
            }
        }
        let refs: Vec<(&str, bool)> = eps.iter().map(|(n, r)| (n.as_str(), *r)).collect();
        objects.push(endpoints(&ns, &name, &refs));
    }
    objects
}

/// [`generated_cluster`] as JSON text, one array per kind (what the `items` of the API
/// server's list responses carry), in the order an API reader lists kinds.
pub fn generated_cluster_lists(pods: usize) -> Vec<(crate::kinds::Kind, String)> {
    let mut by_kind: Vec<(crate::kinds::Kind, Vec<Value>)> = Vec::new();
    for o in generated_cluster(pods) {
        let Some(kind) = o.get("kind").and_then(Value::as_str).and_then(crate::kinds::Kind::from_kind_name) else {
            continue;
        };
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => list.push(o),
            None => by_kind.push((kind, vec![o])),
        }
    }
    by_kind.sort_by_key(|(k, _)| crate::kinds::Kind::all().position(|x| x == *k));
    by_kind.into_iter().map(|(k, list)| (k, Value::Array(list).to_string())).collect()
}
