//! analyze_pod_issues: the analyzers over a pod, a deployment or a namespace, through the
//! reader, narrowed to the target and its root causes.

use serde::Serialize;

use super::resolve::resolve_pod;
use super::{Args, Render};
use crate::analyze::{ClusterState, Finding, Severity, analyze_scoped, render_findings};
use crate::error::{Error, Result};
use crate::k8s;
use crate::ports::ClusterReader;

/// Logs fetched for at most this many failing containers per diagnosis.
const MAX_LOGS: usize = 40;

/// The result of analyze_pod_issues.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosisResult {
    /// How the pod name asked for was resolved, when it was not the pod's exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    /// What was analyzed (`pod production/web-1`, `namespace production`, `the cluster`).
    pub scope: String,
    /// Root-cause findings, worst first.
    pub findings: Vec<Finding>,
    /// True when nothing above info was found.
    pub healthy: bool,
    /// The target's current state in one line (phase, ready, restarts), when a target was named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_status: Option<String>,
}

pub(super) async fn analyze_pod_issues(reader: &dyn ClusterReader, args: &Args) -> Result<DiagnosisResult> {
    let mut ns = args.namespace.clone();
    let mut pod = args.pod.clone();
    let mut resolved = None;
    if let Some(given) = &args.pod {
        // A workload or partial name becomes its least healthy pod, in whichever namespace.
        let found = resolve_pod(reader, "analyze_pod_issues", ns.as_deref(), given).await?;
        ns = Some(found.namespace);
        pod = Some(found.name);
        resolved = found.note;
    } else if args.name.is_some() && ns.is_none() {
        return Err(Error::InvalidArgs {
            tool: "analyze_pod_issues".into(),
            message: "a deployment needs its namespace".into(),
        });
    }
    let ns = ns.as_deref();
    let state = ClusterState::gather(reader, ns, MAX_LOGS).await?;
    let findings = analyze_scoped(&state, ns);
    let (scope, findings, target_status) = match (&pod, &args.name) {
        (Some(pod), _) => {
            let ns = ns.unwrap_or_default();
            let Some(p) =
                state.pods.iter().find(|p| k8s::name(&p.metadata) == pod && k8s::namespace(&p.metadata) == ns)
            else {
                return Err(Error::NotFound { what: format!("pod {ns}/{pod}") });
            };
            let owner = state.controller_of(&p.metadata);
            // Objects named after the workload (its HPA, Service, PDB) belong to the target too.
            let keep: Vec<Finding> = findings
                .into_iter()
                .filter(|f| {
                    concerns(f, "Pod", ns, pod)
                        || owner
                            .as_ref()
                            .is_some_and(|(k, n)| concerns(f, k, ns, n) || (f.namespace == ns && &f.name == n))
                })
                .collect();
            let status = format!(
                "pod {ns}/{pod}: {} ({} ready), {} restarts",
                k8s::pod_status(p),
                ready_text(p),
                k8s::restarts(p)
            );
            (format!("pod {ns}/{pod}"), keep, Some(status))
        }
        (None, Some(dep)) => {
            let ns = ns.unwrap_or_default();
            let Some(d) =
                state.deployments.iter().find(|d| k8s::name(&d.metadata) == dep && k8s::namespace(&d.metadata) == ns)
            else {
                return Err(Error::NotFound { what: format!("deployment {ns}/{dep}") });
            };
            let pods = state.pods_of("Deployment", ns, dep);
            let pod_names: Vec<&str> = pods.iter().map(|p| k8s::name(&p.metadata)).collect();
            let keep: Vec<Finding> = findings
                .into_iter()
                .filter(|f| {
                    concerns(f, "Deployment", ns, dep)
                        || pod_names.iter().any(|p| concerns(f, "Pod", ns, p))
                        || (f.namespace == ns && &f.name == dep)
                })
                .collect();
            let st = d.status.as_ref();
            let status = format!(
                "deployment {ns}/{dep}: {}/{} ready, {} updated, {} available",
                st.and_then(|s| s.ready_replicas).unwrap_or(0),
                d.spec.replicas.unwrap_or(1),
                st.and_then(|s| s.updated_replicas).unwrap_or(0),
                st.and_then(|s| s.available_replicas).unwrap_or(0)
            );
            (format!("deployment {ns}/{dep}"), keep, Some(status))
        }
        (None, None) => (ns.map_or_else(|| "the cluster".to_string(), |n| format!("namespace {n}")), findings, None),
    };
    let healthy = findings.iter().all(|f| f.severity <= Severity::Info);
    Ok(DiagnosisResult { resolved, scope, findings, healthy, target_status })
}

fn ready_text(p: &k8s_openapi::api::core::v1::Pod) -> String {
    let cs = k8s::container_statuses(p);
    format!(
        "{}/{}",
        cs.iter().filter(|c| c.ready).count(),
        cs.len().max(p.spec.as_ref().map_or(0, |s| s.containers.len()))
    )
}

/// Whether a finding is about the object, or has it in its chain.
fn concerns(f: &Finding, kind: &str, ns: &str, name: &str) -> bool {
    (f.kind == kind && f.namespace == ns && f.name == name)
        || f.chain.iter().any(|c| c.kind == kind && c.namespace == ns && c.name == name)
        || (kind == "Pod" && f.evidence.iter().any(|e| e.starts_with(&format!("pod {name} has the same problem"))))
}

impl Render for DiagnosisResult {
    fn text(&self) -> String {
        let mut out = String::new();
        if let Some(r) = &self.resolved {
            out.push_str(&format!("({r})\n"));
        }
        if let Some(s) = &self.target_status {
            out.push_str(s);
            out.push('\n');
        }
        out.push_str(&render_findings(&self.findings, &self.scope));
        out
    }
}
