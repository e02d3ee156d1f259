//! Log-pattern analyzer: known failure signatures in the container logs the state carries
//! (current and previous instances) — DNS resolution failures, refused connections, full
//! filesystems, panics and stack traces, permission errors, file-descriptor exhaustion, TLS
//! certificate errors and AWS credential/authorization errors (IRSA, Pod Identity).
//!
//! One finding per pod and family, about the pod, with the first matching lines (secrets masked)
//! and the counts.
//! These are supporting evidence: the pod analyzer's finding about the same pod is usually more
//! severe. A signature counts when it occurs at least twice or in the last 20 lines of a
//! crashed (previous) instance. DNS failures while CoreDNS pods are not ready link their cause to
//! a CoreDNS pod, so they group under it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;

use super::pod::strip_timestamp;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::agent::redact::redact;
use crate::k8s;

/// A match in the last this many lines of a previous (crashed) log counts on its own.
const CRASH_TAIL_LINES: usize = 20;
/// Matching lines shown as evidence per finding.
const EVIDENCE_LINES: usize = 3;
/// Lines longer than this are cut in messages and evidence.
const MAX_LINE: usize = 240;

/// A family of log signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Dns,
    NoSpace,
    Tls,
    AwsAuth,
    TooManyFiles,
    ConnRefused,
    PermissionDenied,
    Crash,
}

impl Family {
    /// Families that name a cause, most specific first; a line belongs to the first that
    /// matches. `Crash` is matched on its own (a panic line may also name its cause).
    const CAUSES: [Family; 7] = [
        Family::Dns,
        Family::NoSpace,
        Family::Tls,
        Family::AwsAuth,
        Family::TooManyFiles,
        Family::ConnRefused,
        Family::PermissionDenied,
    ];

    fn reason(self) -> &'static str {
        match self {
            Family::Dns => "LogDNSFailure",
            Family::NoSpace => "LogNoSpaceLeft",
            Family::Tls => "LogTLSError",
            Family::AwsAuth => "LogAWSAccessDenied",
            Family::TooManyFiles => "LogTooManyOpenFiles",
            Family::ConnRefused => "LogConnectionRefused",
            Family::PermissionDenied => "LogPermissionDenied",
            Family::Crash => "LogPanic",
        }
    }

    /// What one match is called, singular and plural.
    fn what(self, count: usize) -> String {
        let (one, many) = match self {
            Family::Dns => ("DNS resolution failure", "DNS resolution failures"),
            Family::NoSpace => ("\"no space left on device\" error", "\"no space left on device\" errors"),
            Family::Tls => ("TLS certificate error", "TLS certificate errors"),
            Family::AwsAuth => ("AWS credential or authorization error", "AWS credential or authorization errors"),
            Family::TooManyFiles => ("\"too many open files\" error", "\"too many open files\" errors"),
            Family::ConnRefused => ("refused connection", "refused connections"),
            Family::PermissionDenied => ("permission denied error", "permission denied errors"),
            Family::Crash => ("panic/fatal/stack-trace line", "panic/fatal/stack-trace lines"),
        };
        format!("{count} {}", if count == 1 { one } else { many })
    }

    fn matches(self, line: &str, lower: &str) -> bool {
        match self {
            Family::Dns => dns_failure(line),
            Family::NoSpace => lower.contains("no space left on device") || lower.contains("enospc"),
            Family::Tls => [
                "x509:",
                "certificate verify failed",
                "certificate has expired",
                "tls: handshake failure",
                "tls: bad certificate",
                "tls: failed to verify certificate",
                "sslhandshakeexception",
                "pkix path building failed",
                "unable to verify the first certificate",
                "self signed certificate",
                "self-signed certificate",
            ]
            .iter()
            .any(|p| lower.contains(p)),
            Family::AwsAuth => [
                "accessdenied",
                "is not authorized to perform",
                "nocredentialproviders",
                "webidentityerr",
                "unable to locate credentials",
                "could not load credentials from any providers",
                "invalididentitytoken",
            ]
            .iter()
            .any(|p| lower.contains(p)),
            Family::TooManyFiles => lower.contains("too many open files") || lower.contains("emfile"),
            Family::ConnRefused => refused(lower),
            Family::PermissionDenied => lower.contains("permission denied") || lower.contains("eacces"),
            Family::Crash => {
                lower.starts_with("panic:")
                    || line.contains(" panic: ")
                    || line.contains("Traceback (most recent call last)")
                    || line.contains("Exception in thread")
                    || lower.contains("fatal error:")
                    || lower.contains("level=fatal")
                    || line.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w == "FATAL")
                    || line.contains("Unhandled exception")
            }
        }
    }
}

/// Whether a log line reports a failed DNS lookup (a name that does not exist, or a DNS server
/// that does not answer). Used by the network policy analyzer too.
pub(super) fn dns_failure(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    [
        "no such host",
        "temporary failure in name resolution",
        "name or service not known",
        "eai_again",
        "getaddrinfo enotfound",
        "could not resolve host",
        "nodename nor servname",
        "unknownhostexception",
        "server misbehaving",
    ]
    .iter()
    .any(|p| l.contains(p))
        || (mentions_port_53(&l)
            && (l.contains("lookup ")
                || l.contains("i/o timeout")
                || l.contains("timed out")
                || l.contains("connection refused")))
}

/// Whether the text names port 53 (`:53` not followed by another digit).
fn mentions_port_53(l: &str) -> bool {
    l.match_indices(":53").any(|(i, _)| !l[i + 3..].starts_with(|c: char| c.is_ascii_digit()))
}

/// Whether a DNS failure line says the name does not exist (rather than DNS not answering).
fn nxdomain(lower: &str) -> bool {
    ["no such host", "name or service not known", "enotfound", "unknownhostexception", "nodename nor servname"]
        .iter()
        .any(|p| lower.contains(p))
}

/// The host name a DNS failure line is about.
fn looked_up_host(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    for marker in ["lookup ", "enotfound ", "eai_again ", "could not resolve host: ", "unknownhostexception: "] {
        if let Some(i) = lower.find(marker) {
            let rest = &line[i + marker.len()..];
            let host: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
            let host = host.trim_end_matches('.').to_string();
            if !host.is_empty() {
                return Some(host);
            }
        }
    }
    None
}

/// Every `host:port` a log line names (URLs included), in order.
pub(super) fn host_ports(line: &str) -> Vec<(&str, &str)> {
    line.split(|c: char| {
        c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | '"' | '\'' | '{' | '}' | '/' | '@' | '>' | '=')
    })
    .map(|t| t.trim_end_matches([':', '.', ';']))
    .filter_map(|t| {
        let (host, port) = t.rsplit_once(':')?;
        let ok = !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && !port.is_empty()
            && port.len() <= 5
            && port.chars().all(|c| c.is_ascii_digit());
        ok.then_some((host, port))
    })
    .collect()
}

/// Every host a log line names: those of `host:port` tokens and of URLs (`http://host/path`).
pub(super) fn hosts(line: &str) -> Vec<&str> {
    let mut out: Vec<&str> = host_ports(line).into_iter().map(|(h, _)| h).collect();
    for (i, _) in line.match_indices("://") {
        let rest = &line[i + 3..];
        let end =
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))).unwrap_or(rest.len());
        if end > 0 && !out.contains(&&rest[..end]) {
            out.push(&rest[..end]);
        }
    }
    out
}

/// Whether a log line reports a refused connection.
pub(super) fn refused(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("connection refused") || l.contains("econnrefused")
}

/// The `host:port` (else the URL host) a refused-connection line names.
fn refused_target(line: &str) -> Option<String> {
    host_ports(line).first().map(|(h, p)| format!("{h}:{p}")).or_else(|| hosts(line).first().map(|h| h.to_string()))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() > max { format!("{}…", s.chars().take(max).collect::<String>()) } else { s.to_string() }
}

/// Matches of one family in one pod.
#[derive(Default)]
struct Hits {
    count: usize,
    /// A match in the tail of a previous (crashed) instance's log.
    in_crash_tail: bool,
    only_current: bool,
    /// (container, previous, line) of the first matches.
    lines: Vec<(String, bool, String)>,
    containers: Vec<String>,
}

/// Runs the log-pattern analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    // (namespace, pod) → family → hits
    let mut pods: BTreeMap<(String, String), BTreeMap<Family, Hits>> = BTreeMap::new();
    for (key, text) in &state.logs {
        let ns = match &key.namespace {
            Some(ns) => ns.clone(),
            None => match state.pods.iter().find(|p| k8s::name(&p.metadata) == key.pod) {
                Some(p) => k8s::namespace(&p.metadata).to_string(),
                None => continue,
            },
        };
        let families = pods.entry((ns, key.pod.clone())).or_default();
        let lines: Vec<&str> =
            text.lines().map(strip_timestamp).map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
        let tail_from = lines.len().saturating_sub(CRASH_TAIL_LINES);
        for (i, line) in lines.iter().enumerate() {
            let lower = line.to_ascii_lowercase();
            let cause = Family::CAUSES.iter().copied().find(|f| f.matches(line, &lower));
            let crash = Family::Crash.matches(line, &lower).then_some(Family::Crash);
            for family in cause.into_iter().chain(crash) {
                let hits = families.entry(family).or_insert_with(|| Hits { only_current: true, ..Hits::default() });
                hits.count += 1;
                if key.previous {
                    hits.only_current = false;
                    if i >= tail_from {
                        hits.in_crash_tail = true;
                    }
                }
                if hits.lines.len() < EVIDENCE_LINES {
                    hits.lines.push((key.container.clone(), key.previous, redact(line.trim()).into_owned()));
                }
                if !hits.containers.contains(&key.container) {
                    hits.containers.push(key.container.clone());
                }
            }
        }
    }
    let coredns: Vec<&Pod> = state
        .pods
        .iter()
        .filter(|p| k8s::namespace(&p.metadata) == "kube-system")
        .filter(|p| p.metadata.labels.as_ref().and_then(|l| l.get("k8s-app")).is_some_and(|v| v == "kube-dns"))
        .collect();
    let mut out = Vec::new();
    for ((ns, pod_name), families) in pods {
        let pod = state.pods.iter().find(|p| k8s::namespace(&p.metadata) == ns && k8s::name(&p.metadata) == pod_name);
        for (family, hits) in families {
            if hits.count < 2 && !hits.in_crash_tail {
                continue;
            }
            out.push(finding(state, &ns, &pod_name, pod, family, &hits, &coredns));
        }
    }
    out.extend(dns_outage(&out, &coredns));
    out
}

/// When pods fail DNS lookups because CoreDNS is down, one finding about the CoreDNS pod that
/// absorbs them, so their crash loops group under CoreDNS too (not only their log findings).
/// Its cause is its own subject: correlate then folds it into the main finding about that
/// CoreDNS pod (the pod analyzer's) instead of reporting the pod twice.
fn dns_outage(findings: &[Finding], coredns: &[&Pod]) -> Option<Finding> {
    let dns = findings
        .iter()
        .find_map(|f| f.cause.clone().filter(|c| c.namespace == "kube-system" && f.reason == "LogDNSFailure"))?;
    let affected: Vec<&Finding> =
        findings.iter().filter(|f| f.reason == "LogDNSFailure" && f.cause.as_ref() == Some(&dns)).collect();
    let ready = coredns.iter().filter(|p| k8s::is_ready(p)).count();
    let names: Vec<String> = affected.iter().map(|f| format!("{}/{}", f.namespace, f.name)).collect();
    let mut f = Finding::new(
        dns.clone(),
        Severity::Warning,
        "DNSOutage",
        format!(
            "CoreDNS is down ({ready} of {} kube-dns pods ready) with {} pod{} failing DNS lookups because of it: {}",
            coredns.len(),
            affected.len(),
            if affected.len() == 1 { "" } else { "s" },
            names.join(", ")
        ),
    );
    for a in &affected {
        f.evidence.extend(a.evidence.first().map(|e| format!("pod {}/{}: {e}", a.namespace, a.name)));
        f.absorbs.push(a.subject());
    }
    f.cause = Some(dns);
    Some(
        f.action(Action::text("Fix CoreDNS first (its own finding says why it is not ready); the pods that crash on DNS lookups recover once it answers"))
            .warn("Restarting the pods that fail their lookups will not help while CoreDNS is down"),
    )
}

fn finding(
    state: &ClusterState,
    ns: &str,
    pod_name: &str,
    pod: Option<&Pod>,
    family: Family,
    hits: &Hits,
    coredns: &[&Pod],
) -> Finding {
    let controller =
        pod.and_then(|p| state.controller_of(&p.metadata)).map(|(k, n)| format!(" ({k} {n})")).unwrap_or_default();
    let (container, previous, first) = hits.lines.first().cloned().unwrap_or_default();
    let place = format!("container {container}{}", if previous { ", previous instance" } else { "" });
    let first_cut = cut(&first, MAX_LINE);
    let healthy = pod.is_some_and(|p| k8s::is_ready(p) && k8s::restarts(p) == 0);
    let severity = if healthy && hits.only_current && hits.count < 5 { Severity::Info } else { Severity::Warning };
    let lower = first.to_ascii_lowercase();
    let mut cause = None;
    let mut warnings: Vec<String> = Vec::new();
    let (explain, action) = match family {
        Family::Dns => {
            let host = looked_up_host(&first);
            let ready = coredns.iter().filter(|p| k8s::is_ready(p)).count();
            let unready = coredns.iter().find(|p| !k8s::is_ready(p));
            warnings.push("Restarting the pod will not fix DNS resolution: the lookups fail outside the pod".into());
            match unready {
                Some(dns) if ready == 0 || !nxdomain(&lower) => {
                    cause = Some(ObjectRef::new("Pod", "kube-system", k8s::name(&dns.metadata)));
                    (
                        format!("CoreDNS is not healthy ({ready} of {} kube-dns pods ready)", coredns.len()),
                        "Fix CoreDNS first (see the kube-system coredns pod finding); the lookups recover when it is ready".to_string(),
                    )
                }
                _ if nxdomain(&lower) => {
                    let host = host.unwrap_or_else(|| "the name".into());
                    (format!("{host} does not exist{}", missing_service(state, ns, &host)), format!(
                        "Fix the host name the application is configured with ({host}); in-cluster Services resolve as <service>.<namespace>.svc.cluster.local"
                    ))
                }
                _ => (
                    "the DNS server does not answer: check CoreDNS, NetworkPolicies and security groups that can block port 53".to_string(),
                    "Check that the pod can reach kube-dns on UDP and TCP 53: CoreDNS pods, NetworkPolicy egress rules, the node security group".to_string(),
                ),
            }
        }
        Family::ConnRefused => {
            let target = refused_target(&first);
            let t = target.clone().unwrap_or_else(|| "the peer".into());
            warnings.push(format!("Restarting this pod will not help while {t} refuses connections"));
            (format!("nothing accepts connections at {t}"), format!("Check that {t} has a ready backend listening on that port (the Service's endpoints, the database's status)"))
        }
        Family::NoSpace => {
            warnings.push("Restarting frees only the container's writable layer: data on a volume or the node's disk stays".into());
            ("a filesystem the container writes to is full".into(), "Find which filesystem is full (a PVC, an emptyDir or the node's disk: df in the container) and free or grow it".into())
        }
        Family::Crash => ("the process crashed".into(), "Read the stack trace in the log (get_pod_logs previous=true) and fix the code path or configuration it names".into()),
        Family::PermissionDenied => (
            "the process may not access a file or socket".into(),
            "Check the file permissions and the securityContext (runAsUser, fsGroup, readOnlyRootFilesystem) for the path in the log".into(),
        ),
        Family::TooManyFiles => {
            ("the process ran out of file descriptors".into(), "Look for a file or socket leak; raise the nofile limit only if the load really needs that many".into())
        }
        Family::Tls => (
            "a TLS peer's certificate is not trusted (expired, wrong host or unknown CA)".into(),
            "Check the certificate the peer presents (expiry, issuer, host name) and the CA bundle the application trusts".into(),
        ),
        Family::AwsAuth => {
            let sa = pod.and_then(|p| p.spec.as_ref()).and_then(|s| s.service_account_name.clone()).unwrap_or_else(|| "default".into());
            let role = state
                .service_accounts
                .iter()
                .find(|a| k8s::namespace(&a.metadata) == ns && k8s::name(&a.metadata) == sa)
                .and_then(|a| a.metadata.annotations.as_ref()?.get("eks.amazonaws.com/role-arn").cloned());
            let on = role.as_ref().map_or_else(String::new, |r| format!(", role {r}"));
            if hits.lines.iter().any(|(_, _, l)| l.contains("AssumeRoleWithWebIdentity")) {
                // Not the role's permissions: STS refused to let this service account be the role.
                warnings.push("Restarting or rolling back will not help while the service account points at a role that does not trust it".into());
                (
                    format!("the pod cannot assume its IAM role (service account {sa}{on}): STS refused AssumeRoleWithWebIdentity"),
                    format!(
                        "Check the eks.amazonaws.com/role-arn annotation of service account {ns}/{sa} (the right role, the right account) and that role's trust policy (the cluster's OIDC provider, sub system:serviceaccount:{ns}:{sa})"
                    ),
                )
            } else {
                warnings.push("Restarting will not help until the pod's IAM role allows the action".into());
                (
                    format!("the pod's AWS identity (service account {sa}{on}) lacks a permission or credentials"),
                    format!(
                        "Check service account {ns}/{sa}: the eks.amazonaws.com/role-arn annotation (IRSA) or its EKS Pod Identity association, and that the role's policy allows the action in the log"
                    ),
                )
            }
        }
    };
    let mut f = Finding::new(
        ObjectRef::new("Pod", ns, pod_name),
        severity,
        family.reason(),
        format!(
            "pod {ns}/{pod_name}{controller} logged {} ({place}): {first_cut} — {explain}",
            family.what(hits.count)
        ),
    );
    for (c, prev, line) in &hits.lines {
        f.evidence.push(format!("log {c}{}: {}", if *prev { " (previous instance)" } else { "" }, cut(line, MAX_LINE)));
    }
    if hits.containers.len() > 1 {
        f.evidence.push(format!("seen in containers {}", hits.containers.join(", ")));
    }
    f.cause = cause;
    f.warnings = warnings;
    f.action(Action::text(action))
}

/// `; no Service orders-db in namespace prod` when the host names an in-cluster Service that
/// does not exist.
fn missing_service(state: &ClusterState, ns: &str, host: &str) -> String {
    let parts: Vec<&str> = host.split('.').collect();
    let (svc, svc_ns) = match parts.as_slice() {
        [svc] => (*svc, ns),
        [svc, n, "svc", ..] => (*svc, *n),
        _ => return String::new(),
    };
    let exists = state.services.iter().any(|s| k8s::namespace(&s.metadata) == svc_ns && k8s::name(&s.metadata) == svc);
    let ns_known = state.namespaces.is_empty()
        || state.namespaces.iter().any(|n| k8s::name(&n.metadata) == svc_ns)
        || svc_ns == ns;
    if !exists && ns_known && state.has_read(crate::kinds::Kind::Service) {
        format!(" (no Service {svc} in namespace {svc_ns})")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::snapshot::LogKey;

    struct Case {
        name: &'static str,
        objects: Vec<serde_json::Value>,
        /// (pod, previous, log text)
        logs: Vec<(&'static str, bool, &'static str)>,
        /// (reason, severity, texts the message must carry, cause pod); empty = no finding.
        expect: Vec<(&'static str, Severity, &'static [&'static str], Option<&'static str>)>,
    }

    const DNS_TIMEOUT: &str = "2025-11-30T09:59:01.123Z error dial tcp: lookup orders-db on 172.20.0.10:53: read udp 10.0.1.5:43122->172.20.0.10:53: i/o timeout\n\
2025-11-30T09:59:06.123Z error dial tcp: lookup orders-db on 172.20.0.10:53: read udp 10.0.1.5:43122->172.20.0.10:53: i/o timeout\n";

    fn coredns(ready: bool) -> serde_json::Value {
        let b = pod("coredns-5d8c6b9f7d-abcde")
            .in_ns("kube-system")
            .labels(&[("k8s-app", "kube-dns")])
            .owned_by_rs("coredns-5d8c6b9f7d");
        if ready { b.build() } else { b.crashlooping(4).build() }
    }

    #[test]
    fn logpattern_cases() {
        let cases = vec![
            Case {
                name: "clean log",
                objects: vec![pod("api").in_ns("prod").build()],
                logs: vec![("api", false, "listening on :8080\nGET /health 200\n")],
                expect: vec![],
            },
            Case {
                name: "single startup refusal in a current log is ignored",
                objects: vec![pod("api").in_ns("prod").build()],
                logs: vec![(
                    "api",
                    false,
                    "dial tcp 10.100.5.5:5432: connect: connection refused\nconnected to database\n",
                )],
                expect: vec![],
            },
            Case {
                name: "dns timeouts with coredns down link to coredns",
                objects: vec![
                    pod("api").in_ns("prod").crashlooping(3).build(),
                    coredns(false),
                    service("prod", "orders-db", "orders-db"),
                ],
                logs: vec![("api", true, DNS_TIMEOUT)],
                expect: vec![
                    (
                        "LogDNSFailure",
                        Severity::Warning,
                        &["logged 2 DNS resolution failures", "172.20.0.10:53", "CoreDNS is not healthy (0 of 1"],
                        Some("coredns-5d8c6b9f7d-abcde"),
                    ),
                    (
                        "DNSOutage",
                        Severity::Warning,
                        &["CoreDNS is down (0 of 1 kube-dns pods ready) with 1 pod failing", "prod/api"],
                        Some("coredns-5d8c6b9f7d-abcde"),
                    ),
                ],
            },
            Case {
                name: "dns timeouts with coredns healthy",
                objects: vec![pod("api").in_ns("prod").crashlooping(3).build(), coredns(true)],
                logs: vec![("api", true, DNS_TIMEOUT)],
                expect: vec![("LogDNSFailure", Severity::Warning, &["does not answer"], None)],
            },
            Case {
                name: "nxdomain names the missing service",
                objects: vec![
                    pod("api").in_ns("prod").crashlooping(3).build(),
                    coredns(true),
                    service("prod", "orders", "orders"),
                ],
                logs: vec![("api", true, "Error: getaddrinfo ENOTFOUND orders-db.prod.svc.cluster.local\n")],
                expect: vec![(
                    "LogDNSFailure",
                    Severity::Warning,
                    &["orders-db.prod.svc.cluster.local does not exist", "no Service orders-db in namespace prod"],
                    None,
                )],
            },
            Case {
                name: "connection refused at the end of a crashed instance",
                objects: vec![pod("api").in_ns("prod").crashlooping(3).build()],
                logs: vec![("api", true, "starting\nError: connect ECONNREFUSED 10.100.7.7:6379\n")],
                expect: vec![(
                    "LogConnectionRefused",
                    Severity::Warning,
                    &["10.100.7.7:6379", "logged 1 refused connection"],
                    None,
                )],
            },
            Case {
                name: "panic with its cause",
                objects: vec![pod("api").in_ns("prod").crashlooping(3).build()],
                logs: vec![(
                    "api",
                    true,
                    "panic: open /etc/app/config.yaml: permission denied\n\ngoroutine 1 [running]:\nmain.main()\n",
                )],
                expect: vec![
                    ("LogPermissionDenied", Severity::Warning, &["permission denied"], None),
                    ("LogPanic", Severity::Warning, &["panic: open /etc/app/config.yaml"], None),
                ],
            },
            Case {
                name: "python traceback",
                objects: vec![pod("worker").in_ns("prod").crashlooping(2).build()],
                logs: vec![(
                    "worker",
                    true,
                    "Traceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\nKeyError: 'DB_HOST'\n",
                )],
                expect: vec![("LogPanic", Severity::Warning, &["Traceback"], None)],
            },
            Case {
                name: "irsa access denied",
                objects: vec![pod("uploader").in_ns("prod").crashlooping(2).build()],
                logs: vec![(
                    "uploader",
                    true,
                    "operation error S3: PutObject, https response error StatusCode: 403, api error AccessDenied: User: arn:aws:sts::123456789012:assumed-role/eks-node/i-0abc is not authorized to perform: s3:PutObject\n",
                )],
                expect: vec![("LogAWSAccessDenied", Severity::Warning, &["AWS credential", "s3:PutObject"], None)],
            },
            Case {
                name: "tls expired and too many open files",
                objects: vec![pod("gw").in_ns("prod").crashlooping(2).build()],
                logs: vec![(
                    "gw",
                    true,
                    "x509: certificate has expired or is not yet valid\nx509: certificate has expired or is not yet valid\naccept tcp [::]:8443: accept4: too many open files\naccept tcp [::]:8443: accept4: too many open files\n",
                )],
                expect: vec![
                    ("LogTLSError", Severity::Warning, &["logged 2 TLS certificate errors"], None),
                    ("LogTooManyOpenFiles", Severity::Warning, &["too many open files"], None),
                ],
            },
            Case {
                name: "a few refusals in a healthy pod are info",
                objects: vec![pod("api").in_ns("prod").build()],
                logs: vec![(
                    "api",
                    false,
                    "dial tcp 10.100.5.5:5432: connect: connection refused\ndial tcp 10.100.5.5:5432: connect: connection refused\nconnected\n",
                )],
                expect: vec![("LogConnectionRefused", Severity::Info, &["10.100.5.5:5432"], None)],
            },
        ];
        for case in cases {
            let mut st = state(case.objects);
            for (pod, previous, text) in &case.logs {
                st.logs.insert(
                    LogKey {
                        namespace: Some("prod".into()),
                        pod: pod.to_string(),
                        container: "app".into(),
                        previous: *previous,
                    },
                    text.to_string(),
                );
            }
            let findings = analyze(&st);
            assert_eq!(findings.len(), case.expect.len(), "{}: {findings:#?}", case.name);
            for (reason, sev, texts, cause) in &case.expect {
                let Some(f) = findings.iter().find(|f| f.reason == *reason) else {
                    panic!("{}: no {reason}: {findings:#?}", case.name)
                };
                assert_eq!(f.kind, "Pod", "{}", case.name);
                assert_eq!(f.severity, *sev, "{}: {}", case.name, f.message);
                for t in *texts {
                    assert!(f.message.contains(t), "{}: message lacks {t:?}: {}", case.name, f.message);
                }
                assert_eq!(f.cause.as_ref().map(|c| c.name.as_str()), *cause, "{}: cause", case.name);
                assert!(!f.evidence.is_empty(), "{}: no evidence", case.name);
            }
        }
    }

    #[test]
    fn coredns_outage_is_the_root_of_the_crashing_pods() {
        let objs = vec![
            pod("cart-7d9f8b6c5d-x2k4p").in_ns("prod").owned_by_rs("cart-7d9f8b6c5d").crashlooping(5).build(),
            pod("orders-6c8d7f9b5-b2n8k").in_ns("prod").owned_by_rs("orders-6c8d7f9b5").crashlooping(5).build(),
            coredns(false),
        ];
        let mut st = state(objs);
        for p in ["cart-7d9f8b6c5d-x2k4p", "orders-6c8d7f9b5-b2n8k"] {
            st.logs.insert(
                LogKey { namespace: Some("prod".into()), pod: p.into(), container: "app".into(), previous: true },
                DNS_TIMEOUT.into(),
            );
        }
        let out = crate::analyze::analyze(&st);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            (out[0].name.as_str(), out[0].reason.as_str()),
            ("coredns-5d8c6b9f7d-abcde", "CrashLoopBackOff"),
            "{out:#?}"
        );
        for p in ["cart-7d9f8b6c5d-x2k4p", "orders-6c8d7f9b5-b2n8k"] {
            assert!(out[0].chain.iter().any(|c| c.name == p && c.reason == "CrashLoopBackOff"), "{p}: {out:#?}");
        }
    }

    #[test]
    fn quoted_log_lines_are_redacted() {
        let mut st = state(vec![pod("api").in_ns("prod").crashlooping(2).build()]);
        st.logs.insert(
            LogKey { namespace: Some("prod".into()), pod: "api".into(), container: "app".into(), previous: true },
            "connecting to postgres://payouts:hunter2@10.0.1.5:5432/db\nFATAL: connection to postgres://payouts:hunter2@10.0.1.5:5432/db refused: connection refused\n".into(),
        );
        let findings = analyze(&st);
        assert!(!findings.is_empty(), "{findings:#?}");
        for f in &findings {
            let text = format!("{} {}", f.message, f.evidence.join(" "));
            assert!(!text.contains("hunter2"), "{}: leaks: {text}", f.reason);
        }
    }

    #[test]
    fn signatures() {
        assert!(dns_failure("lookup orders-db on 172.20.0.10:53: no such host"));
        assert!(dns_failure("dial udp 172.20.0.10:53: i/o timeout"));
        assert!(dns_failure("socket.gaierror: [Errno -3] Temporary failure in name resolution"));
        assert!(!dns_failure("dial tcp 10.0.0.1:5432: i/o timeout"));
        assert!(!dns_failure("GET /api/v1/orders 200 53ms"));
        assert_eq!(
            looked_up_host("dial tcp: lookup orders-db on 172.20.0.10:53: no such host").as_deref(),
            Some("orders-db")
        );
        assert_eq!(
            refused_target("dial tcp 10.100.5.5:5432: connect: connection refused").as_deref(),
            Some("10.100.5.5:5432")
        );
        assert_eq!(refused_target("Connection refused (redis.prod.svc:6379)").as_deref(), Some("redis.prod.svc:6379"));
        assert_eq!(
            host_ports(
                "I/O error on POST request for \"http://orders-api.production.svc.cluster.local:8080/orders\": Connection refused"
            ),
            vec![("orders-api.production.svc.cluster.local", "8080")]
        );
        assert!(host_ports("dial tcp 10.0.1.5:43122->172.20.0.10:53: i/o timeout").contains(&("172.20.0.10", "53")));
        assert_eq!(
            hosts("POST request for \"http://orders-api.production.svc.cluster.local/v1/orders\": Connection refused"),
            vec!["orders-api.production.svc.cluster.local"]
        );
    }
}
