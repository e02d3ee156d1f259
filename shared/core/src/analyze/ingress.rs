//! Ingress analyzer: Ingresses that cannot route — a backend Service that does not exist, a
//! backend port the Service does not expose, an IngressClass that does not exist (or none and no
//! default), a TLS Secret missing from the namespace — and Ingresses that never got an address,
//! with the ingress controller's own error events (the AWS Load Balancer Controller reports
//! subnet discovery and IAM failures there).
//!
//! Absent kinds prove nothing: the class and Secret checks run only when those kinds were read,
//! and the TLS Secret check is skipped for ALB Ingresses, which take certificates from ACM.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::{Ingress, IngressServiceBackend};

use super::event_line;
use super::pvc::is_recent;
use super::service::distance;
use super::{Action, ClusterState, Finding, ObjectRef, Severity};
use crate::k8s::{self, human_duration};
use crate::kinds::Kind;

/// An Ingress without an address for longer than this is reported.
const NO_ADDRESS_SECS: i64 = 600;
/// The AWS Load Balancer Controller's IngressClass controller name.
const ALB_CONTROLLER: &str = "ingress.k8s.aws/alb";

/// Runs the ingress analyzer.
pub fn analyze(state: &ClusterState) -> Vec<Finding> {
    state.ingresses.iter().flat_map(|i| analyze_ingress(state, i)).collect()
}

/// A service backend and where it is routed from (`example.com/api`, `default backend`).
struct Route<'a> {
    from: String,
    backend: &'a IngressServiceBackend,
}

fn routes(ing: &Ingress) -> Vec<Route<'_>> {
    let Some(spec) = ing.spec.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(b) = spec.default_backend.as_ref().and_then(|b| b.service.as_ref()) {
        out.push(Route { from: "the default backend".into(), backend: b });
    }
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.as_deref().unwrap_or("*");
        for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
            if let Some(b) = path.backend.service.as_ref() {
                out.push(Route { from: format!("{host}{}", path.path.as_deref().unwrap_or("/")), backend: b });
            }
        }
    }
    out
}

fn port_text(b: &IngressServiceBackend) -> String {
    match b.port.as_ref() {
        Some(p) => match (&p.name, p.number) {
            (Some(n), _) => n.clone(),
            (None, Some(n)) => n.to_string(),
            (None, None) => "?".into(),
        },
        None => "?".into(),
    }
}

fn analyze_ingress(state: &ClusterState, ing: &Ingress) -> Vec<Finding> {
    let ns = k8s::namespace(&ing.metadata);
    let name = k8s::name(&ing.metadata);
    let subject = ObjectRef::new("Ingress", ns, name);
    let now = state.now;
    let mut out = Vec::new();
    let routes = routes(ing);
    let addressed = ing
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.as_ref())
        .is_some_and(|l| l.iter().any(|i| i.hostname.is_some() || i.ip.is_some()));
    let age = ing.metadata.creation_timestamp.as_ref().map_or(0, |t| k8s::seconds_since(t, now));
    let class_name = ing
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.clone())
        .or_else(|| ing.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/ingress.class").cloned()));
    let class =
        class_name.as_deref().and_then(|c| state.ingress_classes.iter().find(|ic| k8s::name(&ic.metadata) == c));
    let is_alb = class_name.as_deref() == Some("alb")
        || class.and_then(|c| c.spec.as_ref()).and_then(|s| s.controller.as_deref()) == Some(ALB_CONTROLLER);

    // Backends.
    if state.has_read(Kind::Service) {
        let services: Vec<&str> = state
            .services
            .iter()
            .filter(|s| k8s::namespace(&s.metadata) == ns)
            .map(|s| k8s::name(&s.metadata))
            .collect();
        let mut missing: Vec<&Route> = Vec::new();
        let mut bad_port: Vec<(&Route, String)> = Vec::new();
        for r in &routes {
            let svc = state
                .services
                .iter()
                .find(|s| k8s::namespace(&s.metadata) == ns && k8s::name(&s.metadata) == r.backend.name);
            let Some(svc) = svc else {
                missing.push(r);
                continue;
            };
            let ports = svc.spec.as_ref().and_then(|s| s.ports.as_ref()).map(Vec::as_slice).unwrap_or_default();
            let Some(want) = r.backend.port.as_ref() else { continue };
            let found = ports.iter().any(|p| match (&want.name, want.number) {
                (Some(n), _) => p.name.as_deref() == Some(n.as_str()),
                (None, Some(n)) => p.port == n,
                (None, None) => true,
            });
            if !found {
                let exposes: Vec<String> = ports
                    .iter()
                    .map(|p| p.name.as_ref().map_or_else(|| p.port.to_string(), |n| format!("{} ({n})", p.port)))
                    .collect();
                bad_port.push((r, if exposes.is_empty() { "no ports".into() } else { exposes.join(", ") }));
            }
        }
        if !missing.is_empty() {
            let names: BTreeSet<&str> = missing.iter().map(|r| r.backend.name.as_str()).collect();
            let names: Vec<&str> = names.into_iter().collect();
            let first = missing[0];
            let closest = services.iter().copied().min_by_key(|s| (distance(s, &first.backend.name), s.to_string()));
            let hint = match closest {
                Some(c) => format!(" (closest existing service: {c})"),
                None => format!(" (namespace {ns} has no Services)"),
            };
            let mut f = Finding::new(
                subject.clone(),
                Severity::Error,
                "IngressBackendMissing",
                format!(
                    "ingress {ns}/{name} routes {} to service {}, which does not exist in namespace {ns}{hint}",
                    missing.iter().map(|r| r.from.as_str()).collect::<Vec<_>>().join(", "),
                    names.join(", ")
                ),
            );
            for r in &missing {
                f.evidence.push(format!("{} → service {} port {}", r.from, r.backend.name, port_text(r.backend)));
            }
            f = f.action(Action::text(match closest {
                Some(c) => format!("Point the backend of ingress {ns}/{name} at an existing Service (e.g. {c}) or create Service {ns}/{}", first.backend.name),
                None => format!("Create Service {ns}/{} or fix the backend name", first.backend.name),
            }));
            out.push(f.warn(
                "Restarting the ingress controller will not help: the Ingress names a Service that does not exist",
            ));
        }
        if !bad_port.is_empty() {
            let (r, exposes) = &bad_port[0];
            let mut f = Finding::new(
                subject.clone(),
                Severity::Error,
                "IngressBackendPortMissing",
                format!(
                    "ingress {ns}/{name} routes {} to service {} port {}, but the service exposes only {exposes}",
                    r.from,
                    r.backend.name,
                    port_text(r.backend)
                ),
            );
            for (r, exposes) in &bad_port {
                f.evidence.push(format!(
                    "{} → service {} port {}; service ports: {exposes}",
                    r.from,
                    r.backend.name,
                    port_text(r.backend)
                ));
            }
            out.push(
                f.action(Action::text(format!("Set the backend port of ingress {ns}/{name} to a port service {} exposes ({exposes})", r.backend.name)))
                    .warn("Restarting the backend pods will not help: the Ingress asks the Service for a port it does not have"),
            );
        }
    }

    // IngressClass. With no class in the cluster, only an Ingress nothing serves is reported.
    if state.has_read(Kind::IngressClass) && (!state.ingress_classes.is_empty() || !addressed) {
        let existing: Vec<&str> = state.ingress_classes.iter().map(|c| k8s::name(&c.metadata)).collect();
        let listed = if existing.is_empty() {
            "no IngressClass exists: no ingress controller such as the AWS Load Balancer Controller is installed"
                .to_string()
        } else {
            format!("classes: {}", existing.join(", "))
        };
        if let Some(c) =
            ing.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()).filter(|c| !existing.contains(c))
        {
            out.push(
                Finding::new(subject.clone(), Severity::Warning, "IngressClassNotFound", format!("ingress {ns}/{name} asks for IngressClass {c}, which does not exist ({listed}); no controller will serve it"))
                    .evidence(format!("spec.ingressClassName {c}"))
                    .action(Action::text(if c == "alb" {
                        "Install the AWS Load Balancer Controller (it creates IngressClass alb) or set ingressClassName to an existing class".to_string()
                    } else {
                        format!("Set ingressClassName of ingress {ns}/{name} to an existing class or install the controller for {c}")
                    })),
            );
        } else if class_name.is_none() && !addressed && age > NO_ADDRESS_SECS {
            let default = state.ingress_classes.iter().any(|c| {
                c.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("ingressclass.kubernetes.io/is-default-class"))
                    .is_some_and(|v| v == "true")
            });
            if !default {
                out.push(
                    Finding::new(subject.clone(), Severity::Warning, "IngressClassNotSet", format!("ingress {ns}/{name} names no IngressClass and no class is the default ({listed}); no controller picks it up"))
                        .evidence("spec.ingressClassName not set, no kubernetes.io/ingress.class annotation")
                        .action(Action::text(format!("Set spec.ingressClassName of ingress {ns}/{name} (alb for the AWS Load Balancer Controller)"))),
                );
            }
        }
    }

    // TLS Secrets. A cluster where no Secret was captured at all is taken as "not captured".
    if state.has_read(Kind::Secret) && !state.secrets.is_empty() && !is_alb {
        let missing: Vec<String> = ing
            .spec
            .iter()
            .flat_map(|s| s.tls.iter().flatten())
            .filter_map(|t| t.secret_name.clone())
            .filter(|s| !state.secrets.iter().any(|x| k8s::namespace(&x.metadata) == ns && k8s::name(&x.metadata) == s))
            .collect();
        if let Some(first) = missing.first() {
            let hosts: Vec<String> = ing
                .spec
                .iter()
                .flat_map(|s| s.tls.iter().flatten())
                .filter(|t| t.secret_name.as_ref() == Some(first))
                .flat_map(|t| t.hosts.iter().flatten().cloned())
                .collect();
            let for_hosts = if hosts.is_empty() { String::new() } else { format!(" for {}", hosts.join(", ")) };
            let mut f = Finding::new(
                subject.clone(),
                Severity::Error,
                "IngressTLSSecretMissing",
                format!(
                    "ingress {ns}/{name} terminates TLS{for_hosts} with Secret {}, which does not exist in namespace {ns}; the controller serves its default certificate or no HTTPS",
                    missing.join(", ")
                ),
            );
            for s in &missing {
                f.evidence.push(format!("spec.tls.secretName {s}: not found in {ns}"));
            }
            let cert_manager =
                ing.metadata.annotations.as_ref().is_some_and(|a| a.keys().any(|k| k.starts_with("cert-manager.io/")));
            f = f.action(Action::text(if cert_manager {
                format!("Check the cert-manager Certificate for Secret {ns}/{first} (kubectl describe certificate): its issuance has not produced the Secret")
            } else {
                format!("Create TLS Secret {ns}/{first} (kubectl create secret tls) or fix secretName")
            }));
            out.push(f);
        }
    }

    // No address: report the controller's error events, else that it has been waiting.
    if !addressed && age > NO_ADDRESS_SECS {
        let events = state.events_for("Ingress", ns, name);
        let failing: Vec<_> =
            events.iter().filter(|e| e.type_.as_deref() == Some("Warning") && is_recent(e, now)).collect();
        if let Some(first) = out.first_mut() {
            // Another finding already explains it: keep the controller's words as evidence.
            first.evidence.extend(failing.iter().take(1).map(|e| event_line(e, now)));
        } else if let Some(e) = failing.first() {
            let msg = e.message.as_deref().unwrap_or("").trim();
            let lower = msg.to_ascii_lowercase();
            let fix = if lower.contains("subnet") {
                "Tag the subnets for load balancers: kubernetes.io/role/elb=1 on public subnets (internet-facing) or kubernetes.io/role/internal-elb=1 on private ones".to_string()
            } else if lower.contains("accessdenied")
                || lower.contains("not authorized")
                || lower.contains("unauthorizedoperation")
            {
                "Give the AWS Load Balancer Controller's IAM role (kube-system/aws-load-balancer-controller service account) the permission the event names".to_string()
            } else if lower.contains("certificate") {
                "Fix the certificate the controller cannot find (alb.ingress.kubernetes.io/certificate-arn or an ACM certificate for the TLS hosts)".to_string()
            } else {
                "Fix what the controller's event names, then it reconciles the Ingress on its own".to_string()
            };
            let mut f = Finding::new(
                subject.clone(),
                Severity::Error,
                "IngressNotProvisioned",
                format!(
                    "ingress {ns}/{name} has had no address for {}: the controller reports {}: {msg}",
                    human_duration(age),
                    e.reason.as_deref().unwrap_or("an error")
                ),
            )
            .evidence("status.loadBalancer.ingress empty");
            f.evidence.extend(failing.iter().take(2).map(|e| event_line(e, now)));
            out.push(f.action(Action::text(fix)).warn("Deleting and recreating the Ingress will hit the same error"));
        } else {
            out.push(
                Finding::new(
                    subject,
                    Severity::Info,
                    "IngressNoAddress",
                    format!(
                        "ingress {ns}/{name} has had no address for {}{}: no controller has provisioned a load balancer for it",
                        human_duration(age),
                        class_name.as_deref().map(|c| format!(" (class {c})")).unwrap_or_default()
                    ),
                )
                .evidence("status.loadBalancer.ingress empty")
                .action(Action::text("Check that the ingress controller for its class runs and read its logs (kube-system/aws-load-balancer-controller for alb)")),
            );
        }
    }
    out
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

    fn base() -> Vec<serde_json::Value> {
        vec![
            service("shop", "web", "web"),
            ingress_class("alb", "ingress.k8s.aws/alb"),
            ingress_class("nginx", "k8s.io/ingress-nginx"),
            secret("shop", "web-tls"),
        ]
    }

    #[test]
    fn ingress_cases() {
        let cases = vec![
            Case { name: "healthy ingress", objects: [base(), vec![ingress("shop", "web", "alb", "shop.example.com", "web", 80).build()]].concat(), expect: None },
            Case {
                name: "healthy tls ingress",
                objects: [base(), vec![ingress("shop", "web", "nginx", "shop.example.com", "web", 80).tls("web-tls").build()]].concat(),
                expect: None,
            },
            Case {
                name: "backend service missing",
                objects: [base(), vec![ingress("shop", "web", "alb", "shop.example.com", "web-v2", 80).build()]].concat(),
                expect: Some(("IngressBackendMissing", Severity::Error, &["service web-v2, which does not exist", "shop.example.com/", "closest existing service: web"])),
            },
            Case {
                name: "backend port missing",
                objects: [base(), vec![ingress("shop", "web", "alb", "shop.example.com", "web", 8080).build()]].concat(),
                expect: Some(("IngressBackendPortMissing", Severity::Error, &["port 8080", "exposes only 80 (http)"])),
            },
            Case {
                name: "ingress class missing",
                objects: [base(), vec![ingress("shop", "web", "traefik", "shop.example.com", "web", 80).build()]].concat(),
                expect: Some(("IngressClassNotFound", Severity::Warning, &["traefik", "alb, nginx"])),
            },
            Case {
                name: "tls secret missing",
                objects: [base(), vec![ingress("shop", "web", "nginx", "shop.example.com", "web", 80).tls("shop-tls").build()]].concat(),
                expect: Some(("IngressTLSSecretMissing", Severity::Error, &["shop-tls", "shop.example.com"])),
            },
            Case {
                name: "alb takes certificates from ACM, not secrets",
                objects: [base(), vec![ingress("shop", "web", "alb", "shop.example.com", "web", 80).tls("shop-tls").build()]].concat(),
                expect: None,
            },
            Case {
                name: "no address with a controller error",
                objects: [base(), vec![
                    ingress("shop", "web", "alb", "shop.example.com", "web", 80).no_address().build(),
                    event("shop", "Ingress", "web", "Warning", "FailedBuildModel", "Failed build model due to couldn't auto-discover subnets: unable to resolve at least one subnet (0 match VPC and tags: [kubernetes.io/role/elb])", 14, 60),
                ]].concat(),
                expect: Some(("IngressNotProvisioned", Severity::Error, &["no address for", "couldn't auto-discover subnets"])),
            },
            Case {
                name: "no address for long",
                objects: [base(), vec![ingress("shop", "web", "alb", "shop.example.com", "web", 80).no_address().build()]].concat(),
                expect: Some(("IngressNoAddress", Severity::Info, &["no address for 1d", "class alb"])),
            },
        ];
        for case in cases {
            let findings = analyze(&state(case.objects));
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
    fn unread_kinds_prove_nothing() {
        let mut st = state(vec![
            ingress("shop", "web", "traefik", "shop.example.com", "web-v2", 80).tls("shop-tls").build(),
            secret("other", "x"),
        ]);
        st.read_kinds.retain(|k| !matches!(k, Kind::Service | Kind::IngressClass | Kind::Secret));
        let findings = analyze(&st);
        assert!(findings.is_empty(), "unread kinds: {findings:#?}");
    }
}
