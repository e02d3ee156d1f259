//! The endpoints controller's part: the Endpoints of a Service list the pods its selector
//! matches, ready ones under `addresses`, the others under `notReadyAddresses`, each with its
//! IP, node and a `targetRef` to the pod, sorted by IP, in one subset with the Service's ports
//! (a named `targetPort` resolved through the pods' container ports). Pods without an IP or
//! that have finished are left out; a Service without a selector is not managed.

use aiops_core::Kind;
use serde_json::{Map, Value, json};

use super::{Pass, insert_path, kubelet, labels_of};
use crate::store::meta_str;

/// Whether a Service's `spec.selector` (a plain label map) matches `labels`.
fn selects(selector: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The port an Endpoints lists for a Service port.
fn target_port(port: &Value, pods: &[Value]) -> Option<Value> {
    match port.get("targetPort") {
        Some(Value::Number(n)) => Some(json!(n)),
        Some(Value::String(name)) => match name.parse::<i64>() {
            Ok(n) => Some(json!(n)),
            Err(_) => pods
                .iter()
                .filter_map(|p| p.pointer("/spec/containers").and_then(Value::as_array))
                .flatten()
                .filter_map(|c| c.get("ports").and_then(Value::as_array))
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|p| p.get("containerPort").cloned()),
        },
        _ => port.get("port").cloned(),
    }
}

impl Pass<'_> {
    /// Recomputes the Endpoints of the Services that select a pod created or deleted.
    pub(super) fn sync_endpoints(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        for service in self.list(Kind::Service) {
            let Some(selector) = service.pointer("/spec/selector").and_then(Value::as_object).cloned() else {
                continue;
            };
            if !self.touched.iter().any(|labels| selects(&selector, labels)) {
                continue;
            }
            self.sync_service(&service, &selector);
        }
    }

    fn sync_service(&mut self, service: &Value, selector: &Map<String, Value>) {
        let name = meta_str(service, "name").unwrap_or_default().to_string();
        let pods: Vec<Value> = self
            .list(Kind::Pod)
            .into_iter()
            .filter(|p| selects(selector, &labels_of(p)))
            .filter(|p| !matches!(p.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed")))
            .collect();
        let mut ready = Vec::new();
        let mut not_ready = Vec::new();
        for pod in &pods {
            let Some(ip) = pod.pointer("/status/podIP").and_then(Value::as_str).filter(|ip| !ip.is_empty()) else {
                continue;
            };
            let mut address = json!({
                "ip": ip,
                "targetRef": {
                    "kind": "Pod",
                    "name": meta_str(pod, "name").unwrap_or_default(),
                    "namespace": self.namespace,
                    "uid": meta_str(pod, "uid").unwrap_or_default(),
                },
            });
            if let Some(node) = pod.pointer("/spec/nodeName") {
                address["nodeName"] = node.clone();
            }
            if kubelet::is_ready(pod) { ready.push(address) } else { not_ready.push(address) }
        }
        let by_ip = |a: &Value, b: &Value| a["ip"].as_str().cmp(&b["ip"].as_str());
        ready.sort_by(by_ip);
        not_ready.sort_by(by_ip);
        let ports: Vec<Value> = service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|port| {
                let mut out = json!({
                    "port": target_port(port, &pods)?,
                    "protocol": port.get("protocol").cloned().unwrap_or_else(|| json!("TCP")),
                });
                if let Some(port_name) = port.get("name") {
                    out["name"] = port_name.clone();
                }
                Some(out)
            })
            .collect();
        let subsets = if ready.is_empty() && not_ready.is_empty() {
            None
        } else {
            let mut subset = json!({"ports": ports});
            if !ready.is_empty() {
                subset["addresses"] = json!(ready);
            }
            if !not_ready.is_empty() {
                subset["notReadyAddresses"] = json!(not_ready);
            }
            Some(json!([subset]))
        };

        let existing = self.get(Kind::Endpoints, &name);
        if existing.as_ref().map(|e| e.get("subsets")) == Some(subsets.as_ref()) {
            return;
        }
        let mut endpoints = existing.clone().unwrap_or_else(|| {
            json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": name,
                    "namespace": self.namespace,
                    "uid": self.store.new_uid(),
                    "creationTimestamp": self.stamp,
                    "labels": service.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
                },
            })
        });
        match (subsets, endpoints.as_object_mut()) {
            (Some(subsets), Some(map)) => {
                map.insert("subsets".into(), subsets);
            }
            (None, Some(map)) => {
                map.remove("subsets");
            }
            (_, None) => return,
        }
        let stamp = self.stamp.clone();
        insert_path(
            &mut endpoints,
            &["metadata", "annotations", "endpoints.kubernetes.io/last-change-trigger-time"],
            json!(stamp),
        );
        self.put(Kind::Endpoints, endpoints);
    }
}
