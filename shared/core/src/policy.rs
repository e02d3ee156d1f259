//! The safety policy: pure checks every proposed write passes before a plan is made and again
//! before it is executed. Whatever the model or a caller asks, these bounds hold.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::quantity::{format_bytes, format_millicores, parse_bytes, parse_millicores};

/// Whether write tools exist for an investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WritesMode {
    /// Write tools are not offered and never run (the default).
    #[default]
    Off,
    /// Write tools may be proposed; each runs only after a human approves it.
    Approval,
}

/// Bounds on writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Namespaces writes may touch; empty means every namespace not denied.
    pub allow_namespaces: Vec<String>,
    /// Namespaces writes may never touch.
    pub deny_namespaces: Vec<String>,
    /// Whether a deployment may be scaled to zero.
    pub allow_scale_to_zero: bool,
    /// Most replicas a deployment may be scaled to.
    pub max_replicas: i64,
    /// A new cpu or memory limit (or request) may be at most this factor of the current one.
    pub max_resource_factor: f64,
    /// Highest memory limit allowed, e.g. `16Gi`.
    pub memory_ceiling: String,
    /// Highest cpu limit allowed, e.g. `8`.
    pub cpu_ceiling: String,
    /// How long an object lock lasts.
    pub lock_seconds: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            allow_namespaces: Vec::new(),
            deny_namespaces: vec!["kube-system".into()],
            allow_scale_to_zero: false,
            max_replicas: 50,
            max_resource_factor: 4.0,
            memory_ceiling: "16Gi".into(),
            cpu_ceiling: "8".into(),
            lock_seconds: 600,
        }
    }
}

/// Why the policy refuses a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl Policy {
    /// Checks the namespace against the allow and deny lists.
    ///
    /// # Errors
    /// A [`Refusal`] naming the list.
    pub fn check_namespace(&self, ns: &str) -> Result<(), Refusal> {
        if self.deny_namespaces.iter().any(|d| d == ns) {
            return Err(Refusal(format!(
                "namespace {ns} is on the deny list ({}): no writes there",
                self.deny_namespaces.join(", ")
            )));
        }
        if !self.allow_namespaces.is_empty() && !self.allow_namespaces.iter().any(|a| a == ns) {
            return Err(Refusal(format!(
                "namespace {ns} is not on the allow list ({})",
                self.allow_namespaces.join(", ")
            )));
        }
        Ok(())
    }

    /// Checks a write tool call against the policy, given the Deployment as it is now.
    ///
    /// # Errors
    /// A [`Refusal`] saying which bound the call breaks.
    pub fn check(&self, tool: &str, args: &Value, deployment: &Value) -> Result<(), Refusal> {
        let ns = args.get("namespace").and_then(Value::as_str).unwrap_or_default();
        self.check_namespace(ns)?;
        match tool {
            "scale_deployment" => {
                let n = args.get("replicas").and_then(Value::as_i64).unwrap_or(-1);
                if n == 0 && !self.allow_scale_to_zero {
                    return Err(Refusal(
                        "scaling to zero replicas is not allowed by the policy (it would take the service down)".into(),
                    ));
                }
                if n < 0 || n > self.max_replicas {
                    return Err(Refusal(format!(
                        "{n} replicas is outside the allowed range 1..={}",
                        self.max_replicas
                    )));
                }
                Ok(())
            }
            "set_container_resources" => self.check_resources(args, deployment),
            "restart_deployment" | "rollback_deployment" => Ok(()),
            other => Err(Refusal(format!("{other} is not a write tool the policy knows"))),
        }
    }

    fn check_resources(&self, args: &Value, deployment: &Value) -> Result<(), Refusal> {
        let container = args.get("container").and_then(Value::as_str).unwrap_or_default();
        let containers =
            deployment.pointer("/spec/template/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
        let Some(c) = containers.iter().find(|c| c.get("name").and_then(Value::as_str) == Some(container)) else {
            let names: Vec<&str> = containers.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).collect();
            return Err(Refusal(format!(
                "the deployment has no container {container:?} (it has: {})",
                names.join(", ")
            )));
        };
        let fields = [
            ("memory_limit", "limits", "memory"),
            ("memory_request", "requests", "memory"),
            ("cpu_limit", "limits", "cpu"),
            ("cpu_request", "requests", "cpu"),
        ];
        let mut any = false;
        for (arg, section, res) in fields {
            let Some(new) = args.get(arg).and_then(Value::as_str) else { continue };
            any = true;
            let parse = |q: &str| if res == "memory" { parse_bytes(q) } else { parse_millicores(q) };
            let fmt = |v: f64| if res == "memory" { format_bytes(v) } else { format_millicores(v) };
            let new_v = parse(new).ok_or_else(|| Refusal(format!("{arg} {new:?} is not a quantity")))?;
            if new_v <= 0.0 {
                return Err(Refusal(format!("{arg} must be positive")));
            }
            let ceiling =
                if res == "memory" { parse_bytes(&self.memory_ceiling) } else { parse_millicores(&self.cpu_ceiling) }
                    .unwrap_or(f64::MAX);
            if new_v > ceiling {
                return Err(Refusal(format!("{arg} {new} is above the policy ceiling {}", fmt(ceiling))));
            }
            if let Some(cur) = c.pointer(&format!("/resources/{section}/{res}")).and_then(Value::as_str).and_then(parse)
                && new_v > cur * self.max_resource_factor
            {
                return Err(Refusal(format!(
                    "{arg} {new} is more than {}x the current {} (at most {})",
                    self.max_resource_factor,
                    fmt(cur),
                    fmt(cur * self.max_resource_factor)
                )));
            }
        }
        if !any {
            return Err(Refusal(
                "set_container_resources needs at least one of cpu_request, cpu_limit, memory_request, memory_limit"
                    .into(),
            ));
        }
        // A request above its limit would be rejected by the API server; say it first.
        for res in ["memory", "cpu"] {
            let parse = |q: &str| if res == "memory" { parse_bytes(q) } else { parse_millicores(q) };
            let req = args.get(format!("{res}_request")).and_then(Value::as_str).map(str::to_string).or_else(|| {
                c.pointer(&format!("/resources/requests/{res}")).and_then(Value::as_str).map(str::to_string)
            });
            let lim =
                args.get(format!("{res}_limit")).and_then(Value::as_str).map(str::to_string).or_else(|| {
                    c.pointer(&format!("/resources/limits/{res}")).and_then(Value::as_str).map(str::to_string)
                });
            if let (Some(r), Some(l)) = (req.as_deref().and_then(parse), lim.as_deref().and_then(parse))
                && r > l
            {
                return Err(Refusal(format!("the {res} request would be above the {res} limit")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "512Mi", "cpu": "500m"}, "requests": {"memory": "256Mi", "cpu": "250m"}}}]}}}})
    }

    #[test]
    fn policy_table() {
        struct Case {
            name: &'static str,
            tool: &'static str,
            args: Value,
            refuse: Option<&'static str>,
        }
        let cases = [
            Case {
                name: "scale ok",
                tool: "scale_deployment",
                args: json!({"namespace": "prod", "deployment": "web", "replicas": 3}),
                refuse: None,
            },
            Case {
                name: "scale to zero",
                tool: "scale_deployment",
                args: json!({"namespace": "prod", "deployment": "web", "replicas": 0}),
                refuse: Some("scaling to zero"),
            },
            Case {
                name: "scale above max",
                tool: "scale_deployment",
                args: json!({"namespace": "prod", "deployment": "web", "replicas": 51}),
                refuse: Some("outside the allowed range"),
            },
            Case {
                name: "kube-system denied",
                tool: "restart_deployment",
                args: json!({"namespace": "kube-system", "deployment": "coredns"}),
                refuse: Some("deny list"),
            },
            Case {
                name: "memory doubled",
                tool: "set_container_resources",
                args: json!({"namespace": "prod", "deployment": "web", "container": "app", "memory_limit": "1Gi"}),
                refuse: None,
            },
            Case {
                name: "memory 8x",
                tool: "set_container_resources",
                args: json!({"namespace": "prod", "deployment": "web", "container": "app", "memory_limit": "4Gi"}),
                refuse: Some("more than 4x"),
            },
            Case {
                name: "memory over ceiling",
                tool: "set_container_resources",
                args: json!({"namespace": "prod", "deployment": "web", "container": "app", "memory_limit": "32Gi"}),
                refuse: Some("ceiling"),
            },
            Case {
                name: "wrong container",
                tool: "set_container_resources",
                args: json!({"namespace": "prod", "deployment": "web", "container": "sidecar", "memory_limit": "1Gi"}),
                refuse: Some("no container \"sidecar\""),
            },
            Case {
                name: "request above limit",
                tool: "set_container_resources",
                args: json!({"namespace": "prod", "deployment": "web", "container": "app", "memory_request": "1Gi"}),
                refuse: Some("request would be above"),
            },
            Case {
                name: "nothing to set",
                tool: "set_container_resources",
                args: json!({"namespace": "prod", "deployment": "web", "container": "app"}),
                refuse: Some("at least one"),
            },
            Case {
                name: "unknown tool",
                tool: "delete_namespace",
                args: json!({"namespace": "prod"}),
                refuse: Some("not a write tool"),
            },
        ];
        let p = Policy::default();
        for c in cases {
            match (p.check(c.tool, &c.args, &dep()), c.refuse) {
                (Ok(()), None) => {}
                (Err(e), Some(want)) => assert!(e.0.contains(want), "{}: {e}", c.name),
                (got, want) => panic!("{}: got {got:?}, want refusal {want:?}", c.name),
            }
        }
        let only_prod = Policy { allow_namespaces: vec!["prod".into()], ..Policy::default() };
        assert!(only_prod.check_namespace("staging").is_err());
        assert!(only_prod.check_namespace("prod").is_ok());
    }
}
