//! Pod analyzer: why a pod is not running and ready, down to the root cause — OOM kills with
//! the limit, crash exits with the log lines that explain them, image pulls, missing config,
//! unschedulable pods, probes, evictions, pods stuck terminating, failed mounts.

use super::event_line;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event, Pod};
use serde_json::json;

use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s::{self, human_duration};
use crate::logs::{is_error_line, is_stack_line};
use crate::quantity::{format_bytes, parse_bytes, raised_memory_limit};

/// How long a pod may stay Terminating before it is called stuck.
const STUCK_TERMINATING_SECS: i64 = 300;
/// Events older than this do not explain a current state.
const RECENT_EVENT_SECS: i64 = 3600;

/// Runs the pod analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    let mut out = Vec::new();
    for pod in &state.pods {
        if let Some(f) = analyze_pod(state, pod) {
            out.push(f);
        }
    }
    out
}

/// The finding for one pod, if anything is wrong with it.
pub fn analyze_pod(state: &ClusterState, pod: &Pod) -> Option<Finding> {
    let ns = k8s::namespace(&pod.metadata);
    let name = k8s::name(&pod.metadata);
    let subject = ObjectRef::new("Pod", ns, name);
    let status = pod.status.as_ref()?;
    let phase = status.phase.as_deref().unwrap_or("Unknown");
    let events = state.events_for("Pod", ns, name);
    let ctx = Ctx { state, pod, ns, name, events: &events };

    if let Some(t) = &pod.metadata.deletion_timestamp {
        let secs = k8s::seconds_since(t, state.now) - pod.metadata.deletion_grace_period_seconds.unwrap_or(30);
        if secs > STUCK_TERMINATING_SECS {
            return Some(ctx.stuck_terminating(subject, secs));
        }
        return None;
    }
    if phase == "Succeeded" {
        return None;
    }
    if status.reason.as_deref() == Some("Evicted") {
        return Some(ctx.evicted(subject));
    }
    // Init containers first: the main containers cannot start before them.
    for cs in status.init_container_statuses.iter().flatten() {
        if let Some(f) = ctx.container_problem(subject.clone(), cs, true) {
            return Some(f);
        }
    }
    for cs in status.container_statuses.iter().flatten() {
        if let Some(f) = ctx.container_problem(subject.clone(), cs, false) {
            return Some(f);
        }
    }
    if phase == "Pending" {
        return ctx.pending(subject);
    }
    if phase == "Failed" {
        return Some(Finding::new(
            subject,
            Severity::Error,
            "PodFailed",
            format!(
                "pod {ns}/{name} failed: {}",
                status.message.as_deref().or(status.reason.as_deref()).unwrap_or("no reason given")
            ),
        ));
    }
    if phase == "Running" && !k8s::is_ready(pod) {
        return ctx.not_ready(subject);
    }
    None
}

struct Ctx<'a> {
    state: &'a ClusterState,
    pod: &'a Pod,
    ns: &'a str,
    name: &'a str,
    events: &'a [&'a Event],
}

/// Recent event lines about the pod with a reason in `reasons`, formatted as evidence.
fn event_lines(events: &[&Event], now: jiff::Timestamp, reasons: &[&str], max: usize) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
        .take(max)
        .map(|e| event_line(e, now))
        .collect()
}

fn is_recent(e: &Event, now: jiff::Timestamp) -> bool {
    crate::tools::event_last_time(e).is_some_and(|t| now.as_second() - t.as_second() <= RECENT_EVENT_SECS)
}

/// The lines of a log that explain a crash: error lines and their stack frames, else the last
/// lines.
pub fn explaining_lines(log: &str, max: usize) -> Vec<String> {
    let lines: Vec<&str> = log.lines().map(strip_timestamp).filter(|l| !l.trim().is_empty()).collect();
    let mut picked: Vec<usize> = Vec::new();
    for (i, l) in lines.iter().enumerate().rev() {
        if is_error_line(l) {
            picked.push(i);
            if picked.len() >= max {
                break;
            }
        }
    }
    picked.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    for i in picked {
        out.push(lines[i].trim_end().to_string());
        let mut j = i + 1;
        while j < lines.len() && j < i + 3 && is_stack_line(lines[j]) {
            out.push(lines[j].trim_end().to_string());
            j += 1;
        }
    }
    if out.is_empty() {
        out = lines.iter().rev().take(3).rev().map(|l| l.trim_end().to_string()).collect();
    }
    out.dedup();
    out.truncate(max + 2);
    out
}

/// Removes a leading RFC 3339 timestamp (`kubectl logs --timestamps`).
pub fn strip_timestamp(line: &str) -> &str {
    match line.split_once(' ') {
        Some((head, rest)) if head.len() >= 20 && head.as_bytes().get(4) == Some(&b'-') && head.contains('T') => rest,
        _ => line,
    }
}

impl Ctx<'_> {
    fn container_spec(&self, name: &str) -> Option<&Container> {
        let spec = self.pod.spec.as_ref()?;
        spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == name)
    }

    fn memory_limit(&self, container: &str) -> Option<String> {
        self.container_spec(container)?.resources.as_ref()?.limits.as_ref()?.get("memory").map(|q| q.0.clone())
    }

    fn memory_request(&self, container: &str) -> Option<String> {
        self.container_spec(container)?.resources.as_ref()?.requests.as_ref()?.get("memory").map(|q| q.0.clone())
    }

    /// The Deployment controlling this pod, if any.
    fn deployment(&self) -> Option<String> {
        match self.state.controller_of(&self.pod.metadata) {
            Some((kind, name)) if kind == "Deployment" => Some(name),
            _ => None,
        }
    }

    fn controller_text(&self) -> String {
        match self.state.controller_of(&self.pod.metadata) {
            Some((kind, name)) => format!(" ({kind} {name})"),
            None => String::new(),
        }
    }

    /// Critical when the pod's workload has no ready pod left, else error.
    fn outage_severity(&self) -> Severity {
        let Some((kind, name)) = self.state.controller_of(&self.pod.metadata) else { return Severity::Critical };
        let siblings = self.state.pods_of(&kind, self.ns, &name);
        if siblings.iter().any(|p| k8s::is_ready(p)) { Severity::Error } else { Severity::Critical }
    }

    fn log_evidence(&self, container: &str, previous: bool) -> Vec<String> {
        self.state
            .log(self.ns, self.name, container, previous)
            .map(|l| explaining_lines(l, 4))
            .unwrap_or_default()
            .into_iter()
            .map(|l| format!("log{}: {l}", if previous { " (previous instance)" } else { "" }))
            .collect()
    }

    fn restarts_text(&self, cs: &ContainerStatus) -> String {
        // The restarts happened since the first back-off the kubelet reported, when it is known;
        // else since the pod started.
        let first_backoff = self
            .events
            .iter()
            .filter(|e| matches!(e.reason.as_deref(), Some("BackOff") | Some("Killing") | Some("Unhealthy")))
            .filter_map(|e| e.first_timestamp.as_ref().map(|t| t.0).or_else(|| e.event_time.as_ref().map(|t| t.0)))
            .min();
        if let Some(t) = first_backoff.filter(|_| cs.restart_count > 0) {
            let window = (self.state.now.as_second() - t.as_second()).max(0);
            return format!("restarted {} times in the last {}", cs.restart_count, human_duration(window));
        }
        let since = self
            .pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(|t| human_duration(k8s::seconds_since(t, self.state.now)));
        match since {
            Some(s) => format!("restarted {} times since the pod started {s} ago", cs.restart_count),
            None => format!("restarted {} times", cs.restart_count),
        }
    }

    fn container_problem(&self, subject: ObjectRef, cs: &ContainerStatus, init: bool) -> Option<Finding> {
        let which = if init { "init container" } else { "container" };
        let state = cs.state.as_ref();
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        let reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or_default();
        let wmsg = waiting.and_then(|w| w.message.as_deref()).unwrap_or_default();
        let pod_ref = format!("{which} {} of pod {}/{}{}", cs.name, self.ns, self.name, self.controller_text());
        match reason {
            "CrashLoopBackOff" => return Some(self.crash_loop(subject, cs, init, &pod_ref)),
            "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
                return Some(self.image_pull(subject, cs, reason, wmsg, &pod_ref));
            }
            "CreateContainerConfigError" => return Some(self.config_error(subject, wmsg, &pod_ref)),
            "CreateContainerError" | "RunContainerError" | "StartError" => {
                return Some(self.start_error(subject, reason, wmsg, &pod_ref));
            }
            "ContainerCreating" | "PodInitializing" => return self.creating(subject),
            _ => {}
        }
        if let Some(t) = terminated.filter(|t| t.exit_code != 0) {
            if t.reason.as_deref() == Some("StartError") || t.exit_code == 128 {
                let msg = t.message.clone().unwrap_or_default();
                return Some(self.start_error(subject, "StartError", &msg, &pod_ref));
            }
            if init || self.pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("Never") {
                let f = Finding::new(
                    subject,
                    Severity::Error,
                    if init { "InitContainerFailed" } else { "ContainerFailed" },
                    format!(
                        "{pod_ref} exited with code {}{}",
                        t.exit_code,
                        t.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
                    ),
                );
                return Some(self.with_logs(f, &cs.name, false));
            }
        }
        // Running now but recently killed by the OOM killer: a warning before it loops.
        if let Some(t) = last.filter(|t| t.reason.as_deref() == Some("OOMKilled")) {
            let recent =
                t.finished_at.as_ref().is_some_and(|f| k8s::seconds_since(f, self.state.now) <= RECENT_EVENT_SECS);
            if recent && state.is_some_and(|s| s.running.is_some()) {
                let mut f = self.oom(subject, cs, &pod_ref);
                f.severity = Severity::Warning;
                return Some(f);
            }
        }
        // Running between kills: restarts the kubelet made because the liveness probe failed
        // (a pod caught while up, not in its back-off) are the liveness problem, whatever its
        // readiness says meanwhile.
        if !init
            && cs.restart_count > 0
            && state.is_some_and(|s| s.running.is_some())
            && !self.liveness_kills().is_empty()
        {
            return Some(self.liveness(subject, cs, &pod_ref));
        }
        None
    }

    /// Recent events of the kubelet killing or failing the pod's liveness probe.
    fn liveness_kills(&self) -> Vec<&&Event> {
        let now = self.state.now;
        self.events
            .iter()
            .filter(|e| {
                is_recent(e, now)
                    && e.message
                        .as_deref()
                        .is_some_and(|m| m.contains("failed liveness probe") || m.starts_with("Liveness probe failed"))
            })
            .collect()
    }

    /// When the liveness probe times out and the container's CPU is at its limit: the app is
    /// throttled, so it answers too late. The limit, the usage when known, and the timeout.
    fn throttled(&self, container: &str, failure: &str) -> Option<String> {
        let lower = failure.to_ascii_lowercase();
        if !(lower.contains("deadline exceeded") || lower.contains("timeout") || lower.contains("timed out")) {
            return None;
        }
        let c = self.container_spec(container)?;
        let limit = c.resources.as_ref()?.limits.as_ref()?.get("cpu")?.0.clone();
        let limit_m = crate::quantity::parse_millicores(&limit)?;
        let used = self
            .state
            .pod_metrics_of(self.ns, self.name)
            .and_then(|m| m.containers.iter().find(|x| x.name == container))
            .and_then(|x| x.usage.get("cpu"))
            .and_then(|q| crate::quantity::parse_millicores(&q.0));
        match used {
            Some(u) if u < limit_m * 0.8 => None,
            Some(u) => Some(format!(
                "its CPU is at its limit ({} of {limit}), so the app is throttled and answers the probe too late",
                crate::quantity::format_millicores(u)
            )),
            None if limit_m <= 250.0 => {
                Some(format!("the probe times out and the CPU limit is only {limit}: a throttled app answers too late"))
            }
            None => None,
        }
    }

    fn with_logs(&self, mut f: Finding, container: &str, previous: bool) -> Finding {
        f.evidence.extend(self.log_evidence(container, previous));
        f
    }

    fn crash_loop(&self, subject: ObjectRef, cs: &ContainerStatus, init: bool, pod_ref: &str) -> Finding {
        let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        if last.and_then(|t| t.reason.as_deref()) == Some("OOMKilled") {
            return self.oom(subject, cs, pod_ref);
        }
        if !self.liveness_kills().is_empty() && !init {
            return self.liveness(subject, cs, pod_ref);
        }
        let (code, why) = match last {
            Some(t) => (t.exit_code, t.reason.clone().unwrap_or_else(|| "Error".into())),
            None => (0, "unknown".into()),
        };
        let log_lines = self.log_evidence(&cs.name, true);
        // The last error line that is not a stack frame names the failure best: a Python or Go
        // traceback ends with it, a Java one starts with it after the logger's own line.
        let explanation = log_lines
            .iter()
            .map(|l| l.trim_start_matches("log (previous instance): "))
            .rfind(|l| is_error_line(l) && !is_stack_line(l))
            .map(|l| format!(": {l}"))
            .unwrap_or_default();
        let reason = if init { "InitContainerCrashLoop" } else { "CrashLoopBackOff" };
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            reason,
            format!(
                "{pod_ref} is in CrashLoopBackOff: it exits with code {code} ({why}){explanation}; {}",
                self.restarts_text(cs)
            ),
        )
        .evidence(format!("lastState.terminated: reason {why}, exitCode {code}"))
        .evidence(format!("restartCount {}", cs.restart_count));
        f.evidence.extend(event_lines(self.events, self.state.now, &["BackOff"], 1));
        f.evidence.extend(log_lines);
        f = f.action(Action::text(format!(
            "Read the previous log of container {} (get_pod_logs previous=true) and fix the cause of exit code {code}; check the configuration and dependencies the log names",
            cs.name
        )));
        f.warn("Restarting the workload will not help: the container exits on its own each time it starts")
    }

    fn oom(&self, subject: ObjectRef, cs: &ContainerStatus, pod_ref: &str) -> Finding {
        let limit = self.memory_limit(&cs.name);
        let request = self.memory_request(&cs.name);
        let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        let code = last.map_or(137, |t| t.exit_code);
        let at_limit = match &limit {
            Some(l) => format!(" at its {l} memory limit"),
            None => " with no memory limit set (the node ran out of memory)".into(),
        };
        let state = if cs.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref())
            == Some("CrashLoopBackOff")
        {
            "is in CrashLoopBackOff: it was OOMKilled"
        } else {
            "was OOMKilled"
        };
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            "OOMKilled",
            format!("{pod_ref} {state} (exit code {code}){at_limit}; {}", self.restarts_text(cs)),
        )
        .evidence(format!("lastState.terminated: reason OOMKilled, exitCode {code}"))
        .evidence(format!("restartCount {}", cs.restart_count));
        if let Some(l) = &limit {
            f = f.evidence(format!(
                "resources.limits.memory {l}{}",
                request.as_ref().map(|r| format!(", requests.memory {r}")).unwrap_or_default()
            ));
        }
        f.evidence.extend(event_lines(self.events, self.state.now, &["BackOff", "OOMKilling"], 2));
        f.evidence.extend(self.log_evidence(&cs.name, true));
        let new_limit = limit.as_deref().and_then(parse_bytes).map(|b| format_bytes(raised_memory_limit(b)));
        match (self.deployment(), &new_limit) {
            (Some(dep), Some(new)) => {
                f = f.action(Action::tool(
                    "set_container_resources",
                    json!({"namespace": self.ns, "deployment": dep, "container": cs.name, "memory_limit": new}),
                    format!(
                        "Raise the memory limit of container {} in deployment {}/{dep} from {} to {new}",
                        cs.name,
                        self.ns,
                        limit.as_deref().unwrap_or("?")
                    ),
                ));
            }
            (_, Some(new)) => {
                f = f.action(Action::text(format!(
                    "Raise the memory limit of container {} from {} to {new} in its workload",
                    cs.name,
                    limit.as_deref().unwrap_or("?")
                )));
            }
            _ => {
                f = f.action(Action::text(format!(
                    "Set a memory request and limit on container {} sized from its real usage",
                    cs.name
                )));
            }
        }
        f = f.action(Action::text("If memory keeps growing until the kill, look for a leak (heap dumps, unbounded caches) rather than raising the limit again"));
        f.warn("Restarting will not fix an OOM: the container will be killed again at the same limit")
    }

    fn liveness(&self, subject: ObjectRef, cs: &ContainerStatus, pod_ref: &str) -> Finding {
        let probe =
            self.container_spec(&cs.name).and_then(|c| c.liveness_probe.as_ref()).map(probe_text).unwrap_or_default();
        let failure = self
            .events
            .iter()
            .find(|e| e.message.as_deref().is_some_and(|m| m.starts_with("Liveness probe failed")))
            .and_then(|e| e.message.clone())
            .unwrap_or_default();
        let throttled = self.throttled(&cs.name, &failure);
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            "LivenessProbeFailed",
            format!(
                "{pod_ref} is restarted by its liveness probe{probe}: {}; {}{}",
                failure.trim(),
                self.restarts_text(cs),
                throttled.as_ref().map(|t| format!("; {t}")).unwrap_or_default()
            ),
        );
        f.evidence.extend(event_lines(self.events, self.state.now, &["Unhealthy", "Killing", "BackOff"], 3));
        f.evidence.extend(self.log_evidence(&cs.name, true));
        if throttled.is_some() {
            f = f.action(Action::text(format!(
                "Raise (or remove) the CPU limit of container {} so the app is not throttled, then raise the probe's timeoutSeconds if it still answers slowly under load",
                cs.name
            )));
        }
        f.action(Action::text(format!(
            "Check that the application answers the liveness probe{probe} in time; raise initialDelaySeconds or timeoutSeconds if it starts slowly, or add a startupProbe"
        )))
        .warn("Restarting does not help: the kubelet is already restarting the container each time the probe fails")
    }

    fn image_pull(&self, subject: ObjectRef, cs: &ContainerStatus, reason: &str, wmsg: &str, pod_ref: &str) -> Finding {
        let image = self.container_spec(&cs.name).and_then(|c| c.image.clone()).unwrap_or_else(|| cs.image.clone());
        // The kubelet's "Failed to pull image …" says why; "Back-off pulling image" does not.
        let messages: Vec<&str> = self.events.iter().filter_map(|e| e.message.as_deref()).collect();
        let failed = messages
            .iter()
            .find(|m| m.starts_with("Failed to pull image"))
            .or_else(|| messages.iter().find(|m| m.contains("pull") && !m.starts_with("Back-off")))
            .copied()
            .unwrap_or(wmsg);
        let text = format!("{failed} {wmsg}").to_ascii_lowercase();
        let (code, why) = if text.contains("toomanyrequests")
            || text.contains("429")
            || text.contains("too many requests")
            || text.contains("rate limit")
        {
            (
                "ImagePullRateLimited",
                "the registry is rate-limiting pulls (429 Too Many Requests): the image exists, nodes that have not cached it cannot fetch it",
            )
        } else if text.contains("401")
            || text.contains("403")
            || text.contains("unauthorized")
            || text.contains("denied")
            || text.contains("no basic auth credentials")
            || text.contains("authorization failed")
            || text.contains("forbidden")
        {
            (
                "ImagePullAuth",
                "the registry refused the credentials (401/403): the node role or imagePullSecret cannot pull this image",
            )
        } else if text.contains("no such host") || text.contains("lookup") && text.contains("dial tcp") {
            ("ImagePullUnknownHost", "the registry host does not resolve")
        } else if text.contains("not found") || text.contains("manifest unknown") || text.contains("does not exist") {
            ("ImagePullNotFound", "the image or tag does not exist in the registry")
        } else if reason == "InvalidImageName" {
            ("InvalidImageName", "the image name is not valid")
        } else {
            ("ImagePullBackOff", "the image cannot be pulled")
        };
        // What the registry said, e.g. `…:1.8.3: not found` or `403 Forbidden`.
        let said = failed
            .rsplit(": ")
            .next()
            .filter(|t| !t.is_empty() && t.len() < 120 && *t != failed)
            .map(|t| format!(" (registry: \"{}\")", t.trim()))
            .unwrap_or_default();
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            code,
            format!("{pod_ref} cannot start: image {image}: {why}{said}"),
        )
        .evidence(format!("state.waiting.reason {reason}"));
        f.evidence.extend(event_lines(self.events, self.state.now, &["Failed", "BackOff"], 2));
        f = match code {
            "ImagePullAuth" => f.action(Action::text(format!(
                "Give the node IAM role ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository of {image}, or attach a valid imagePullSecret"
            ))),
            "ImagePullUnknownHost" => f.action(Action::text(format!("Fix the registry host in {image}"))),
            "ImagePullRateLimited" => {
                return f
                    .action(Action::text(format!(
                        "Pull {image} through an ECR pull-through cache or a mirror (or authenticate pulls with an imagePullSecret for the registry's account); the limit resets over time, and nodes that have the image cached are not affected"
                    )))
                    .warn("Changing the tag or rolling back will not help: the registry refuses pulls, not this image");
            }
            _ => f.action(Action::text(format!("Fix the image reference {image}: push the tag or point the workload at an existing one"))),
        };
        if let Some(dep) = self.deployment()
            && let Some(prev) = self.previous_revision(&dep)
        {
            f = f.action(Action::tool(
                "rollback_deployment",
                json!({"namespace": self.ns, "deployment": dep, "revision": prev}),
                format!("Roll deployment {}/{dep} back to revision {prev}, which used a pullable image", self.ns),
            ));
        }
        f.warn("Restarting will not help: the image itself cannot be pulled")
    }

    /// The revision before the deployment's current one, when one exists.
    fn previous_revision(&self, deployment: &str) -> Option<i64> {
        let d = self
            .state
            .deployments
            .iter()
            .find(|d| k8s::namespace(&d.metadata) == self.ns && k8s::name(&d.metadata) == deployment)?;
        let revs = crate::tools::revisions_of(d, self.state.replicasets_of(self.ns, deployment));
        let current = crate::tools::revision_of(&d.metadata);
        revs.iter().map(|r| r.revision).filter(|r| *r < current && *r > 0).max()
    }

    fn config_error(&self, subject: ObjectRef, wmsg: &str, pod_ref: &str) -> Finding {
        let msg = if wmsg.is_empty() {
            self.events
                .iter()
                .filter_map(|e| e.message.as_deref())
                .find(|m| m.starts_with("Error:"))
                .unwrap_or("")
                .to_string()
        } else {
            wmsg.to_string()
        };
        let m = msg.trim_start_matches("Error: ").to_string();
        // couldn't find key KEY in Secret NS/NAME | secret "NAME" not found | configmap "NAME" not found
        let (code, cause, action) = if let Some(rest) = m.strip_prefix("couldn't find key ") {
            let mut it = rest.split_whitespace();
            let key = it.next().unwrap_or_default().to_string();
            let _in = it.next();
            let kind = it.next().unwrap_or("Secret").to_string();
            let obj = it.next().unwrap_or_default();
            let name = obj.rsplit('/').next().unwrap_or(obj).to_string();
            (
                if kind == "Secret" { "SecretKeyMissing" } else { "ConfigMapKeyMissing" },
                Some(ObjectRef::new(&kind, self.ns, &name)),
                format!("Add key {key} to {kind} {}/{name}, or fix the key name the container references", self.ns),
            )
        } else if let Some(name) = quoted_after(&m, "secret \"") {
            (
                "SecretNotFound",
                Some(ObjectRef::new("Secret", self.ns, &name)),
                format!("Create Secret {}/{name} or fix the name the pod references", self.ns),
            )
        } else if let Some(name) = quoted_after(&m, "configmap \"") {
            (
                "ConfigMapNotFound",
                Some(ObjectRef::new("ConfigMap", self.ns, &name)),
                format!("Create ConfigMap {}/{name} or fix the name the pod references", self.ns),
            )
        } else {
            ("CreateContainerConfigError", None, "Fix the container's environment and volume references".into())
        };
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            code,
            format!("{pod_ref} cannot start (CreateContainerConfigError): {m}"),
        );
        f.evidence.push(format!("state.waiting.message: {m}"));
        f.evidence.extend(event_lines(self.events, self.state.now, &["Failed"], 1));
        if let Some(c) = &cause {
            f.cause = Some(c.clone());
        }
        f.action(Action::text(action)).warn("Restarting will not help until the referenced configuration exists")
    }

    fn start_error(&self, subject: ObjectRef, reason: &str, wmsg: &str, pod_ref: &str) -> Finding {
        let text = wmsg.to_string()
            + " "
            + &self
                .events
                .iter()
                .filter_map(|e| e.message.as_deref())
                .filter(|m| m.contains("Error"))
                .collect::<Vec<_>>()
                .join(" ");
        let lower = text.to_ascii_lowercase();
        let image =
            self.pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default();
        let (code, why, action) = if lower.contains("exec format error") {
            (
                "ExecFormatError",
                format!("the image {image} is built for another CPU architecture (exec format error)"),
                format!(
                    "Build or pick a multi-arch image of {image} that matches the node architecture (arm64 vs amd64), or schedule onto matching nodes"
                ),
            )
        } else if lower.contains("executable file not found") || lower.contains("no such file or directory") {
            (
                "CommandNotFound",
                "the command the container runs does not exist in the image".to_string(),
                "Fix the container's command/args or the image entrypoint".to_string(),
            )
        } else if lower.contains("permission denied") {
            (
                "PermissionDenied",
                "the entrypoint is not executable (permission denied)".to_string(),
                "Make the entrypoint executable in the image or fix securityContext".to_string(),
            )
        } else {
            (
                reason,
                format!("the runtime could not start it: {}", wmsg.trim()),
                "Fix the container's command, image or securityContext".to_string(),
            )
        };
        let mut f =
            Finding::new(subject, self.outage_severity(), code, format!("{pod_ref} cannot start ({reason}): {why}"));
        if !wmsg.is_empty() {
            f.evidence.push(format!("message: {}", wmsg.trim()));
        }
        f.evidence.extend(event_lines(self.events, self.state.now, &["Failed", "BackOff"], 2));
        f.action(Action::text(action))
    }

    fn creating(&self, subject: ObjectRef) -> Option<Finding> {
        let now = self.state.now;
        let Some(mount) = self.events.iter().find(|e| {
            is_recent(e, now) && matches!(e.reason.as_deref(), Some("FailedMount") | Some("FailedAttachVolume"))
        }) else {
            return self.sandbox(subject);
        };
        let msg = mount.message.clone().unwrap_or_default();
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            "FailedMount",
            format!(
                "pod {}/{}{} is stuck in ContainerCreating: a volume cannot be mounted: {}",
                self.ns,
                self.name,
                self.controller_text(),
                msg.lines().next().unwrap_or("")
            ),
        );
        f.evidence.extend(event_lines(self.events, now, &["FailedMount", "FailedAttachVolume"], 2));
        if let Some(name) = quoted_after(&msg, "secret \"") {
            f.cause = Some(ObjectRef::new("Secret", self.ns, &name));
        } else if let Some(name) = quoted_after(&msg, "configmap \"") {
            f.cause = Some(ObjectRef::new("ConfigMap", self.ns, &name));
        } else if let Some(claim) = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .into_iter()
            .flatten()
            .find_map(|v| v.persistent_volume_claim.as_ref())
        {
            f.cause = Some(ObjectRef::new("PersistentVolumeClaim", self.ns, &claim.claim_name));
        }
        Some(f.action(Action::text(
            "Create or fix the volume source the event names (Secret, ConfigMap, PVC or EBS/EFS volume)",
        )))
    }

    /// A pod stuck in ContainerCreating because its sandbox (network namespace) cannot be made:
    /// on EKS usually the VPC CNI with no IP address left for it on that node.
    fn sandbox(&self, subject: ObjectRef) -> Option<Finding> {
        let now = self.state.now;
        let e =
            self.events.iter().find(|e| is_recent(e, now) && e.reason.as_deref() == Some("FailedCreatePodSandBox"))?;
        let msg = e.message.as_deref().unwrap_or_default().trim();
        let lower = msg.to_ascii_lowercase();
        let node = self.pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_else(|| "?".into());
        let zone = self
            .state
            .nodes
            .iter()
            .find(|n| k8s::name(&n.metadata) == node)
            .and_then(|n| n.metadata.labels.as_ref()?.get("topology.kubernetes.io/zone").cloned());
        let place = zone.as_ref().map_or_else(|| format!("node {node}"), |z| format!("node {node} ({z})"));
        let pod_ref = format!("pod {}/{}{}", self.ns, self.name, self.controller_text());
        let ip_exhausted = [
            "failed to assign an ip address",
            "insufficientfreeaddressesinsubnet",
            "no available ip",
            "no free ip",
            "assignprivateipaddresses",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let (code, message) = if ip_exhausted {
            (
                "PodIPExhausted",
                format!("{pod_ref} is stuck in ContainerCreating: the VPC CNI has no IP address to give it on {place}"),
            )
        } else {
            (
                "SandboxCreateFailed",
                format!(
                    "{pod_ref} is stuck in ContainerCreating: its sandbox cannot be created on {place}: {}",
                    cut_line(msg, 200)
                ),
            )
        };
        let mut f = Finding::new(subject, self.outage_severity(), code, message);
        f.evidence.extend(event_lines(self.events, now, &["FailedCreatePodSandBox"], 2));
        // Other pods on the node that cannot get a sandbox either: the node, not the pod.
        let stuck: Vec<&str> = self
            .state
            .pods
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()))
            .filter(|p| k8s::name(&p.metadata) != self.name)
            .filter(|p| k8s::pod_status(p) == "ContainerCreating")
            .map(|p| k8s::name(&p.metadata))
            .take(5)
            .collect();
        if !stuck.is_empty() {
            f.evidence.push(format!("also stuck in ContainerCreating on {node}: {}", stuck.join(", ")));
        }
        f = if ip_exhausted {
            let subnet = zone.as_ref().map_or_else(String::new, |z| format!(" in {z}"));
            f.action(Action::text(format!(
                "Give the VPC CNI more addresses for {node}: check the free IPs of its subnet{subnet} (aws ec2 describe-subnets), enable prefix delegation (ENABLE_PREFIX_DELEGATION=true on the aws-node DaemonSet), lower WARM_IP_TARGET/WARM_ENI_TARGET if IPs are held warm, or add subnets (custom networking)"
            )))
            .action(Action::text(
                "Meanwhile, pods can run on nodes in other subnets: cordon the node so new pods go elsewhere".to_string(),
            ))
            .warn("Restarting or scaling will not help: every new pod on that node needs an IP address the CNI cannot assign")
        } else {
            f.action(Action::text(format!(
                "Check the CNI on {node}: the aws-node pod there and its logs (ipamd), and the event message"
            )))
        };
        Some(f)
    }

    fn pending(&self, subject: ObjectRef) -> Option<Finding> {
        let now = self.state.now;
        let status = self.pod.status.as_ref()?;
        let cond = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status == "False");
        let sched_event = self.events.iter().find(|e| e.reason.as_deref() == Some("FailedScheduling"));
        let msg = cond
            .and_then(|c| c.message.clone())
            .or_else(|| sched_event.and_then(|e| e.message.clone()))
            .unwrap_or_default();
        if msg.is_empty() {
            let created = self.pod.metadata.creation_timestamp.as_ref().map_or(0, |t| k8s::seconds_since(t, now));
            if created > 300 && self.pod.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none() {
                return Some(Finding::new(
                    subject,
                    Severity::Error,
                    "Unscheduled",
                    format!(
                        "pod {}/{} has been Pending for {} without being scheduled and no scheduler event explains why",
                        self.ns,
                        self.name,
                        human_duration(created)
                    ),
                ));
            }
            return None;
        }
        let pod_ref = format!("pod {}/{}{}", self.ns, self.name, self.controller_text());
        let lower = msg.to_ascii_lowercase();
        let requests = self.requests_text();
        let (code, why, cause, action): (&str, String, Option<ObjectRef>, String) = if lower
            .contains("unbound immediate persistentvolumeclaims")
            || lower.contains("persistentvolumeclaim")
        {
            let claim = self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.volumes.as_ref())
                .into_iter()
                .flatten()
                .find_map(|v| v.persistent_volume_claim.as_ref())
                .map(|c| c.claim_name.clone())
                .unwrap_or_default();
            (
                "UnboundPVC",
                format!("its PersistentVolumeClaim {claim} is not bound"),
                Some(ObjectRef::new("PersistentVolumeClaim", self.ns, &claim)),
                format!("Fix PersistentVolumeClaim {}/{claim} (see its finding)", self.ns),
            )
        } else if lower.contains("insufficient memory")
            || lower.contains("insufficient cpu")
            || lower.contains("insufficient")
        {
            let res = if lower.contains("insufficient memory") && lower.contains("insufficient cpu") {
                "cpu and memory"
            } else if lower.contains("insufficient memory") {
                "memory"
            } else if lower.contains("insufficient cpu") {
                "cpu"
            } else {
                "resources"
            };
            let largest = self.largest_allocatable();
            (
                "InsufficientResources",
                format!("no node has enough free {res} for its requests ({requests}){largest}"),
                None,
                format!(
                    "Lower the pod's {res} requests ({requests}) or add capacity: a larger instance type or more nodes in the nodegroup"
                ),
            )
        } else if lower.contains("untolerated taint") {
            let taint = msg
                .split("untolerated taint")
                .nth(1)
                .and_then(|s| s.split('}').next())
                .map(|s| format!("{}}}", s.trim_start_matches('(').trim_start_matches('s').trim()))
                .unwrap_or_default();
            (
                "UntoleratedTaint",
                format!("the nodes carry taints it has no toleration for {taint}"),
                None,
                "Add a matching toleration to the pod, or schedule it onto untainted nodes".into(),
            )
        } else if lower.contains("node affinity/selector")
            || lower.contains("node selector")
            || lower.contains("didn't match pod's node affinity")
        {
            let sel = self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.node_selector.as_ref())
                .map(k8s::labels_string)
                .unwrap_or_else(|| "its node affinity".into());
            (
                "NodeSelectorMismatch",
                format!("no node matches its node selector {sel}"),
                None,
                format!("Fix the nodeSelector/affinity ({sel}) or label nodes to match"),
            )
        } else if lower.contains("anti-affinity") || lower.contains("pod affinity") {
            (
                "AffinityUnsatisfiable",
                "its pod affinity or anti-affinity rules cannot be met by any node".into(),
                None,
                "Relax the (anti-)affinity rules (preferred instead of required) or add nodes/zones".into(),
            )
        } else if lower.contains("volume node affinity conflict") {
            let (volume, zones) = self.volume_zones();
            let node_zones = self.schedulable_zones();
            let claim = volume.as_ref().map(|(pvc, pv)| format!(" {pv} (claim {pvc})")).unwrap_or_default();
            let there = if zones.is_empty() { String::new() } else { format!(" is in {}", zones.join(", ")) };
            let nodes = if node_zones.is_empty() {
                String::new()
            } else {
                format!(" (schedulable nodes are in {})", node_zones.join(", "))
            };
            let zone = zones.first().cloned().unwrap_or_else(|| "the volume's availability zone".into());
            (
                "VolumeNodeAffinityConflict",
                format!("its volume{claim}{there}, and no schedulable node is in that zone{nodes}"),
                volume.map(|(pvc, _)| ObjectRef::new("PersistentVolumeClaim", self.ns, &pvc)),
                format!(
                    "Add a node in {zone} (a nodegroup with a subnet there), or move the data: snapshot the EBS volume and restore it in a zone that has nodes"
                ),
            )
        } else if lower.contains("too many pods") {
            // The pod limit of the nodes (allocatable pods, set by the instance type's ENIs).
            let mut limits: Vec<String> = self
                .state
                .nodes
                .iter()
                .filter_map(|n| {
                    let pods = n.status.as_ref()?.allocatable.as_ref()?.get("pods")?.0.clone();
                    let itype =
                        n.metadata.labels.as_ref().and_then(|l| l.get("node.kubernetes.io/instance-type")).cloned();
                    Some(itype.map_or_else(|| format!("{pods} pods"), |t| format!("{pods} pods on {t}")))
                })
                .collect();
            limits.sort();
            limits.dedup();
            let limit = if limits.is_empty() { String::new() } else { format!(" ({})", limits.join(", ")) };
            (
                "TooManyPods",
                format!("every node is at its pod limit{limit}, whatever CPU and memory remain"),
                None,
                "Add nodes, use an instance type with more pods per node, or raise max pods per node with prefix delegation on the VPC CNI".into(),
            )
        } else {
            (
                "Unschedulable",
                msg.clone(),
                None,
                "Read the scheduler message and adjust the pod's constraints or the cluster's capacity".into(),
            )
        };
        let mut f = Finding::new(subject, self.outage_severity(), code, format!("{pod_ref} is Pending: {why}"))
            .evidence(format!("PodScheduled=False: {}", msg.trim()));
        f.evidence.extend(event_lines(self.events, now, &["FailedScheduling"], 1));
        f.cause = cause;
        Some(f.action(Action::text(action)))
    }

    /// The first of the pod's volumes bound to a zonal PersistentVolume: `(claim, volume)` and
    /// the zones its node affinity allows.
    fn volume_zones(&self) -> (Option<(String, String)>, Vec<String>) {
        let claims = self.pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten();
        for claim in claims.filter_map(|v| v.persistent_volume_claim.as_ref()) {
            let Some(pvc) = self
                .state
                .pvcs
                .iter()
                .find(|c| k8s::namespace(&c.metadata) == self.ns && k8s::name(&c.metadata) == claim.claim_name)
            else {
                continue;
            };
            let Some(pv_name) = pvc.spec.as_ref().and_then(|s| s.volume_name.clone()) else { continue };
            let Some(pv) = self.state.pvs.iter().find(|v| k8s::name(&v.metadata) == pv_name) else { continue };
            let zones: Vec<String> = pv
                .spec
                .as_ref()
                .and_then(|s| s.node_affinity.as_ref())
                .and_then(|a| a.required.as_ref())
                .map(|r| r.node_selector_terms.iter())
                .into_iter()
                .flatten()
                .flat_map(|t| t.match_expressions.iter().flatten())
                .filter(|e| e.key.ends_with("/zone"))
                .flat_map(|e| e.values.iter().flatten().cloned())
                .collect();
            if !zones.is_empty() {
                return (Some((claim.claim_name.clone(), pv_name)), zones);
            }
        }
        (None, Vec::new())
    }

    /// Zones of the nodes that take new pods (Ready, not cordoned), each once.
    fn schedulable_zones(&self) -> Vec<String> {
        let mut zones: Vec<String> = self
            .state
            .nodes
            .iter()
            .filter(|n| !n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false))
            .filter(|n| {
                n.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
            .filter_map(|n| n.metadata.labels.as_ref()?.get("topology.kubernetes.io/zone").cloned())
            .collect();
        zones.sort();
        zones.dedup();
        zones
    }

    fn requests_text(&self) -> String {
        let mut cpu = 0.0;
        let mut mem = 0.0;
        for c in self.pod.spec.iter().flat_map(|s| s.containers.iter()) {
            if let Some(r) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
                cpu += r.get("cpu").and_then(|q| crate::quantity::parse_millicores(&q.0)).unwrap_or(0.0);
                mem += r.get("memory").and_then(|q| parse_bytes(&q.0)).unwrap_or(0.0);
            }
        }
        format!("cpu {}, memory {}", crate::quantity::format_millicores(cpu), format_bytes(mem))
    }

    fn largest_allocatable(&self) -> String {
        let best = self
            .state
            .nodes
            .iter()
            .filter_map(|n| {
                let a = n.status.as_ref()?.allocatable.as_ref()?;
                Some((
                    a.get("memory").and_then(|q| parse_bytes(&q.0)).unwrap_or(0.0),
                    a.get("cpu").and_then(|q| crate::quantity::parse_millicores(&q.0)).unwrap_or(0.0),
                ))
            })
            .fold((0.0f64, 0.0f64), |acc, x| (acc.0.max(x.0), acc.1.max(x.1)));
        if best.0 == 0.0 {
            return String::new();
        }
        format!(
            "; the largest node has cpu {}, memory {} allocatable",
            crate::quantity::format_millicores(best.1),
            format_bytes(best.0)
        )
    }

    fn not_ready(&self, subject: ObjectRef) -> Option<Finding> {
        let now = self.state.now;
        let failing = self.events.iter().find(|e| {
            is_recent(e, now) && e.message.as_deref().is_some_and(|m| m.starts_with("Readiness probe failed"))
        });
        let pod_ref = format!("pod {}/{}{}", self.ns, self.name, self.controller_text());
        let Some(e) = failing else {
            // Not ready with no recent probe failure: say so only if it has lasted a while.
            let since = self
                .pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .find(|c| c.type_ == "Ready")
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| k8s::seconds_since(t, now))
                .unwrap_or(0);
            if since < 300 {
                return None;
            }
            return Some(Finding::new(
                subject,
                Severity::Warning,
                "NotReady",
                format!("{pod_ref} has been running but not ready for {}", human_duration(since)),
            ));
        };
        let container = self
            .pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c.iter().find(|c| !c.ready))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let probe = self
            .container_spec(&container)
            .and_then(|c| c.readiness_probe.as_ref())
            .map(probe_text)
            .unwrap_or_default();
        let msg = e.message.clone().unwrap_or_default();
        let mut f = Finding::new(
            subject,
            self.outage_severity(),
            "ReadinessProbeFailed",
            format!(
                "{pod_ref} is running but not ready: the readiness probe{probe} of container {container} fails: {}",
                msg.trim().trim_start_matches("Readiness probe failed: ")
            ),
        );
        f.evidence.extend(event_lines(self.events, now, &["Unhealthy"], 2));
        f.evidence.extend(self.log_evidence(&container, false));
        Some(f.action(Action::text(format!(
            "Find out why the application fails its readiness check{probe} (its dependencies, its log); fix the probe's path or port if they are wrong"
        ))))
    }

    fn evicted(&self, subject: ObjectRef) -> Finding {
        let status = self.pod.status.as_ref();
        let msg = status.and_then(|s| s.message.clone()).unwrap_or_default();
        let pressure = if msg.contains("ephemeral-storage") {
            "disk (ephemeral-storage)"
        } else if msg.contains("memory") {
            "memory"
        } else if msg.contains("pids") {
            "PIDs"
        } else {
            "resources"
        };
        let node = self.pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        let mut f = Finding::new(
            subject,
            Severity::Warning,
            "Evicted",
            format!(
                "pod {}/{}{} was evicted from node {node} because the node ran low on {pressure}: {}",
                self.ns,
                self.name,
                self.controller_text(),
                msg.trim()
            ),
        )
        .evidence(format!("status.reason Evicted: {}", msg.trim()));
        if !node.is_empty() {
            f.cause = Some(ObjectRef::new("Node", "", &node));
        }
        f.action(Action::text(format!(
            "Set {pressure} requests and limits so the scheduler accounts for them; clean up the node's {pressure}; delete the evicted pod objects once understood"
        )))
    }

    fn stuck_terminating(&self, subject: ObjectRef, secs: i64) -> Finding {
        let node = self.pod.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        let node_ready = self.state.nodes.iter().find(|n| k8s::name(&n.metadata) == node).and_then(|n| {
            n.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "Ready").map(|c| c.status.clone())
        });
        let mut f = Finding::new(
            subject,
            Severity::Warning,
            "StuckTerminating",
            match node_ready.as_deref() {
                Some("True") | None => format!(
                    "pod {}/{} has been Terminating for {} on node {node}; a finalizer or the kubelet is holding it",
                    self.ns,
                    self.name,
                    human_duration(secs)
                ),
                Some(_) => format!(
                    "pod {}/{} has been Terminating for {} because its node {node} is NotReady and cannot confirm the deletion",
                    self.ns,
                    self.name,
                    human_duration(secs)
                ),
            },
        );
        let node_down = node_ready.as_deref().is_some_and(|s| s != "True");
        if node_down {
            f.cause = Some(ObjectRef::new("Node", "", &node));
        }
        let finalizers = self.pod.metadata.finalizers.clone().unwrap_or_default();
        if !finalizers.is_empty() {
            f.evidence.push(format!("finalizers: {}", finalizers.join(", ")));
        }
        let exited: Vec<String> = k8s::container_statuses(self.pod)
            .iter()
            .filter_map(|c| {
                let t = c.state.as_ref()?.terminated.as_ref()?;
                Some(format!("{} exited {}", c.name, t.exit_code))
            })
            .collect();
        if !exited.is_empty() {
            f.evidence.push(format!("containers already stopped: {}", exited.join(", ")));
        }
        if node_down {
            return f.action(Action::text("Recover or remove the node; once it is gone the pod objects are garbage-collected (force deletion only if the node is confirmed dead)"));
        }
        if finalizers.is_empty() {
            return f.action(Action::text(format!(
                "Check the kubelet on {node} (its logs and the container runtime): the node is Ready but has not confirmed the deletion"
            )));
        }
        // A healthy node and a finalizer: whatever owns the finalizer has not removed it.
        let owners: Vec<String> = finalizers.iter().filter_map(|f| self.finalizer_owner(f)).collect();
        if let Some(owner) = owners.first() {
            f.evidence.push(owner.clone());
        }
        f.action(Action::text(format!(
            "The node is Ready, so the finalizer {} holds the pod: bring back the controller that removes it{}; only if it is gone for good, remove the finalizer (kubectl patch pod {} -n {} --type merge -p '{{\"metadata\":{{\"finalizers\":null}}}}')",
            finalizers.join(", "),
            if owners.is_empty() { String::new() } else { " (see the evidence)".into() },
            self.name,
            self.ns
        )))
        .warn("Restarting the node or the workload will not help: the API server waits for the finalizer, not the kubelet")
    }

    /// A controller that looks like the owner of a finalizer (`drain.platform.acme.io/connections`
    /// → a Deployment whose name shares a word with it) and is scaled to zero or unavailable.
    fn finalizer_owner(&self, finalizer: &str) -> Option<String> {
        let words: Vec<&str> = finalizer
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() >= 4 && !["kubernetes", "k8s", "io", "com", "finalizer", "protection"].contains(w))
            .collect();
        self.state.deployments.iter().find_map(|d| {
            let name = k8s::name(&d.metadata);
            if !words.iter().any(|w| name.contains(w)) || !name.contains("controller") && !name.contains("operator") {
                return None;
            }
            let desired = d.spec.replicas.unwrap_or(1);
            let ready = d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
            (ready == 0).then(|| {
                format!(
                    "deployment {}/{name}, which likely removes the finalizer, has {ready} of {desired} replicas ready",
                    k8s::namespace(&d.metadata)
                )
            })
        })
    }
}

fn probe_text(p: &k8s_openapi::api::core::v1::Probe) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let port = |i: &IntOrString| match i {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(h) = &p.http_get {
        format!(" (HTTP GET {} on port {})", h.path.as_deref().unwrap_or("/"), port(&h.port))
    } else if let Some(t) = &p.tcp_socket {
        format!(" (TCP port {})", port(&t.port))
    } else if let Some(e) = &p.exec {
        format!(" (exec {})", e.command.clone().unwrap_or_default().join(" "))
    } else if let Some(g) = &p.grpc {
        format!(" (gRPC port {})", g.port)
    } else {
        String::new()
    }
}

/// The text between `prefix` and the next `"`.
fn quoted_after(s: &str, prefix: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let i = lower.find(&prefix.to_ascii_lowercase())? + prefix.len();
    let rest = &s[i..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The first line of `s`, at most `max` characters.
fn cut_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    fn web_rs() -> Vec<serde_json::Value> {
        vec![
            deployment("prod", "web", 1, 0, 2),
            replicaset("prod", "web", "7d9f8b6c5d", 2, "registry.example.com/web:1.0.0", 1, 0),
        ]
    }

    #[test]
    fn pod_cases() {
        let cases = vec![
            Case { name: "healthy pod", objects: vec![pod("ok").in_ns("prod").build()], expect: None },
            Case { name: "succeeded job pod", objects: vec![pod("job-x").in_ns("prod").owned_by("Job", "job").succeeded().build()], expect: None },
            Case {
                name: "oom crashloop",
                objects: [web_rs(), vec![pod("web-7d9f8b6c5d-x2k4p").in_ns("prod").owned_by_rs("web-7d9f8b6c5d").memory_limit("512Mi").crashlooping(5).oom_killed().build()]].concat(),
                expect: Some(("OOMKilled", Severity::Critical, &["512Mi", "OOMKilled", "exit code 137", "restarted 5 times"])),
            },
            Case {
                name: "crashloop exit 1",
                objects: vec![pod("api").in_ns("prod").crashlooping(3).build()],
                expect: Some(("CrashLoopBackOff", Severity::Critical, &["exits with code 1", "restarted 3 times"])),
            },
            Case {
                name: "image pull rate limited",
                objects: vec![
                    pod("edge").in_ns("web").image("nginx:1.27.3").waiting("ImagePullBackOff", "Back-off pulling image \"nginx:1.27.3\"").build(),
                    event("web", "Pod", "edge", "Warning", "Failed", "Failed to pull image \"nginx:1.27.3\": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit", 3, 20),
                ],
                expect: Some(("ImagePullRateLimited", Severity::Critical, &["nginx:1.27.3", "429 Too Many Requests"])),
            },
            Case {
                name: "volume in a zone without nodes",
                objects: vec![
                    {
                        let mut n = node("n1", "2", "8Gi");
                        n["metadata"]["labels"]["topology.kubernetes.io/zone"] = json!("eu-west-1b");
                        n
                    },
                    pod("postgres-0")
                        .in_ns("data")
                        .unschedulable("0/1 nodes are available: 1 node(s) had volume node affinity conflict.")
                        .with(|p| p["spec"]["volumes"] = json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-postgres-0"}}]))
                        .build(),
                    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data-postgres-0", "namespace": "data", "uid": "c1"},
                        "spec": {"volumeName": "pvc-1", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
                        "status": {"phase": "Bound"}}),
                    json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pvc-1", "uid": "v1"},
                        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["eu-west-1a"]}]}]}}},
                        "status": {"phase": "Bound"}}),
                ],
                expect: Some(("VolumeNodeAffinityConflict", Severity::Critical, &["pvc-1 (claim data-postgres-0) is in eu-west-1a", "nodes are in eu-west-1b"])),
            },
            Case {
                name: "restarted by liveness while running, throttled",
                objects: vec![
                    pod("renderer")
                        .in_ns("docs")
                        .crashlooping(10)
                        .exit_code(137)
                        .with(|p| {
                            let cs = &mut p["status"]["containerStatuses"][0];
                            cs["state"] = json!({"running": {"startedAt": ago(20)}});
                            let c = &mut p["spec"]["containers"][0];
                            c["resources"] = json!({"limits": {"cpu": "100m", "memory": "512Mi"}, "requests": {"cpu": "100m"}});
                            c["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": 3000}, "timeoutSeconds": 1});
                        })
                        .build(),
                    event("docs", "Pod", "renderer", "Normal", "Killing", "Container app failed liveness probe, will be restarted", 10, 60),
                    event("docs", "Pod", "renderer", "Warning", "Unhealthy", "Liveness probe failed: Get \"http://10.0.1.2:3000/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", 31, 4),
                ],
                expect: Some(("LivenessProbeFailed", Severity::Critical, &["liveness probe", "CPU limit is only 100m"])),
            },
            Case {
                name: "no pod IP from the VPC CNI",
                objects: vec![
                    pod("api").in_ns("prod").on_node("ip-10-0-12-34.eu-west-1.compute.internal").waiting("ContainerCreating", "").build(),
                    event("prod", "Pod", "api", "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"cb7e\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container", 31, 5),
                ],
                expect: Some(("PodIPExhausted", Severity::Critical, &["no IP address", "ip-10-0-12-34"])),
            },
            Case {
                name: "other sandbox failure",
                objects: vec![
                    pod("api").in_ns("prod").on_node("n1").waiting("ContainerCreating", "").build(),
                    event("prod", "Pod", "api", "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"aws-cni\" failed (add): cni plugin not initialized", 4, 5),
                ],
                expect: Some(("SandboxCreateFailed", Severity::Critical, &["cni plugin not initialized", "node n1"])),
            },
            Case {
                name: "image pull auth",
                objects: vec![
                    pod("api").in_ns("prod").image("1234.dkr.ecr.eu-west-1.amazonaws.com/api:2").waiting("ImagePullBackOff", "Back-off pulling image").build(),
                    event("prod", "Pod", "api", "Warning", "Failed", "Failed to pull image \"1234.dkr.ecr.eu-west-1.amazonaws.com/api:2\": failed to authorize: 403 Forbidden", 4, 30),
                ],
                expect: Some(("ImagePullAuth", Severity::Critical, &["api:2", "401/403"])),
            },
            Case {
                name: "missing secret key",
                objects: vec![pod("api").in_ns("prod").waiting("CreateContainerConfigError", "couldn't find key DB_PASSWORD in Secret prod/db-credentials").build()],
                expect: Some(("SecretKeyMissing", Severity::Critical, &["DB_PASSWORD", "db-credentials"])),
            },
            Case {
                name: "pending insufficient memory",
                objects: vec![
                    node("node-1", "2", "3800Mi"),
                    pod("big").in_ns("prod").requests("500m", "8Gi").unschedulable("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.").build(),
                ],
                expect: Some(("InsufficientResources", Severity::Critical, &["memory", "8Gi", "3800Mi"])),
            },
            Case {
                name: "evicted",
                objects: vec![pod("old").in_ns("prod").evicted("The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi.").build()],
                expect: Some(("Evicted", Severity::Warning, &["ephemeral-storage"])),
            },
            Case {
                name: "recently deleted pod is not stuck",
                objects: vec![pod("bye").in_ns("prod").terminating_for(40).build()],
                expect: None,
            },
        ];
        for case in cases {
            let st = state(case.objects);
            let findings = analyze(&st);
            match case.expect {
                None => assert!(findings.is_empty(), "{}: expected nothing, got {findings:#?}", case.name),
                Some((reason, sev, texts)) => {
                    assert_eq!(findings.len(), 1, "{}: {findings:#?}", case.name);
                    let f = &findings[0];
                    assert_eq!(f.reason, reason, "{}: {}", case.name, f.message);
                    assert_eq!(f.severity, sev, "{}: {}", case.name, f.message);
                    for t in texts {
                        assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                    }
                }
            }
        }
    }

    #[test]
    fn oom_proposes_a_doubled_limit_and_warns_against_restart() {
        let objs = [
            web_rs(),
            vec![
                pod("web-7d9f8b6c5d-x2k4p")
                    .in_ns("prod")
                    .owned_by_rs("web-7d9f8b6c5d")
                    .memory_limit("512Mi")
                    .crashlooping(5)
                    .oom_killed()
                    .build(),
            ],
        ]
        .concat();
        let findings = analyze(&state(objs));
        let f = &findings[0];
        let typed: Vec<&Action> = f.actions.iter().filter(|a| a.tool.is_some()).collect();
        assert_eq!(typed.len(), 1, "{f:#?}");
        assert_eq!(typed[0].tool.as_deref(), Some("set_container_resources"));
        assert_eq!(typed[0].args.as_ref().map(|a| a["memory_limit"].clone()), Some(json!("1Gi")));
        assert_eq!(typed[0].args.as_ref().map(|a| a["deployment"].clone()), Some(json!("web")));
        assert!(f.warnings.iter().any(|w| w.contains("Restarting will not fix an OOM")), "{f:#?}");
    }
}
