//! The least-privilege claims of the template's IAM roles, read from the template itself:
//! only the API sends task results; no role may update or delete audit items; only the reason
//! function calls Bedrock, and only on the configured model; the read tools cannot write; each
//! function has a role of its own; only the write function is mapped to the Kubernetes write
//! group, and only when writes are by approval.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use serde_json::Value;

use crate::{branches, mentions, referenced_id, resources, strings, template};

/// One Allow or Deny statement of a role's inline policies.
#[derive(Debug)]
struct Statement<'a> {
    effect: &'a str,
    actions: Vec<&'a str>,
    resource: &'a Value,
    condition: &'a Value,
}

/// The statements of a policy document (conditional statements count as present).
fn statements(document: &Value) -> Vec<Statement<'_>> {
    document["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(branches)
        .map(|s| Statement {
            effect: s["Effect"].as_str().unwrap_or_default(),
            actions: match &s["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            },
            resource: &s["Resource"],
            condition: &s["Condition"],
        })
        .collect()
}

/// The inline statements of a role.
fn role_statements(role: &Value) -> Vec<Statement<'_>> {
    role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| statements(&p["PolicyDocument"]))
        .collect()
}

/// Whether the IAM action pattern `pattern` (wildcards `*`, case-insensitive) covers `action`.
fn covers(pattern: &str, action: &str) -> bool {
    fn glob(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => glob(&p[1..], a) || (!a.is_empty() && glob(p, &a[1..])),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => glob(&p[1..], &a[1..]),
            _ => false,
        }
    }
    glob(pattern.as_bytes(), action.as_bytes())
}

/// The roles with an Allow statement covering `action`.
fn roles_allowing<'a>(roles: &[(&'a str, &'a Value)], action: &str) -> BTreeSet<&'a str> {
    roles
        .iter()
        .filter(|(_, role)| {
            role_statements(role).iter().any(|s| s.effect == "Allow" && s.actions.iter().any(|p| covers(p, action)))
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Each function's role, by the function's binary.
fn role_of_binary(template: &Value) -> anyhow::Result<BTreeMap<String, String>> {
    resources(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, f)| {
            let binary =
                f["Metadata"]["BuildProperties"]["Binary"].as_str().with_context(|| format!("{id}: Binary"))?;
            let role = referenced_id(&f["Properties"]["Role"])
                .with_context(|| format!("{id}: Role is a role of the template (Fn::GetAtt [Role, Arn])"))?;
            Ok((binary.to_string(), role.to_string()))
        })
        .collect()
}

#[test]
fn covers_reads_iam_wildcards() {
    assert!(covers("states:SendTask*", "states:SendTaskSuccess"));
    assert!(covers("*", "states:SendTaskSuccess"));
    assert!(covers("States:*", "states:SendTaskFailure"));
    assert!(!covers("states:StartExecution", "states:SendTaskSuccess"));
    assert!(!covers("dynamodb:Update", "dynamodb:UpdateItem"));
}

#[test]
fn every_function_has_a_role_of_its_own() -> anyhow::Result<()> {
    let template = template()?;
    let roles = role_of_binary(&template)?;
    let distinct: BTreeSet<&String> = roles.values().collect();
    assert_eq!(distinct.len(), roles.len(), "functions share a role: {roles:?}");
    for role in roles.values() {
        assert_eq!(template["Resources"][role.as_str()]["Type"], "AWS::IAM::Role", "{role} is a role of the template");
    }
    Ok(())
}

#[test]
fn only_the_api_sends_task_results() -> anyhow::Result<()> {
    let template = template()?;
    let roles = resources(&template, "AWS::IAM::Role");
    let api = role_of_binary(&template)?.get("api").cloned().context("the api function")?;
    for action in ["states:SendTaskSuccess", "states:SendTaskFailure"] {
        let allowed = roles_allowing(&roles, action);
        assert_eq!(allowed, BTreeSet::from([api.as_str()]), "roles allowed {action}");
    }
    assert!(roles_allowing(&roles, "states:SendTaskHeartbeat").is_empty(), "nobody sends heartbeats");
    Ok(())
}

#[test]
fn no_role_may_update_or_delete_audit_items() -> anyhow::Result<()> {
    let template = template()?;
    let forbidden = [
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ];
    // The explicit Deny, whatever else a role is (or will be) granted.
    let deny = &template["Resources"]["AuditAppendOnlyPolicy"];
    assert_eq!(deny["Type"], "AWS::IAM::ManagedPolicy");
    let deny_statements = statements(&deny["Properties"]["PolicyDocument"]);
    for action in forbidden {
        assert!(
            deny_statements.iter().any(|s| s.effect == "Deny"
                && s.actions.iter().any(|p| covers(p, action))
                && mentions(s.resource, "AuditTable")),
            "AuditAppendOnlyPolicy denies {action} on the audit table"
        );
    }
    for (id, role) in resources(&template, "AWS::IAM::Role") {
        let managed = &role["Properties"]["ManagedPolicyArns"];
        if id != "ApiGatewayCloudWatchRole" {
            assert!(
                managed.as_array().is_some_and(|m| m.iter().any(|p| referenced_id(p) == Some("AuditAppendOnlyPolicy"))),
                "{id} carries AuditAppendOnlyPolicy"
            );
        }
        // And no Allow asks for it in the first place.
        for s in role_statements(role) {
            if s.effect == "Allow" && (mentions(s.resource, "AuditTable") || s.resource == "*") {
                for action in forbidden {
                    assert!(!s.actions.iter().any(|p| covers(p, action)), "{id} allows {action} on the audit table");
                }
            }
        }
    }
    Ok(())
}

#[test]
fn only_aws_managed_policies_that_grant_no_data_access() -> anyhow::Result<()> {
    let template = template()?;
    let allowed =
        ["AWSXRayDaemonWriteAccess", "AWSLambdaVPCAccessExecutionRole", "AmazonAPIGatewayPushToCloudWatchLogs"];
    for (id, role) in resources(&template, "AWS::IAM::Role") {
        for policy in role["Properties"]["ManagedPolicyArns"].as_array().into_iter().flatten().flat_map(branches) {
            if referenced_id(policy).is_some() {
                continue; // a policy of this template, checked above
            }
            let arn = strings(policy).join("");
            assert!(allowed.iter().any(|a| arn.ends_with(&format!("/{a}"))), "{id} attaches {arn}");
        }
    }
    Ok(())
}

#[test]
fn only_the_reason_function_calls_bedrock_and_only_the_configured_model() -> anyhow::Result<()> {
    let template = template()?;
    let roles = resources(&template, "AWS::IAM::Role");
    let reason = role_of_binary(&template)?.get("reason").cloned().context("the reason function")?;
    for action in ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:ApplyGuardrail"] {
        let allowed = roles_allowing(&roles, action);
        assert!(allowed.iter().all(|r| *r == reason), "roles allowed {action}: {allowed:?}");
    }
    let role = &template["Resources"][reason.as_str()];
    let invoke: Vec<_> = role_statements(role)
        .into_iter()
        .filter(|s| s.effect == "Allow" && s.actions.iter().any(|p| covers(p, "bedrock:InvokeModel")))
        .collect();
    assert!(!invoke.is_empty(), "{reason} may invoke the model");
    for s in invoke {
        assert!(!s.actions.iter().any(|a| a.contains('*')), "no action wildcard: {:?}", s.actions);
        for arn in branches(s.resource).into_iter().flat_map(strings) {
            assert!(arn != "*", "InvokeModel on every model");
            let names_model = arn.ends_with("/${ModelId}") || arn.ends_with("/${ModelIdBehindProfile}");
            assert!(names_model, "InvokeModel on {arn}, not the configured model");
            if arn.ends_with("/${ModelIdBehindProfile}") {
                // The foundation model in any region, but only through the configured profile.
                let through = &s.condition["StringEquals"]["bedrock:InferenceProfileArn"];
                assert!(mentions(through, "ModelId"), "the model behind the profile is reachable only through it");
            }
        }
    }
    Ok(())
}

/// Whether an action only reads (by its verb).
fn reads_only(action: &str) -> bool {
    let verb = action.split_once(':').map_or(action, |(_, v)| v);
    ["Describe", "Get", "List", "Filter", "Query", "BatchGet"].iter().any(|p| verb.starts_with(p))
}

#[test]
fn read_tools_cannot_write() -> anyhow::Result<()> {
    let template = template()?;
    let roles = role_of_binary(&template)?;
    for binary in ["k8s-read", "diagnose", "aws-read"] {
        let id = roles.get(binary).with_context(|| format!("the {binary} function"))?;
        let role = &template["Resources"][id.as_str()];
        for s in role_statements(role).into_iter().filter(|s| s.effect == "Allow") {
            for action in &s.actions {
                assert!(!action.contains('*'), "{id}: wildcard action {action}");
                let allowed = reads_only(action)
                    // Its own log lines.
                    || matches!(*action, "logs:CreateLogStream" | "logs:PutLogEvents")
                    // Its tool result (and the stale parts of a replaced large one) in the state table.
                    || (matches!(*action, "dynamodb:PutItem" | "dynamodb:DeleteItem") && mentions(s.resource, "StateTable") && !mentions(s.resource, "AuditTable"))
                    // Its audit event, appended (conditional put; updates and deletes are denied).
                    || (*action == "dynamodb:PutItem" && mentions(s.resource, "AuditTable") && !mentions(s.resource, "StateTable"));
                assert!(allowed, "{id} ({binary}) may {action} on {}", s.resource);
            }
        }
    }
    Ok(())
}

#[test]
fn only_the_write_function_is_mapped_to_the_kubernetes_write_group_and_only_with_approval() -> anyhow::Result<()> {
    let template = template()?;
    let roles = role_of_binary(&template)?;
    let write_role = roles.get("k8s-write").context("the k8s-write function")?;
    let entries = resources(&template, "AWS::EKS::AccessEntry");
    assert!(!entries.is_empty(), "the template maps its roles into the cluster");
    for (id, entry) in entries {
        let groups: Vec<&str> = entry["Properties"]["KubernetesGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let principal =
            referenced_id(&entry["Properties"]["PrincipalArn"]).with_context(|| format!("{id}: PrincipalArn"))?;
        assert!(
            entry["Properties"]["AccessPolicies"].is_null(),
            "{id}: access through RBAC groups only, no access policy"
        );
        if groups.contains(&"aiops-write") {
            assert_eq!(principal, write_role, "{id}: only the write role is in aiops-write");
            let condition = entry["Condition"].as_str().with_context(|| format!("{id} has a condition"))?;
            assert!(
                mentions(&template["Conditions"][condition], "WritesByApproval"),
                "{id}: mapped only when Writes=approval (condition {condition})"
            );
            assert_eq!(
                template["Conditions"]["WritesByApproval"],
                serde_json::json!({"Fn::Equals": [{"Ref": "Writes"}, "approval"]})
            );
        } else {
            assert_eq!(groups, ["aiops-read"], "{id}: readers are in aiops-read only");
            assert_ne!(principal, write_role, "{id}");
        }
    }
    Ok(())
}
