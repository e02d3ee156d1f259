//! The settings every Lambda reads once at cold start, from its environment. A missing or
//! malformed variable fails the cold start with a message naming it.

use aiops_core::agent::Budget;
use aiops_core::policy::Policy;
use aiops_core::workflow::WorkflowConfig;

use crate::dynamo::TableNames;

/// A function's configuration.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub tables: TableNames,
    /// SNS topic for approvals and answers (`AIOPS_TOPIC_ARN`).
    pub topic_arn: Option<String>,
    /// The EKS cluster the tools read (`AIOPS_CLUSTER_NAME`).
    pub cluster_name: Option<String>,
    pub workflow: WorkflowConfig,
    pub policy: Policy,
    /// The approvals page URL, for notifications (`AIOPS_APPROVALS_URL`).
    pub approvals_url: Option<String>,
}

/// Why a configuration cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl FunctionConfig {
    /// Reads the configuration through `get` (`|k| std::env::var(k).ok()` in a Lambda).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<FunctionConfig, ConfigError> {
        let need = |k: &str| get(k).filter(|v| !v.is_empty()).ok_or_else(|| ConfigError(format!("{k} is not set")));
        let num = |k: &str, default: u64| -> Result<u64, ConfigError> {
            match get(k).filter(|v| !v.is_empty()) {
                Some(v) => v.parse().map_err(|_| ConfigError(format!("{k}={v:?} is not a number"))),
                None => Ok(default),
            }
        };
        let list = |k: &str, default: &[&str]| -> Vec<String> {
            match get(k) {
                Some(v) => v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
                None => default.iter().map(|s| s.to_string()).collect(),
            }
        };
        let defaults = Budget::default();
        let budget = Budget {
            max_turns: u32::try_from(num("AIOPS_MAX_TURNS", u64::from(defaults.max_turns))?)
                .map_err(|_| ConfigError("AIOPS_MAX_TURNS is too large".into()))?,
            max_input_tokens: num("AIOPS_MAX_INPUT_TOKENS", defaults.max_input_tokens)?,
            max_result_bytes: usize::try_from(num("AIOPS_MAX_RESULT_BYTES", defaults.max_result_bytes as u64)?)
                .unwrap_or(defaults.max_result_bytes),
        };
        let policy_default = Policy::default();
        let policy = Policy {
            allow_namespaces: list("AIOPS_ALLOW_NAMESPACES", &[]),
            deny_namespaces: list("AIOPS_DENY_NAMESPACES", &["kube-system"]),
            allow_scale_to_zero: get("AIOPS_ALLOW_SCALE_TO_ZERO").is_some_and(|v| v == "true"),
            max_replicas: i64::try_from(num("AIOPS_MAX_REPLICAS", 50)?).unwrap_or(50),
            max_resource_factor: get("AIOPS_MAX_RESOURCE_FACTOR")
                .and_then(|v| v.parse().ok())
                .unwrap_or(policy_default.max_resource_factor),
            memory_ceiling: get("AIOPS_MEMORY_CEILING").unwrap_or(policy_default.memory_ceiling),
            cpu_ceiling: get("AIOPS_CPU_CEILING").unwrap_or(policy_default.cpu_ceiling),
            lock_seconds: policy_default.lock_seconds,
        };
        let cluster_name = get("AIOPS_CLUSTER_NAME").filter(|v| !v.is_empty());
        Ok(FunctionConfig {
            tables: TableNames {
                state: need("AIOPS_STATE_TABLE")?,
                audit: need("AIOPS_AUDIT_TABLE")?,
                approvals: need("AIOPS_APPROVALS_TABLE")?,
            },
            topic_arn: get("AIOPS_TOPIC_ARN").filter(|v| !v.is_empty()),
            cluster_name: cluster_name.clone(),
            workflow: WorkflowConfig {
                budget,
                approval_timeout_seconds: num("AIOPS_APPROVAL_TIMEOUT_SECONDS", 3600)?,
                // The aws-read function inspects the configured cluster; without one it cannot.
                aws_tools: cluster_name.is_some(),
            },
            policy,
            approvals_url: get("AIOPS_APPROVALS_URL").filter(|v| !v.is_empty()),
        })
    }

    /// The cluster name, or an error naming the variable.
    ///
    /// # Errors
    /// When `AIOPS_CLUSTER_NAME` is not set.
    pub fn cluster(&self) -> Result<&str, ConfigError> {
        self.cluster_name.as_deref().ok_or_else(|| ConfigError("AIOPS_CLUSTER_NAME is not set".into()))
    }
}

/// The SDK configuration from the standard chain (honours `AWS_ENDPOINT_URL`).
pub async fn load_sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

/// A function's dependencies (SDK and Kubernetes clients), built on its first event rather than
/// before it: the runtime asks for that event as soon as the configuration is read (the cold
/// start users wait for is the same, but nothing runs that could wait), and a failure to reach
/// EKS is that invocation's classified error, which the state machine retries, instead of a
/// failed initialisation. Built once; a failed build is tried again on the next event.
pub struct OnFirstEvent<T> {
    cell: tokio::sync::OnceCell<T>,
}

impl<T> Default for OnFirstEvent<T> {
    fn default() -> Self {
        OnFirstEvent { cell: tokio::sync::OnceCell::new() }
    }
}

impl<T> OnFirstEvent<T> {
    /// Nothing built yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dependencies, built by `build` on the first call.
    ///
    /// # Errors
    /// The build's error as the invocation's error, typed by its class.
    pub async fn get<F, Fut>(&self, build: F) -> Result<&T, aiops_core::workflow::FnError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = aiops_core::Result<T>>,
    {
        self.cell.get_or_try_init(build).await.map_err(|e| aiops_core::workflow::FnError {
            error_type: e.class().error_type().to_string(),
            message: format!("the function's clients could not be set up: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_table_is_named_and_lists_parse() {
        let err = FunctionConfig::from_vars(|_| None).expect_err("no tables");
        assert!(err.to_string().contains("AIOPS_STATE_TABLE"), "{err}");
        let vars = |k: &str| match k {
            "AIOPS_STATE_TABLE" => Some("s".to_string()),
            "AIOPS_AUDIT_TABLE" => Some("a".to_string()),
            "AIOPS_APPROVALS_TABLE" => Some("p".to_string()),
            "AIOPS_DENY_NAMESPACES" => Some("kube-system, payments".to_string()),
            "AIOPS_MAX_TURNS" => Some("7".to_string()),
            _ => None,
        };
        let cfg = FunctionConfig::from_vars(vars).expect("config");
        assert_eq!(cfg.policy.deny_namespaces, vec!["kube-system", "payments"]);
        assert_eq!(cfg.workflow.budget.max_turns, 7);
        let bad = FunctionConfig::from_vars(|k| if k == "AIOPS_MAX_TURNS" { Some("many".into()) } else { vars(k) })
            .expect_err("bad number");
        assert!(bad.to_string().contains("AIOPS_MAX_TURNS"), "{bad}");
    }
}
