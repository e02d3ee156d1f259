//! The tool catalog: every tool the model may call, with its JSON schema, its class and
//! whether it is built yet; and the argument validation every call goes through before
//! anything runs.
//!
//! Schemas use plain JSON Schema keywords (`type`, `properties`, `required`, `enum`,
//! `minimum`, `maximum`, `maxLength`, `pattern`, `additionalProperties`) so they can be handed
//! to Bedrock's `toolConfig` unchanged; [`validate`] checks exactly those keywords.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// Whether a tool only reads or changes something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolClass {
    /// Reads only; always offered.
    Read,
    /// Changes the cluster; offered only when writes are enabled, run only after approval.
    Write,
}

/// Where a tool's implementation lives: which Lambda runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolHome {
    K8sRead,
    AwsRead,
    Diagnose,
    K8sWrite,
}

/// One tool of the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub class: ToolClass,
    pub home: ToolHome,
    /// Whether the tool is built; an unbuilt tool answers "not implemented yet".
    pub implemented: bool,
    /// JSON Schema of the arguments object.
    pub schema: Value,
}

/// `pattern` of an RFC 1123 label (namespaces, container names, …).
pub const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// `pattern` of an RFC 1123 subdomain (most object names).
pub const DNS_SUBDOMAIN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// `pattern` of a Kubernetes resource quantity (`512Mi`, `1Gi`, `250m`, `2`).
pub const QUANTITY: &str = "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$";

fn namespace(desc: &str) -> Value {
    json!({"type": "string", "description": desc, "pattern": DNS_LABEL, "maxLength": 63})
}

fn name(desc: &str) -> Value {
    json!({"type": "string", "description": desc, "pattern": DNS_SUBDOMAIN, "maxLength": 253})
}

fn string(desc: &str, max: u64) -> Value {
    json!({"type": "string", "description": desc, "maxLength": max})
}

fn integer(desc: &str, min: i64, max: i64) -> Value {
    json!({"type": "integer", "description": desc, "minimum": min, "maximum": max})
}

fn boolean(desc: &str) -> Value {
    json!({"type": "boolean", "description": desc})
}

fn quantity(desc: &str) -> Value {
    json!({"type": "string", "description": desc, "pattern": QUANTITY, "maxLength": 20})
}

fn object(props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let mut properties = Map::new();
    for (k, v) in props {
        properties.insert(k.to_string(), v);
    }
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn spec(
    name: &'static str,
    class: ToolClass,
    home: ToolHome,
    implemented: bool,
    description: &'static str,
    schema: Value,
) -> ToolSpec {
    ToolSpec { name, description, class, home, implemented, schema }
}

/// The whole catalog, in the order `aiops tools list` shows it.
pub fn catalog() -> &'static [ToolSpec] {
    static CATALOG: std::sync::OnceLock<Vec<ToolSpec>> = std::sync::OnceLock::new();
    CATALOG.get_or_init(build)
}

fn build() -> Vec<ToolSpec> {
    use ToolClass::{Read, Write};
    use ToolHome::{AwsRead, Diagnose, K8sRead, K8sWrite};
    let ns_opt = || namespace("Default: every namespace");
    let ns_req = || namespace("");
    let selector = || string("Label selector, e.g. app=web,tier!=db", 512);
    // The pod tools resolve a workload or partial name to its least healthy pod.
    let pod = || name("Pod, workload or partial name: its least healthy pod");
    vec![
        spec(
            "get_pods",
            Read,
            K8sRead,
            true,
            "List pods with phase, ready containers, restarts, the reason a pod is unhealthy (waiting or last termination reason and exit code), node and age.",
            object(
                vec![
                    ("namespace", ns_opt()),
                    ("name", name("Only pods whose name contains this")),
                    ("label_selector", selector()),
                    ("unhealthy_only", boolean("Only pods that are not Running and Ready or Succeeded")),
                ],
                &[],
            ),
        ),
        spec(
            "get_pod_logs",
            Read,
            K8sRead,
            true,
            "Read a container's log reduced to the lines that matter (errors, stack traces, the last lines), saying how much was dropped.",
            object(
                vec![
                    ("namespace", ns_opt()),
                    ("pod", pod()),
                    ("container", namespace("Default: the failing or only container")),
                    ("previous", boolean("Read the crashed instance; default when it restarted")),
                    ("tail_lines", integer("Last lines to read (default 500)", 1, 10000)),
                    ("since_seconds", integer("Only lines this recent", 1, 604_800)),
                ],
                &["pod"],
            ),
        ),
        spec(
            "describe_pod",
            Read,
            K8sRead,
            true,
            "Describe a pod like kubectl describe: containers, images, requests and limits, probes, state and last state, conditions, volumes and events.",
            object(vec![("namespace", ns_opt()), ("pod", pod())], &["pod"]),
        ),
        spec(
            "get_events",
            Read,
            K8sRead,
            true,
            "Events, deduplicated with counts, newest first; filter by namespace, object, type and reason.",
            object(
                vec![
                    ("namespace", ns_opt()),
                    ("object_name", name("Involved object; a workload's name includes its pods' events")),
                    ("object_kind", string("e.g. Pod", 63)),
                    ("type", json!({"type": "string", "enum": ["Normal", "Warning"]})),
                    ("reason", string("e.g. BackOff", 128)),
                    ("limit", integer("Default 50", 1, 500)),
                ],
                &[],
            ),
        ),
        spec(
            "get_deployments",
            Read,
            K8sRead,
            true,
            "Deployments with desired, ready, updated and available replicas, conditions, and the current and previous revisions with their images.",
            object(vec![("namespace", ns_opt()), ("name", name("")), ("label_selector", selector())], &[]),
        ),
        spec(
            "get_nodes",
            Read,
            K8sRead,
            true,
            "Nodes with readiness, pressure conditions, taints, schedulability, capacity, nodegroup, instance type and zone.",
            object(vec![("name", name("")), ("label_selector", selector())], &[]),
        ),
        spec(
            "get_services",
            Read,
            K8sRead,
            true,
            "Services with type, ports, selector and endpoint readiness (ready and not-ready addresses, and whether the selector matches any pod).",
            object(vec![("namespace", ns_opt()), ("name", name(""))], &[]),
        ),
        spec(
            "describe_cluster",
            Read,
            AwsRead,
            true,
            "The EKS cluster: version, status, endpoint access, authentication mode, logging, health issues, add-ons and upgrade insights.",
            object(vec![("cluster_name", string("EKS cluster name; the configured cluster when omitted", 100))], &[]),
        ),
        spec(
            "list_nodegroups",
            Read,
            AwsRead,
            true,
            "EKS managed nodegroups: status, health issues, scaling against current size, instance types, AMI, capacity type, labels and taints.",
            object(vec![("cluster_name", string("EKS cluster name; the configured cluster when omitted", 100))], &[]),
        ),
        spec(
            "get_node_health",
            Read,
            AwsRead,
            true,
            "Kubernetes node conditions joined with EC2 instance status checks and scheduled events; mismatches called out.",
            object(vec![("node_name", name("Node name; every node when omitted"))], &[]),
        ),
        spec(
            "get_cloudwatch_metrics",
            Read,
            AwsRead,
            true,
            "Container Insights metrics (CPU, memory, restarts, network) for a pod, node or the cluster over a window, as min/avg/max/last.",
            object(
                vec![
                    (
                        "scope",
                        json!({"type": "string", "enum": ["pod", "node", "cluster"], "description": "What the metrics are about"}),
                    ),
                    ("namespace", ns_opt()),
                    ("name", name("Pod or node name")),
                    ("minutes", integer("Window in minutes (default 60)", 5, 10080)),
                    ("period_seconds", integer("Period in seconds (default 300)", 60, 86400)),
                ],
                &["scope"],
            ),
        ),
        spec(
            "get_cloudwatch_logs",
            Read,
            AwsRead,
            true,
            "Container Insights application logs or EKS control-plane logs filtered by pod, namespace, pattern and time, reduced to the lines that matter.",
            object(
                vec![
                    (
                        "log_group",
                        json!({"type": "string", "enum": ["application", "cluster"], "description": "Which log group"}),
                    ),
                    ("namespace", ns_opt()),
                    ("pod", name("Pod name")),
                    ("pattern", string("A filter pattern", 256)),
                    ("minutes", integer("Window in minutes (default 60)", 1, 10080)),
                    ("limit", integer("At most this many events (default 100)", 1, 1000)),
                ],
                &["log_group"],
            ),
        ),
        spec(
            "analyze_pod_issues",
            Read,
            Diagnose,
            true,
            "Run the analyzers over a pod, a deployment or a namespace and return root-cause findings with evidence and recommended actions.",
            object(vec![("namespace", ns_opt()), ("pod", pod()), ("deployment", name(""))], &[]),
        ),
        spec(
            "check_resource_usage",
            Read,
            Diagnose,
            true,
            "Requests and limits of a pod, deployment or namespace against actual usage (metrics API or Container Insights), OOM history, containers without requests or a memory limit, usage near limits, and node allocatable against requested and used.",
            object(vec![("namespace", ns_opt()), ("pod", name("Pod name")), ("deployment", name(""))], &[]),
        ),
        spec(
            "connectivity_test",
            Read,
            Diagnose,
            true,
            "Follow the path from an optional source pod or namespace to a Service: selector, endpoints, pod readiness, ports, NetworkPolicies both ways, DNS egress, kube-dns and DNS errors in logs; each hop ok, broken or unknown with evidence, the first broken one named.",
            object(
                vec![
                    ("namespace", ns_req()),
                    ("service", name("")),
                    ("port", integer("Service port (default: every port)", 1, 65535)),
                    ("source_namespace", namespace("Client's namespace (default: the service's)")),
                    ("source_pod", name("Client pod")),
                ],
                &["namespace", "service"],
            ),
        ),
        spec(
            "scale_deployment",
            Write,
            K8sWrite,
            false,
            "Set a deployment's replica count. Runs only after a human approves.",
            object(
                vec![("namespace", ns_req()), ("deployment", name("")), ("replicas", integer("", 0, 1000))],
                &["namespace", "deployment", "replicas"],
            ),
        ),
        spec(
            "restart_deployment",
            Write,
            K8sWrite,
            false,
            "Rolling restart of a deployment (the rollout-restart annotation). Runs only after a human approves.",
            object(vec![("namespace", ns_req()), ("deployment", name(""))], &["namespace", "deployment"]),
        ),
        spec(
            "rollback_deployment",
            Write,
            K8sWrite,
            false,
            "Roll a deployment back to the previous or a given revision. Runs only after a human approves.",
            object(
                vec![
                    ("namespace", ns_req()),
                    ("deployment", name("")),
                    ("revision", integer("Revision to roll back to; the previous one when omitted", 1, 1_000_000)),
                ],
                &["namespace", "deployment"],
            ),
        ),
        spec(
            "set_container_resources",
            Write,
            K8sWrite,
            false,
            "Set requests and limits of one container of a deployment. Runs only after a human approves.",
            object(
                vec![
                    ("namespace", ns_req()),
                    ("deployment", name("")),
                    ("container", namespace("")),
                    ("cpu_request", quantity("CPU request, e.g. 250m")),
                    ("cpu_limit", quantity("CPU limit, e.g. 1")),
                    ("memory_request", quantity("Memory request, e.g. 512Mi")),
                    ("memory_limit", quantity("Memory limit, e.g. 1Gi")),
                ],
                &["namespace", "deployment", "container"],
            ),
        ),
    ]
}

/// Looks a tool up by name.
///
/// # Errors
/// [`Error::UnknownTool`].
pub fn find(name: &str) -> Result<&'static ToolSpec> {
    catalog().iter().find(|t| t.name == name).ok_or_else(|| Error::UnknownTool { name: name.to_string() })
}

/// Validates `args` against the tool's schema. `null` is taken as `{}`.
///
/// # Errors
/// [`Error::UnknownTool`] or [`Error::InvalidArgs`] naming the argument and what is wrong.
pub fn validate(tool: &str, args: &Value) -> Result<&'static ToolSpec> {
    let spec = find(tool)?;
    let empty = Value::Object(Map::new());
    let args = if args.is_null() { &empty } else { args };
    check(&spec.schema, args, "").map_err(|message| Error::InvalidArgs { tool: tool.to_string(), message })?;
    Ok(spec)
}

fn check(schema: &Value, value: &Value, path: &str) -> std::result::Result<(), String> {
    let at = |p: &str| if p.is_empty() { "arguments".to_string() } else { format!("argument {p:?}") };
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("any");
    match ty {
        "object" => {
            let Some(map) = value.as_object() else {
                return Err(format!("{} must be a JSON object", at(path)));
            };
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(req) = req.as_str()
                    && map.get(req).is_none_or(Value::is_null)
                {
                    return Err(format!("missing required argument {req:?}"));
                }
            }
            for (k, v) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(sub) if !v.is_null() => check(sub, v, k)?,
                    Some(_) => {}
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        let known: Vec<&str> =
                            props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                        return Err(format!("unknown argument {k:?}; expected one of: {}", known.join(", ")));
                    }
                    None => {}
                }
            }
            Ok(())
        }
        "string" => {
            let Some(s) = value.as_str() else {
                return Err(format!("{} must be a string", at(path)));
            };
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && s.chars().count() as u64 > max
            {
                return Err(format!("{} is longer than {max} characters", at(path)));
            }
            if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
                && !allowed.iter().any(|a| a.as_str() == Some(s))
            {
                let list: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                return Err(format!("{} must be one of {}, not {s:?}", at(path), list.join(", ")));
            }
            match schema.get("pattern").and_then(Value::as_str) {
                Some(DNS_LABEL) if !is_dns_label(s) => Err(format!(
                    "{} {s:?} is not a valid RFC 1123 name (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)",
                    at(path)
                )),
                Some(DNS_SUBDOMAIN) if !is_dns_subdomain(s) => Err(format!(
                    "{} {s:?} is not a valid RFC 1123 name (lower-case letters, digits, '-' and '.', at most 253 characters)",
                    at(path)
                )),
                Some(QUANTITY) if !is_quantity(s) => {
                    Err(format!("{} {s:?} is not a Kubernetes quantity such as 512Mi, 1Gi, 250m or 2", at(path)))
                }
                _ => Ok(()),
            }
        }
        "integer" => {
            let Some(n) = value.as_i64() else {
                return Err(format!("{} must be an integer", at(path)));
            };
            if let Some(min) = schema.get("minimum").and_then(Value::as_i64)
                && n < min
            {
                return Err(format!("{} must be at least {min}", at(path)));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_i64)
                && n > max
            {
                return Err(format!("{} must be at most {max}", at(path)));
            }
            Ok(())
        }
        "boolean" if !value.is_boolean() => Err(format!("{} must be true or false", at(path))),
        _ => Ok(()),
    }
}

/// Whether `s` is an RFC 1123 label (namespaces, container names).
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is an RFC 1123 subdomain (most object names).
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Whether `s` is a Kubernetes quantity of the forms we accept.
pub fn is_quantity(s: &str) -> bool {
    let suffixes = ["Ki", "Mi", "Gi", "Ti", "m", "k", "M", "G", "T"];
    let num = suffixes.iter().find_map(|x| s.strip_suffix(x)).unwrap_or(s);
    let mut parts = num.splitn(2, '.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        tool: &'static str,
        args: Value,
        expect_err: Option<&'static str>,
    }

    #[test]
    fn validation_table() {
        let cases = [
            Case { name: "empty args for get_pods", tool: "get_pods", args: Value::Null, expect_err: None },
            Case {
                name: "valid namespace",
                tool: "get_pods",
                args: json!({"namespace": "production"}),
                expect_err: None,
            },
            Case {
                name: "uppercase namespace",
                tool: "get_pods",
                args: json!({"namespace": "Production"}),
                expect_err: Some("not a valid RFC 1123 name"),
            },
            Case {
                name: "namespace too long",
                tool: "get_pods",
                args: json!({"namespace": "a".repeat(64)}),
                expect_err: Some("longer than 63"),
            },
            Case {
                name: "unknown argument",
                tool: "get_pods",
                args: json!({"nmespace": "x"}),
                expect_err: Some("unknown argument \"nmespace\""),
            },
            Case {
                name: "missing required",
                tool: "describe_pod",
                args: json!({"namespace": "x"}),
                expect_err: Some("missing required argument \"pod\""),
            },
            Case {
                name: "wrong type",
                tool: "get_pod_logs",
                args: json!({"namespace": "x", "pod": "p", "tail_lines": "ten"}),
                expect_err: Some("must be an integer"),
            },
            Case {
                name: "out of range",
                tool: "get_pod_logs",
                args: json!({"namespace": "x", "pod": "p", "tail_lines": 0}),
                expect_err: Some("at least 1"),
            },
            Case {
                name: "bad enum",
                tool: "get_events",
                args: json!({"type": "Error"}),
                expect_err: Some("must be one of Normal, Warning"),
            },
            Case {
                name: "bad quantity",
                tool: "set_container_resources",
                args: json!({"namespace": "a", "deployment": "b", "container": "c", "memory_limit": "1 GB"}),
                expect_err: Some("not a Kubernetes quantity"),
            },
            Case {
                name: "good quantity",
                tool: "set_container_resources",
                args: json!({"namespace": "a", "deployment": "b", "container": "c", "memory_limit": "1Gi", "cpu_limit": "0.5"}),
                expect_err: None,
            },
            Case {
                name: "connectivity needs a service",
                tool: "connectivity_test",
                args: json!({"namespace": "payments"}),
                expect_err: Some("missing required argument \"service\""),
            },
            Case {
                name: "connectivity port out of range",
                tool: "connectivity_test",
                args: json!({"namespace": "payments", "service": "api", "port": 70000}),
                expect_err: Some("at most 65535"),
            },
            Case {
                name: "connectivity from a pod",
                tool: "connectivity_test",
                args: json!({"namespace": "payments", "service": "api", "port": 80, "source_namespace": "checkout", "source_pod": "web-1"}),
                expect_err: None,
            },
            Case {
                name: "resource usage bad deployment name",
                tool: "check_resource_usage",
                args: json!({"namespace": "prod", "deployment": "Web_1"}),
                expect_err: Some("not a valid RFC 1123 name"),
            },
            Case {
                name: "args not an object",
                tool: "get_pods",
                args: json!(["production"]),
                expect_err: Some("must be a JSON object"),
            },
        ];
        for case in cases {
            let got = validate(case.tool, &case.args);
            match (case.expect_err, got) {
                (None, Ok(_)) => {}
                (None, Err(e)) => panic!("{}: unexpected error {e}", case.name),
                (Some(want), Ok(_)) => panic!("{}: expected an error containing {want:?}", case.name),
                (Some(want), Err(e)) => assert!(e.to_string().contains(want), "{}: {e} lacks {want:?}", case.name),
            }
        }
    }

    #[test]
    fn unknown_tool_is_named() {
        let err = validate("delete_cluster", &Value::Null).expect_err("unknown");
        assert!(err.to_string().contains("unknown tool \"delete_cluster\""), "{err}");
    }

    #[test]
    fn catalog_names_are_unique_and_cover_design() {
        let names: Vec<&str> = catalog().iter().map(|t| t.name).collect();
        for want in [
            "get_pods",
            "get_pod_logs",
            "describe_pod",
            "get_events",
            "get_deployments",
            "describe_cluster",
            "list_nodegroups",
            "get_node_health",
            "get_cloudwatch_metrics",
            "get_cloudwatch_logs",
            "analyze_pod_issues",
            "check_resource_usage",
            "connectivity_test",
            "scale_deployment",
            "restart_deployment",
            "rollback_deployment",
            "set_container_resources",
        ] {
            assert_eq!(names.iter().filter(|n| **n == want).count(), 1, "{want}");
        }
        for t in catalog() {
            assert_eq!(t.schema["type"], "object", "{}", t.name);
            assert_eq!(t.class == ToolClass::Write, t.home == ToolHome::K8sWrite, "{}", t.name);
        }
    }
}
