//! Service analyzer: Services that route nowhere — a selector that matches no pod (naming the
//! closest labels pods do carry), pods that match but none ready (linked to the first such pod,
//! so the Service groups under that pod's root cause), a workload that should back the Service
//! but created no pods, and target ports that no selected container exposes.
//!
//! A Service without endpoints absorbs the client pods whose logs show their connections to it
//! refused (by cluster IP or DNS name), so a caller's crash loop groups under it.
//!
//! ExternalName Services and Services without a selector (endpoints managed by hand) are
//! skipped. A missing Endpoints object is never a finding on its own: snapshots and
//! namespace-scoped reads often lack it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::event_line;
use super::logpatterns::{hosts, refused};
use super::pod::strip_timestamp;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::agent::redact::redact;
use crate::k8s::{self, labels_string, selector_matches};
use crate::kinds::Kind;

/// Pods younger than this may still be starting; a Service whose pods are all this young is
/// not reported as without ready endpoints.
const STARTING_SECS: i64 = 120;

/// Runs the service analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    if !state.has_read(Kind::Pod) {
        return Vec::new();
    }
    state.services.iter().flat_map(|s| analyze_service(state, s)).collect()
}

/// Pods that can back a Service: not Succeeded or Failed.
fn live(p: &Pod) -> bool {
    !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed"))
}

fn label<'a>(p: &'a Pod, key: &str) -> Option<&'a str> {
    p.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

fn analyze_service(state: &ClusterState, svc: &Service) -> Vec<Finding> {
    let Some(spec) = svc.spec.as_ref() else { return Vec::new() };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { return Vec::new() };
    let ns = k8s::namespace(&svc.metadata);
    let name = k8s::name(&svc.metadata);
    let subject = ObjectRef::new("Service", ns, name);
    let matching: Vec<&Pod> = state.pods_selected(ns, selector).into_iter().filter(|p| live(p)).collect();
    let ctx = Ctx { state, svc, ns, name, selector, sel: labels_string(selector) };
    if matching.is_empty() {
        let in_ns: Vec<&Pod> = state.pods_in(ns).filter(|p| live(p)).collect();
        return ctx.no_pods(subject, &in_ns).into_iter().map(|f| ctx.with_clients(f, &[])).collect();
    }
    let mut out = Vec::new();
    let ready = matching.iter().filter(|p| k8s::is_ready(p)).count();
    if ready == 0 && spec.publish_not_ready_addresses != Some(true) {
        out.extend(ctx.none_ready(subject.clone(), &matching).map(|f| ctx.with_clients(f, &matching)));
    }
    out.extend(
        ctx.port_mismatch(subject, &matching, ready)
            .map(|f| if f.severity == Severity::Critical { ctx.with_clients(f, &matching) } else { f }),
    );
    out
}

struct Ctx<'a> {
    state: &'a ClusterState,
    svc: &'a Service,
    ns: &'a str,
    name: &'a str,
    selector: &'a BTreeMap<String, String>,
    sel: String,
}

/// A workload whose pod template the Service selects.
struct Backer {
    kind: &'static str,
    name: String,
    desired: i32,
    /// Where its pod-creation failures are reported (its active ReplicaSet for a Deployment).
    cause: ObjectRef,
    /// Created so recently that its pods may simply not exist yet.
    young: bool,
}

impl Ctx<'_> {
    fn endpoints_line(&self) -> Option<String> {
        let ep = self
            .state
            .endpoints
            .iter()
            .find(|e| k8s::namespace(&e.metadata) == self.ns && k8s::name(&e.metadata) == self.name)?;
        let (mut ready, mut not_ready) = (0, 0);
        for s in ep.subsets.iter().flatten() {
            ready += s.addresses.as_ref().map_or(0, Vec::len);
            not_ready += s.not_ready_addresses.as_ref().map_or(0, Vec::len);
        }
        Some(format!("Endpoints {}/{}: {ready} ready addresses, {not_ready} not ready", self.ns, self.name))
    }

    fn template_matches(&self, meta: Option<&ObjectMeta>) -> bool {
        selector_matches(self.selector, meta.and_then(|m| m.labels.as_ref()))
    }

    /// Workloads in the namespace whose pod template carries the selected labels.
    fn backers(&self) -> Vec<Backer> {
        let st = self.state;
        let in_ns = |m: &ObjectMeta| k8s::namespace(m) == self.ns;
        let young = |m: &ObjectMeta| {
            m.creation_timestamp.as_ref().is_some_and(|t| k8s::seconds_since(t, st.now) < STARTING_SECS)
        };
        let mut out = Vec::new();
        for d in st.deployments.iter().filter(|d| in_ns(&d.metadata)) {
            let spec = &d.spec;
            if !self.template_matches(spec.template.metadata.as_ref()) {
                continue;
            }
            let dname = k8s::name(&d.metadata).to_string();
            // Its newest ReplicaSet that wants pods carries the FailedCreate events.
            let rs = st
                .replicasets
                .iter()
                .filter(|r| in_ns(&r.metadata))
                .filter(|r| {
                    r.metadata.owner_references.iter().flatten().any(|o| o.kind == "Deployment" && o.name == dname)
                })
                .filter(|r| r.spec.replicas.unwrap_or(1) > 0)
                .max_by_key(|r| crate::tools::revision_of(&r.metadata));
            let cause = match rs {
                Some(r) => ObjectRef::new("ReplicaSet", self.ns, k8s::name(&r.metadata)),
                None => ObjectRef::new("Deployment", self.ns, &dname),
            };
            out.push(Backer {
                kind: "Deployment",
                name: dname,
                desired: spec.replicas.unwrap_or(1),
                cause,
                young: young(&d.metadata),
            });
        }
        for s in st.statefulsets.iter().filter(|s| in_ns(&s.metadata)) {
            let spec = &s.spec;
            if self.template_matches(spec.template.metadata.as_ref()) {
                let n = k8s::name(&s.metadata).to_string();
                out.push(Backer {
                    kind: "StatefulSet",
                    cause: ObjectRef::new("StatefulSet", self.ns, &n),
                    name: n,
                    desired: spec.replicas.unwrap_or(1),
                    young: young(&s.metadata),
                });
            }
        }
        for d in st.daemonsets.iter().filter(|d| in_ns(&d.metadata)) {
            let spec = &d.spec;
            if self.template_matches(spec.template.metadata.as_ref()) {
                let n = k8s::name(&d.metadata).to_string();
                let desired = d.status.as_ref().map_or(1, |s| s.desired_number_scheduled);
                out.push(Backer {
                    kind: "DaemonSet",
                    cause: ObjectRef::new("DaemonSet", self.ns, &n),
                    name: n,
                    desired,
                    young: young(&d.metadata),
                });
            }
        }
        out
    }

    /// Pods (other than its own backends) whose logs show connections to this Service refused —
    /// by its cluster IP or its DNS name — with the first such line.
    fn clients(&self, backends: &[&Pod]) -> Vec<(String, String, String)> {
        let ip =
            self.svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()).filter(|ip| !ip.is_empty() && *ip != "None");
        let qualified = format!("{}.{}", self.name, self.ns);
        let mut out: Vec<(String, String, String)> = Vec::new();
        for (key, text) in &self.state.logs {
            let ns = match &key.namespace {
                Some(ns) => ns.clone(),
                None => match self.state.pods.iter().find(|p| k8s::name(&p.metadata) == key.pod) {
                    Some(p) => k8s::namespace(&p.metadata).to_string(),
                    None => continue,
                },
            };
            if (ns == self.ns && backends.iter().any(|b| k8s::name(&b.metadata) == key.pod))
                || out.iter().any(|(n, p, _)| *n == ns && *p == key.pod)
            {
                continue;
            }
            let hit = text.lines().map(strip_timestamp).find(|line| {
                refused(line)
                    && hosts(line).iter().any(|host| {
                        Some(*host) == ip
                            || *host == qualified
                            || host.starts_with(&format!("{qualified}."))
                            || (ns == self.ns && *host == self.name)
                    })
            });
            if let Some(line) = hit {
                out.push((ns, key.pod.clone(), redact(line.trim()).into_owned()));
            }
        }
        out
    }

    /// Adds the pods that fail to connect to this Service as its symptoms.
    fn with_clients(&self, mut f: Finding, backends: &[&Pod]) -> Finding {
        let clients = self.clients(backends);
        for (ns, pod, line) in clients.iter().take(2) {
            f.evidence.push(format!("pod {ns}/{pod} cannot connect to it: {}", cut(line, 240)));
        }
        if clients.len() > 2 {
            f.evidence.push(format!("{} more pods cannot connect to it", clients.len() - 2));
        }
        f.absorbs.extend(clients.into_iter().map(|(ns, pod, _)| ObjectRef::new("Pod", &ns, &pod)));
        f
    }

    /// No pod matches the selector: a workload that made no pods, one scaled to zero, or a
    /// selector that names labels no pod carries.
    fn no_pods(&self, subject: ObjectRef, in_ns: &[&Pod]) -> Option<Finding> {
        let (ns, name, sel) = (self.ns, self.name, &self.sel);
        let backers = self.backers();
        if backers.iter().any(|b| b.young && b.desired > 0) {
            return None;
        }
        if let Some(b) = backers.iter().find(|b| b.desired > 0) {
            let mut f = Finding::new(
                subject,
                Severity::Critical,
                "NoReadyEndpoints",
                format!("service {ns}/{name} has no endpoints: {} {ns}/{} that it selects ({sel}) wants {} pods but has none", b.kind.to_ascii_lowercase(), b.name, b.desired),
            )
            .evidence(format!("spec.selector {sel}"))
            .evidence(format!("no pod in {ns} carries {sel}"));
            f.evidence.extend(self.endpoints_line());
            let events = self.state.events_for(&b.cause.kind, ns, &b.cause.name);
            f.evidence.extend(
                events
                    .iter()
                    .filter(|e| e.reason.as_deref() == Some("FailedCreate"))
                    .take(1)
                    .map(|e| event_line(e, self.state.now)),
            );
            return Some(
                f.caused_by(b.cause.clone())
                    .action(Action::text(format!("Find why {} {ns}/{} creates no pods (FailedCreate events on {}: quota, admission webhook, service account)", b.kind, b.name, b.cause)))
                    .warn("Changing the Service will not help: its selector is right, the workload has no pods"),
            );
        }
        if let Some(b) = backers.first() {
            return Some(
                Finding::new(
                    subject,
                    Severity::Info,
                    "ServiceBackendScaledToZero",
                    format!(
                        "service {ns}/{name} has no endpoints because {} {ns}/{} that it selects is scaled to 0",
                        b.kind.to_ascii_lowercase(),
                        b.name
                    ),
                )
                .evidence(format!("spec.selector {sel}")),
            );
        }
        if in_ns.is_empty() {
            return Some(
                Finding::new(subject, Severity::Warning, "NoEndpointsNoPods", format!("service {ns}/{name} selects {sel} but namespace {ns} has no running pods and no workload that would create them"))
                    .evidence(format!("spec.selector {sel}"))
                    .action(Action::text(format!("Deploy the workload service {ns}/{name} fronts, or delete the Service if it is no longer used"))),
            );
        }
        let unmatched: Vec<(&String, &String)> =
            self.selector.iter().filter(|(k, v)| !in_ns.iter().any(|p| label(p, k) == Some(v.as_str()))).collect();
        let single = self.selector.len() == 1;
        let mut evidence = vec![format!("spec.selector {sel}")];
        let (why, fix) = if let Some((k, v)) = unmatched.first() {
            let mut values: Vec<&str> =
                in_ns.iter().filter_map(|p| label(p, k)).collect::<BTreeSet<_>>().into_iter().collect();
            values.sort_by_key(|c| (distance(c, v), c.to_string()));
            values.truncate(3);
            let has = if single { "that label".to_string() } else { format!("{k}={v}") };
            match values.first() {
                Some(best) => {
                    let labelled: Vec<String> = values.iter().map(|c| format!("{k}={c}")).collect();
                    for p in in_ns.iter().filter(|p| label(p, k) == Some(best)).take(2) {
                        let labels = p.metadata.labels.as_ref().map(labels_string).unwrap_or_default();
                        evidence.push(format!("pod {} has labels {labels}", k8s::name(&p.metadata)));
                    }
                    (
                        format!("no pod has {has}; pods labelled {} exist", labelled.join(", ")),
                        format!(
                            "Point the selector of service {ns}/{name} at the pods' label ({k}={best}) or label the pod template {k}={v}"
                        ),
                    )
                }
                None => (
                    format!("no pod has {has}; no pod in {ns} has a {k} label at all"),
                    format!("Fix the selector of service {ns}/{name} to match labels its pods carry"),
                ),
            }
        } else {
            // Every label is carried by some pod, but no pod carries them all.
            let best = in_ns
                .iter()
                .max_by_key(|p| self.selector.iter().filter(|(k, v)| label(p, k) == Some(v.as_str())).count());
            let detail = best.map_or_else(String::new, |p| {
                let own: Vec<String> =
                    self.selector.keys().map(|k| format!("{k}={}", label(p, k).unwrap_or("<unset>"))).collect();
                format!("; the closest pod {} has {}", k8s::name(&p.metadata), own.join(","))
            });
            (
                format!("no pod has all of these labels{detail}"),
                format!("Make the selector of service {ns}/{name} and the pod template labels agree"),
            )
        };
        evidence.extend(self.endpoints_line());
        let mut f = Finding::new(
            subject,
            Severity::Critical,
            "NoEndpointsSelectorMismatch",
            format!("service {ns}/{name} selects {sel} but {why}"),
        );
        f.evidence = evidence;
        Some(
            f.action(Action::text(fix)).warn(
                "Restarting or scaling the pods will not help: none of them carries the labels the Service selects",
            ),
        )
    }

    /// Pods match but none is ready.
    fn none_ready(&self, subject: ObjectRef, matching: &[&Pod]) -> Option<Finding> {
        let now = self.state.now;
        let young = |p: &&Pod| {
            p.metadata.creation_timestamp.as_ref().is_some_and(|t| k8s::seconds_since(t, now) < STARTING_SECS)
        };
        if matching.iter().all(young) && matching.iter().all(|p| k8s::restarts(p) == 0) {
            return None;
        }
        let (ns, name, sel) = (self.ns, self.name, &self.sel);
        let first = matching.iter().find(|p| !young(p)).or_else(|| matching.first())?;
        let first_name = k8s::name(&first.metadata);
        let why = if matching.len() == 1 {
            format!("its only pod {first_name} ({sel}) is not ready: {}", k8s::pod_status(first))
        } else {
            format!(
                "none of the {} pods it selects ({sel}) is ready; pod {first_name} is {}",
                matching.len(),
                k8s::pod_status(first)
            )
        };
        let mut f = Finding::new(
            subject,
            Severity::Critical,
            "NoReadyEndpoints",
            format!("service {ns}/{name} has no ready endpoints: {why}"),
        )
        .evidence(format!("spec.selector {sel}"));
        f.evidence.extend(self.endpoints_line());
        for p in matching.iter().take(5) {
            f.evidence.push(format!(
                "pod {}: {}, Ready={}",
                k8s::name(&p.metadata),
                k8s::pod_status(p),
                k8s::condition_status(p, "Ready").unwrap_or("Unknown")
            ));
        }
        Some(
            f.caused_by(ObjectRef::new("Pod", ns, first_name))
                .action(Action::text(format!("Fix pod {ns}/{first_name} (see its finding): the Service serves traffic again as soon as one selected pod is ready")))
                .warn("Changing the Service will not help: its selector matches the pods, they are not ready"),
        )
    }

    /// Service ports whose targetPort no selected pod exposes.
    fn port_mismatch(&self, subject: ObjectRef, matching: &[&Pod], ready: usize) -> Option<Finding> {
        let (ns, name) = (self.ns, self.name);
        let ports = self.svc.spec.as_ref()?.ports.as_ref()?;
        // (name, number) of every container port the selected pods declare.
        let declared: BTreeSet<(Option<String>, i32)> = matching
            .iter()
            .flat_map(|p| p.spec.iter().flat_map(|s| s.containers.iter()))
            .flat_map(|c| c.ports.iter().flatten())
            .map(|cp| (cp.name.clone(), cp.container_port))
            .collect();
        let declared_text = if declared.is_empty() {
            "no ports".to_string()
        } else {
            declared
                .iter()
                .map(|(n, p)| n.as_ref().map_or_else(|| p.to_string(), |n| format!("{n} ({p})")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut problems = Vec::new();
        let mut fixes = Vec::new();
        let mut severity = Severity::Warning;
        for sp in ports {
            let target = sp.target_port.clone().unwrap_or(IntOrString::Int(sp.port));
            match target {
                IntOrString::String(tname) => {
                    if declared.iter().any(|(n, _)| n.as_deref() == Some(tname.as_str())) {
                        continue;
                    }
                    // The endpoints controller leaves out pods that lack the named port.
                    severity = severity.max(if ready > 0 { Severity::Critical } else { Severity::Error });
                    problems.push(format!("port {} targets container port \"{tname}\" but none of its {} pods has a port named {tname} (they declare {declared_text}), so the port has no endpoints", sp.port, matching.len()));
                    fixes.push(format!(
                        "set targetPort of port {} to a port the pods expose or name the container port {tname}",
                        sp.port
                    ));
                }
                IntOrString::Int(n) => {
                    if declared.is_empty() || declared.iter().any(|(_, p)| *p == n) {
                        continue;
                    }
                    // Pods that pass a readiness probe on another port listen there: then the
                    // Service's traffic is refused for certain, while the pods look healthy.
                    let probed = probe_ports(matching);
                    if !probed.is_empty() && !probed.contains(&n) {
                        severity = severity.max(if ready > 0 { Severity::Critical } else { Severity::Error });
                        let on = probed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                        problems.push(format!("port {} sends traffic to port {n}, but its pods declare only {declared_text} and pass their readiness probe on {on}: the app listens there, so connections to {n} are refused", sp.port));
                        fixes.push(format!("set targetPort of port {} to {on}", sp.port));
                        continue;
                    }
                    problems.push(format!("port {} sends traffic to port {n} but its pods declare only {declared_text}; connections are refused unless the app listens on {n}", sp.port));
                    fixes.push(format!("set targetPort of port {} to the port the app listens on", sp.port));
                }
            }
        }
        if problems.is_empty() {
            return None;
        }
        let mut f = Finding::new(
            subject,
            severity,
            "TargetPortMismatch",
            format!("service {ns}/{name} {}", problems.join("; ")),
        );
        for sp in ports {
            let target = match &sp.target_port {
                Some(IntOrString::String(s)) => s.clone(),
                Some(IntOrString::Int(n)) => n.to_string(),
                None => sp.port.to_string(),
            };
            f.evidence.push(format!(
                "spec.ports: {} {} → targetPort {target}",
                sp.name.as_deref().unwrap_or("-"),
                sp.port
            ));
        }
        f.evidence.push(format!("container ports of the selected pods: {declared_text}"));
        f.evidence.extend(self.endpoints_line());
        let fix = fixes.join("; ");
        Some(
            f.action(Action::text(format!("In service {ns}/{name}: {fix}")))
                .warn("Restarting the pods will not help: the Service sends traffic to a port they do not expose"),
        )
    }
}

/// The ports (as numbers) the pods' readiness probes reach, named ports resolved through the
/// container's ports.
fn probe_ports(pods: &[&Pod]) -> BTreeSet<i32> {
    let mut out = BTreeSet::new();
    for c in pods.iter().flat_map(|p| p.spec.iter().flat_map(|s| s.containers.iter())) {
        let Some(probe) = c.readiness_probe.as_ref() else { continue };
        let port = probe.http_get.as_ref().map(|h| &h.port).or_else(|| probe.tcp_socket.as_ref().map(|t| &t.port));
        let number = match port {
            Some(IntOrString::Int(n)) => Some(*n),
            Some(IntOrString::String(name)) => {
                c.ports.iter().flatten().find(|p| p.name.as_deref() == Some(name.as_str())).map(|p| p.container_port)
            }
            None => None,
        };
        out.extend(number);
    }
    out
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() > max { format!("{}…", s.chars().take(max).collect::<String>()) } else { s.to_string() }
}

/// Edit distance between two names or label values (to suggest the closest one).
pub(super) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    /// (reason, severity, texts the message must carry, cause kind and name).
    type Expect = (&'static str, Severity, &'static [&'static str], Option<(&'static str, &'static str)>);

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        /// None = no finding.
        expect: Option<Expect>,
    }

    fn orders_pod(name: &str) -> PodBuilder {
        pod(name).in_ns("production").labels(&[("app", "orders-api")]).container_port("http", 8080)
    }

    #[test]
    fn service_cases() {
        let cases = vec![
            Case {
                name: "healthy service",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").build(),
                    endpoints("production", "orders", &[("orders-api-7d9f8b6c5d-x2k4p", true)]),
                ],
                expect: None,
            },
            Case {
                name: "healthy service without an Endpoints object",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").build(),
                ],
                expect: None,
            },
            Case {
                name: "external name service",
                objects: vec![{
                    let mut s = service("production", "db", "x");
                    s["spec"] = serde_json::json!({"type": "ExternalName", "externalName": "db.example.com", "selector": {"app": "x"}});
                    s
                }],
                expect: None,
            },
            Case {
                name: "selector-less service",
                objects: vec![{
                    let mut s = service("production", "legacy", "x");
                    s["spec"].as_object_mut().map(|o| o.remove("selector"));
                    s
                }],
                expect: None,
            },
            Case {
                name: "selector mismatch names the closest label",
                objects: vec![
                    service("production", "orders", "orders-api-v2"),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").build(),
                    pod("billing-5c4f7d8b9-abcde").in_ns("production").labels(&[("app", "billing")]).build(),
                ],
                expect: Some((
                    "NoEndpointsSelectorMismatch",
                    Severity::Critical,
                    &[
                        "service production/orders selects app=orders-api-v2 but no pod has that label; pods labelled app=orders-api, app=billing exist",
                    ],
                    None,
                )),
            },
            Case {
                name: "pods match but none ready",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").crashlooping(6).build(),
                    orders_pod("orders-api-7d9f8b6c5d-b7n2q").crashlooping(6).build(),
                    endpoints(
                        "production",
                        "orders",
                        &[("orders-api-7d9f8b6c5d-x2k4p", false), ("orders-api-7d9f8b6c5d-b7n2q", false)],
                    ),
                ],
                expect: Some((
                    "NoReadyEndpoints",
                    Severity::Critical,
                    &["none of the 2 pods", "orders-api-7d9f8b6c5d-x2k4p is CrashLoopBackOff"],
                    Some(("Pod", "orders-api-7d9f8b6c5d-x2k4p")),
                )),
            },
            Case {
                name: "one of two pods ready is fine",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").crashlooping(6).build(),
                    orders_pod("orders-api-7d9f8b6c5d-b7n2q").build(),
                ],
                expect: None,
            },
            Case {
                name: "freshly started pods are not an outage",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p")
                        .unready()
                        .with(|p| p["metadata"]["creationTimestamp"] = serde_json::json!(ago(30)))
                        .build(),
                ],
                expect: None,
            },
            Case {
                name: "deployment creates no pods",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    deployment("production", "orders-api", 3, 0, 2),
                    replicaset(
                        "production",
                        "orders-api",
                        "7d9f8b6c5d",
                        2,
                        "registry.example.com/orders-api:1.0.0",
                        3,
                        0,
                    ),
                    event(
                        "production",
                        "ReplicaSet",
                        "orders-api-7d9f8b6c5d",
                        "Warning",
                        "FailedCreate",
                        "Error creating: pods \"orders-api-7d9f8b6c5d-x\" is forbidden: exceeded quota: compute, requested: requests.memory=512Mi, used: requests.memory=8Gi, limited: requests.memory=8Gi",
                        9,
                        20,
                    ),
                ],
                expect: Some((
                    "NoReadyEndpoints",
                    Severity::Critical,
                    &["deployment production/orders-api", "wants 3 pods but has none"],
                    Some(("ReplicaSet", "orders-api-7d9f8b6c5d")),
                )),
            },
            Case {
                name: "deployment scaled to zero",
                objects: vec![
                    service("production", "orders", "orders-api"),
                    deployment("production", "orders-api", 0, 0, 2),
                ],
                expect: Some(("ServiceBackendScaledToZero", Severity::Info, &["scaled to 0"], None)),
            },
            Case {
                name: "named target port missing",
                objects: vec![
                    service_target_port(service("production", "orders", "orders-api"), serde_json::json!("http-api")),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").build(),
                ],
                expect: Some((
                    "TargetPortMismatch",
                    Severity::Critical,
                    &["\"http-api\"", "http (8080)", "no endpoints"],
                    None,
                )),
            },
            Case {
                name: "numeric target port not declared",
                objects: vec![
                    service_target_port(service("production", "orders", "orders-api"), serde_json::json!(8081)),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p").build(),
                ],
                expect: Some(("TargetPortMismatch", Severity::Warning, &["port 8081", "http (8080)"], None)),
            },
            Case {
                name: "numeric target port other than the one the pods are probed ready on",
                objects: vec![
                    service_target_port(service("production", "orders", "orders-api"), serde_json::json!(8081)),
                    endpoints("production", "orders", &[("orders-api-7d9f8b6c5d-x2k4p", true)]),
                    orders_pod("orders-api-7d9f8b6c5d-x2k4p")
                        .with(|p| {
                            p["spec"]["containers"][0]["readinessProbe"] =
                                serde_json::json!({"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5});
                        })
                        .build(),
                ],
                expect: Some((
                    "TargetPortMismatch",
                    Severity::Critical,
                    &["port 8081", "readiness probe on 8080", "refused"],
                    None,
                )),
            },
            Case {
                name: "numeric target port with no declared ports is fine",
                objects: vec![
                    service_target_port(service("production", "orders", "orders-api"), serde_json::json!(8081)),
                    pod("orders-api-7d9f8b6c5d-x2k4p").in_ns("production").labels(&[("app", "orders-api")]).build(),
                ],
                expect: None,
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
            match case.expect {
                None => assert!(findings.is_empty(), "{}: expected nothing, got {findings:#?}", case.name),
                Some((reason, sev, texts, cause)) => {
                    assert_eq!(findings.len(), 1, "{}: {findings:#?}", case.name);
                    let f = &findings[0];
                    assert_eq!(f.reason, reason, "{}: {}", case.name, f.message);
                    assert_eq!(f.severity, sev, "{}: {}", case.name, f.message);
                    for t in texts {
                        assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                    }
                    let got = f.cause.as_ref().map(|c| (c.kind.as_str(), c.name.as_str()));
                    assert_eq!(got, cause, "{}: cause", case.name);
                }
            }
        }
    }

    #[test]
    fn service_without_ready_pods_groups_under_the_pod_root_cause() {
        let objs = vec![
            service("production", "orders", "orders-api"),
            orders_pod("orders-api-7d9f8b6c5d-x2k4p").memory_limit("512Mi").crashlooping(5).oom_killed().build(),
        ];
        let out = crate::analyze::analyze(&state(objs));
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "OOMKilled");
        assert_eq!(out[0].chain.first().map(|c| c.reason.as_str()), Some("NoReadyEndpoints"), "{out:#?}");
    }

    #[test]
    fn callers_refused_by_a_service_without_endpoints_group_under_it() {
        let objs = vec![
            service("production", "orders", "orders-api-v2"),
            orders_pod("orders-api-7d9f8b6c5d-x2k4p").build(),
            pod("checkout-6c8d7f9b5-b2n8k")
                .in_ns("production")
                .owned_by_rs("checkout-6c8d7f9b5")
                .crashlooping(3)
                .build(),
        ];
        let mut st = state(objs);
        st.logs.insert(
            crate::snapshot::LogKey { namespace: Some("production".into()), pod: "checkout-6c8d7f9b5-b2n8k".into(), container: "app".into(), previous: true },
            "ERROR Failed to create order: I/O error on POST request for \"http://orders.production.svc.cluster.local/orders\": Connection refused\n".into(),
        );
        let findings = analyze(&st);
        assert!(
            findings[0].evidence.iter().any(|e| e.contains("checkout-6c8d7f9b5-b2n8k cannot connect")),
            "{findings:#?}"
        );
        let out = crate::analyze::analyze(&st);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].reason, "NoEndpointsSelectorMismatch", "{out:#?}");
        assert!(
            out[0].chain.iter().any(|c| c.name == "checkout-6c8d7f9b5-b2n8k" && c.reason == "CrashLoopBackOff"),
            "{out:#?}"
        );
    }

    #[test]
    fn closest_label_value_comes_first() {
        assert!(distance("orders-api", "orders-api-v2") < distance("billing", "orders-api-v2"));
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
