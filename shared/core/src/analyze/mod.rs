//! Analyzers: pure functions over a [`ClusterState`] that find what is wrong and say why,
//! and the correlation that groups symptoms under their root cause.
//!
//! Each analyzer lives in its own file and is listed once in [`registry`]. An analyzer emits
//! [`Finding`]s about the object that shows a problem (its `subject`) and, when it knows, the
//! object the problem is due to (its `cause`). [`correlate`] follows those links so a Service
//! without endpoints because its pods are Pending because their PVC is unbound is one finding
//! with a chain, not three.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod hpa;
pub mod ingress;
pub mod job;
pub mod logpatterns;
pub mod netpol;
pub mod node;
pub mod pdb;
pub mod pod;
pub mod pvc;
pub mod quota;
mod render;
pub mod replicaset;
pub mod service;
mod state;
pub mod statefulset;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use render::render_findings;
pub use state::ClusterState;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// Parses `critical`, `error`, `warning` or `info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "critical" => Some(Severity::Critical),
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// A Kubernetes object named by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// A reference.
    pub fn new(kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef { kind: kind.into(), namespace: namespace.into(), name: name.into() }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A recommended action: typed when a write tool applies, text otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The write tool, when one applies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool: Option<String>,
    /// The tool's arguments.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub args: Option<Value>,
    /// What the action does, in one line.
    pub summary: String,
}

impl Action {
    /// A typed action calling a write tool.
    pub fn tool(tool: &str, args: Value, summary: impl Into<String>) -> Action {
        Action { tool: Some(tool.into()), args: Some(args), summary: summary.into() }
    }

    /// A text-only recommendation.
    pub fn text(summary: impl Into<String>) -> Action {
        Action { tool: None, args: None, summary: summary.into() }
    }
}

/// A symptom grouped under a root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainLink {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub reason: String,
    pub message: String,
}

/// One diagnosis: what is wrong with which object, why, on what evidence, and what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub severity: Severity,
    /// A stable reason code (`OOMKilled`, `ImagePullBackOff`, `NoEndpoints`, …).
    pub reason: String,
    /// The root cause in one line with the numbers that matter.
    pub message: String,
    /// Status fields, event lines and log lines the finding rests on.
    pub evidence: Vec<String>,
    /// Recommended actions, typed where a write tool applies.
    pub actions: Vec<Action>,
    /// Actions that look obvious but would be wrong, and why.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// Symptoms explained by this finding, nearest first.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub chain: Vec<ChainLink>,
    /// The object this finding's problem is due to, when known (used by [`correlate`]).
    #[serde(skip)]
    pub cause: Option<ObjectRef>,
    /// Objects whose findings are symptoms of this one (used by [`correlate`]).
    #[serde(skip)]
    pub absorbs: Vec<ObjectRef>,
}

impl Finding {
    /// A finding about `subject` with no evidence or actions yet.
    pub fn new(subject: ObjectRef, severity: Severity, reason: &str, message: impl Into<String>) -> Finding {
        Finding {
            kind: subject.kind,
            namespace: subject.namespace,
            name: subject.name,
            severity,
            reason: reason.into(),
            message: message.into(),
            evidence: Vec::new(),
            actions: Vec::new(),
            warnings: Vec::new(),
            chain: Vec::new(),
            cause: None,
            absorbs: Vec::new(),
        }
    }

    /// The object the finding is about.
    pub fn subject(&self) -> ObjectRef {
        ObjectRef::new(&self.kind, &self.namespace, &self.name)
    }

    /// A stable identity across runs: kind, namespace, name and reason.
    pub fn id(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}\0{}\0{}\0{}", self.kind, self.namespace, self.name, self.reason));
        hex::encode(&digest[..8])
    }

    /// Adds evidence.
    pub fn evidence(mut self, e: impl Into<String>) -> Finding {
        self.evidence.push(e.into());
        self
    }

    /// Adds an action.
    pub fn action(mut self, a: Action) -> Finding {
        self.actions.push(a);
        self
    }

    /// Adds a warning.
    pub fn warn(mut self, w: impl Into<String>) -> Finding {
        self.warnings.push(w.into());
        self
    }

    /// Sets the cause.
    pub fn caused_by(mut self, cause: ObjectRef) -> Finding {
        self.cause = Some(cause);
        self
    }
}

/// An analyzer: a name and a pure function.
pub struct Analyzer {
    pub name: &'static str,
    pub run: fn(&ClusterState) -> Vec<Finding>,
}

/// Every analyzer, in the order they run.
pub fn registry() -> &'static [Analyzer] {
    &[
        Analyzer { name: "pod", run: pod::analyze },
        Analyzer { name: "deployment", run: deployment::analyze },
        Analyzer { name: "replicaset", run: replicaset::analyze },
        Analyzer { name: "statefulset", run: statefulset::analyze },
        Analyzer { name: "daemonset", run: daemonset::analyze },
        Analyzer { name: "job", run: job::analyze },
        Analyzer { name: "cronjob", run: cronjob::analyze },
        Analyzer { name: "service", run: service::analyze },
        Analyzer { name: "ingress", run: ingress::analyze },
        Analyzer { name: "pvc", run: pvc::analyze },
        Analyzer { name: "node", run: node::analyze },
        Analyzer { name: "hpa", run: hpa::analyze },
        Analyzer { name: "pdb", run: pdb::analyze },
        Analyzer { name: "netpol", run: netpol::analyze },
        Analyzer { name: "quota", run: quota::analyze },
        Analyzer { name: "logpatterns", run: logpatterns::analyze },
    ]
}

/// An event as an evidence line, the same shape in every analyzer:
/// `event Warning FailedScheduling (x54) 3m ago: …` (last seen, and every occurrence counted).
pub(crate) fn event_line(e: &k8s_openapi::api::core::v1::Event, now: jiff::Timestamp) -> String {
    let ago = crate::tools::event_last_time(e)
        .map_or_else(|| "?".into(), |t| crate::k8s::human_duration(now.as_second() - t.as_second()));
    let count = crate::tools::event_count(e);
    let times = if count > 1 { format!(" (x{count})") } else { String::new() };
    format!(
        "event {} {}{times} {ago} ago: {}",
        e.type_.as_deref().unwrap_or("Normal"),
        e.reason.as_deref().unwrap_or(""),
        e.message.as_deref().unwrap_or("").trim()
    )
}

/// Runs every analyzer over the state, correlates, and sorts by severity (worst first).
/// With `namespace`, keeps the findings in that namespace and cluster-scoped findings that
/// explain something in it.
pub fn analyze_scoped(state: &ClusterState, namespace: Option<&str>) -> Vec<Finding> {
    let mut out = analyze(state);
    if let Some(ns) = namespace {
        // The namespace's own findings, and root causes elsewhere (a node, kube-system's DNS)
        // that explain something in it.
        out.retain(|f| f.namespace == ns || f.chain.iter().any(|c| c.namespace == ns));
    }
    out
}

/// Runs every analyzer over the state, correlates, and sorts by severity (worst first).
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    let mut findings = Vec::new();
    for a in registry() {
        findings.extend((a.run)(state));
    }
    let mut out = correlate(findings);
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.namespace.cmp(&b.namespace))
            .then(a.kind.cmp(&b.kind))
            .then(a.name.cmp(&b.name))
    });
    out
}

/// Groups findings under their root cause: follows `cause` links (and `absorbs` lists) from
/// each finding to the finding about the object it is due to; a finding nothing else explains
/// is a root and carries the others as its chain. Cycles are broken where they close.
pub fn correlate(mut findings: Vec<Finding>) -> Vec<Finding> {
    // absorbs → cause
    let absorbed: Vec<(ObjectRef, ObjectRef)> =
        findings.iter().flat_map(|f| f.absorbs.iter().map(move |a| (a.clone(), f.subject()))).collect();
    for (symptom, root) in absorbed {
        for f in findings.iter_mut().filter(|f| f.subject() == symptom && f.subject() != root) {
            f.cause = Some(root.clone());
        }
    }
    // The representative finding of each subject: the most severe.
    let mut by_subject: HashMap<ObjectRef, usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        let e = by_subject.entry(f.subject()).or_insert(i);
        if findings[*e].severity < f.severity {
            *e = i;
        }
    }
    let root_of = |start: usize| -> usize {
        let mut cur = start;
        let mut seen = vec![start];
        while let Some(next) = findings[cur].cause.as_ref().and_then(|c| by_subject.get(c)).copied() {
            if let Some(pos) = seen.iter().position(|s| *s == next) {
                // A cycle: its smallest member is the root, whichever member we started from.
                return seen[pos..].iter().copied().min().unwrap_or(next);
            }
            seen.push(next);
            cur = next;
        }
        cur
    };
    let roots: Vec<usize> = (0..findings.len()).map(root_of).collect();
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, r) in roots.iter().enumerate() {
        if i != *r {
            groups.entry(*r).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if roots[i] != i {
            continue;
        }
        let mut root = f.clone();
        for s in groups.get(&i).into_iter().flatten() {
            let s = &findings[*s];
            root.severity = root.severity.max(s.severity);
            root.chain.push(ChainLink {
                kind: s.kind.clone(),
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                reason: s.reason.clone(),
                message: s.message.clone(),
            });
        }
        out.push(root);
    }
    merge_siblings(out)
}

/// Merges findings about pods of one controller with the same reason into one finding on
/// the first pod, naming the others.
fn merge_siblings(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    for f in findings {
        if f.kind == "Pod"
            && let Some(owner) = sibling_group(&f.name)
        {
            let key = (f.namespace.clone(), owner, f.reason.clone());
            if let Some(&i) = index.get(&key) {
                let first = &mut out[i];
                first.severity = first.severity.max(f.severity);
                first.evidence.push(format!("pod {} has the same problem: {}", f.name, f.message));
                first.chain.extend(f.chain);
                continue;
            }
            index.insert(key, out.len());
        }
        out.push(f);
    }
    out
}

/// The controller part of a generated pod name (`web-7d9f8b6c5d-x2k4p` → `web-7d9f8b6c5d`,
/// `db-0` → `db`), or `None` for a bare pod name.
fn sibling_group(pod: &str) -> Option<String> {
    let (head, tail) = pod.rsplit_once('-')?;
    let generated = (tail.len() == 5 && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
        || tail.bytes().all(|b| b.is_ascii_digit());
    generated.then(|| head.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_say_when_a_repeated_event_was_last_seen_and_how_often() {
        let now: jiff::Timestamp = "2025-12-19T10:14:00Z".parse().expect("time");
        let scheduler: k8s_openapi::api::core::v1::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p.1", "namespace": "production"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "FailedScheduling", "type": "Warning", "message": "0/3 nodes are available",
            "eventTime": "2025-12-19T09:21:00.000000Z", "firstTimestamp": null, "lastTimestamp": null,
            "series": {"count": 53, "lastObservedTime": "2025-12-19T10:11:00.000000Z"}
        }))
        .expect("event");
        assert_eq!(event_line(&scheduler, now), "event Warning FailedScheduling (x54) 3m ago: 0/3 nodes are available");
        let kubelet: k8s_openapi::api::core::v1::Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p.2", "namespace": "production"},
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "BackOff", "type": "Warning", "message": "Back-off", "count": 25,
            "firstTimestamp": "2025-12-19T10:00:00Z", "lastTimestamp": "2025-12-19T10:13:53Z"
        }))
        .expect("event");
        assert_eq!(event_line(&kubelet, now), "event Warning BackOff (x25) 7s ago: Back-off");
    }

    #[test]
    fn chain_groups_symptoms_under_the_root() {
        let pvc = Finding::new(
            ObjectRef::new("PersistentVolumeClaim", "db", "data-db-0"),
            Severity::Error,
            "StorageClassNotFound",
            "sc missing",
        );
        let pod = Finding::new(ObjectRef::new("Pod", "db", "db-0"), Severity::Error, "UnboundPVC", "pending")
            .caused_by(pvc.subject());
        let svc =
            Finding::new(ObjectRef::new("Service", "db", "db"), Severity::Critical, "NoReadyEndpoints", "no endpoints")
                .caused_by(pod.subject());
        let out = correlate(vec![svc, pod, pvc]);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "StorageClassNotFound");
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(out[0].chain.len(), 2);
    }

    #[test]
    fn cycles_do_not_loop() {
        let a = Finding::new(ObjectRef::new("Pod", "x", "a"), Severity::Error, "A", "a")
            .caused_by(ObjectRef::new("Pod", "x", "b"));
        let b = Finding::new(ObjectRef::new("Pod", "x", "b"), Severity::Error, "B", "b")
            .caused_by(ObjectRef::new("Pod", "x", "a"));
        let out = correlate(vec![a, b]);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].chain.len(), 1);
    }
}
