//! describe_cluster: DescribeCluster, then add-ons (ListAddons + DescribeAddon) and upgrade
//! insights (ListInsights) where the endpoint serves them.

use aws_sdk_eks::types::{Category, InsightsFilter};
use serde::Serialize;

use super::{Args, AwsInspector, cluster_error, some, time, unavailable};
use aiops_core::Result;
use aiops_core::tools::Render;

/// Add-ons described at most.
const MAX_ADDONS: usize = 50;
/// Insights listed at most.
const MAX_INSIGHTS: usize = 100;

/// A health issue of the cluster, an add-on or a nodegroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthIssue {
    pub code: String,
    pub message: String,
    /// The resources concerned (instances, subnets, …).
    pub resources: Vec<String>,
}

impl HealthIssue {
    /// `code: message (resources)`.
    pub(super) fn line(&self) -> String {
        let mut s = format!("{}: {}", self.code, self.message);
        if !self.resources.is_empty() {
            let shown: Vec<&str> = self.resources.iter().take(5).map(String::as_str).collect();
            s.push_str(&format!(" ({}", shown.join(", ")));
            if self.resources.len() > shown.len() {
                s.push_str(&format!(", +{} more", self.resources.len() - shown.len()));
            }
            s.push(')');
        }
        s
    }
}

/// One add-on.
#[derive(Debug, Clone, Serialize)]
pub struct AddonRow {
    pub name: String,
    pub version: Option<String>,
    /// `ACTIVE`, `DEGRADED`, `CREATE_FAILED`, `UPDATE_FAILED`, …
    pub status: Option<String>,
    pub issues: Vec<HealthIssue>,
}

/// One upgrade-readiness insight.
#[derive(Debug, Clone, Serialize)]
pub struct InsightRow {
    pub name: String,
    /// `PASSING`, `WARNING`, `ERROR` or `UNKNOWN`.
    pub status: String,
    pub reason: Option<String>,
    /// The Kubernetes version the insight is about.
    pub kubernetes_version: Option<String>,
    pub description: Option<String>,
}

/// The result of describe_cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    pub name: String,
    pub region: String,
    pub arn: Option<String>,
    /// `ACTIVE`, `CREATING`, `UPDATING`, `FAILED`, …
    pub status: Option<String>,
    pub version: Option<String>,
    pub platform_version: Option<String>,
    pub created_at: Option<String>,
    pub endpoint_public_access: Option<bool>,
    pub endpoint_private_access: Option<bool>,
    pub public_access_cidrs: Vec<String>,
    /// `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP`.
    pub authentication_mode: Option<String>,
    /// `STANDARD` or `EXTENDED` support.
    pub support_type: Option<String>,
    /// Control-plane log types shipped to CloudWatch Logs.
    pub logging_enabled: Vec<String>,
    pub logging_disabled: Vec<String>,
    pub health_issues: Vec<HealthIssue>,
    /// `None` when the add-ons could not be read (see `addons_note`).
    pub addons: Option<Vec<AddonRow>>,
    pub addons_note: Option<String>,
    /// `None` when the insights could not be read (see `insights_note`).
    pub insights: Option<Vec<InsightRow>>,
    pub insights_note: Option<String>,
}

pub(super) async fn describe_cluster(inspector: &AwsInspector, args: &Args) -> Result<ClusterResult> {
    let name = inspector.cluster("describe_cluster", args.cluster_name.as_deref())?.to_string();
    let region = inspector.region();
    let out = inspector
        .eks
        .describe_cluster()
        .name(&name)
        .send()
        .await
        .map_err(|e| cluster_error("eks:DescribeCluster", &name, &region, e))?;
    let mut result = ClusterResult {
        name: name.clone(),
        region,
        arn: None,
        status: None,
        version: None,
        platform_version: None,
        created_at: None,
        endpoint_public_access: None,
        endpoint_private_access: None,
        public_access_cidrs: Vec::new(),
        authentication_mode: None,
        support_type: None,
        logging_enabled: Vec::new(),
        logging_disabled: Vec::new(),
        health_issues: Vec::new(),
        addons: None,
        addons_note: None,
        insights: None,
        insights_note: None,
    };
    if let Some(c) = out.cluster() {
        result.arn = some(c.arn());
        result.status = c.status().map(|s| s.as_str().to_string());
        result.version = some(c.version());
        result.platform_version = some(c.platform_version());
        result.created_at = c.created_at().map(time);
        if let Some(vpc) = c.resources_vpc_config() {
            result.endpoint_public_access = Some(vpc.endpoint_public_access());
            result.endpoint_private_access = Some(vpc.endpoint_private_access());
            result.public_access_cidrs = vpc.public_access_cidrs().to_vec();
        }
        result.authentication_mode =
            c.access_config().and_then(|a| a.authentication_mode()).map(|m| m.as_str().to_string());
        result.support_type = c.upgrade_policy().and_then(|u| u.support_type()).map(|s| s.as_str().to_string());
        for setup in c.logging().map(|l| l.cluster_logging()).unwrap_or_default() {
            let types = setup.types().iter().map(|t| t.as_str().to_string());
            if setup.enabled().unwrap_or(false) {
                result.logging_enabled.extend(types);
            } else {
                result.logging_disabled.extend(types);
            }
        }
        result.health_issues = c
            .health()
            .map(|h| h.issues())
            .unwrap_or_default()
            .iter()
            .map(|i| HealthIssue {
                code: i.code().map_or_else(|| "Unknown".to_string(), |c| c.as_str().to_string()),
                message: i.message().unwrap_or_default().to_string(),
                resources: i.resource_ids().to_vec(),
            })
            .collect();
    }
    match addons(inspector, &name).await {
        Ok((rows, note)) => {
            result.addons = Some(rows);
            result.addons_note = note;
        }
        Err(note) => result.addons_note = Some(note),
    }
    match insights(inspector, &name).await {
        Ok(rows) => result.insights = Some(rows),
        Err(note) => result.insights_note = Some(note),
    }
    Ok(result)
}

/// The add-ons, or why they are not available. A failed DescribeAddon keeps the rows read so
/// far and adds a note.
async fn addons(
    inspector: &AwsInspector,
    cluster: &str,
) -> std::result::Result<(Vec<AddonRow>, Option<String>), String> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = inspector
            .eks
            .list_addons()
            .cluster_name(cluster)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| unavailable("eks:ListAddons", e))?;
        names.extend(page.addons().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() || names.len() >= MAX_ADDONS {
            break;
        }
    }
    let mut note = None;
    if names.len() > MAX_ADDONS {
        note = Some(format!("only the first {MAX_ADDONS} of {} add-ons are described", names.len()));
        names.truncate(MAX_ADDONS);
    }
    let mut rows = Vec::new();
    for name in names {
        match inspector.eks.describe_addon().cluster_name(cluster).addon_name(&name).send().await {
            Ok(out) => {
                let a = out.addon();
                rows.push(AddonRow {
                    name: name.clone(),
                    version: a.and_then(|a| some(a.addon_version())),
                    status: a.and_then(|a| a.status()).map(|s| s.as_str().to_string()),
                    issues: a
                        .and_then(|a| a.health())
                        .map(|h| h.issues())
                        .unwrap_or_default()
                        .iter()
                        .map(|i| HealthIssue {
                            code: i.code().map_or_else(|| "Unknown".to_string(), |c| c.as_str().to_string()),
                            message: i.message().unwrap_or_default().to_string(),
                            resources: i.resource_ids().to_vec(),
                        })
                        .collect(),
                });
            }
            Err(e) => {
                rows.push(AddonRow { name, version: None, status: None, issues: Vec::new() });
                note = Some(format!("some add-ons could not be described: {}", unavailable("eks:DescribeAddon", e)));
            }
        }
    }
    Ok((rows, note))
}

/// Upgrade-readiness insights, or why they are not available.
async fn insights(inspector: &AwsInspector, cluster: &str) -> std::result::Result<Vec<InsightRow>, String> {
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = inspector
            .eks
            .list_insights()
            .cluster_name(cluster)
            .filter(InsightsFilter::builder().categories(Category::UpgradeReadiness).build())
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| unavailable("eks:ListInsights", e))?;
        for i in page.insights() {
            let status = i.insight_status();
            rows.push(InsightRow {
                name: i.name().unwrap_or("(unnamed insight)").to_string(),
                status: status
                    .and_then(|s| s.status())
                    .map_or_else(|| "UNKNOWN".to_string(), |s| s.as_str().to_string()),
                reason: status.and_then(|s| some(s.reason())),
                kubernetes_version: some(i.kubernetes_version()),
                description: some(i.description()),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() || rows.len() >= MAX_INSIGHTS {
            break;
        }
    }
    // Failing first.
    rows.sort_by_key(|r| match r.status.as_str() {
        "ERROR" => 0,
        "WARNING" => 1,
        "PASSING" => 3,
        _ => 2,
    });
    rows.truncate(MAX_INSIGHTS);
    Ok(rows)
}

impl Render for ClusterResult {
    fn text(&self) -> String {
        let mut out = format!(
            "EKS cluster {} ({}): {}, Kubernetes {}",
            self.name,
            self.region,
            self.status.as_deref().unwrap_or("status unknown"),
            self.version.as_deref().unwrap_or("?")
        );
        if let Some(p) = &self.platform_version {
            out.push_str(&format!(" (platform {p})"));
        }
        if let Some(t) = &self.created_at {
            out.push_str(&format!(", created {t}"));
        }
        if let Some(s) = &self.support_type {
            out.push_str(&format!(", {s} support"));
        }
        out.push('\n');
        let yes_no = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        out.push_str(&format!("Endpoint: public {}", yes_no(self.endpoint_public_access)));
        if self.endpoint_public_access == Some(true) && !self.public_access_cidrs.is_empty() {
            out.push_str(&format!(" (from {})", self.public_access_cidrs.join(", ")));
        }
        out.push_str(&format!(", private {}\n", yes_no(self.endpoint_private_access)));
        out.push_str(&format!(
            "Authentication mode: {}\n",
            self.authentication_mode.as_deref().unwrap_or("not reported (CONFIG_MAP on older clusters)")
        ));
        out.push_str("Control-plane logging: ");
        if self.logging_enabled.is_empty() {
            out.push_str("none enabled (no /aws/eks/<cluster>/cluster log group to read)");
        } else {
            out.push_str(&format!("enabled {}", self.logging_enabled.join(", ")));
            if !self.logging_disabled.is_empty() {
                out.push_str(&format!("; disabled {}", self.logging_disabled.join(", ")));
            }
        }
        out.push('\n');
        if self.health_issues.is_empty() {
            out.push_str("Cluster health issues: none\n");
        } else {
            out.push_str(&format!("Cluster health issues ({}):\n", self.health_issues.len()));
            for i in &self.health_issues {
                out.push_str(&format!("- {}\n", i.line()));
            }
        }
        match &self.addons {
            Some(addons) if addons.is_empty() => out.push_str("Add-ons: none installed through EKS\n"),
            Some(addons) => {
                out.push_str(&format!("Add-ons ({}):\n", addons.len()));
                for a in addons {
                    out.push_str(&format!(
                        "- {} {} {}",
                        a.name,
                        a.version.as_deref().unwrap_or("(version unknown)"),
                        a.status.as_deref().unwrap_or("(status unknown)")
                    ));
                    for i in &a.issues {
                        out.push_str(&format!("; {}", i.line()));
                    }
                    out.push('\n');
                }
            }
            None => {}
        }
        if let Some(note) = &self.addons_note {
            out.push_str(&format!("Add-ons: {note}\n"));
        }
        match &self.insights {
            Some(insights) if insights.is_empty() => out.push_str("Upgrade insights: none reported\n"),
            Some(insights) => {
                let passing = insights.iter().filter(|i| i.status == "PASSING").count();
                out.push_str(&format!("Upgrade insights: {} of {} passing\n", passing, insights.len()));
                for i in insights.iter().filter(|i| i.status != "PASSING") {
                    out.push_str(&format!("- {} {}", i.status, i.name));
                    if let Some(v) = &i.kubernetes_version {
                        out.push_str(&format!(" (Kubernetes {v})"));
                    }
                    if let Some(r) = &i.reason {
                        out.push_str(&format!(": {r}"));
                    }
                    out.push('\n');
                }
            }
            None => {}
        }
        if let Some(note) = &self.insights_note {
            out.push_str(&format!("Upgrade insights: {note}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ClusterResult {
        ClusterResult {
            name: "demo".into(),
            region: "eu-west-1".into(),
            arn: None,
            status: Some("ACTIVE".into()),
            version: Some("1.29".into()),
            platform_version: Some("eks.4".into()),
            created_at: None,
            endpoint_public_access: Some(true),
            endpoint_private_access: Some(false),
            public_access_cidrs: vec!["0.0.0.0/0".into()],
            authentication_mode: Some("API_AND_CONFIG_MAP".into()),
            support_type: None,
            logging_enabled: vec!["api".into(), "audit".into()],
            logging_disabled: vec!["scheduler".into()],
            health_issues: vec![],
            addons: Some(vec![AddonRow {
                name: "coredns".into(),
                version: Some("v1.11.1-eksbuild.4".into()),
                status: Some("DEGRADED".into()),
                issues: vec![HealthIssue {
                    code: "InsufficientNumberOfReplicas".into(),
                    message: "The add-on is unhealthy because it doesn't have the desired number of replicas.".into(),
                    resources: vec![],
                }],
            }]),
            addons_note: None,
            insights: Some(vec![
                InsightRow {
                    name: "Deprecated APIs removed in Kubernetes v1.32".into(),
                    status: "WARNING".into(),
                    reason: Some("Deprecated API usage detected within last 30 days".into()),
                    kubernetes_version: Some("1.32".into()),
                    description: None,
                },
                InsightRow {
                    name: "Kubelet version skew".into(),
                    status: "PASSING".into(),
                    reason: None,
                    kubernetes_version: Some("1.30".into()),
                    description: None,
                },
            ]),
            insights_note: None,
        }
    }

    #[test]
    fn text_names_degraded_addons_and_failing_insights() {
        let text = base().text();
        assert!(text.contains("EKS cluster demo (eu-west-1): ACTIVE, Kubernetes 1.29 (platform eks.4)"), "{text}");
        assert!(text.contains("Endpoint: public yes (from 0.0.0.0/0), private no"), "{text}");
        assert!(text.contains("enabled api, audit; disabled scheduler"), "{text}");
        assert!(text.contains("- coredns v1.11.1-eksbuild.4 DEGRADED; InsufficientNumberOfReplicas:"), "{text}");
        assert!(text.contains("Upgrade insights: 1 of 2 passing"), "{text}");
        assert!(
            text.contains(
                "- WARNING Deprecated APIs removed in Kubernetes v1.32 (Kubernetes 1.32): Deprecated API usage"
            ),
            "{text}"
        );
        assert!(!text.contains("- PASSING"), "{text}");
    }

    #[test]
    fn text_says_why_addons_are_missing() {
        let mut r = base();
        r.addons = None;
        r.addons_note = Some("not available from this endpoint (eks:ListAddons answered HTTP 404)".into());
        let text = r.text();
        assert!(text.contains("Add-ons: not available from this endpoint"), "{text}");
    }
}
