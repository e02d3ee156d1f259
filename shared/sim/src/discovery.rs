//! Discovery documents, all derived from [`KINDS`]: `/version`, `/api`, `/apis`,
//! `/apis/{group}`, the `APIResourceList` of each group version, and the aggregated discovery
//! (`apidiscovery.k8s.io/v2`) form of `/api` and `/apis` that newer clients ask for.

use aiops_core::kinds::{KINDS, KindInfo};
use serde_json::{Value, json};

/// The Kubernetes version the simulated cluster reports.
pub(crate) const GIT_VERSION: &str = "v1.31.0";

/// The `Content-Type` of an aggregated discovery answer.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Verbs served on every kind's main resource (no `watch`: see the crate docs).
const VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update"];

/// `(group, version, kind)` of a subresource's answer.
type ResponseKind = (&'static str, &'static str, &'static str);

/// Subresources this server implements, with the kind they answer with (`None`: the parent's)
/// and their verbs. A subresource named in the table but missing here is neither routed nor
/// advertised.
fn subresource(name: &str) -> Option<(Option<ResponseKind>, &'static [&'static str])> {
    match name {
        "status" => Some((None, &["get", "patch", "update"])),
        "scale" => Some((Some(("autoscaling", "v1", "Scale")), &["get", "patch", "update"])),
        "log" => Some((None, &["get"])),
        _ => None,
    }
}

/// Whether `info` has the subresource `name` and this server implements it.
pub(crate) fn serves_subresource(info: &KindInfo, name: &str) -> bool {
    info.subresources.contains(&name) && subresource(name).is_some()
}

/// `GET /version`.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "31",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T00:00:00Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": versions_of(""),
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// Distinct non-core groups, in table order.
fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for info in KINDS {
        if !info.group.is_empty() && !groups.contains(&info.group) {
            groups.push(info.group);
        }
    }
    groups
}

/// Versions of a group, in table order (the first is preferred).
fn versions_of(group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = Vec::new();
    for info in KINDS.iter().filter(|i| i.group == group) {
        if !versions.contains(&info.version) {
            versions.push(info.version);
        }
    }
    versions
}

/// Whether the group version is served.
pub(crate) fn serves_group_version(group: &str, version: &str) -> bool {
    KINDS.iter().any(|i| i.group == group && i.version == version)
}

fn group_document(group: &str) -> Value {
    let versions: Vec<Value> =
        versions_of(group).into_iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `GET /apis`.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = groups().into_iter().map(group_document).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`, or `None` when the group is not served.
pub(crate) fn group(group: &str) -> Option<Value> {
    if group.is_empty() || !KINDS.iter().any(|i| i.group == group) {
        return None;
    }
    let mut doc = group_document(group);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `GET /api/{version}` or `/apis/{group}/{version}`.
pub(crate) fn resource_list(group: &str, version: &str) -> Value {
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let mut resources = Vec::new();
    for info in KINDS.iter().filter(|i| i.group == group && i.version == version) {
        resources.push(json!({
            "name": info.plural,
            "singularName": info.name.to_lowercase(),
            "namespaced": info.namespaced,
            "kind": info.name,
            "verbs": VERBS,
        }));
        for name in info.subresources {
            let Some((response_kind, verbs)) = subresource(name) else { continue };
            let mut entry = json!({
                "name": format!("{}/{name}", info.plural),
                "singularName": "",
                "namespaced": info.namespaced,
                "kind": info.name,
                "verbs": verbs,
            });
            if let Some((g, v, k)) = response_kind {
                entry["group"] = json!(g);
                entry["version"] = json!(v);
                entry["kind"] = json!(k);
            }
            resources.push(entry);
        }
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn aggregated_group(group: &str) -> Value {
    let versions: Vec<Value> = versions_of(group)
        .into_iter()
        .map(|version| {
            let resources: Vec<Value> = KINDS
                .iter()
                .filter(|i| i.group == group && i.version == version)
                .map(|info| {
                    let subresources: Vec<Value> = info
                        .subresources
                        .iter()
                        .filter_map(|name| {
                            let (response_kind, verbs) = subresource(name)?;
                            let (g, v, k) = response_kind.unwrap_or((info.group, info.version, info.name));
                            Some(json!({
                                "subresource": name,
                                "responseKind": {"group": g, "version": v, "kind": k},
                                "verbs": verbs,
                            }))
                        })
                        .collect();
                    json!({
                        "resource": info.plural,
                        "responseKind": {"group": info.group, "version": info.version, "kind": info.name},
                        "scope": if info.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": info.name.to_lowercase(),
                        "verbs": VERBS,
                        "subresources": subresources,
                    })
                })
                .collect();
            json!({"version": version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": group}, "versions": versions})
}

/// Aggregated discovery: `/api` (`core == true`) or `/apis`.
pub(crate) fn aggregated(core: bool) -> Value {
    let items: Vec<Value> =
        if core { vec![aggregated_group("")] } else { groups().into_iter().map(aggregated_group).collect() };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_once_with_its_subresources() {
        let apps = resource_list("apps", "v1");
        let names: Vec<&str> =
            apps["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"deployments") && names.contains(&"deployments/scale"), "{names:?}");
        let core = resource_list("", "v1");
        let names: Vec<&str> =
            core["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"pods/log"), "{names:?}");
        let mains = KINDS.iter().filter(|i| i.group.is_empty()).count();
        assert_eq!(names.iter().filter(|n| !n.contains('/')).count(), mains);
    }
}
