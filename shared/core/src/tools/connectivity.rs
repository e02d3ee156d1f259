//! connectivity_test: follows the path from an optional source (a pod, or a namespace) to a
//! Service — the Service exists → its selector matches pods → its Endpoints have ready
//! addresses → the pods are Ready → the service port maps to a targetPort that is a container
//! port → the NetworkPolicies selecting the pods admit the source on that port → the source's
//! own egress policies let it out, to the pods and to kube-dns on port 53 → the cluster DNS
//! has ready endpoints and the logs show no DNS errors — and reports each hop as ok, broken or
//! unknown with its evidence, naming the first broken link in one line.
//!
//! Fetching is [`connectivity_test`] (the namespaces involved, kube-dns, the logs of the
//! source and of CoreDNS); the analysis ([`connectivity`]) is a pure function over a
//! [`ClusterState`]. Whether the cluster enforces NetworkPolicies (the VPC CNI's network policy
//! agent, Calico) is not visible here: the policy hops say what the policies do where enforced.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::{Args, Render};
use crate::agent::redact::redact;
use crate::analyze::ClusterState;
use crate::error::{Error, Result};
use crate::k8s;
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// Log lines read per container for DNS evidence.
const LOG_TAIL: i64 = 300;
/// DNS evidence lines kept per hop.
const MAX_DNS_LINES: usize = 4;

/// What connectivity_test checks: a Service (and port), from an optional source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectivityTarget {
    pub namespace: String,
    pub service: String,
    /// A port of the Service; every port when `None`.
    pub port: Option<i32>,
    /// The source's namespace; the Service's when only `source_pod` is given.
    pub source_namespace: Option<String>,
    pub source_pod: Option<String>,
}

/// The state of one hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HopStatus {
    Ok,
    Broken,
    Unknown,
}

impl HopStatus {
    fn as_str(self) -> &'static str {
        match self {
            HopStatus::Ok => "ok",
            HopStatus::Broken => "BROKEN",
            HopStatus::Unknown => "unknown",
        }
    }
}

/// One hop of the path.
#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    /// A stable id: `service`, `selector`, `endpoints`, `readiness`, `ports`, `ingress_policy`,
    /// `egress_policy`, `dns_egress`, `dns_service`, `dns_logs`.
    pub step: &'static str,
    pub status: HopStatus,
    /// What was found, in one line.
    pub detail: String,
    /// The fields, events and log lines it rests on.
    pub evidence: Vec<String>,
}

/// The result of connectivity_test.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectivityResult {
    /// `pod checkout/web-1`, `namespace checkout`, or `any client` when none was given.
    pub source: String,
    /// `service payments/payments-api port 80`.
    pub target: String,
    /// The path, in order.
    pub hops: Vec<Hop>,
    /// The step id of the first broken hop.
    pub first_broken: Option<String>,
    /// The first broken link (or that none is broken) in one line.
    pub verdict: String,
    /// What was not checked, and why.
    pub notes: Vec<String>,
}

pub(super) async fn connectivity_test(reader: &dyn ClusterReader, args: &Args) -> Result<ConnectivityResult> {
    let invalid = |message: &str| Error::InvalidArgs { tool: "connectivity_test".into(), message: message.into() };
    let target = ConnectivityTarget {
        namespace: args.namespace.clone().ok_or_else(|| invalid("the service's namespace is required"))?,
        service: args.service.clone().ok_or_else(|| invalid("the service is required"))?,
        port: args.port.map(|p| i32::try_from(p).unwrap_or(i32::MAX)),
        source_namespace: args.source_namespace.clone(),
        source_pod: args.source_pod.clone(),
    };
    let ns = target.namespace.as_str();
    let in_ns = |n: &str| Scope::namespace(Some(n));
    let mut wanted = vec![
        (Kind::Namespace, Scope::all()),
        (Kind::Service, in_ns(ns)),
        (Kind::Endpoints, in_ns(ns)),
        (Kind::Pod, in_ns(ns)),
        (Kind::NetworkPolicy, in_ns(ns)),
        (Kind::Event, Scope { field_selector: Some("reason=Unhealthy".into()), ..in_ns(ns) }),
    ];
    let src_ns = source_namespace(&target);
    if let Some(src) = src_ns.as_deref().filter(|s| *s != ns) {
        if let Some(pod) = &target.source_pod {
            wanted.push((Kind::Pod, Scope { field_selector: Some(format!("metadata.name={pod}")), ..in_ns(src) }));
        }
        wanted.push((Kind::NetworkPolicy, in_ns(src)));
    }
    let mut state = ClusterState::gather_kinds(reader, &wanted).await?;
    // The cluster DNS: read apart, so that a kube-system this identity may not read leaves
    // the DNS hops unknown instead of failing the whole test.
    let by_name = Scope { field_selector: Some("metadata.name=kube-dns".into()), ..in_ns("kube-system") };
    let dns = ClusterState::gather_kinds(
        reader,
        &[
            (Kind::Service, by_name.clone()),
            (Kind::Endpoints, by_name),
            (Kind::Pod, Scope { label_selector: Some("k8s-app=kube-dns".into()), ..in_ns("kube-system") }),
        ],
    )
    .await;
    if let Ok(dns) = dns {
        merge(&mut state, dns);
    }
    let mut logs = Vec::new();
    let source_pod = src_ns.as_deref().zip(target.source_pod.as_deref());
    for p in &state.pods {
        let (pns, name) = (k8s::namespace(&p.metadata), k8s::name(&p.metadata));
        let is_source = source_pod == Some((pns, name));
        if !is_source && !is_dns_pod(p) {
            continue;
        }
        for cs in k8s::container_statuses(p) {
            logs.push((pns.to_string(), name.to_string(), cs.name.clone(), false));
            if is_source && cs.restart_count > 0 {
                logs.push((pns.to_string(), name.to_string(), cs.name.clone(), true));
            }
        }
    }
    state.read_logs(reader, logs, LOG_TAIL).await;
    connectivity(&state, &target)
}

fn merge(state: &mut ClusterState, other: ClusterState) {
    fn add<T>(into: &mut Vec<T>, from: Vec<T>, meta: impl Fn(&T) -> (String, String)) {
        for o in from {
            let key = meta(&o);
            if !into.iter().any(|x| meta(x) == key) {
                into.push(o);
            }
        }
    }
    let key = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        (k8s::namespace(m).to_string(), k8s::name(m).to_string())
    };
    add(&mut state.services, other.services, |o| key(&o.metadata));
    add(&mut state.endpoints, other.endpoints, |o| key(&o.metadata));
    add(&mut state.pods, other.pods, |o| key(&o.metadata));
}

fn source_namespace(t: &ConnectivityTarget) -> Option<String> {
    t.source_namespace.clone().or_else(|| t.source_pod.as_ref().map(|_| t.namespace.clone()))
}

fn is_dns_pod(p: &Pod) -> bool {
    k8s::namespace(&p.metadata) == "kube-system"
        && p.metadata.labels.as_ref().and_then(|l| l.get("k8s-app")).is_some_and(|v| v == "kube-dns")
}

/// One side of a connection: a pod (labels known) or a whole namespace (labels unknown).
#[derive(Debug, Clone)]
struct Party {
    ns: String,
    ns_labels: BTreeMap<String, String>,
    /// `None` when only the namespace is known.
    labels: Option<BTreeMap<String, String>>,
    ip: Option<String>,
    what: String,
    /// Stands for any client at all (no source given): every peer "may" match.
    any: bool,
}

impl Party {
    fn of_pod(state: &ClusterState, p: &Pod) -> Party {
        let ns = k8s::namespace(&p.metadata).to_string();
        Party {
            ns_labels: ns_labels(state, &ns),
            labels: Some(p.metadata.labels.clone().unwrap_or_default()),
            ip: p.status.as_ref().and_then(|s| s.pod_ip.clone()),
            what: format!("pod {ns}/{}", k8s::name(&p.metadata)),
            ns,
            any: false,
        }
    }
}

fn ns_labels(state: &ClusterState, ns: &str) -> BTreeMap<String, String> {
    let mut labels = state
        .namespaces
        .iter()
        .find(|n| k8s::name(&n.metadata) == ns)
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    labels.entry("kubernetes.io/metadata.name".into()).or_insert_with(|| ns.to_string());
    labels
}

/// Yes, no, or cannot tell from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
            _ => Tri::No,
        }
    }

    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Maybe, _) | (_, Tri::Maybe) => Tri::Maybe,
            _ => Tri::Yes,
        }
    }
}

/// Whether labels satisfy a label selector; the empty selector matches everything.
fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
        && sel.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(&e.key),
                "DoesNotExist" => !labels.contains_key(&e.key),
                _ => false,
            }
        })
}

fn is_empty_selector(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty) && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

fn selector_text(sel: &LabelSelector) -> String {
    let mut parts: Vec<String> = sel.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    parts.extend(sel.match_expressions.iter().flatten().map(|e| match e.values.as_deref() {
        Some(v) if !v.is_empty() => format!("{} {} ({})", e.key, e.operator, v.join(",")),
        _ => format!("{} {}", e.key, e.operator),
    }));
    if parts.is_empty() { "{}".into() } else { parts.join(",") }
}

/// Whether `ip` is in `cidr` (IPv4 or IPv6); `None` when either does not parse.
fn in_cidr(ip: &str, cidr: &str) -> Option<bool> {
    let ip: IpAddr = ip.parse().ok()?;
    let (net, bits) = cidr.split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            Some(u32::from(a) & mask == u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            Some(u128::from(a) & mask == u128::from(n) & mask)
        }
        _ => Some(false),
    }
}

/// (Ingress, Egress) policy types, with the API's defaults when `policyTypes` is unset.
fn types(spec: &NetworkPolicySpec) -> (bool, bool) {
    match spec.policy_types.as_deref() {
        Some(t) if !t.is_empty() => (t.iter().any(|t| t == "Ingress"), t.iter().any(|t| t == "Egress")),
        _ => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
    }
}

/// Whether a policy peer can be `party`; a peer without a namespace selector means the
/// policy's own namespace.
fn peer_matches(peer: &NetworkPolicyPeer, policy_ns: &str, party: &Party) -> Tri {
    if party.any {
        return Tri::Maybe;
    }
    if let Some(block) = &peer.ip_block {
        let Some(ip) = party.ip.as_deref() else { return Tri::Maybe };
        let inside = in_cidr(ip, &block.cidr).unwrap_or(false);
        let excepted = block.except.iter().flatten().any(|e| in_cidr(ip, e).unwrap_or(false));
        return if inside && !excepted { Tri::Yes } else { Tri::No };
    }
    let ns_ok = match &peer.namespace_selector {
        Some(sel) => selector_matches(sel, &party.ns_labels),
        None => party.ns == policy_ns,
    };
    if !ns_ok {
        return Tri::No;
    }
    match (&peer.pod_selector, &party.labels) {
        (None, _) => Tri::Yes,
        (Some(sel), _) if is_empty_selector(sel) => Tri::Yes,
        (Some(sel), Some(labels)) => {
            if selector_matches(sel, labels) {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        (Some(_), None) => Tri::Maybe,
    }
}

fn peer_text(peer: &NetworkPolicyPeer) -> String {
    if let Some(b) = &peer.ip_block {
        let except = b.except.as_ref().filter(|e| !e.is_empty()).map(|e| format!(" except {}", e.join(",")));
        return format!("ipBlock {}{}", b.cidr, except.unwrap_or_default());
    }
    match (&peer.namespace_selector, &peer.pod_selector) {
        (Some(n), Some(p)) => format!("namespaces {} pods {}", selector_text(n), selector_text(p)),
        (Some(n), None) => format!("namespaces {}", selector_text(n)),
        (None, Some(p)) => format!("pods {} (same namespace)", selector_text(p)),
        (None, None) => "anywhere".into(),
    }
}

/// A port as a NetworkPolicy sees it: the pod's port number and name, and the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PodPort {
    number: i32,
    name: Option<String>,
    protocol: String,
}

fn port_matches(ports: Option<&Vec<NetworkPolicyPort>>, port: &PodPort) -> bool {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else { return true };
    ports.iter().any(|p| {
        p.protocol.as_deref().unwrap_or("TCP") == port.protocol
            && match &p.port {
                None => true,
                Some(IntOrString::Int(n)) => {
                    *n == port.number || p.end_port.is_some_and(|e| *n <= port.number && port.number <= e)
                }
                Some(IntOrString::String(s)) => port.name.as_deref() == Some(s.as_str()),
            }
    })
}

fn ports_text(ports: Option<&Vec<NetworkPolicyPort>>) -> String {
    match ports.filter(|p| !p.is_empty()) {
        None => "every port".into(),
        Some(ports) => ports
            .iter()
            .map(|p| {
                let proto = p.protocol.as_deref().unwrap_or("TCP");
                match (&p.port, p.end_port) {
                    (None, _) => format!("{proto} any"),
                    (Some(IntOrString::Int(n)), Some(e)) => format!("{proto} {n}-{e}"),
                    (Some(IntOrString::Int(n)), None) => format!("{proto} {n}"),
                    (Some(IntOrString::String(s)), _) => format!("{proto} {s}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// One ingress or egress rule: its peers (`from` or `to`) and ports.
type Rule<'a> = (Option<&'a Vec<NetworkPolicyPeer>>, Option<&'a Vec<NetworkPolicyPort>>);

/// Which of the policies' rules (ingress or egress) let `peer` through to or from `port`.
/// Policies are additive: any rule of any selecting policy is enough.
fn rules_admit(policies: &[&NetworkPolicy], ingress: bool, peer: &Party, port: &PodPort) -> (Tri, Vec<String>) {
    let mut verdict = Tri::No;
    let mut lines = Vec::new();
    for p in policies {
        let name = k8s::name(&p.metadata);
        let policy_ns = k8s::namespace(&p.metadata);
        let Some(spec) = p.spec.as_ref() else { continue };
        let rules: Vec<Rule<'_>> = if ingress {
            spec.ingress.iter().flatten().map(|r| (r.from.as_ref(), r.ports.as_ref())).collect()
        } else {
            spec.egress.iter().flatten().map(|r| (r.to.as_ref(), r.ports.as_ref())).collect()
        };
        if rules.is_empty() {
            lines.push(format!(
                "policy {policy_ns}/{name}: no {} rules (denies all)",
                if ingress { "ingress" } else { "egress" }
            ));
        }
        for (peers, ports) in rules {
            let peers_text = match peers.filter(|p| !p.is_empty()) {
                None => "anywhere".to_string(),
                Some(ps) => ps.iter().map(peer_text).collect::<Vec<_>>().join("; "),
            };
            lines.push(format!(
                "policy {policy_ns}/{name}: {} {peers_text} on {}",
                if ingress { "from" } else { "to" },
                ports_text(ports)
            ));
            let port_ok = if port_matches(ports, port) { Tri::Yes } else { Tri::No };
            let peer_ok = match peers.filter(|p| !p.is_empty()) {
                None => Tri::Yes,
                Some(ps) => ps.iter().fold(Tri::No, |acc, x| acc.or(peer_matches(x, policy_ns, peer))),
            };
            verdict = verdict.or(port_ok.and(peer_ok));
        }
    }
    (verdict, lines)
}

/// Egress policies of the source's namespace that (surely, maybe) select it.
fn egress_policies<'a>(state: &'a ClusterState, source: &Party) -> (Vec<&'a NetworkPolicy>, Vec<&'a NetworkPolicy>) {
    let mut sure = Vec::new();
    let mut maybe = Vec::new();
    for p in state.network_policies.iter().filter(|p| k8s::namespace(&p.metadata) == source.ns) {
        let Some(spec) = p.spec.as_ref() else { continue };
        if !types(spec).1 {
            continue;
        }
        let sel = spec.pod_selector.clone().unwrap_or_default();
        match &source.labels {
            Some(labels) if selector_matches(&sel, labels) => sure.push(p),
            Some(_) => {}
            None if is_empty_selector(&sel) => sure.push(p),
            None => maybe.push(p),
        }
    }
    (sure, maybe)
}

/// Whether the source's egress policies let it reach `dest` on `port`.
fn egress_verdict(state: &ClusterState, source: &Party, dest: &Party, port: &PodPort) -> (Tri, Vec<String>, usize) {
    let (sure, maybe) = egress_policies(state, source);
    if sure.is_empty() && maybe.is_empty() {
        return (Tri::Yes, Vec::new(), 0);
    }
    let (by_sure, mut lines) = rules_admit(&sure, false, dest, port);
    let (by_maybe, more) = rules_admit(&maybe, false, dest, port);
    lines.extend(more);
    let verdict = match (sure.is_empty(), by_sure, by_maybe) {
        (false, Tri::Yes, _) => Tri::Yes,
        (false, sure_v, Tri::No) => sure_v,
        (false, _, _) => Tri::Maybe,
        (true, _, Tri::Yes) => Tri::Yes,
        (true, _, _) => Tri::Maybe,
    };
    (verdict, lines, sure.len() + maybe.len())
}

fn hop(step: &'static str, status: HopStatus, detail: impl Into<String>) -> Hop {
    Hop { step, status, detail: detail.into(), evidence: Vec::new() }
}

fn service_ports_text(svc: &Service) -> String {
    svc.spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| {
            let target = match &p.target_port {
                Some(IntOrString::Int(n)) => n.to_string(),
                Some(IntOrString::String(s)) => format!("{s:?}"),
                None => p.port.to_string(),
            };
            format!(
                "{}{}/{}→{target}",
                p.name.as_deref().map(|n| format!("{n} ")).unwrap_or_default(),
                p.port,
                p.protocol.as_deref().unwrap_or("TCP")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a pod is not Ready, in a few words.
fn unready_reason(state: &ClusterState, p: &Pod) -> String {
    let ns = k8s::namespace(&p.metadata);
    let name = k8s::name(&p.metadata);
    let status = k8s::pod_status(p);
    let probe = state
        .events_for("Pod", ns, name)
        .into_iter()
        .find(|e| e.reason.as_deref() == Some("Unhealthy"))
        .and_then(|e| e.message.clone());
    match probe {
        Some(m) => format!("pod {name}: {status}, not ready ({})", m.trim()),
        None => format!("pod {name}: {status}, not ready"),
    }
}

/// The analysis: pure over the state.
///
/// # Errors
/// [`Error::NotFound`] when the source pod or namespace does not exist.
pub fn connectivity(state: &ClusterState, t: &ConnectivityTarget) -> Result<ConnectivityResult> {
    let ns = t.namespace.as_str();
    let src_ns = source_namespace(t);
    let source: Option<Party> = match (&src_ns, &t.source_pod) {
        (Some(sns), Some(pod)) => {
            let p = state
                .pods
                .iter()
                .find(|p| k8s::namespace(&p.metadata) == sns && k8s::name(&p.metadata) == pod)
                .ok_or_else(|| Error::NotFound { what: format!("source pod {sns}/{pod}") })?;
            Some(Party::of_pod(state, p))
        }
        (Some(sns), None) => {
            if state.has_read(Kind::Namespace)
                && !state.namespaces.is_empty()
                && !state.namespaces.iter().any(|n| k8s::name(&n.metadata) == sns)
            {
                return Err(Error::NotFound { what: format!("source namespace {sns}") });
            }
            Some(Party {
                ns: sns.clone(),
                ns_labels: ns_labels(state, sns),
                labels: None,
                ip: None,
                what: format!("namespace {sns}"),
                any: false,
            })
        }
        _ => None,
    };
    let mut hops = Vec::new();
    let mut notes = Vec::new();
    let target_text = format!("service {ns}/{}{}", t.service, t.port.map(|p| format!(" port {p}")).unwrap_or_default());
    let svc = state.services.iter().find(|s| k8s::namespace(&s.metadata) == ns && k8s::name(&s.metadata) == t.service);

    // 1. The Service.
    let in_cluster = match svc {
        None if !state.has_read(Kind::Service) => {
            hops.push(hop("service", HopStatus::Unknown, format!("services in {ns} could not be read")));
            false
        }
        None => {
            let mut h = hop("service", HopStatus::Broken, format!("service {ns}/{} does not exist", t.service));
            let names: Vec<&str> = state
                .services
                .iter()
                .filter(|s| k8s::namespace(&s.metadata) == ns)
                .map(|s| k8s::name(&s.metadata))
                .collect();
            let close: Vec<&&str> =
                names.iter().filter(|n| n.contains(t.service.as_str()) || t.service.contains(**n)).collect();
            if !close.is_empty() {
                h.detail.push_str(&format!(
                    "; did you mean {}?",
                    close.iter().map(|n| format!("{ns}/{n}")).collect::<Vec<_>>().join(" or ")
                ));
            }
            h.evidence.push(if names.is_empty() {
                format!("no Service in namespace {ns}")
            } else {
                format!("services in {ns}: {}", names.iter().take(15).copied().collect::<Vec<_>>().join(", "))
            });
            hops.push(h);
            false
        }
        Some(s) => {
            let spec = s.spec.as_ref();
            let ty = spec.and_then(|s| s.type_.as_deref()).unwrap_or("ClusterIP");
            if ty == "ExternalName" {
                let host = spec.and_then(|s| s.external_name.as_deref()).unwrap_or("?");
                hops.push(hop(
                    "service",
                    HopStatus::Ok,
                    format!("service {ns}/{} is an ExternalName for {host}: DNS answers with that name, so no endpoints, pods or policies of this cluster are on the path", t.service),
                ));
                notes.push(format!("the path beyond the Service is outside the cluster ({host})"));
                false
            } else {
                let ip = spec.and_then(|s| s.cluster_ip.as_deref()).unwrap_or("none");
                let mut h = hop(
                    "service",
                    HopStatus::Ok,
                    format!("service {ns}/{} exists: {ty} {ip}, ports {}", t.service, service_ports_text(s)),
                );
                if ip == "None" {
                    h.evidence.push("headless: DNS returns the pod IPs directly".into());
                }
                hops.push(h);
                true
            }
        }
    };

    if let (true, Some(svc)) = (in_cluster, svc) {
        in_cluster_hops(state, t, svc, source.as_ref(), &mut hops);
    } else if svc.is_none() {
        for step in ["selector", "endpoints", "readiness", "ports", "ingress_policy"] {
            hops.push(hop(step, HopStatus::Unknown, "not checked: there is no Service"));
        }
    }
    match &source {
        Some(src) => dns_egress_hop(state, src, &mut hops),
        None => notes.push(
            "no source given: ingress policies were judged for any client, and no client's egress policies were checked; pass source_pod or source_namespace".into(),
        ),
    }
    dns_service_hop(state, &mut hops);
    dns_logs_hop(state, t, source.as_ref(), &mut hops);

    let first = hops.iter().find(|h| h.status == HopStatus::Broken);
    let first_broken = first.map(|h| h.step.to_string());
    let source_text = source.as_ref().map_or_else(|| "any client".to_string(), |s| s.what.clone());
    let verdict = match first {
        Some(h) => format!("first broken link: {} — {}", h.step, h.detail),
        None => {
            let unknown: Vec<&str> = hops.iter().filter(|h| h.status == HopStatus::Unknown).map(|h| h.step).collect();
            if unknown.is_empty() {
                format!("no broken link: every hop from {source_text} to {target_text} checks out")
            } else {
                format!(
                    "no broken link found from {source_text} to {target_text}; could not tell: {}",
                    unknown.join(", ")
                )
            }
        }
    };
    Ok(ConnectivityResult { source: source_text, target: target_text, hops, first_broken, verdict, notes })
}

fn in_cluster_hops(
    state: &ClusterState,
    t: &ConnectivityTarget,
    svc: &Service,
    source: Option<&Party>,
    hops: &mut Vec<Hop>,
) {
    let ns = t.namespace.as_str();
    let spec = svc.spec.as_ref();
    let selector = spec.and_then(|s| s.selector.clone()).unwrap_or_default();
    let ns_pods: Vec<&Pod> = state
        .pods
        .iter()
        .filter(|p| k8s::namespace(&p.metadata) == ns)
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded") | Some("Failed")))
        .collect();
    let ep = state.endpoints.iter().find(|e| k8s::namespace(&e.metadata) == ns && k8s::name(&e.metadata) == t.service);
    let addresses = |ready: bool| -> Vec<(String, Option<String>)> {
        ep.iter()
            .flat_map(|e| e.subsets.iter().flatten())
            .flat_map(|s| if ready { s.addresses.iter().flatten() } else { s.not_ready_addresses.iter().flatten() })
            .map(|a| (a.ip.clone(), a.target_ref.as_ref().and_then(|r| r.name.clone())))
            .collect()
    };
    let (ready_addrs, unready_addrs) = (addresses(true), addresses(false));

    // 2. The selector.
    let pods: Vec<&Pod> = if selector.is_empty() {
        let named: Vec<String> = ready_addrs.iter().chain(&unready_addrs).filter_map(|(_, n)| n.clone()).collect();
        hops.push(hop(
            "selector",
            HopStatus::Unknown,
            format!(
                "service {ns}/{} has no selector: its endpoints are kept by hand or by another controller",
                t.service
            ),
        ));
        ns_pods.iter().copied().filter(|p| named.iter().any(|n| n == k8s::name(&p.metadata))).collect()
    } else {
        let matched: Vec<&Pod> =
            ns_pods.iter().copied().filter(|p| k8s::selector_matches(&selector, p.metadata.labels.as_ref())).collect();
        let sel = k8s::labels_string(&selector);
        if matched.is_empty() {
            let mut h = hop("selector", HopStatus::Broken, format!("selector {sel} matches no pod in {ns}"));
            for key in selector.keys() {
                let mut values: BTreeMap<String, usize> = BTreeMap::new();
                for p in &ns_pods {
                    if let Some(v) = p.metadata.labels.as_ref().and_then(|l| l.get(key)) {
                        *values.entry(v.clone()).or_default() += 1;
                    }
                }
                if !values.is_empty() {
                    h.evidence.push(format!(
                        "pods in {ns} have {}",
                        values.iter().map(|(v, n)| format!("{key}={v} ({n})")).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            hops.push(h);
        } else {
            let names: Vec<&str> = matched.iter().map(|p| k8s::name(&p.metadata)).collect();
            hops.push(hop(
                "selector",
                HopStatus::Ok,
                format!(
                    "selector {sel} matches {} pod{}: {}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.iter().take(5).copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        matched
    };

    // 3. Endpoints.
    let ep_ports: Vec<String> = ep
        .iter()
        .flat_map(|e| e.subsets.iter().flatten())
        .flat_map(|s| s.ports.iter().flatten())
        .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
        .collect();
    match ep {
        None if !state.has_read(Kind::Endpoints) => {
            hops.push(hop("endpoints", HopStatus::Unknown, "endpoints could not be read"))
        }
        None => hops.push(hop(
            "endpoints",
            HopStatus::Broken,
            format!("service {ns}/{} has no Endpoints object", t.service),
        )),
        Some(_) if ready_addrs.is_empty() => {
            let mut h = hop(
                "endpoints",
                HopStatus::Broken,
                format!(
                    "endpoints {ns}/{} have no ready address ({} not ready): the Service has nowhere to send traffic",
                    t.service,
                    unready_addrs.len()
                ),
            );
            for (ip, name) in unready_addrs.iter().take(5) {
                h.evidence.push(format!("notReadyAddresses: {ip} ({})", name.as_deref().unwrap_or("?")));
            }
            hops.push(h);
        }
        Some(_) => {
            let mut h = hop(
                "endpoints",
                HopStatus::Ok,
                format!(
                    "endpoints {ns}/{}: {} ready address{}{}",
                    t.service,
                    ready_addrs.len(),
                    if ready_addrs.len() == 1 { "" } else { "es" },
                    if unready_addrs.is_empty() {
                        String::new()
                    } else {
                        format!(", {} not ready", unready_addrs.len())
                    }
                ),
            );
            h.evidence.push(format!(
                "addresses: {}",
                ready_addrs
                    .iter()
                    .take(5)
                    .map(|(ip, n)| format!("{ip} ({})", n.as_deref().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if !ep_ports.is_empty() {
                h.evidence.push(format!("endpoint ports: {}", ep_ports.join(", ")));
            }
            hops.push(h);
        }
    }

    // 4. Readiness.
    let ready: Vec<&Pod> = pods.iter().copied().filter(|p| k8s::is_ready(p)).collect();
    if pods.is_empty() {
        hops.push(hop("readiness", HopStatus::Unknown, "no pod to check"));
    } else if ready.is_empty() {
        let mut h = hop("readiness", HopStatus::Broken, format!("none of the {} pods is Ready", pods.len()));
        h.evidence.extend(pods.iter().take(5).map(|p| unready_reason(state, p)));
        hops.push(h);
    } else {
        let mut h = hop("readiness", HopStatus::Ok, format!("{} of {} pods Ready", ready.len(), pods.len()));
        h.evidence.extend(pods.iter().filter(|p| !k8s::is_ready(p)).take(5).map(|p| unready_reason(state, p)));
        hops.push(h);
    }

    // 5. Ports: service port → targetPort → container port.
    let all_ports: Vec<&ServicePort> = spec.and_then(|s| s.ports.as_ref()).into_iter().flatten().collect();
    let checked: Vec<&ServicePort> = match t.port {
        Some(p) => all_ports.iter().copied().filter(|sp| sp.port == p).collect(),
        None => all_ports.clone(),
    };
    let judged: Vec<&Pod> = if ready.is_empty() { pods.clone() } else { ready.clone() };
    let mut resolved: Vec<(&Pod, PodPort)> = Vec::new();
    if checked.is_empty() {
        hops.push(hop(
            "ports",
            HopStatus::Broken,
            match t.port {
                Some(p) => {
                    format!("service {ns}/{} has no port {p}; its ports: {}", t.service, service_ports_text(svc))
                }
                None => format!("service {ns}/{} declares no ports", t.service),
            },
        ));
    } else if judged.is_empty() {
        hops.push(hop("ports", HopStatus::Unknown, "no pod to resolve the targetPort against"));
    } else {
        let mut status = HopStatus::Ok;
        let mut lines = Vec::new();
        let mut evidence = Vec::new();
        for sp in &checked {
            let proto = sp.protocol.clone().unwrap_or_else(|| "TCP".into());
            let target = sp.target_port.clone().unwrap_or(IntOrString::Int(sp.port));
            let mut missing = Vec::new();
            let mut undeclared = 0;
            for p in &judged {
                let declared: Vec<(i32, Option<String>, String)> = p
                    .spec
                    .iter()
                    .flat_map(|s| s.containers.iter())
                    .flat_map(|c| c.ports.iter().flatten().map(move |cp| (c, cp)))
                    .map(|(c, cp)| (cp.container_port, cp.name.clone(), format!("{} {}", c.name, cp.container_port)))
                    .collect();
                let hit = match &target {
                    IntOrString::Int(n) => {
                        declared.iter().find(|(num, _, _)| num == n).map(|(num, name, _)| (*num, name.clone()))
                    }
                    IntOrString::String(s) => declared
                        .iter()
                        .find(|(_, name, _)| name.as_deref() == Some(s.as_str()))
                        .map(|(num, name, _)| (*num, name.clone())),
                };
                match (hit, &target) {
                    (Some((number, name)), _) => {
                        resolved.push((p, PodPort { number, name, protocol: proto.clone() }));
                    }
                    (None, IntOrString::Int(n)) if declared.is_empty() => {
                        undeclared += 1;
                        resolved.push((p, PodPort { number: *n, name: None, protocol: proto.clone() }));
                    }
                    (None, _) => missing.push(format!(
                        "pod {}: {}",
                        k8s::name(&p.metadata),
                        if declared.is_empty() {
                            "declares no container ports".to_string()
                        } else {
                            format!(
                                "container ports {}",
                                declared
                                    .iter()
                                    .map(|(n, name, _)| match name {
                                        Some(name) => format!("{name}={n}"),
                                        None => n.to_string(),
                                    })
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    )),
                }
            }
            let target_text = match &target {
                IntOrString::Int(n) => n.to_string(),
                IntOrString::String(s) => format!("{s:?}"),
            };
            let port_name = sp.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            if !missing.is_empty() {
                status = HopStatus::Broken;
                lines.push(format!(
                    "port {}{port_name} → targetPort {target_text}, which is not a container port of {} of {} pods",
                    sp.port,
                    missing.len(),
                    judged.len()
                ));
                evidence.extend(missing.into_iter().take(3));
            } else if undeclared == judged.len() {
                if status == HopStatus::Ok {
                    status = HopStatus::Unknown;
                }
                lines.push(format!(
                    "port {}{port_name} → targetPort {target_text}; the containers declare no ports, so whether anything listens there is not visible",
                    sp.port
                ));
            } else {
                let example = resolved.iter().rev().find(|(_, pp)| pp.protocol == proto).map(|(_, pp)| pp.number);
                lines.push(format!(
                    "port {}{port_name} → targetPort {target_text} → container port {}/{proto}",
                    sp.port,
                    example.map_or_else(|| "?".into(), |n| n.to_string())
                ));
            }
        }
        if !ep_ports.is_empty() {
            evidence.push(format!("endpoint ports: {}", ep_ports.join(", ")));
        }
        hops.push(Hop { step: "ports", status, detail: lines.join("; "), evidence });
    }

    // 6. Ingress policies of the target pods.
    ingress_hop(state, ns, &resolved, &judged, source, hops);
    // 7. The source's egress to the pods.
    if let Some(src) = source {
        egress_hop(state, src, &resolved, hops);
    }
}

fn ingress_hop(
    state: &ClusterState,
    ns: &str,
    resolved: &[(&Pod, PodPort)],
    judged: &[&Pod],
    source: Option<&Party>,
    hops: &mut Vec<Hop>,
) {
    if !state.has_read(Kind::NetworkPolicy) {
        hops.push(hop("ingress_policy", HopStatus::Unknown, "network policies could not be read"));
        return;
    }
    let selecting = |p: &Pod| -> Vec<&NetworkPolicy> {
        let labels = p.metadata.labels.clone().unwrap_or_default();
        state
            .network_policies
            .iter()
            .filter(|np| k8s::namespace(&np.metadata) == ns)
            .filter(|np| {
                np.spec.as_ref().is_some_and(|s| {
                    types(s).0 && selector_matches(&s.pod_selector.clone().unwrap_or_default(), &labels)
                })
            })
            .collect()
    };
    let any_selected = judged.iter().any(|p| !selecting(p).is_empty());
    if !any_selected {
        hops.push(hop(
            "ingress_policy",
            HopStatus::Ok,
            format!("no NetworkPolicy in {ns} restricts ingress to the pods: traffic from anywhere is allowed"),
        ));
        return;
    }
    if resolved.is_empty() {
        hops.push(hop(
            "ingress_policy",
            HopStatus::Unknown,
            "policies select the pods, but the target port is unknown",
        ));
        return;
    }
    let anyone = Party {
        ns: String::new(),
        ns_labels: BTreeMap::new(),
        labels: None,
        ip: None,
        what: "any client".into(),
        any: true,
    };
    let peer = source.unwrap_or(&anyone);
    let mut verdict: Option<Tri> = None;
    let mut lines: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (pod, port) in resolved {
        let policies = selecting(pod);
        if policies.is_empty() {
            verdict = Some(verdict.map_or(Tri::Yes, |v| v.or(Tri::Yes)));
            continue;
        }
        let (v, l) = rules_admit(&policies, true, peer, port);
        for line in l {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        for p in policies {
            let n = format!("{}/{}", k8s::namespace(&p.metadata), k8s::name(&p.metadata));
            if !names.contains(&n) {
                names.push(n);
            }
        }
        verdict = Some(match verdict {
            None => v,
            // Reachable when some pod is; blocked only when every pod is.
            Some(prev) => prev.or(v),
        });
    }
    let port = resolved.first().map(|(_, p)| format!("{}/{}", p.number, p.protocol)).unwrap_or_default();
    let policies = names.join(", ");
    let mut h = match verdict.unwrap_or(Tri::Maybe) {
        Tri::Yes => hop(
            "ingress_policy",
            HopStatus::Ok,
            format!("NetworkPolicy {policies} admits {} on port {port}", peer.what),
        ),
        Tri::No if source.is_none() => hop(
            "ingress_policy",
            HopStatus::Broken,
            format!(
                "NetworkPolicy {policies} selects the pods and no ingress rule allows port {port}: traffic to it is dropped from everywhere"
            ),
        ),
        Tri::No => hop(
            "ingress_policy",
            HopStatus::Broken,
            format!(
                "NetworkPolicy {policies} selects the pods and admits no traffic from {} on port {port}",
                peer.what
            ),
        ),
        Tri::Maybe if source.is_none() => hop(
            "ingress_policy",
            HopStatus::Unknown,
            format!(
                "NetworkPolicy {policies} admits only some clients on port {port}; pass source_pod or source_namespace to check one"
            ),
        ),
        Tri::Maybe => hop(
            "ingress_policy",
            HopStatus::Unknown,
            format!(
                "NetworkPolicy {policies} admits some pods of {} on port {port}, depending on their labels",
                peer.what
            ),
        ),
    };
    if h.status == HopStatus::Broken {
        // Policies written to let clients in that do not select the service's pods (a typo in
        // their podSelector is a common cause).
        let pod_labels: Vec<BTreeMap<String, String>> =
            judged.iter().map(|p| p.metadata.labels.clone().unwrap_or_default()).collect();
        for np in state.network_policies.iter().filter(|np| k8s::namespace(&np.metadata) == ns) {
            let Some(s) = np.spec.as_ref() else { continue };
            let sel = s.pod_selector.clone().unwrap_or_default();
            if s.ingress.as_ref().is_none_or(Vec::is_empty) || pod_labels.iter().any(|l| selector_matches(&sel, l)) {
                continue;
            }
            h.evidence.push(format!(
                "policy {ns}/{} has ingress rules but its podSelector {} selects none of the service's pods",
                k8s::name(&np.metadata),
                selector_text(&sel)
            ));
        }
    }
    if let Some(src) = source {
        h.evidence.push(format!(
            "source {}: namespace labels {}{}",
            src.what,
            k8s::labels_string(&src.ns_labels),
            src.labels.as_ref().map(|l| format!("; pod labels {}", k8s::labels_string(l))).unwrap_or_default()
        ));
    }
    h.evidence.extend(lines.into_iter().take(8));
    hops.push(h);
}

fn egress_hop(state: &ClusterState, src: &Party, resolved: &[(&Pod, PodPort)], hops: &mut Vec<Hop>) {
    if !state.has_read(Kind::NetworkPolicy) {
        hops.push(hop("egress_policy", HopStatus::Unknown, "network policies could not be read"));
        return;
    }
    let Some((pod, port)) = resolved.first() else {
        hops.push(hop("egress_policy", HopStatus::Unknown, "the target port is unknown"));
        return;
    };
    let mut verdict = Tri::No;
    let mut lines = Vec::new();
    let mut count = 0;
    for (p, port) in resolved {
        let dest = Party::of_pod(state, p);
        let (v, l, n) = egress_verdict(state, src, &dest, port);
        verdict = verdict.or(v);
        count = n;
        for line in l {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    let dest_text = format!("the pods of the service ({} and others)", k8s::name(&pod.metadata));
    let port = format!("{}/{}", port.number, port.protocol);
    let mut h = match (count, verdict) {
        (0, _) => {
            hop("egress_policy", HopStatus::Ok, format!("no egress NetworkPolicy in {} restricts {}", src.ns, src.what))
        }
        (_, Tri::Yes) => hop(
            "egress_policy",
            HopStatus::Ok,
            format!("the egress policies of {} allow {dest_text} on port {port}", src.what),
        ),
        (_, Tri::No) => hop(
            "egress_policy",
            HopStatus::Broken,
            format!("the egress policies of {} allow no traffic to {dest_text} on port {port}", src.what),
        ),
        (_, Tri::Maybe) => hop(
            "egress_policy",
            HopStatus::Unknown,
            format!("egress policies in {} may restrict {}: it depends on pod labels", src.ns, src.what),
        ),
    };
    h.evidence.extend(lines.into_iter().take(8));
    hops.push(h);
}

fn dns_egress_hop(state: &ClusterState, src: &Party, hops: &mut Vec<Hop>) {
    if !state.has_read(Kind::NetworkPolicy) {
        hops.push(hop("dns_egress", HopStatus::Unknown, "network policies could not be read"));
        return;
    }
    let dns = state.pods.iter().find(|p| is_dns_pod(p)).map(|p| Party::of_pod(state, p)).unwrap_or_else(|| Party {
        ns: "kube-system".into(),
        ns_labels: ns_labels(state, "kube-system"),
        labels: Some(BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())])),
        ip: None,
        what: "kube-dns".into(),
        any: false,
    });
    let udp = PodPort { number: 53, name: Some("dns".into()), protocol: "UDP".into() };
    let tcp = PodPort { number: 53, name: Some("dns-tcp".into()), protocol: "TCP".into() };
    let (u, lines, count) = egress_verdict(state, src, &dns, &udp);
    let (tc, _, _) = egress_verdict(state, src, &dns, &tcp);
    let mut h = match (count, u, tc) {
        (0, _, _) => hop(
            "dns_egress",
            HopStatus::Ok,
            format!("no egress NetworkPolicy restricts {}: DNS to kube-dns is allowed", src.what),
        ),
        (_, Tri::Yes, _) => hop(
            "dns_egress",
            HopStatus::Ok,
            format!("the egress policies of {} allow DNS (UDP 53) to kube-dns", src.what),
        ),
        (_, Tri::No, Tri::Yes) => hop(
            "dns_egress",
            HopStatus::Broken,
            format!(
                "the egress policies of {} allow DNS to kube-dns over TCP 53 only; resolvers ask over UDP first, so lookups of the service name time out",
                src.what
            ),
        ),
        (_, Tri::No, _) => hop(
            "dns_egress",
            HopStatus::Broken,
            format!(
                "the egress policies of {} allow no DNS (port 53) to kube-dns: looking up the service name times out",
                src.what
            ),
        ),
        (_, Tri::Maybe, _) => hop(
            "dns_egress",
            HopStatus::Unknown,
            format!("egress policies in {} may block DNS for {}: it depends on pod labels", src.ns, src.what),
        ),
    };
    h.evidence.extend(lines.into_iter().take(6));
    hops.push(h);
}

fn dns_service_hop(state: &ClusterState, hops: &mut Vec<Hop>) {
    let svc = state
        .services
        .iter()
        .find(|s| k8s::namespace(&s.metadata) == "kube-system" && k8s::name(&s.metadata) == "kube-dns");
    let Some(svc) = svc else {
        hops.push(hop(
            "dns_service",
            HopStatus::Unknown,
            "no kube-system/kube-dns Service was found (not readable, or the cluster's DNS is set up differently)",
        ));
        return;
    };
    let ip = svc.spec.as_ref().and_then(|s| s.cluster_ip.clone()).unwrap_or_default();
    let ep = state
        .endpoints
        .iter()
        .find(|e| k8s::namespace(&e.metadata) == "kube-system" && k8s::name(&e.metadata) == "kube-dns");
    let ready = ep
        .iter()
        .flat_map(|e| e.subsets.iter().flatten())
        .flat_map(|s| s.addresses.iter().flatten())
        .map(|a| a.ip.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let dns_pods: Vec<&Pod> = state.pods.iter().filter(|p| is_dns_pod(p)).collect();
    let pods_ready = dns_pods.iter().filter(|p| k8s::is_ready(p)).count();
    let pods_text = format!("{pods_ready} of {} CoreDNS pods Ready", dns_pods.len());
    let mut h = if ep.is_none() {
        hop("dns_service", HopStatus::Unknown, format!("kube-dns ({ip}) endpoints could not be read; {pods_text}"))
    } else if ready == 0 {
        hop(
            "dns_service",
            HopStatus::Broken,
            format!("kube-dns ({ip}) has no ready endpoint ({pods_text}): every DNS lookup in the cluster fails"),
        )
    } else {
        hop(
            "dns_service",
            HopStatus::Ok,
            format!("kube-dns ({ip}) has {ready} ready endpoint{}; {pods_text}", if ready == 1 { "" } else { "s" }),
        )
    };
    h.evidence.extend(dns_pods.iter().filter(|p| !k8s::is_ready(p)).take(3).map(|p| unready_reason(state, p)));
    hops.push(h);
}

/// Whether a log line reports a failed DNS lookup; `Some(true)` when the name does not exist,
/// `Some(false)` when DNS did not answer.
fn dns_failure(line: &str) -> Option<bool> {
    let l = line.to_ascii_lowercase();
    let nxdomain = [
        "no such host",
        "name or service not known",
        "enotfound",
        "unknownhostexception",
        "nxdomain",
        "nodename nor servname",
    ];
    if nxdomain.iter().any(|p| l.contains(p)) {
        return Some(true);
    }
    let unanswered = [
        "temporary failure in name resolution",
        "eai_again",
        "server misbehaving",
        "could not resolve host",
        "servfail",
    ];
    let port53 = l.match_indices(":53").any(|(i, _)| !l[i + 3..].starts_with(|c: char| c.is_ascii_digit()));
    if unanswered.iter().any(|p| l.contains(p))
        || (port53 && (l.contains("i/o timeout") || l.contains("timed out") || l.contains("connection refused")))
    {
        return Some(false);
    }
    None
}

/// CoreDNS's own errors: failing upstreams, a broken Corefile, plugin errors.
fn coredns_error(line: &str) -> bool {
    line.contains("[ERROR]")
        || line.contains("[FATAL]")
        || line.contains("no healthy upstream")
        || line.contains("plugin/errors")
}

/// The host a DNS failure line names, after `lookup `.
fn looked_up(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let i = ["lookup ", "enotfound ", "could not resolve host: ", "unknownhostexception: "]
        .iter()
        .find_map(|m| lower.find(m).map(|i| i + m.len()))?;
    let host: String =
        line[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    let host = host.trim_end_matches('.').to_string();
    (!host.is_empty()).then_some(host)
}

fn dns_logs_hop(state: &ClusterState, t: &ConnectivityTarget, source: Option<&Party>, hops: &mut Vec<Hop>) {
    let mut read = Vec::new();
    let mut source_lines: Vec<(String, Option<bool>, Option<String>)> = Vec::new();
    let mut dns_lines: Vec<String> = Vec::new();
    let source_pod = source.and_then(|s| t.source_pod.as_deref().map(|p| (s.ns.as_str(), p)));
    for p in &state.pods {
        let (ns, name) = (k8s::namespace(&p.metadata), k8s::name(&p.metadata));
        let is_source = source_pod == Some((ns, name));
        let is_dns = is_dns_pod(p);
        if !is_source && !is_dns {
            continue;
        }
        for c in p.spec.iter().flat_map(|s| s.containers.iter()) {
            for previous in [false, true] {
                let Some(log) = state.log(ns, name, &c.name, previous) else { continue };
                read.push(format!("{name}/{}{}", c.name, if previous { " (previous)" } else { "" }));
                for line in log.lines() {
                    let line = crate::analyze::pod::strip_timestamp(line).trim();
                    if is_source {
                        if let Some(nx) = dns_failure(line) {
                            source_lines.push((
                                format!("log of {name}/{}: {}", c.name, redact(line)),
                                Some(nx),
                                looked_up(line),
                            ));
                        }
                    } else if coredns_error(line) || dns_failure(line) == Some(false) {
                        dns_lines.push(format!("log of {name}/{}: {}", c.name, redact(line)));
                    }
                }
            }
        }
    }
    if read.is_empty() {
        hops.push(hop(
            "dns_logs",
            HopStatus::Unknown,
            if source_pod.is_some() {
                "no log of the source or of CoreDNS could be read"
            } else {
                "no source pod given and no CoreDNS log could be read"
            },
        ));
        return;
    }
    let svc = t.service.as_str();
    let ns = t.namespace.as_str();
    // A cluster-local name that is not the service: the client looks up the wrong name.
    let wrong_name = source_lines.iter().find_map(|(_, nx, host)| {
        let host = host.as_deref()?;
        let first = host.split('.').next().unwrap_or_default();
        (*nx == Some(true) && first != svc && (host.contains(".svc") || host.split('.').nth(1) == Some(ns)))
            .then(|| host.to_string())
    });
    let about_service = source_lines.iter().any(|(_, nx, host)| {
        *nx == Some(true) && host.as_deref().is_some_and(|h| h == svc || h.starts_with(&format!("{svc}.")))
    });
    let timeouts = source_lines.iter().filter(|(_, nx, _)| *nx == Some(false)).count();
    let evidence: Vec<String> = source_lines
        .iter()
        .map(|(l, _, _)| l.clone())
        .take(MAX_DNS_LINES)
        .chain(dns_lines.iter().take(MAX_DNS_LINES).cloned())
        .collect();
    let mut h = if let Some(host) = wrong_name {
        hop(
            "dns_logs",
            HopStatus::Broken,
            format!("the client looks up {host}, which does not resolve: the service is {svc}.{ns}.svc.cluster.local"),
        )
    } else if about_service {
        hop("dns_logs", HopStatus::Broken, format!("the client's lookups of {svc} fail with NXDOMAIN (no such host)"))
    } else if timeouts > 0 {
        hop(
            "dns_logs",
            HopStatus::Broken,
            format!(
                "the client's DNS lookups time out or fail ({timeouts} line{} in its logs)",
                if timeouts == 1 { "" } else { "s" }
            ),
        )
    } else if !dns_lines.is_empty() {
        hop(
            "dns_logs",
            HopStatus::Broken,
            format!("CoreDNS logs {} error line{}", dns_lines.len(), if dns_lines.len() == 1 { "" } else { "s" }),
        )
    } else {
        let other = source_lines.len();
        hop(
            "dns_logs",
            HopStatus::Ok,
            if other > 0 {
                format!("no DNS error about the service in the logs read ({other} failed lookups of other names)")
            } else {
                format!("no DNS error in the logs read ({})", read.join(", "))
            },
        )
    };
    h.evidence = evidence;
    hops.push(h);
}

impl Render for ConnectivityResult {
    fn text(&self) -> String {
        let mut out = format!("Connectivity from {} to {}\n{}\n\n", self.source, self.target, self.verdict);
        for (i, h) in self.hops.iter().enumerate() {
            out.push_str(&format!("{:>2}. {:<7} {:<14} {}\n", i + 1, h.status.as_str(), h.step, h.detail));
            for e in &h.evidence {
                out.push_str(&format!("      - {e}\n"));
            }
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::fixtures::*;
    use crate::snapshot::LogKey;

    fn kube_dns(ready: bool) -> Vec<Value> {
        let mut svc = service("kube-system", "kube-dns", "kube-dns");
        svc["spec"]["selector"] = json!({"k8s-app": "kube-dns"});
        svc["spec"]["clusterIP"] = json!("172.20.0.10");
        svc["spec"]["ports"] = json!([{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]);
        let mut dns_pod = pod("coredns-5d8c6b9f7d-abcde").in_ns("kube-system").labels(&[("k8s-app", "kube-dns")]);
        if !ready {
            dns_pod = dns_pod.crashlooping(4);
        }
        vec![svc, endpoints("kube-system", "kube-dns", &[("coredns-5d8c6b9f7d-abcde", ready)]), dns_pod.build()]
    }

    /// payments/payments-api (port 80 → "http" = 8080, 2 ready pods), a client in checkout.
    fn cluster() -> Vec<Value> {
        let api =
            |n: &str| pod(n).in_ns("payments").labels(&[("app", "payments-api")]).container_port("http", 8080).build();
        let mut objects = vec![
            namespace("payments"),
            namespace("checkout"),
            namespace("kube-system"),
            service_target_port(service("payments", "payments-api", "payments-api"), json!("http")),
            endpoints("payments", "payments-api", &[("payments-api-1", true), ("payments-api-2", true)]),
            api("payments-api-1"),
            api("payments-api-2"),
            pod("checkout-api-1").in_ns("checkout").labels(&[("app", "checkout-api")]).build(),
        ];
        objects[1]["metadata"]["labels"] = json!({"team": "shop"});
        objects.extend(kube_dns(true));
        objects
    }

    fn from_checkout(port: Option<i32>) -> ConnectivityTarget {
        ConnectivityTarget {
            namespace: "payments".into(),
            service: "payments-api".into(),
            port,
            source_namespace: Some("checkout".into()),
            source_pod: Some("checkout-api-1".into()),
        }
    }

    fn allow_from(ns_labels: Value, port: Value) -> Value {
        network_policy(
            "payments",
            "payments-api-ingress",
            json!({"matchLabels": {"app": "payments-api"}}),
            &["Ingress"],
            json!([{"from": [{"namespaceSelector": {"matchLabels": ns_labels}}], "ports": [{"protocol": "TCP", "port": port}]}]),
            json!([]),
        )
    }

    fn with_log(mut st: ClusterState, pod: &str, ns: &str, text: &str) -> ClusterState {
        st.logs.insert(
            LogKey { namespace: Some(ns.into()), pod: pod.into(), container: "app".into(), previous: false },
            text.into(),
        );
        st
    }

    struct Case {
        name: &'static str,
        objects: Vec<Value>,
        target: ConnectivityTarget,
        logs: Vec<(&'static str, &'static str, &'static str)>,
        /// The first broken step, or None for a healthy path.
        first_broken: Option<&'static str>,
        /// Texts the first broken hop (or the verdict) carries.
        mentions: &'static [&'static str],
    }

    #[test]
    fn connectivity_cases() {
        let edit = |f: fn(&mut Vec<Value>)| {
            let mut o = cluster();
            f(&mut o);
            o
        };
        let cases = vec![
            Case {
                name: "healthy path",
                objects: cluster(),
                target: from_checkout(Some(80)),
                logs: vec![("checkout-api-1", "checkout", "GET http://payments-api.payments/charge 200\n")],
                first_broken: None,
                mentions: &["no broken link"],
            },
            Case {
                name: "healthy path through an allowing policy",
                objects: edit(|o| o.push(allow_from(json!({"team": "shop"}), json!("http")))),
                target: from_checkout(None),
                logs: vec![],
                first_broken: None,
                mentions: &["no broken link"],
            },
            Case {
                name: "service missing",
                objects: cluster(),
                target: ConnectivityTarget { service: "payments".into(), ..from_checkout(None) },
                logs: vec![],
                first_broken: Some("service"),
                mentions: &["payments/payments does not exist", "did you mean payments/payments-api"],
            },
            Case {
                name: "selector matches nothing",
                objects: edit(|o| o[3]["spec"]["selector"] = json!({"app": "payments-api-v2"})),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("selector"),
                mentions: &["app=payments-api-v2 matches no pod"],
            },
            Case {
                name: "no ready endpoints",
                objects: edit(|o| {
                    o[4] =
                        endpoints("payments", "payments-api", &[("payments-api-1", false), ("payments-api-2", false)]);
                    for i in [5, 6] {
                        o[i]["status"]["conditions"][3]["status"] = json!("False");
                    }
                }),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("endpoints"),
                mentions: &["no ready address (2 not ready)"],
            },
            Case {
                name: "pods not ready",
                objects: edit(|o| {
                    for i in [5, 6] {
                        o[i]["status"]["conditions"][3]["status"] = json!("False");
                    }
                }),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("readiness"),
                mentions: &["none of the 2 pods is Ready"],
            },
            Case {
                name: "service has no such port",
                objects: cluster(),
                target: from_checkout(Some(443)),
                logs: vec![],
                first_broken: Some("ports"),
                mentions: &["has no port 443", "http 80/TCP→\"http\""],
            },
            Case {
                name: "targetPort names no container port",
                objects: edit(|o| o[3] = service_target_port(o[3].clone(), json!("web"))),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("ports"),
                mentions: &["targetPort \"web\"", "not a container port of 2 of 2 pods"],
            },
            Case {
                name: "ingress policy admits another namespace",
                objects: edit(|o| o.push(allow_from(json!({"team": "storefront"}), json!(8080)))),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("ingress_policy"),
                mentions: &["payments/payments-api-ingress", "pod checkout/checkout-api-1", "8080/TCP"],
            },
            Case {
                name: "ingress policy on another port",
                objects: edit(|o| o.push(allow_from(json!({"team": "shop"}), json!(9090)))),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("ingress_policy"),
                mentions: &["admits no traffic from pod checkout/checkout-api-1 on port 8080/TCP"],
            },
            Case {
                name: "source egress blocks the pods",
                objects: edit(|o| {
                    o.push(network_policy(
                        "checkout",
                        "egress-db-only",
                        json!({}),
                        &["Egress"],
                        json!([]),
                        json!([{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"protocol": "TCP", "port": 5432}]},
                               {"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}]}]),
                    ))
                }),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("egress_policy"),
                mentions: &["allow no traffic to the pods of the service"],
            },
            Case {
                name: "source egress blocks dns",
                objects: edit(|o| {
                    o.push(network_policy(
                        "checkout",
                        "egress-to-payments",
                        json!({}),
                        &["Egress"],
                        json!([]),
                        json!([{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "payments"}}}]}]),
                    ))
                }),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("dns_egress"),
                mentions: &["allow no DNS (port 53) to kube-dns"],
            },
            Case {
                name: "cluster dns down",
                objects: edit(|o| {
                    o.truncate(8);
                    o.extend(kube_dns(false));
                }),
                target: from_checkout(None),
                logs: vec![],
                first_broken: Some("dns_service"),
                mentions: &["kube-dns (172.20.0.10) has no ready endpoint", "0 of 1 CoreDNS pods Ready"],
            },
            Case {
                name: "client looks up the wrong name",
                objects: cluster(),
                target: from_checkout(None),
                logs: vec![(
                    "checkout-api-1",
                    "checkout",
                    "2025-11-30T09:59:00Z dial tcp: lookup payment-api.payments.svc.cluster.local on 172.20.0.10:53: no such host\n",
                )],
                first_broken: Some("dns_logs"),
                mentions: &[
                    "looks up payment-api.payments.svc.cluster.local",
                    "the service is payments-api.payments.svc.cluster.local",
                ],
            },
        ];
        for case in cases {
            let mut st = state(case.objects);
            for (pod, ns, text) in &case.logs {
                st = with_log(st, pod, ns, text);
            }
            let got = connectivity(&st, &case.target).unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let text = got.text();
            assert_eq!(got.first_broken.as_deref(), case.first_broken, "{}:\n{text}", case.name);
            let about = match case.first_broken {
                Some(step) => {
                    let h = got.hops.iter().find(|h| h.step == step).expect("hop");
                    format!("{} {}", h.detail, h.evidence.join(" "))
                }
                None => got.verdict.clone(),
            };
            for m in case.mentions {
                assert!(about.contains(m), "{}: {m:?} missing from {about:?}\n{text}", case.name);
            }
            if let Some(step) = case.first_broken {
                assert!(
                    got.verdict.starts_with(&format!("first broken link: {step}")),
                    "{}: {}",
                    case.name,
                    got.verdict
                );
            }
            let steps: Vec<&str> = got.hops.iter().map(|h| h.step).collect();
            let order = [
                "service",
                "selector",
                "endpoints",
                "readiness",
                "ports",
                "ingress_policy",
                "egress_policy",
                "dns_egress",
                "dns_service",
                "dns_logs",
            ];
            let positions: Vec<usize> = steps.iter().filter_map(|s| order.iter().position(|o| o == s)).collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{}: hops out of order: {steps:?}", case.name);
        }
    }

    #[test]
    fn without_a_source_a_restrictive_policy_is_unknown_not_broken() {
        let mut objects = cluster();
        objects.push(allow_from(json!({"team": "storefront"}), json!(8080)));
        let target = ConnectivityTarget { source_namespace: None, source_pod: None, ..from_checkout(None) };
        let got = connectivity(&state(objects), &target).expect("test");
        let h = got.hops.iter().find(|h| h.step == "ingress_policy").expect("ingress hop");
        assert_eq!(h.status, HopStatus::Unknown, "{h:?}");
        assert!(got.notes.iter().any(|n| n.contains("pass source_pod")), "{:?}", got.notes);
        assert!(got.hops.iter().all(|h| h.step != "egress_policy"), "no source, no egress hop");
    }

    #[test]
    fn a_namespace_source_is_judged_by_namespace_labels() {
        let mut objects = cluster();
        objects.push(allow_from(json!({"team": "shop"}), json!(8080)));
        let target = ConnectivityTarget { source_pod: None, ..from_checkout(None) };
        let got = connectivity(&state(objects.clone()), &target).expect("test");
        assert_eq!(got.first_broken, None, "{}", got.text());
        assert_eq!(got.source, "namespace checkout");
        let target =
            ConnectivityTarget { source_namespace: Some("payments".into()), source_pod: None, ..from_checkout(None) };
        let got = connectivity(&state(objects), &target).expect("test");
        assert_eq!(got.first_broken.as_deref(), Some("ingress_policy"), "{}", got.text());
    }

    #[test]
    fn unknown_source_is_a_clear_error() {
        let target = ConnectivityTarget { source_pod: Some("nope".into()), ..from_checkout(None) };
        let err = connectivity(&state(cluster()), &target).expect_err("no such pod");
        assert_eq!(err.to_string(), "source pod checkout/nope not found");
        let target =
            ConnectivityTarget { source_namespace: Some("nowhere".into()), source_pod: None, ..from_checkout(None) };
        let err = connectivity(&state(cluster()), &target).expect_err("no such namespace");
        assert_eq!(err.to_string(), "source namespace nowhere not found");
    }

    #[test]
    fn cidr_matching() {
        assert_eq!(in_cidr("10.0.1.12", "10.0.0.0/16"), Some(true));
        assert_eq!(in_cidr("10.1.1.12", "10.0.0.0/16"), Some(false));
        assert_eq!(in_cidr("10.1.1.12", "0.0.0.0/0"), Some(true));
        assert_eq!(in_cidr("fd00::1", "fd00::/8"), Some(true));
        assert_eq!(in_cidr("10.0.0.1", "fd00::/8"), Some(false));
        assert_eq!(in_cidr("nonsense", "10.0.0.0/8"), None);
    }
}
