//! get_services: each Service with its ports, selector and endpoint readiness.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use serde::Serialize;

use super::{Args, MAX_ROWS, Render, table};
use crate::error::Result;
use crate::k8s::{self, decode_all, labels_string, selector_matches};
use crate::kinds::Kind;
use crate::ports::{ClusterReader, Scope};

/// One row of get_services.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub cluster_ip: Option<String>,
    /// `80/TCP->8080`.
    pub ports: Vec<String>,
    pub selector: BTreeMap<String, String>,
    /// Pods behind ready addresses.
    pub ready: Vec<String>,
    /// Pods behind not-ready addresses.
    pub not_ready: Vec<String>,
    /// Pods in the namespace the selector matches.
    pub matching_pods: usize,
    pub problem: Option<String>,
}

/// The result of get_services.
#[derive(Debug, Clone, Serialize)]
pub struct ServicesResult {
    pub services: Vec<ServiceRow>,
    pub omitted: usize,
}

pub(super) async fn get_services(reader: &dyn ClusterReader, args: &Args) -> Result<ServicesResult> {
    let mut scope = Scope::namespace(args.namespace.as_deref());
    if let Some(n) = &args.name {
        scope.field_selector = Some(format!("metadata.name={n}"));
    }
    let services: Vec<Service> = decode_all(reader.list(Kind::Service, &scope).await?)?;
    let endpoints: Vec<Endpoints> =
        if services.is_empty() { Vec::new() } else { decode_all(reader.list(Kind::Endpoints, &scope).await?)? };
    let pods: Vec<Pod> = if services.is_empty() {
        Vec::new()
    } else {
        decode_all(reader.list(Kind::Pod, &Scope::namespace(args.namespace.as_deref())).await?)?
    };
    let mut rows: Vec<ServiceRow> = services.iter().map(|s| row(s, &endpoints, &pods)).collect();
    rows.sort_by(|a, b| {
        a.problem.is_none().cmp(&b.problem.is_none()).then(a.namespace.cmp(&b.namespace)).then(a.name.cmp(&b.name))
    });
    let omitted = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    Ok(ServicesResult { services: rows, omitted })
}

fn row(s: &Service, endpoints: &[Endpoints], pods: &[Pod]) -> ServiceRow {
    let ns = k8s::namespace(&s.metadata).to_string();
    let name = k8s::name(&s.metadata).to_string();
    let spec = s.spec.as_ref();
    let type_ = spec.and_then(|s| s.type_.clone()).unwrap_or_else(|| "ClusterIP".into());
    let selector = spec.and_then(|s| s.selector.clone()).unwrap_or_default();
    let ports = spec
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| {
            let target = match &p.target_port {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i)) => i.to_string(),
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => s.clone(),
                None => p.port.to_string(),
            };
            format!("{}/{}->{target}", p.port, p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect();
    let ep = endpoints.iter().find(|e| k8s::namespace(&e.metadata) == ns && k8s::name(&e.metadata) == name);
    let target_name = |a: &k8s_openapi::api::core::v1::EndpointAddress| {
        a.target_ref.as_ref().and_then(|t| t.name.clone()).unwrap_or_else(|| a.ip.clone())
    };
    let subsets = ep.and_then(|e| e.subsets.as_ref()).into_iter().flatten();
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    for sub in subsets {
        ready.extend(sub.addresses.iter().flatten().map(target_name));
        not_ready.extend(sub.not_ready_addresses.iter().flatten().map(target_name));
    }
    let matching: Vec<&Pod> = pods
        .iter()
        .filter(|p| k8s::namespace(&p.metadata) == ns && selector_matches(&selector, p.metadata.labels.as_ref()))
        .collect();
    let problem = if type_ == "ExternalName" || selector.is_empty() || !ready.is_empty() {
        None
    } else if matching.is_empty() {
        Some(format!("no endpoints: selector {} matches no pods in namespace {ns}", labels_string(&selector)))
    } else {
        let names: Vec<&str> = matching.iter().map(|p| k8s::name(&p.metadata)).take(5).collect();
        Some(format!("no ready endpoints: {} matching pods are not ready ({})", matching.len(), names.join(", ")))
    };
    ServiceRow {
        namespace: ns,
        name,
        type_,
        cluster_ip: spec.and_then(|s| s.cluster_ip.clone()),
        ports,
        selector,
        ready,
        not_ready,
        matching_pods: matching.len(),
        problem,
    }
}

impl Render for ServicesResult {
    fn text(&self) -> String {
        if self.services.is_empty() {
            return "No services found.\n".into();
        }
        let rows: Vec<Vec<String>> = self
            .services
            .iter()
            .map(|s| {
                vec![
                    s.namespace.clone(),
                    s.name.clone(),
                    s.type_.clone(),
                    s.ports.join(","),
                    labels_string(&s.selector),
                    format!("{} ready, {} not ready", s.ready.len(), s.not_ready.len()),
                ]
            })
            .collect();
        let mut out = table(&["NAMESPACE", "NAME", "TYPE", "PORTS", "SELECTOR", "ENDPOINTS"], &rows);
        for s in self.services.iter().filter(|s| s.problem.is_some()) {
            out.push_str(&format!("- {}/{}: {}\n", s.namespace, s.name, s.problem.as_deref().unwrap_or_default()));
        }
        if self.omitted > 0 {
            out.push_str(&format!("({} more services omitted)\n", self.omitted));
        }
        out
    }
}
