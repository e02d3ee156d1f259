//! Deployment analyzer: what is wrong with a Deployment as a whole, down to its cause.
//!
//! - A ReplicaSet of it cannot create pods (quota, missing ServiceAccount, webhook): the
//!   Deployment carries that reason and the ReplicaSet's finding becomes its chain.
//! - A rollout that exceeded its progress deadline, or whose new pods are failing while an
//!   older revision still serves: names the revision that broke it (images) and the last good
//!   one, proposes rolling back to it, and absorbs the new pods' findings as its chain.
//! - A first rollout that never became available: the pods' problem, lifted to the
//!   Deployment (there is nothing to roll back to).
//! - Fewer ready replicas than desired for longer than a short grace, after a finished
//!   rollout: linked to the failing pod, whose finding becomes the root.
//! - Paused rollouts (info).
//!
//! Healthy things stay silent: a finished rollout, a rollout within its deadline whose new
//! pods are fine, old ReplicaSets at 0, a deployment scaled to 0.
//!
//! Also holds the helpers the other workload analyzers share (event lines, picking the failing
//! pod of a controller).

use super::event_line;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::json;

use super::replicaset::{CreateFailure, rs_create_failure};
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s::{self, human_duration};
use crate::tools::{Revision, revision_of, revisions_of};

/// How long a workload may miss ready replicas before it is called a problem (a restart or a
/// rolling update in progress is not).
pub(super) const GRACE_SECS: i64 = 300;
/// Events older than this do not explain a current state.
pub(super) const RECENT_EVENT_SECS: i64 = 3600;
/// The progress deadline Kubernetes applies when the spec sets none.
const DEFAULT_PROGRESS_DEADLINE_SECS: i32 = 600;
/// Evidence lines taken over from a pod's finding.
const POD_EVIDENCE_LINES: usize = 6;

/// Runs the deployment analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.deployments.iter().filter_map(|d| analyze_deployment(state, d)).collect()
}

fn analyze_deployment(state: &ClusterState, d: &Deployment) -> Option<Finding> {
    let ctx = Ctx::new(state, d);
    if ctx.desired == 0 {
        return ctx.paused.then(|| ctx.paused_finding());
    }
    if let Some(f) = ctx.create_failure() {
        return Some(f);
    }
    if let Some(c) = ctx.deadline() {
        return Some(ctx.deadline_exceeded(c));
    }
    if let Some(f) = ctx.rollout_failing() {
        return Some(f);
    }
    if let Some(f) = ctx.unavailable() {
        return Some(f);
    }
    ctx.paused.then(|| ctx.paused_finding())
}

/// A failing pod with the pod analyzer's finding for it, if it has one.
type FailingPod<'a> = (&'a Pod, Option<Finding>);

struct Ctx<'a> {
    state: &'a ClusterState,
    d: &'a Deployment,
    ns: &'a str,
    name: &'a str,
    desired: i32,
    ready: i32,
    paused: bool,
    revision: i64,
    /// Revisions newest first.
    revisions: Vec<Revision>,
}

impl<'a> Ctx<'a> {
    fn new(state: &'a ClusterState, d: &'a Deployment) -> Ctx<'a> {
        Ctx {
            state,
            d,
            ns: k8s::namespace(&d.metadata),
            name: k8s::name(&d.metadata),
            desired: d.spec.replicas.unwrap_or(1),
            ready: d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
            paused: d.spec.paused.unwrap_or(false),
            revision: revision_of(&d.metadata),
            revisions: revisions_of(d, state.replicasets_of(k8s::namespace(&d.metadata), k8s::name(&d.metadata))),
        }
    }

    fn subject(&self) -> ObjectRef {
        ObjectRef::new("Deployment", self.ns, self.name)
    }

    fn condition(&self, ty: &str) -> Option<&'a DeploymentCondition> {
        self.d.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_.as_deref() == Some(ty))
    }

    /// The Progressing=False ProgressDeadlineExceeded condition, when the rollout is stuck.
    fn deadline(&self) -> Option<&'a DeploymentCondition> {
        self.condition("Progressing")
            .filter(|c| c.status.as_deref() == Some("False") && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    }

    /// Whether a rollout is in progress within its deadline.
    fn rolling(&self) -> bool {
        self.condition("Progressing").is_some_and(|c| {
            c.status.as_deref() == Some("True")
                && matches!(
                    c.reason.as_deref(),
                    Some("ReplicaSetUpdated" | "NewReplicaSetCreated" | "FoundNewReplicaSet")
                )
        })
    }

    fn deadline_secs(&self) -> i32 {
        self.d.spec.progress_deadline_seconds.unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECS)
    }

    fn status_line(&self) -> String {
        let s = self.d.status.as_ref();
        let get = |f: fn(&k8s_openapi::api::apps::v1::DeploymentStatus) -> Option<i32>| s.and_then(f).unwrap_or(0);
        format!(
            "status: {} desired, {} ready, {} updated, {} available, {} unavailable",
            self.desired,
            self.ready,
            get(|s| s.updated_replicas),
            get(|s| s.available_replicas),
            get(|s| s.unavailable_replicas)
        )
    }

    /// Condition lines worth quoting: any condition that is not True, and ReplicaFailure.
    fn condition_lines(&self) -> Vec<String> {
        self.d
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .filter(|c| c.status.as_deref() != Some("True") || c.type_.as_deref() == Some("ReplicaFailure"))
            .map(condition_line)
            .collect()
    }

    /// The current revision.
    fn current(&self) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.revision == self.revision)
    }

    /// Revisions older than the current one, newest first.
    fn older(&self) -> Vec<&Revision> {
        self.revisions.iter().filter(|r| r.revision < self.revision && r.revision > 0).collect()
    }

    /// The revision to roll back to: the newest older one with ready pods, else the previous one.
    fn good(&self) -> Option<&Revision> {
        let older = self.older();
        older.iter().find(|r| r.ready > 0).or(older.first()).copied()
    }

    /// Ready pods of older revisions.
    fn serving(&self) -> i32 {
        self.older().iter().map(|r| r.ready).sum()
    }

    /// The ReplicaSet object of a revision.
    fn replicaset(&self, rev: &Revision) -> Option<&'a ReplicaSet> {
        self.state
            .replicasets
            .iter()
            .find(|rs| k8s::namespace(&rs.metadata) == self.ns && k8s::name(&rs.metadata) == rev.replicaset)
    }

    /// Pods controlled by ReplicaSet `rs`.
    fn pods_of_rs(&self, rs: &str) -> Vec<&'a Pod> {
        self.state
            .pods
            .iter()
            .filter(|p| k8s::namespace(&p.metadata) == self.ns)
            .filter(|p| {
                p.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.controller == Some(true) && o.kind == "ReplicaSet" && o.name == rs)
            })
            .collect()
    }

    /// Pods of the current revision.
    fn new_pods(&self) -> Vec<&'a Pod> {
        self.current().map(|r| self.pods_of_rs(&r.replicaset)).unwrap_or_default()
    }

    /// Failing pods of the current revision with the pod analyzer's findings, worst first.
    fn failing_new(&self) -> Vec<FailingPod<'a>> {
        let mut v: Vec<FailingPod<'a>> = self
            .new_pods()
            .into_iter()
            .filter(|p| is_failing(p))
            .map(|p| (p, super::pod::analyze_pod(self.state, p)))
            .collect();
        v.sort_by_key(|(p, f)| (std::cmp::Reverse(f.as_ref().map(|f| f.severity)), k8s::name(&p.metadata).to_string()));
        v
    }

    /// `revision N (images)`.
    fn revision_text(&self) -> String {
        match self.current() {
            Some(r) => format!("revision {} ({})", r.revision, images(r)),
            None => format!("revision {}", self.revision),
        }
    }

    /// Pods of a revision: `0 of 3 new pods ready`.
    fn new_ready_text(&self) -> String {
        let total = self
            .current()
            .and_then(|r| self.replicaset(r))
            .and_then(|rs| rs.spec.replicas)
            .or(self.current().map(|r| r.replicas))
            .unwrap_or(0);
        format!("{} of {total} new pods ready", self.current().map_or(0, |r| r.ready))
    }

    /// A ReplicaSet of the deployment that the API server refuses pods to.
    fn create_failure(&self) -> Option<Finding> {
        if self.ready >= self.desired && self.deadline().is_none() && !self.rolling() {
            return None;
        }
        let (rev, (cf, ev)) = self.revisions.iter().find_map(|r| {
            let rs = self.replicaset(r)?;
            if rs.spec.replicas.unwrap_or(1) == 0 {
                return None;
            }
            rs_create_failure(self.state, rs).map(|f| (r, f))
        })?;
        let (ns, name) = (self.ns, self.name);
        let CreateFailure { reason, why, cause, action, warning } = cf;
        let severity = if self.ready == 0 {
            Severity::Critical
        } else if self.ready < self.desired {
            Severity::Error
        } else {
            Severity::Warning
        };
        let stuck = if self.deadline().is_some() {
            format!("; its rollout exceeded the progress deadline ({}s)", self.deadline_secs())
        } else {
            String::new()
        };
        let mut f = Finding::new(
            self.subject(),
            severity,
            reason,
            format!(
                "deployment {ns}/{name} has {} of {} replicas ready: ReplicaSet {} (revision {}) cannot create pods: {why}{stuck}",
                self.ready, self.desired, rev.replicaset, rev.revision
            ),
        )
        .evidence(self.status_line());
        f.evidence.extend(self.condition_lines());
        f.evidence.extend(ev);
        f.cause = cause;
        f.absorbs.push(ObjectRef::new("ReplicaSet", ns, &rev.replicaset));
        f = f.action(Action::text(action));
        if let Some(w) = warning {
            f = f.warn(w);
        }
        Some(f)
    }

    fn deadline_exceeded(&self, cond: &DeploymentCondition) -> Finding {
        let failing = self.failing_new();
        if self.older().is_empty()
            && let Some(f) = self.first_rollout(cond, &failing)
        {
            return f;
        }
        let headline = format!("exceeded its progress deadline ({}s)", self.deadline_secs());
        let mut f = self.regression("ProgressDeadlineExceeded", &headline, &failing);
        f.evidence.insert(0, condition_line(cond));
        f
    }

    /// A rollout within its deadline whose new pods already fail while an older revision serves.
    fn rollout_failing(&self) -> Option<Finding> {
        if !self.rolling() || self.serving() == 0 {
            return None;
        }
        let failing = self.failing_new();
        // A pod finding of at least error severity (a warning, e.g. one recent OOM kill, is
        // not yet a broken revision).
        let broken = failing
            .iter()
            .any(|(p, f)| f.as_ref().is_some_and(|f| f.severity >= Severity::Error && !is_infrastructure(p, f)));
        broken.then(|| self.regression("RolloutFailing", "is failing", &failing))
    }

    /// The finding for a rollout that broke the deployment: the revision and its images, the
    /// revision to roll back to, and the new pods as its chain.
    fn regression(&self, reason: &str, headline: &str, failing: &[FailingPod<'a>]) -> Finding {
        let (ns, name) = (self.ns, self.name);
        let good = self.good();
        let serving = self.serving();
        let new_text = self.revision_text();
        let mut states: Vec<String> =
            failing.iter().map(|(p, f)| f.as_ref().map_or_else(|| pod_state_text(p), |f| f.reason.clone())).collect();
        states.sort();
        states.dedup();
        let arch = self.arch_hint(failing);
        let why = match (states.is_empty(), &arch) {
            (true, _) => String::new(),
            (false, Some((clause, _))) => format!(" ({}{clause})", states.join(", ")),
            (false, None) => format!(" ({})", states.join(", ")),
        };
        let old_text = match good {
            Some(g) if serving > 0 => format!("revision {} ({}) still serves {serving} pods", g.revision, images(g)),
            Some(g) => {
                format!("no pod of an older revision is ready; the previous revision is {} ({})", g.revision, images(g))
            }
            None => "there is no earlier revision to roll back to".to_string(),
        };
        let severity = if self.ready == 0 { Severity::Critical } else { Severity::Error };
        let mut f = Finding::new(
            self.subject(),
            severity,
            reason,
            format!(
                "deployment {ns}/{name}: rollout of {new_text} {headline}; {}{why}; {old_text}",
                self.new_ready_text()
            ),
        );
        for r in self.revisions.iter().take(3) {
            f.evidence.push(format!(
                "revision {}: ReplicaSet {} ({}): {} of {} pods ready",
                r.revision,
                r.replicaset,
                images(r),
                r.ready,
                r.replicas
            ));
        }
        f.evidence.push(self.status_line());
        for (p, pf) in failing.iter().take(2) {
            let text = pf.as_ref().map_or_else(|| pod_state_text(p), |pf| pf.message.clone());
            f.evidence.push(format!("new pod {}: {text}", k8s::name(&p.metadata)));
        }
        if let Some((p, pf)) = failing.first() {
            if let Some(pf) = pf {
                f.evidence.extend(pf.evidence.iter().take(POD_EVIDENCE_LINES).cloned());
            }
            self.add_pod_events(&mut f, p);
        }
        if let Some((_, line)) = arch {
            f.evidence.push(line);
        }
        if let Some(g) = good {
            f = f.action(Action::tool(
                "rollback_deployment",
                json!({"namespace": ns, "deployment": name, "revision": g.revision}),
                format!("Roll deployment {ns}/{name} back to revision {} (image {})", g.revision, images(g)),
            ));
        }
        f = f.action(Action::text(format!(
            "Find why the pods of {new_text} fail (their findings and logs) and fix it before rolling forward again"
        )));
        // The revision is the root unless its pods wait for the cluster (unschedulable, node
        // trouble): then the pod's finding says what the cluster lacks.
        match failing.iter().find(|(p, f)| f.as_ref().map_or(is_unschedulable(p), |f| is_infrastructure(p, f))) {
            Some((p, _)) if !failing.iter().any(|(p, f)| f.as_ref().is_some_and(|f| !is_infrastructure(p, f))) => {
                f.caused_by(ObjectRef::new("Pod", ns, k8s::name(&p.metadata)))
            }
            _ => {
                f.absorbs = self.new_pods().iter().map(|p| ObjectRef::new("Pod", ns, k8s::name(&p.metadata))).collect();
                f.warn(format!(
                    "Restarting the deployment will not help: it recreates pods of the same revision {}",
                    self.revision
                ))
                .warn("Scaling up will not help: new replicas run the same failing revision")
            }
        }
    }

    /// A first rollout that never became available: the pods' problem, said of the Deployment.
    fn first_rollout(&self, cond: &DeploymentCondition, failing: &[FailingPod<'a>]) -> Option<Finding> {
        let (ns, name) = (self.ns, self.name);
        let (pod, pf) = failing.iter().find_map(|(p, f)| f.as_ref().map(|f| (*p, f)))?;
        let severity = pf.severity.max(if self.ready == 0 { Severity::Critical } else { Severity::Error });
        let mut f = Finding::new(
            self.subject(),
            severity,
            &pf.reason,
            format!(
                "deployment {ns}/{name} has never been available: its first rollout, {}, exceeded its progress deadline ({}s) with {} of {} replicas ready; {}",
                self.revision_text(),
                self.deadline_secs(),
                self.ready,
                self.desired,
                pf.message
            ),
        )
        .evidence(condition_line(cond))
        .evidence(self.status_line());
        f.evidence.extend(pf.evidence.iter().cloned());
        self.add_pod_events(&mut f, pod);
        for (p, other) in failing.iter().filter(|(p, _)| k8s::name(&p.metadata) != k8s::name(&pod.metadata)).take(3) {
            let text = other.as_ref().map_or_else(|| pod_state_text(p), |o| o.reason.clone());
            f.evidence.push(format!("pod {} also fails: {text}", k8s::name(&p.metadata)));
        }
        f.actions = pf.actions.clone();
        f.warnings = pf.warnings.clone();
        f.cause = pf.cause.clone();
        f.absorbs = self.new_pods().iter().map(|p| ObjectRef::new("Pod", ns, k8s::name(&p.metadata))).collect();
        Some(f)
    }

    /// Adds the pod's recent warning events that the evidence does not quote yet (the pull
    /// error behind an ImagePullBackOff is often not the newest one).
    fn add_pod_events(&self, f: &mut Finding, p: &Pod) {
        let mut seen: Vec<String> = Vec::new();
        for e in self.state.events_for("Pod", self.ns, k8s::name(&p.metadata)) {
            let msg = e.message.as_deref().unwrap_or("").trim().to_string();
            let recent = crate::tools::event_last_time(e)
                .is_some_and(|t| self.state.now.as_second() - t.as_second() <= RECENT_EVENT_SECS);
            if e.type_.as_deref() != Some("Warning")
                || !recent
                || msg.is_empty()
                || seen.contains(&msg)
                || f.evidence.iter().any(|l| l.contains(&msg))
            {
                continue;
            }
            seen.push(msg);
            f.evidence.push(event_line(e, self.state.now));
            if seen.len() >= 3 {
                break;
            }
        }
    }

    /// When a failing pod of the revision dies with `exec format error`: a clause for the
    /// message and an evidence line naming the nodes' architecture.
    fn arch_hint(&self, failing: &[FailingPod<'a>]) -> Option<(String, String)> {
        let (p, _) = failing.iter().find(|(_, f)| {
            f.as_ref().is_some_and(|f| {
                f.message.contains("exec format error") || f.evidence.iter().any(|e| e.contains("exec format error"))
            })
        })?;
        let node = p.spec.as_ref()?.node_name.as_deref()?;
        let arch = self
            .state
            .nodes
            .iter()
            .find(|n| k8s::name(&n.metadata) == node)?
            .metadata
            .labels
            .as_ref()?
            .get("kubernetes.io/arch")?;
        Some((
            format!(": exec format error, the image is not built for the nodes' {arch} architecture"),
            format!(
                "node {node} is kubernetes.io/arch={arch}; exec format error means the image was built for another CPU architecture"
            ),
        ))
    }

    fn unavailable(&self) -> Option<Finding> {
        let (ns, name, now) = (self.ns, self.name, self.state.now);
        let available = self.condition("Available");
        let available_false = available.is_some_and(|c| c.status.as_deref() == Some("False"));
        if self.ready >= self.desired && !available_false {
            return None;
        }
        // A rollout within its deadline, with enough pods available, is still progressing.
        if self.rolling() && !available_false {
            return None;
        }
        let pods = self.state.pods_of("Deployment", ns, name);
        let mut failing: Vec<&Pod> = pods.iter().copied().filter(|p| is_failing(p)).collect();
        // Pods of the current revision first: they are what the deployment converges to.
        let current_rs = self.current().map(|r| r.replicaset.clone());
        failing.sort_by_key(|p| !owned_by_rs(p, current_rs.as_deref()));
        let picked = failing_pod(self.state, &failing);

        let since = available
            .filter(|_| available_false)
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| k8s::seconds_since(t, now))
            .or_else(|| picked.as_ref().map(|(p, _)| unready_secs(p, now)));
        if since.is_some_and(|s| s < GRACE_SECS) {
            return None;
        }
        if picked.is_none() && !available_false {
            return None;
        }
        let severity = if self.ready == 0 {
            Severity::Critical
        } else if available_false {
            Severity::Error
        } else {
            Severity::Warning
        };
        let missing = self.desired - self.ready;
        let for_text = since.map(|s| format!(" for {}", human_duration(s))).unwrap_or_default();
        let paused = if self.paused { " (rollouts are paused)" } else { "" };
        let why = match &picked {
            Some((p, _)) => format!("; pod {} is {}", k8s::name(&p.metadata), pod_state_text(p)),
            None => String::new(),
        };
        let mut f = Finding::new(
            self.subject(),
            severity,
            "DeploymentUnavailable",
            format!(
                "deployment {ns}/{name} has {} of {} replicas ready ({missing} unavailable{for_text}){paused}{why}",
                self.ready, self.desired
            ),
        )
        .evidence(self.status_line());
        f.evidence.extend(self.condition_lines());
        match &picked {
            Some((p, pf)) => {
                let pname = k8s::name(&p.metadata);
                if let Some(pf) = pf {
                    f.evidence.push(format!("pod {pname}: {}", pf.message));
                }
                f = f.caused_by(ObjectRef::new("Pod", ns, pname)).action(Action::text(format!(
                    "Fix why pod {pname} is not ready (see its finding); the deployment recovers once its pods do"
                )));
                if !is_unschedulable(p) {
                    f = f.warn(format!("Scaling up will not help: new replicas fail the same way as pod {pname}"));
                }
            }
            None => {
                f = f.action(Action::text(format!(
                    "List the pods of deployment {ns}/{name} and their events to see why replicas are missing"
                )));
            }
        }
        Some(f)
    }

    fn paused_finding(&self) -> Finding {
        let (ns, name) = (self.ns, self.name);
        Finding::new(
            self.subject(),
            Severity::Info,
            "DeploymentPaused",
            format!(
                "deployment {ns}/{name} is paused at revision {}: changes to its pod template are not rolled out until it is resumed ({} of {} replicas ready)",
                self.revision, self.ready, self.desired
            ),
        )
        .evidence("spec.paused: true")
        .action(Action::text(format!("If the pause is no longer intended, resume it: kubectl rollout resume deployment/{name} -n {ns}")))
    }
}

/// Whether a pod fails because of the cluster rather than its own revision: unschedulable, or
/// its finding is due to a node.
fn is_infrastructure(p: &Pod, f: &Finding) -> bool {
    is_unschedulable(p) || f.cause.as_ref().is_some_and(|c| c.kind == "Node")
}

/// The images of a revision, comma-separated.
fn images(r: &Revision) -> String {
    if r.images.is_empty() { "no image recorded".into() } else { r.images.join(", ") }
}

fn owned_by_rs(p: &Pod, rs: Option<&str>) -> bool {
    rs.is_some_and(|rs| p.metadata.owner_references.iter().flatten().any(|o| o.kind == "ReplicaSet" && o.name == rs))
}

/// A Deployment condition as an evidence line.
fn condition_line(c: &DeploymentCondition) -> String {
    format!(
        "condition {}={} {}: {}",
        c.type_.as_deref().unwrap_or("?"),
        c.status.as_deref().unwrap_or("?"),
        c.reason.as_deref().unwrap_or(""),
        c.message.as_deref().unwrap_or("").trim()
    )
}

/// Events about an object from the last hour with one of `reasons`, newest first.
pub(super) fn recent_events<'s>(
    state: &'s ClusterState,
    kind: &str,
    ns: &str,
    name: &str,
    reasons: &[&str],
) -> Vec<&'s Event> {
    state
        .events_for(kind, ns, name)
        .into_iter()
        .filter(|e| e.reason.as_deref().is_some_and(|r| reasons.contains(&r)))
        .filter(|e| {
            crate::tools::event_last_time(e).is_some_and(|t| state.now.as_second() - t.as_second() <= RECENT_EVENT_SECS)
        })
        .collect()
}

/// Whether a pod counts against its controller: not ready, not finished, not being deleted.
pub(super) fn is_failing(p: &Pod) -> bool {
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
    p.metadata.deletion_timestamp.is_none() && phase != Some("Succeeded") && !k8s::is_ready(p)
}

/// Whether a pod is Pending because the scheduler cannot place it.
pub(super) fn is_unschedulable(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "PodScheduled" && c.status == "False"))
}

/// Seconds a pod has been not ready: since its Ready condition last changed, else since it was
/// created.
pub(super) fn unready_secs(p: &Pod, now: Timestamp) -> i64 {
    let ready_change = p
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.as_ref());
    ready_change.or(p.metadata.creation_timestamp.as_ref()).map_or(i64::MAX, |t| k8s::seconds_since(t, now))
}

/// A short state of a failing pod: `CrashLoopBackOff`, `ImagePullBackOff`, `Pending
/// (unschedulable)`, `running but not ready`.
pub(super) fn pod_state_text(p: &Pod) -> String {
    match k8s::pod_status(p).as_str() {
        "Running" => "running but not ready".into(),
        "Pending" if is_unschedulable(p) => "Pending (unschedulable)".into(),
        s => s.to_string(),
    }
}

/// The failing pod that best explains a controller's missing replicas, with the pod
/// analyzer's finding for it: the first pod (in the caller's order) with the worst finding,
/// else the first failing pod. `pods` are the candidates, already filtered to failing ones.
pub(super) fn failing_pod<'p>(state: &ClusterState, pods: &[&'p Pod]) -> Option<(&'p Pod, Option<Finding>)> {
    let mut best: Option<(&Pod, Finding)> = None;
    for p in pods {
        if let Some(f) = super::pod::analyze_pod(state, p)
            && best.as_ref().is_none_or(|(_, b)| f.severity > b.severity)
        {
            best = Some((p, f));
        }
    }
    match best {
        Some((p, f)) => Some((p, Some(f))),
        None => pods.first().map(|p| (*p, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::correlate;
    use crate::fixtures::*;
    use serde_json::Value;

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        /// (reason, severity, texts the message must carry); None = no finding.
        expect: Option<(&'static str, Severity, &'static [&'static str])>,
    }

    const NS: &str = "production";

    /// orders-api at revision 7 (3.1.0) stuck: 3 new pods crash looping, revision 6 (3.0.4) serves 3.
    fn stuck_rollout() -> Vec<Value> {
        let img = |v: &str| format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-api:{v}");
        let mut objs = vec![
            deployment_updated(deployment_past_deadline(deployment(NS, "orders-api", 3, 3, 7), 600), 3),
            replicaset(NS, "orders-api", "7c9d8e6f5b", 7, &img("3.1.0"), 3, 0),
            replicaset(NS, "orders-api", "5f6b7c8d9a", 6, &img("3.0.4"), 3, 3),
            replicaset(NS, "orders-api", "4a5b6c7d8e", 5, &img("3.0.3"), 0, 0),
        ];
        for s in ["x2k4p", "b7m9q", "c8n0r"] {
            objs.push(
                pod(&format!("orders-api-7c9d8e6f5b-{s}"))
                    .in_ns(NS)
                    .owned_by_rs("orders-api-7c9d8e6f5b")
                    .image(&img("3.1.0"))
                    .crashlooping(6)
                    .build(),
            );
        }
        for s in ["d1e2f", "g3h4j", "k5l6m"] {
            objs.push(
                pod(&format!("orders-api-5f6b7c8d9a-{s}"))
                    .in_ns(NS)
                    .owned_by_rs("orders-api-5f6b7c8d9a")
                    .image(&img("3.0.4"))
                    .build(),
            );
        }
        objs
    }

    fn web(replicas: i32, ready: i32) -> Vec<Value> {
        vec![
            deployment("prod", "web", replicas, ready, 2),
            replicaset("prod", "web", "7d9f8b6c5d", 2, "registry.example.com/web:1.0.0", replicas, ready),
        ]
    }

    fn web_pod(suffix: &str) -> crate::fixtures::PodBuilder {
        pod(&format!("web-7d9f8b6c5d-{suffix}")).in_ns("prod").owned_by_rs("web-7d9f8b6c5d")
    }

    #[test]
    fn deployment_cases() {
        let cases = vec![
            Case {
                name: "healthy deployment",
                objects: [web(3, 3), vec![web_pod("a1b2c").build()]].concat(),
                expect: None,
            },
            Case { name: "scaled to zero", objects: web(0, 0), expect: None },
            Case {
                name: "finished rollout with old replicasets at 0",
                objects: vec![
                    deployment("prod", "web", 2, 2, 4),
                    replicaset("prod", "web", "aaaaa11111", 4, "web:4", 2, 2),
                    replicaset("prod", "web", "bbbbb22222", 3, "web:3", 0, 0),
                ],
                expect: None,
            },
            Case {
                name: "rollout in progress within its deadline",
                objects: vec![
                    {
                        let mut d = deployment("prod", "web", 3, 2, 5);
                        d["status"]["conditions"] = serde_json::json!([
                            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]);
                        d
                    },
                    replicaset("prod", "web", "aaaaa11111", 5, "web:5", 1, 0),
                    replicaset("prod", "web", "bbbbb22222", 4, "web:4", 2, 2),
                    pod("web-aaaaa11111-q1w2e")
                        .in_ns("prod")
                        .owned_by_rs("web-aaaaa11111")
                        .unready()
                        .with(|p| {
                            p["status"]["conditions"][3]["lastTransitionTime"] = serde_json::json!(ago(20));
                        })
                        .build(),
                ],
                expect: None,
            },
            Case {
                name: "stuck rollout names both revisions",
                objects: stuck_rollout(),
                expect: Some((
                    "ProgressDeadlineExceeded",
                    Severity::Error,
                    &[
                        "rollout of revision 7 (",
                        "orders-api:3.1.0) exceeded its progress deadline (600s)",
                        "0 of 3 new pods ready (CrashLoopBackOff)",
                        "revision 6 (",
                        "orders-api:3.0.4) still serves 3 pods",
                    ],
                )),
            },
            Case {
                name: "crash looping pods leave no replica ready",
                objects: [
                    web(2, 0),
                    vec![web_pod("a1b2c").crashlooping(4).build(), web_pod("d3e4f").crashlooping(4).build()],
                ]
                .concat(),
                expect: Some((
                    "DeploymentUnavailable",
                    Severity::Critical,
                    &["0 of 2 replicas ready", "2 unavailable", "pod web-7d9f8b6c5d-a1b2c is CrashLoopBackOff"],
                )),
            },
            Case {
                name: "one of three unready for ten minutes is degraded",
                objects: vec![
                    {
                        let mut d = deployment("prod", "web", 3, 2, 2);
                        d["status"]["conditions"][0] = serde_json::json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"});
                        d
                    },
                    replicaset("prod", "web", "7d9f8b6c5d", 2, "web:2", 3, 2),
                    web_pod("a1b2c").build(),
                    web_pod("d3e4f").build(),
                    web_pod("g5h6j").unready().build(),
                ],
                expect: Some((
                    "DeploymentUnavailable",
                    Severity::Warning,
                    &["2 of 3 replicas ready", "for 10m", "running but not ready"],
                )),
            },
            Case {
                name: "rollout failing before its deadline while the old revision serves",
                objects: vec![
                    {
                        let mut d = deployment("web", "storefront", 2, 2, 12);
                        d["status"]["conditions"][1] =
                            serde_json::json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"});
                        d
                    },
                    replicaset("web", "storefront", "57lp6fj8c5", 12, "storefront:2.7.0", 1, 0),
                    replicaset("web", "storefront", "psz6kkxscx", 11, "storefront:2.6.4", 2, 2),
                    pod("storefront-57lp6fj8c5-pdzlv")
                        .in_ns("web")
                        .owned_by_rs("storefront-57lp6fj8c5")
                        .waiting("CreateContainerConfigError", "configmap \"feature-flags\" not found")
                        .build(),
                    pod("storefront-psz6kkxscx-a1b2c").in_ns("web").owned_by_rs("storefront-psz6kkxscx").build(),
                    pod("storefront-psz6kkxscx-d3e4f").in_ns("web").owned_by_rs("storefront-psz6kkxscx").build(),
                ],
                expect: Some((
                    "RolloutFailing",
                    Severity::Error,
                    &[
                        "rollout of revision 12 (storefront:2.7.0) is failing",
                        "0 of 1 new pods ready (ConfigMapNotFound)",
                        "revision 11 (storefront:2.6.4) still serves 2 pods",
                    ],
                )),
            },
            Case {
                name: "first rollout that never became available carries the pods' reason",
                objects: vec![
                    deployment_past_deadline(deployment("analytics", "ingest", 2, 0, 1), 600),
                    replicaset(
                        "analytics",
                        "ingest",
                        "bhxvql2qzx",
                        1,
                        "987654321098.dkr.ecr.eu-west-1.amazonaws.com/ingest:2.0.0",
                        2,
                        0,
                    ),
                    pod("ingest-bhxvql2qzx-ch5jp")
                        .in_ns("analytics")
                        .owned_by_rs("ingest-bhxvql2qzx")
                        .waiting(
                            "CreateContainerConfigError",
                            "couldn't find key DB_PASSWORD in Secret analytics/db-credentials",
                        )
                        .build(),
                    pod("ingest-bhxvql2qzx-q8w9e")
                        .in_ns("analytics")
                        .owned_by_rs("ingest-bhxvql2qzx")
                        .waiting(
                            "CreateContainerConfigError",
                            "couldn't find key DB_PASSWORD in Secret analytics/db-credentials",
                        )
                        .build(),
                ],
                expect: Some((
                    "SecretKeyMissing",
                    Severity::Critical,
                    &[
                        "has never been available",
                        "first rollout, revision 1 (",
                        "0 of 2 replicas ready",
                        "DB_PASSWORD",
                    ],
                )),
            },
            Case {
                name: "paused deployment is info",
                objects: vec![deployment_paused(deployment("prod", "web", 2, 2, 3))],
                expect: Some(("DeploymentPaused", Severity::Info, &["paused at revision 3", "2 of 2 replicas ready"])),
            },
            Case {
                name: "quota blocks every pod",
                objects: vec![
                    deployment("prod", "web", 2, 0, 1),
                    replicaset_failing(
                        replicaset("prod", "web", "7d9f8b6c5d", 1, "web:1", 2, 0),
                        "pods \"web-7d9f8b6c5d-zz9yy\" is forbidden: exceeded quota: compute-quota, requested: requests.memory=2Gi, used: requests.memory=7Gi, limited: requests.memory=8Gi",
                    ),
                ],
                expect: Some((
                    "QuotaExceeded",
                    Severity::Critical,
                    &[
                        "0 of 2 replicas ready",
                        "ReplicaSet web-7d9f8b6c5d (revision 1) cannot create pods",
                        "ResourceQuota compute-quota is exhausted",
                    ],
                )),
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
    fn stuck_rollout_proposes_rollback_to_the_serving_revision_and_roots_the_crashes() {
        let st = state(stuck_rollout());
        let f = analyze(&st).remove(0);
        let typed: Vec<&Action> = f.actions.iter().filter(|a| a.tool.is_some()).collect();
        assert_eq!(typed.len(), 1, "{f:#?}");
        assert_eq!(typed[0].tool.as_deref(), Some("rollback_deployment"));
        assert_eq!(typed[0].args, Some(json!({"namespace": NS, "deployment": "orders-api", "revision": 6})));
        assert!(
            typed[0].summary.contains("revision 6") && typed[0].summary.contains("orders-api:3.0.4"),
            "{}",
            typed[0].summary
        );
        assert!(f.evidence.iter().any(|e| e.contains("ProgressDeadlineExceeded")), "{f:#?}");
        assert!(f.warnings.iter().any(|w| w.contains("Restarting")), "{f:#?}");
        assert_eq!(f.absorbs.len(), 3, "{f:#?}");

        // Through correlation the rollout is the root and the crashing pods its chain.
        let mut all = crate::analyze::pod::analyze(&st);
        all.extend(analyze(&st));
        let out = correlate(all);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "ProgressDeadlineExceeded");
        assert_eq!(out[0].chain.len(), 3, "{out:#?}");
        assert!(out[0].chain.iter().all(|c| c.reason == "CrashLoopBackOff"), "{out:#?}");
    }

    #[test]
    fn stuck_rollout_without_serving_pods_falls_back_to_the_previous_revision() {
        let objs = vec![
            deployment_past_deadline(deployment("prod", "api", 2, 0, 3), 300),
            replicaset("prod", "api", "ccccc33333", 3, "api:3", 2, 0),
            replicaset("prod", "api", "bbbbb22222", 2, "api:2", 0, 0),
            replicaset("prod", "api", "aaaaa11111", 1, "api:1", 0, 0),
            pod("api-ccccc33333-q1w2e")
                .in_ns("prod")
                .owned_by_rs("api-ccccc33333")
                .waiting("ImagePullBackOff", "Back-off pulling image \"api:3\"")
                .build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        assert_eq!(f.severity, Severity::Critical, "{}", f.message);
        assert!(f.message.contains("the previous revision is 2 (api:2)"), "{}", f.message);
        let rollback = f.actions.iter().find(|a| a.tool.as_deref() == Some("rollback_deployment"));
        assert_eq!(
            rollback.and_then(|a| a.args.clone()),
            Some(json!({"namespace": "prod", "deployment": "api", "revision": 2})),
            "{f:#?}"
        );
    }

    #[test]
    fn refused_replicaset_groups_under_the_deployment() {
        let objs = vec![
            deployment("prod", "web", 2, 0, 1),
            replicaset_failing(
                replicaset("prod", "web", "7d9f8b6c5d", 1, "web:1", 2, 0),
                "pods \"web-7d9f8b6c5d-zz9yy\" is forbidden: error looking up service account prod/web-sa: serviceaccount \"web-sa\" not found",
            ),
        ];
        let st = state(objs);
        let f = analyze(&st).remove(0);
        assert_eq!(f.reason, "ServiceAccountNotFound", "{f:#?}");
        assert_eq!(f.cause, Some(ObjectRef::new("ServiceAccount", "prod", "web-sa")), "{f:#?}");
        let mut all = crate::analyze::replicaset::analyze(&st);
        all.extend(analyze(&st));
        let out = correlate(all);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].kind, "Deployment", "{out:#?}");
        assert_eq!(out[0].chain[0].kind, "ReplicaSet", "{out:#?}");
    }

    #[test]
    fn failing_rollout_proposes_rollback_before_the_deadline() {
        let objs = vec![
            {
                let mut d = deployment("web", "storefront", 2, 2, 12);
                d["status"]["conditions"][1] =
                    serde_json::json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"});
                d
            },
            replicaset("web", "storefront", "57lp6fj8c5", 12, "storefront:2.7.0", 1, 0),
            replicaset("web", "storefront", "psz6kkxscx", 11, "storefront:2.6.4", 2, 2),
            pod("storefront-57lp6fj8c5-pdzlv")
                .in_ns("web")
                .owned_by_rs("storefront-57lp6fj8c5")
                .crashlooping(3)
                .build(),
        ];
        let f = analyze(&state(objs)).remove(0);
        let rollback = f.actions.iter().find(|a| a.tool.as_deref() == Some("rollback_deployment"));
        assert_eq!(
            rollback.and_then(|a| a.args.clone()),
            Some(json!({"namespace": "web", "deployment": "storefront", "revision": 11})),
            "{f:#?}"
        );
        assert_eq!(f.absorbs, vec![ObjectRef::new("Pod", "web", "storefront-57lp6fj8c5-pdzlv")], "{f:#?}");
    }

    #[test]
    fn unavailable_deployment_links_to_its_failing_pod() {
        let objs = [web(2, 0), vec![web_pod("a1b2c").crashlooping(4).build()]].concat();
        let st = state(objs);
        let f = analyze(&st).remove(0);
        assert_eq!(f.cause, Some(ObjectRef::new("Pod", "prod", "web-7d9f8b6c5d-a1b2c")), "{f:#?}");
        assert!(f.warnings.iter().any(|w| w.contains("Scaling up will not help")), "{f:#?}");
        let mut all = crate::analyze::pod::analyze(&st);
        all.extend(analyze(&st));
        let out = correlate(all);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "CrashLoopBackOff", "{out:#?}");
        assert_eq!(out[0].chain[0].reason, "DeploymentUnavailable", "{out:#?}");
    }
}
