//! Discovery documents, all derived from the kinds this cluster serves (the [`KINDS`] table,
//! less the optional kinds its snapshot holds no objects of; see [`served_kinds`]):
//! `/version`, `/api`, `/apis`, `/apis/{group}`, the `APIResourceList` of each group version,
//! and the aggregated discovery (`apidiscovery.k8s.io/v2`) form of `/api` and `/apis` that
//! newer clients ask for.

use aiops_core::Kind;
use aiops_core::kinds::{KINDS, KindInfo};
use serde_json::{Value, json};

/// The Kubernetes version the simulated cluster reports.
pub(crate) const GIT_VERSION: &str = "v1.31.0";

/// The `Content-Type` of an aggregated discovery answer.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Verbs served on every kind's main resource (no `watch`: see the crate docs).
const VERBS: &[&str] = &["create", "delete", "get", "list", "patch", "update"];
/// Verbs of an optional (add-on, read-only) kind, as metrics-server serves them (less `watch`).
const READ_VERBS: &[&str] = &["get", "list"];

fn verbs(info: &KindInfo) -> &'static [&'static str] {
    if info.optional { READ_VERBS } else { VERBS }
}

/// The kinds a cluster holding `has_objects` serves: every kind of the table, except an
/// optional kind whose API group has no object at all (a cluster without metrics-server serves
/// no `metrics.k8s.io`).
pub(crate) fn served_kinds(has_objects: impl Fn(Kind) -> bool) -> Vec<&'static KindInfo> {
    let group_has_objects =
        |group: &str| KINDS.iter().filter(|i| i.group == group && i.optional).any(|i| has_objects(i.kind));
    KINDS.iter().filter(|i| !i.optional || group_has_objects(i.group)).collect()
}

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
pub(crate) fn core_versions(kinds: &[&KindInfo], server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": versions_of(kinds, ""),
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// Distinct non-core groups, in table order.
fn groups(kinds: &[&KindInfo]) -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for info in kinds {
        if !info.group.is_empty() && !groups.contains(&info.group) {
            groups.push(info.group);
        }
    }
    groups
}

/// Versions of a group, in table order (the first is preferred).
fn versions_of(kinds: &[&KindInfo], group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = Vec::new();
    for info in kinds.iter().filter(|i| i.group == group) {
        if !versions.contains(&info.version) {
            versions.push(info.version);
        }
    }
    versions
}

/// Whether the group version is served.
pub(crate) fn serves_group_version(kinds: &[&KindInfo], group: &str, version: &str) -> bool {
    kinds.iter().any(|i| i.group == group && i.version == version)
}

fn group_document(kinds: &[&KindInfo], group: &str) -> Value {
    let versions: Vec<Value> = versions_of(kinds, group)
        .into_iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

/// `GET /apis`.
pub(crate) fn group_list(kinds: &[&KindInfo]) -> Value {
    let groups: Vec<Value> = groups(kinds).into_iter().map(|g| group_document(kinds, g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`, or `None` when the group is not served.
pub(crate) fn group(kinds: &[&KindInfo], group: &str) -> Option<Value> {
    if group.is_empty() || !kinds.iter().any(|i| i.group == group) {
        return None;
    }
    let mut doc = group_document(kinds, group);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `GET /api/{version}` or `/apis/{group}/{version}`.
pub(crate) fn resource_list(kinds: &[&KindInfo], group: &str, version: &str) -> Value {
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let mut resources = Vec::new();
    for info in kinds.iter().filter(|i| i.group == group && i.version == version) {
        resources.push(json!({
            "name": info.plural,
            "singularName": info.name.to_lowercase(),
            "namespaced": info.namespaced,
            "kind": info.name,
            "verbs": verbs(info),
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

fn aggregated_group(kinds: &[&KindInfo], group: &str) -> Value {
    let versions: Vec<Value> = versions_of(kinds, group)
        .into_iter()
        .map(|version| {
            let resources: Vec<Value> = kinds
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
                        "verbs": verbs(info),
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
pub(crate) fn aggregated(kinds: &[&KindInfo], core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(kinds, "")]
    } else {
        groups(kinds).into_iter().map(|g| aggregated_group(kinds, g)).collect()
    };
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
        let all: Vec<&KindInfo> = KINDS.iter().collect();
        let apps = resource_list(&all, "apps", "v1");
        let names: Vec<&str> =
            apps["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"deployments") && names.contains(&"deployments/scale"), "{names:?}");
        let core = resource_list(&all, "", "v1");
        let names: Vec<&str> =
            core["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"pods/log"), "{names:?}");
        let mains = KINDS.iter().filter(|i| i.group.is_empty()).count();
        assert_eq!(names.iter().filter(|n| !n.contains('/')).count(), mains);
    }

    #[test]
    fn metrics_group_is_served_only_with_metrics_objects() {
        let without = served_kinds(|_| false);
        assert!(!serves_group_version(&without, "metrics.k8s.io", "v1beta1"));
        assert!(group(&without, "metrics.k8s.io").is_none());
        assert_eq!(without.len(), KINDS.len() - 2);
        // NodeMetrics alone is enough for metrics-server's whole group to be there.
        let with = served_kinds(|k| k == Kind::NodeMetrics);
        assert!(serves_group_version(&with, "metrics.k8s.io", "v1beta1"));
        let list = resource_list(&with, "metrics.k8s.io", "v1beta1");
        let names: Vec<&str> =
            list["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, ["pods", "nodes"]);
        assert_eq!(list["resources"][0]["verbs"], json!(["get", "list"]));
    }
}
