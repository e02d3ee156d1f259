//! Write actions: plan (policy, dry run, diff, prior state saved), execute (approval
//! re-checked for exactly this action, single use, one action at a time per object, against
//! the approved resourceVersion, verified afterwards) and undo.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SYSTEM_ACTOR;
use crate::agent::approval::{ApprovalStatus, action_hash};
use crate::agent::audit::AuditKind;
use crate::agent::{ExecutedAction, ProposedAction};
use crate::error::{Error, ErrorClass, Result};
use crate::kinds::Kind;
use crate::policy::Policy;
use crate::ports::{ApprovalStore, AuditLog, ClusterActuator, ClusterReader, LockStore, StateStore, WritePatch};
use crate::tools::revision_of;

/// A planned write: what will change, checked by the policy and dry-run on the API server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_id: String,
    pub investigation_id: String,
    pub tool: String,
    pub args: Value,
    pub summary: String,
    pub action_hash: String,
    pub namespace: String,
    pub deployment: String,
    /// The Deployment's resourceVersion the plan was made against.
    pub resource_version: String,
    /// The patch to apply (strategic merge unless stated).
    pub patch: Value,
    pub patch_type: String,
    /// Human-readable diff from the dry run.
    pub diff: String,
    /// The Deployment's spec before the change (for undo).
    pub before_spec: Value,
    pub created_at: Timestamp,
}

/// An executed action, saved for undo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action_id: String,
    pub investigation_id: String,
    pub approval_id: String,
    pub tool: String,
    pub args: Value,
    pub summary: String,
    pub namespace: String,
    pub deployment: String,
    pub before_spec: Value,
    pub after_spec: Value,
    pub executed_at: Timestamp,
    pub verification: String,
    #[serde(default)]
    pub undone_by: Option<String>,
}

/// The event of the write task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteEvent {
    /// `plan` or `execute`.
    pub mode: String,
    pub investigation_id: String,
    pub call_id: String,
    pub action: ProposedAction,
    #[serde(default)]
    pub plan_id: Option<String>,
    #[serde(default)]
    pub approval_id: Option<String>,
}

/// The ports the write task needs.
pub struct WriteDeps<'a> {
    pub reader: &'a dyn ClusterReader,
    pub actuator: &'a dyn ClusterActuator,
    pub state: &'a dyn StateStore,
    pub audit: &'a dyn AuditLog,
    pub approvals: &'a dyn ApprovalStore,
    pub locks: &'a dyn LockStore,
    pub policy: &'a Policy,
}

fn refused(class: ErrorClass, message: String) -> Error {
    Error::Backend { class, operation: "write".into(), message, source: None }
}

/// The plan id of an investigation's proposal.
pub fn plan_id(investigation_id: &str, call_id: &str) -> String {
    format!("plan-{}", &action_hash("plan", &json!([investigation_id, call_id]))[..16])
}

/// Plans a write. A policy refusal or a dry run the server rejects is an `ok: false` result
/// (the model sees why); nothing is changed.
///
/// # Errors
/// Throttled or transient backend errors, store errors.
pub async fn plan(d: &WriteDeps<'_>, ev: &WriteEvent, now: Timestamp) -> Result<Value> {
    let a = &ev.action;
    let ns = a.args.get("namespace").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = a.args.get("deployment").and_then(Value::as_str).unwrap_or_default().to_string();
    let refuse = |why: String| async move {
        d.audit
            .append(
                &ev.investigation_id,
                SYSTEM_ACTOR,
                AuditKind::ActionRefused { tool: a.tool.clone(), args: a.args.clone(), reason: why.clone() },
            )
            .await?;
        Ok::<Value, Error>(json!({"ok": false, "plan_id": Value::Null, "text": why}))
    };
    if let Err(e) = crate::catalog::validate(&a.tool, &a.args) {
        return refuse(e.to_string()).await;
    }
    let Some(dep) = d.reader.get(Kind::Deployment, Some(&ns), &name).await? else {
        return refuse(format!("deployment {ns}/{name} does not exist")).await;
    };
    if let Err(r) = d.policy.check(&a.tool, &a.args, &dep) {
        return refuse(format!("refused by policy: {r}")).await;
    }
    let rv = dep.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let (patch_type, patch) = match build_patch(d.reader, a, &dep, &rv, now).await {
        Ok(p) => p,
        Err(e) => return refuse(e.to_string()).await,
    };
    let wp = to_write_patch(&patch_type, patch.clone());
    let after = match d.actuator.patch_deployment(&ns, &name, &wp, true).await {
        Ok(v) => v,
        Err(e) if e.class().is_retryable() => return Err(e),
        Err(e) => return refuse(format!("the API server rejected the dry run: {e}")).await,
    };
    let diff = spec_diff(dep.get("spec").unwrap_or(&Value::Null), after.get("spec").unwrap_or(&Value::Null));
    let plan = Plan {
        plan_id: plan_id(&ev.investigation_id, &ev.call_id),
        investigation_id: ev.investigation_id.clone(),
        tool: a.tool.clone(),
        args: a.args.clone(),
        summary: a.summary.clone(),
        action_hash: action_hash(&a.tool, &a.args),
        namespace: ns,
        deployment: name,
        resource_version: rv,
        patch,
        patch_type,
        diff: if diff.is_empty() { "(no change: the deployment already has this state)".into() } else { diff },
        before_spec: dep.get("spec").cloned().unwrap_or(Value::Null),
        created_at: now,
    };
    d.state.put_doc(&format!("PLAN#{}", plan.plan_id), &serde_json::to_value(&plan).unwrap_or(Value::Null)).await?;
    Ok(json!({"ok": true, "plan_id": plan.plan_id, "text": format!("Dry run passed. Diff:\n{}", plan.diff)}))
}

fn to_write_patch(kind: &str, patch: Value) -> WritePatch {
    match kind {
        "json" => WritePatch::Json(patch),
        "merge" => WritePatch::Merge(patch),
        _ => WritePatch::Strategic(patch),
    }
}

async fn build_patch(
    reader: &dyn ClusterReader,
    a: &ProposedAction,
    dep: &Value,
    rv: &str,
    now: Timestamp,
) -> Result<(String, Value)> {
    let meta = json!({"resourceVersion": rv});
    match a.tool.as_str() {
        "scale_deployment" => {
            Ok(("strategic".into(), json!({"metadata": meta, "spec": {"replicas": a.args["replicas"]}})))
        }
        "restart_deployment" => Ok((
            "strategic".into(),
            json!({"metadata": meta, "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now.to_string()}}}}}),
        )),
        "set_container_resources" => {
            let mut limits = serde_json::Map::new();
            let mut requests = serde_json::Map::new();
            for (arg, section, res) in [
                ("memory_limit", 0, "memory"),
                ("cpu_limit", 0, "cpu"),
                ("memory_request", 1, "memory"),
                ("cpu_request", 1, "cpu"),
            ] {
                if let Some(v) = a.args.get(arg).filter(|v| v.is_string()) {
                    if section == 0 {
                        limits.insert(res.into(), v.clone())
                    } else {
                        requests.insert(res.into(), v.clone())
                    };
                }
            }
            let mut resources = serde_json::Map::new();
            if !limits.is_empty() {
                resources.insert("limits".into(), Value::Object(limits));
            }
            if !requests.is_empty() {
                resources.insert("requests".into(), Value::Object(requests));
            }
            Ok((
                "strategic".into(),
                json!({"metadata": meta, "spec": {"template": {"spec": {"containers": [{"name": a.args["container"], "resources": resources}]}}}}),
            ))
        }
        "rollback_deployment" => {
            let ns = a.args["namespace"].as_str().unwrap_or_default();
            let name = a.args["deployment"].as_str().unwrap_or_default();
            let uid = dep.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default();
            let current = dep
                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0);
            let rss: Vec<k8s_openapi::api::apps::v1::ReplicaSet> = crate::k8s::decode_all(
                reader.list(Kind::ReplicaSet, &crate::ports::Scope::namespace(Some(ns))).await?,
            )?;
            let owned: Vec<&k8s_openapi::api::apps::v1::ReplicaSet> = rss
                .iter()
                .filter(|rs| {
                    rs.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| o.kind == "Deployment" && (o.uid == uid || o.name == name))
                })
                .collect();
            let target = match a.args.get("revision").and_then(Value::as_i64) {
                Some(r) => r,
                None => owned.iter().map(|rs| revision_of(&rs.metadata)).filter(|r| *r < current).max().ok_or_else(
                    || {
                        refused(
                            ErrorClass::InvalidInput,
                            format!("deployment {ns}/{name} has no revision before {current} to roll back to"),
                        )
                    },
                )?,
            };
            if target == current {
                return Err(refused(
                    ErrorClass::InvalidInput,
                    format!("deployment {ns}/{name} is already at revision {target}"),
                ));
            }
            let rs = owned.iter().find(|rs| revision_of(&rs.metadata) == target).ok_or_else(|| {
                let have: Vec<String> = owned.iter().map(|rs| revision_of(&rs.metadata).to_string()).collect();
                refused(
                    ErrorClass::InvalidInput,
                    format!("deployment {ns}/{name} has no revision {target} (revisions: {})", have.join(", ")),
                )
            })?;
            let mut template = serde_json::to_value(&rs.spec.template).unwrap_or(Value::Null);
            if let Some(labels) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
                labels.remove("pod-template-hash");
            }
            Ok((
                "json".into(),
                json!([
                    {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
                    {"op": "replace", "path": "/spec/template", "value": template}
                ]),
            ))
        }
        other => Err(refused(ErrorClass::InvalidInput, format!("{other} is not a write tool"))),
    }
}

/// A readable diff of two specs: one line per changed leaf, `path: old → new`.
pub fn spec_diff(before: &Value, after: &Value) -> String {
    let mut lines = Vec::new();
    diff_into("spec", before, after, &mut lines);
    lines.join("\n")
}

fn diff_into(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff_into(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let xa = x.get(i).unwrap_or(&Value::Null);
                let yb = y.get(i).unwrap_or(&Value::Null);
                let label = yb
                    .get("name")
                    .or_else(|| xa.get("name"))
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("[{i}]"), |n| format!("[{n}]"));
                diff_into(&format!("{path}{label}"), xa, yb, out);
            }
        }
        _ if a != b => {
            let show = |v: &Value| match v {
                Value::Null => "(unset)".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(format!("{path}: {} → {}", show(a), show(b)));
        }
        _ => {}
    }
}

/// Executes an approved plan. Every refusal (no plan, no approval or one for another action,
/// not approved, used, the object locked or changed since) is recorded in the trail as an
/// `action_refused` event before it is returned: nothing was changed, and the attempt is on
/// the record.
///
/// # Errors
/// `Conflict`/`Forbidden`-class errors when the approval does not allow exactly this action,
/// is used, or the object changed; throttled/transient backend errors.
pub async fn execute(d: &WriteDeps<'_>, ev: &WriteEvent, now: Timestamp) -> Result<Value> {
    let plan_id = ev.plan_id.clone().unwrap_or_default();
    let plan: Plan = match d.state.get_doc(&format!("PLAN#{plan_id}")).await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| refused(ErrorClass::Fatal, format!("plan {plan_id} is unreadable: {e}")))?,
        None => {
            return Err(refusal(
                d,
                ev,
                refused(
                    ErrorClass::Forbidden,
                    format!("no plan {plan_id}: nothing was dry-run and approved for this action"),
                ),
            )
            .await);
        }
    };
    let hash = action_hash(&ev.action.tool, &ev.action.args);
    if hash != plan.action_hash || plan.investigation_id != ev.investigation_id {
        return Err(refusal(
            d,
            ev,
            refused(
                ErrorClass::Forbidden,
                "the action to execute is not the action that was planned and approved".into(),
            ),
        )
        .await);
    }
    let approval_id = ev.approval_id.clone().unwrap_or_default();
    let Some(approval) = d.approvals.get(&approval_id).await? else {
        return Err(refusal(
            d,
            ev,
            refused(ErrorClass::Forbidden, format!("no approval {approval_id}: refusing to act without one")),
        )
        .await);
    };
    if approval.plan_id != plan.plan_id
        || approval.action_hash != hash
        || approval.investigation_id != ev.investigation_id
    {
        return Err(refusal(
            d,
            ev,
            refused(ErrorClass::Forbidden, format!("approval {approval_id} is for a different action; refusing")),
        )
        .await);
    }
    if approval.status != ApprovalStatus::Approved {
        return Err(refusal(
            d,
            ev,
            refused(
                ErrorClass::Forbidden,
                format!("approval {approval_id} is {}, not approved; refusing", approval.status.as_str()),
            ),
        )
        .await);
    }
    // The policy in force now, not only the one the plan was checked against: a tightened
    // policy (a redeploy that denies the namespace, a lower ceiling) stops an approved action
    // that no longer fits it. The approval is left unused.
    let planned = json!({"spec": plan.before_spec});
    if let Err(r) = d.policy.check(&plan.tool, &plan.args, &planned) {
        return Err(
            refusal(d, ev, refused(ErrorClass::Forbidden, format!("refused by the policy in force now: {r}"))).await
        );
    }
    let lock_key = format!("deployment/{}/{}", plan.namespace, plan.deployment);
    if !d.locks.try_lock(&lock_key, &ev.investigation_id, d.policy.lock_seconds, now).await? {
        return Err(refusal(
            d,
            ev,
            refused(
                ErrorClass::Conflict,
                format!("another action on {lock_key} is in progress; one action at a time per object"),
            ),
        )
        .await);
    }
    let result = execute_locked(d, ev, &plan, &approval_id, &hash, now).await;
    d.locks.unlock(&lock_key, &ev.investigation_id).await?;
    result
}

/// Whether an error means the write was refused before anything changed (as opposed to a
/// store or network failure, which the workflow retries or reports as such).
fn is_refusal(e: &Error) -> bool {
    matches!(e.class(), ErrorClass::Forbidden | ErrorClass::Conflict | ErrorClass::NotFound | ErrorClass::InvalidInput)
}

/// Records a refused execution in the investigation's trail and gives back the refusal. When
/// the trail cannot be written, that failure is returned instead (a refusal must not go
/// unrecorded silently) and the refusal is logged.
async fn refusal(d: &WriteDeps<'_>, ev: &WriteEvent, e: Error) -> Error {
    let event = AuditKind::ActionRefused {
        tool: ev.action.tool.clone(),
        args: ev.action.args.clone(),
        reason: format!("execution refused: {e}"),
    };
    match d.audit.append(&ev.investigation_id, SYSTEM_ACTOR, event).await {
        Ok(_) => e,
        Err(audit_error) => {
            tracing::error!(investigation_id = %ev.investigation_id, refusal = %e, "refused write could not be audited");
            audit_error
        }
    }
}

async fn execute_locked(
    d: &WriteDeps<'_>,
    ev: &WriteEvent,
    plan: &Plan,
    approval_id: &str,
    hash: &str,
    now: Timestamp,
) -> Result<Value> {
    let approval = match d.approvals.consume(approval_id, hash, now).await {
        Ok(a) => a,
        Err(e) if is_refusal(&e) => return Err(refusal(d, ev, e).await),
        Err(e) => return Err(e),
    };
    let by = approval.decided_by.clone().unwrap_or_else(|| "?".into());
    let patched = d
        .actuator
        .patch_deployment(
            &plan.namespace,
            &plan.deployment,
            &to_write_patch(&plan.patch_type, plan.patch.clone()),
            false,
        )
        .await;
    let after = match patched {
        Ok(after) => after,
        Err(e) if e.class() == ErrorClass::Conflict => {
            let e = refused(
                ErrorClass::Conflict,
                format!(
                    "deployment {}/{} changed since the approval (it was at resourceVersion {}); nothing was changed — ask again to plan against its current state",
                    plan.namespace, plan.deployment, plan.resource_version
                ),
            );
            return Err(refusal(d, ev, e).await);
        }
        Err(e) if is_refusal(&e) => return Err(refusal(d, ev, e).await),
        Err(e) => return Err(e),
    };
    let verification = verify(d.reader, &plan.namespace, &plan.deployment).await;
    let action_id = format!("act-{}", &action_hash("act", &json!([plan.plan_id, approval_id]))[..16]);
    let record = ActionRecord {
        action_id: action_id.clone(),
        investigation_id: ev.investigation_id.clone(),
        approval_id: approval_id.to_string(),
        tool: plan.tool.clone(),
        args: plan.args.clone(),
        summary: plan.summary.clone(),
        namespace: plan.namespace.clone(),
        deployment: plan.deployment.clone(),
        before_spec: plan.before_spec.clone(),
        after_spec: after.get("spec").cloned().unwrap_or(Value::Null),
        executed_at: now,
        verification: verification.clone(),
        undone_by: None,
    };
    d.state.put_doc(&format!("ACTION#{action_id}"), &serde_json::to_value(&record).unwrap_or(Value::Null)).await?;
    d.audit
        .append(
            &ev.investigation_id,
            &by,
            AuditKind::ActionExecuted {
                action_id: action_id.clone(),
                tool: plan.tool.clone(),
                args: plan.args.clone(),
                before: plan.before_spec.clone(),
                after: record.after_spec.clone(),
                verification: verification.clone(),
            },
        )
        .await?;
    if let Some(mut inv) = d.state.get_investigation(&ev.investigation_id).await? {
        inv.executed_actions.push(ExecutedAction {
            action_id: action_id.clone(),
            tool: plan.tool.clone(),
            args: plan.args.clone(),
            summary: plan.summary.clone(),
            result: verification.clone(),
            approval_id: approval_id.to_string(),
        });
        inv.status = crate::agent::InvestigationStatus::Running;
        d.state.put_investigation(&inv).await?;
    }
    let text = format!(
        "Approved by {by} and executed as action {action_id}: {}.\nChanged:\n{}\nVerification: {verification}\nUndo with: aiops undo {action_id}",
        plan.summary, plan.diff
    );
    Ok(json!({"ok": true, "action_id": action_id, "text": text, "verification": verification}))
}

/// The state of a deployment after a change: rollout progress, ready pods, or why not.
pub async fn verify(reader: &dyn ClusterReader, ns: &str, name: &str) -> String {
    let mut last = String::from("could not read the deployment after the change");
    for attempt in 0..10 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        let Ok(Some(dep)) = reader.get(Kind::Deployment, Some(ns), name).await else { continue };
        let desired = dep.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
        let st = |k: &str| dep.pointer(&format!("/status/{k}")).and_then(Value::as_i64).unwrap_or(0);
        let generation = dep.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        let observed = st("observedGeneration");
        let (updated, ready, available) = (st("updatedReplicas"), st("readyReplicas"), st("availableReplicas"));
        if observed >= generation && updated >= desired && ready >= desired && available >= desired {
            return format!("rollout complete: {ready}/{desired} pods ready on the new template");
        }
        last = format!(
            "rollout in progress: generation {generation} (observed {observed}), {updated} updated, {ready}/{desired} ready"
        );
        if let Ok(pods) = reader.list(Kind::Pod, &crate::ports::Scope::namespace(Some(ns))).await {
            let reasons: Vec<String> = pods
                .iter()
                .filter(|p| {
                    p.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.starts_with(&format!("{name}-")))
                })
                .filter_map(|p| {
                    let pod: k8s_openapi::api::core::v1::Pod = crate::k8s::decode(p.clone()).ok()?;
                    crate::tools::pod_problem(&pod, reader.now())
                        .map(|why| format!("{}: {why}", pod.metadata.name.unwrap_or_default()))
                })
                .take(3)
                .collect();
            if !reasons.is_empty() {
                last.push_str(&format!("; not ready yet: {}", reasons.join("; ")));
            }
        }
    }
    last
}

/// Undoes an executed action by restoring the Deployment's prior spec (against its current
/// resourceVersion). Recorded in the audit trail of the action's investigation.
///
/// # Errors
/// `NotFound` for an unknown action, `Conflict` when it was already undone, backend errors.
pub async fn undo(d: &WriteDeps<'_>, action_id: &str, by: &str) -> Result<String> {
    let key = format!("ACTION#{action_id}");
    let mut record: ActionRecord = match d.state.get_doc(&key).await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| refused(ErrorClass::Fatal, format!("action {action_id} is unreadable: {e}")))?,
        None => return Err(Error::NotFound { what: format!("action {action_id}") }),
    };
    if let Some(who) = &record.undone_by {
        return Err(refused(ErrorClass::Conflict, format!("action {action_id} was already undone by {who}")));
    }
    d.policy.check_namespace(&record.namespace).map_err(|r| refused(ErrorClass::Forbidden, r.0))?;
    let Some(dep) = d.reader.get(Kind::Deployment, Some(&record.namespace), &record.deployment).await? else {
        return Err(Error::NotFound { what: format!("deployment {}/{}", record.namespace, record.deployment) });
    };
    let rv = dep.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or_default();
    let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv})];
    for field in ["replicas", "template"] {
        if let Some(v) = record.before_spec.get(field) {
            ops.push(json!({"op": "replace", "path": format!("/spec/{field}"), "value": v}));
        }
    }
    d.actuator
        .patch_deployment(&record.namespace, &record.deployment, &WritePatch::Json(Value::Array(ops)), false)
        .await?;
    let verification = verify(d.reader, &record.namespace, &record.deployment).await;
    let event = d
        .audit
        .append(
            &record.investigation_id,
            by,
            AuditKind::ActionUndone { action_id: action_id.to_string(), by: by.to_string() },
        )
        .await?;
    // The undo is now the trail's last event: anchor it there (see `verify_trail`).
    if let Some(mut inv) = d.state.get_investigation(&record.investigation_id).await? {
        inv.audit_head = Some(crate::agent::audit::AuditHead::of(&event));
        d.state.put_investigation(&inv).await?;
    }
    record.undone_by = Some(by.to_string());
    d.state.put_doc(&key, &serde_json::to_value(&record).unwrap_or(Value::Null)).await?;
    Ok(format!(
        "Undid action {action_id} ({}): deployment {}/{} restored to its prior spec. {verification}",
        record.summary, record.namespace, record.deployment
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_containers_and_values() {
        let before = json!({"replicas": 1, "template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "512Mi"}}}]}}});
        let after = json!({"replicas": 1, "template": {"spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "1Gi"}}}]}}});
        assert_eq!(
            spec_diff(&before, &after),
            "spec.template.spec.containers[app].resources.limits.memory: 512Mi → 1Gi"
        );
    }
}
