//! The Kubernetes RBAC manifests in `deploy/rbac/`: what the group `aiops-read` may do (no
//! Secrets, no write verb, yet every kind the reader lists), what the group `aiops-write` may
//! do (patch Deployments in the namespaces it is bound in, read what planning and verifying
//! need), and that these are the groups the template's access entries use.

use std::collections::BTreeSet;

use aiops_core::Kind;
use aiops_core::kinds::KINDS;
use anyhow::Context;
use serde_json::Value;

use crate::{resources, root, template};

/// A rule of a Role or ClusterRole.
#[derive(Debug, Clone)]
struct Rule {
    groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
    non_resource_urls: Vec<String>,
}

/// A Role or ClusterRole.
#[derive(Debug)]
struct RoleDoc {
    kind: String,
    name: String,
    namespace: Option<String>,
    rules: Vec<Rule>,
}

/// A RoleBinding or ClusterRoleBinding: the role it grants, to which groups.
#[derive(Debug)]
struct Binding {
    role_kind: String,
    role_name: String,
    groups: Vec<String>,
    other_subjects: usize,
}

fn list(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

/// Every manifest under `deploy/rbac/<dir>`.
fn manifests(dir: &str) -> anyhow::Result<Vec<Value>> {
    let path = root().join("deploy/rbac").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .with_context(|| format!("list {}", path.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut docs = Vec::new();
    for file in files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        let text = std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?;
        let parsed: Vec<Value> =
            serde_saphyr::from_multiple(&text).with_context(|| format!("parse {}", file.display()))?;
        docs.extend(parsed.into_iter().filter(|d| !d.is_null()));
    }
    Ok(docs)
}

fn roles(docs: &[Value]) -> Vec<RoleDoc> {
    docs.iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("Role" | "ClusterRole")))
        .map(|d| RoleDoc {
            kind: d["kind"].as_str().unwrap_or_default().to_string(),
            name: d["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            namespace: d["metadata"]["namespace"].as_str().map(str::to_string),
            rules: d["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| Rule {
                    groups: list(&r["apiGroups"]),
                    resources: list(&r["resources"]),
                    verbs: list(&r["verbs"]),
                    non_resource_urls: list(&r["nonResourceURLs"]),
                })
                .collect(),
        })
        .collect()
}

fn bindings(docs: &[Value]) -> Vec<Binding> {
    docs.iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("RoleBinding" | "ClusterRoleBinding")))
        .map(|d| {
            let subjects = d["subjects"].as_array().cloned().unwrap_or_default();
            let groups: Vec<String> = subjects
                .iter()
                .filter(|s| s["kind"] == "Group")
                .filter_map(|s| s["name"].as_str().map(str::to_string))
                .collect();
            Binding {
                role_kind: d["roleRef"]["kind"].as_str().unwrap_or_default().to_string(),
                role_name: d["roleRef"]["name"].as_str().unwrap_or_default().to_string(),
                other_subjects: subjects.len() - groups.len(),
                groups,
            }
        })
        .collect()
}

/// The rules granted to `group` by the manifests in `docs`.
fn rules_of_group(docs: &[Value], group: &str) -> Vec<Rule> {
    let roles = roles(docs);
    bindings(docs)
        .iter()
        .filter(|b| b.groups.iter().any(|g| g == group))
        .flat_map(|b| roles.iter().filter(|r| r.kind == b.role_kind && r.name == b.role_name))
        .flat_map(|r| r.rules.clone())
        .collect()
}

const READ_VERBS: &[&str] = &["get", "list", "watch"];

/// Why a read-only role's rules are not read-only, or reach Secrets.
fn read_problems(rules: &[Rule]) -> Vec<String> {
    let mut problems = Vec::new();
    for rule in rules {
        for verb in &rule.verbs {
            if !READ_VERBS.contains(&verb.as_str()) {
                problems.push(format!("verb {verb} on {:?}", rule.resources));
            }
        }
        for resource in &rule.resources {
            if resource == "*" || resource == "secrets" || resource.starts_with("secrets/") {
                problems.push(format!("resource {resource} in groups {:?}", rule.groups));
            }
        }
        if rule.groups.iter().any(|g| g == "*") {
            problems.push(format!("every API group for {:?}", rule.resources));
        }
        if !rule.non_resource_urls.is_empty() {
            problems.push(format!("non-resource URLs {:?}", rule.non_resource_urls));
        }
    }
    problems
}

/// Whether `rules` allow `verb` on `resource` of API `group`.
fn allows(rules: &[Rule], group: &str, resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        r.groups.iter().any(|g| g == group)
            && r.resources.iter().any(|x| x == resource)
            && r.verbs.iter().any(|v| v == verb)
    })
}

#[test]
fn the_read_check_catches_secrets_and_write_verbs() {
    let bad = vec![
        Rule {
            groups: vec![String::new()],
            resources: vec!["secrets".into()],
            verbs: vec!["get".into()],
            non_resource_urls: vec![],
        },
        Rule {
            groups: vec!["apps".into()],
            resources: vec!["deployments".into()],
            verbs: vec!["patch".into()],
            non_resource_urls: vec![],
        },
        Rule {
            groups: vec!["*".into()],
            resources: vec!["*".into()],
            verbs: vec!["*".into()],
            non_resource_urls: vec![],
        },
    ];
    let problems = read_problems(&bad);
    assert!(problems.iter().any(|p| p.contains("secrets")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("verb patch")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("verb *")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("resource *")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("every API group")), "{problems:?}");
}

#[test]
fn the_read_cluster_role_grants_no_secrets_and_no_write_verbs() -> anyhow::Result<()> {
    let docs = manifests("read")?;
    let rules = rules_of_group(&docs, "aiops-read");
    assert!(!rules.is_empty(), "deploy/rbac/read binds roles to the group aiops-read");
    let problems = read_problems(&rules);
    assert!(problems.is_empty(), "the group aiops-read may do more than read:\n{}", problems.join("\n"));
    for role in roles(&docs) {
        assert_eq!(role.kind, "ClusterRole", "{}: the readers read cluster-wide", role.name);
        assert!(read_problems(&role.rules).is_empty(), "{} is read-only", role.name);
    }
    Ok(())
}

#[test]
fn the_read_group_can_list_every_kind_the_reader_lists_but_secrets() -> anyhow::Result<()> {
    let rules = rules_of_group(&manifests("read")?, "aiops-read");
    let mut missing = Vec::new();
    for info in KINDS.iter().filter(|i| i.kind != Kind::Secret) {
        for verb in ["get", "list"] {
            if !allows(&rules, info.group, info.plural, verb) {
                missing.push(format!("{verb} {}/{} ({})", info.group, info.plural, info.name));
            }
        }
    }
    if !allows(&rules, "", "pods/log", "get") {
        missing.push("get pods/log (get_pod_logs)".to_string());
    }
    for resource in ["pods", "nodes"] {
        if !allows(&rules, "metrics.k8s.io", resource, "list") {
            missing.push(format!("list metrics.k8s.io/{resource} (usage)"));
        }
    }
    assert!(missing.is_empty(), "the reader lists kinds aiops-read may not:\n{}", missing.join("\n"));
    Ok(())
}

#[test]
fn the_write_role_only_patches_deployments_in_the_namespace_it_is_applied_to() -> anyhow::Result<()> {
    let docs = manifests("write")?;
    let all_roles = roles(&docs);
    assert!(!all_roles.is_empty(), "deploy/rbac/write has the write role");
    for role in &all_roles {
        assert_eq!(role.kind, "Role", "{}: namespaced, never cluster-wide", role.name);
        assert_eq!(role.namespace, None, "{}: no namespace written in; `kubectl apply -n NS` decides", role.name);
    }
    for binding in bindings(&docs) {
        assert_eq!(binding.role_kind, "Role", "a RoleBinding of a Role");
        assert_eq!(binding.groups, ["aiops-write"], "bound to the group aiops-write only");
        assert_eq!(binding.other_subjects, 0, "no users or service accounts");
    }
    let rules = rules_of_group(&docs, "aiops-write");
    assert!(allows(&rules, "apps", "deployments", "patch"), "the write tools patch Deployments");
    assert!(allows(&rules, "apps", "deployments", "get"), "planning reads the Deployment");
    assert!(allows(&rules, "apps", "replicasets", "list"), "a rollback reads the previous revision");
    assert!(allows(&rules, "", "pods", "list"), "the rollout check reads the pods");
    for rule in &rules {
        assert!(rule.non_resource_urls.is_empty() && !rule.groups.iter().any(|g| g == "*"), "{rule:?}");
        for verb in rule.verbs.iter().filter(|v| !READ_VERBS.contains(&v.as_str())) {
            assert_eq!(verb, "patch", "the only write verb is patch: {rule:?}");
            assert_eq!(rule.groups, ["apps"], "{rule:?}");
            assert!(rule.resources.iter().all(|r| r == "deployments" || r == "deployments/scale"), "{rule:?}");
        }
        for resource in &rule.resources {
            assert!(resource != "*" && !resource.starts_with("secrets"), "{rule:?}");
        }
    }
    Ok(())
}

#[test]
fn the_groups_bound_are_the_groups_the_access_entries_use() -> anyhow::Result<()> {
    let template = template()?;
    let used: BTreeSet<String> = resources(&template, "AWS::EKS::AccessEntry")
        .into_iter()
        .flat_map(|(_, e)| e["Properties"]["KubernetesGroups"].as_array().cloned().unwrap_or_default())
        .filter_map(|g| g.as_str().map(str::to_string))
        .collect();
    let mut bound = BTreeSet::new();
    for dir in ["read", "write"] {
        bound.extend(bindings(&manifests(dir)?).into_iter().flat_map(|b| b.groups));
    }
    assert_eq!(used, bound, "access entry groups vs RBAC binding groups");
    assert_eq!(used, BTreeSet::from(["aiops-read".to_string(), "aiops-write".to_string()]));
    Ok(())
}
