//! Forged, replayed, mismatched, expired and twice-decided approvals, and an object that
//! changed after its approval: each refused by the write handler, nothing changed in the
//! cluster, the refusal on the audit trail.

use aiops_core::ErrorClass;
use aiops_core::agent::approval::ApprovalStatus;
use aiops_core::agent::audit::{AuditKind, verify_chain};
use aiops_core::ports::WritePatch;
use jiff::SignedDuration;
use serde_json::json;

use crate::{Backend, DEPLOYMENT, NS, World, action, assert_refused, count, memory_limit, raise_memory};

/// Each case once on SQLite and once on DynamoDB (moto): `approvals::<case>::sqlite`, `…::dynamodb`.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn dynamodb() {
                super::$case(crate::Backend::Dynamo).await;
            }
        }
    )*};
}

on_both_stores!(
    a_forged_approval_is_refused,
    a_replayed_approval_is_refused,
    an_approval_for_another_action_is_refused,
    an_expired_approval_is_refused,
    a_second_decision_is_refused_and_the_first_kept,
    an_object_changed_since_its_approval_is_refused,
    a_policy_tightened_after_the_approval_is_refused,
);

async fn a_policy_tightened_after_the_approval_is_refused(backend: Backend) {
    let mut w = World::new(backend).await;
    let fix = raise_memory("1Gi");
    let (plan_id, approval_id) = w.approved("c1", &fix).await;
    let before = w.deployment();

    // Redeployed with writes denied in the namespace while the approval waited.
    w.write.policy = aiops_core::policy::Policy { deny_namespaces: vec![NS.to_string()], ..Default::default() };
    let r = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(
        &w,
        r,
        "Aiops.Forbidden",
        "refused by the policy in force now: namespace production is on the deny list",
        &before,
    )
    .await;
    // A lower ceiling refuses it too.
    w.write.policy = aiops_core::policy::Policy { memory_ceiling: "768Mi".into(), ..Default::default() };
    let r = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(&w, r, "Aiops.Forbidden", "above the policy ceiling 768Mi", &before).await;
    assert_eq!(w.approval(&approval_id).await.status, ApprovalStatus::Approved, "the approval was not used up");

    // Back to the policy it was approved under: it runs.
    w.write.policy = aiops_core::policy::Policy::default();
    let out = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await.expect("the approved action");
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(memory_limit(&w.deployment()), json!("1Gi"));
}

async fn a_forged_approval_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let fix = raise_memory("1Gi");
    // A real plan exists (the dry run passed), but nobody was ever asked to approve it.
    let plan_id = w.plan("c1", &fix).await;
    let before = w.deployment();

    let made_up = w.execute("c1", &fix, Some(&plan_id), Some("apr-0123456789ab")).await;
    assert_refused(&w, made_up, "Aiops.Forbidden", "no approval apr-0123456789ab", &before).await;
    let none = w.execute("c1", &fix, Some(&plan_id), None).await;
    assert_refused(&w, none, "Aiops.Forbidden", "refusing to act without one", &before).await;
    // Nor can a made-up plan stand in for the dry run.
    let no_plan = w.execute("c1", &fix, Some("plan-ffffffffffffffff"), Some("apr-0123456789ab")).await;
    assert_refused(&w, no_plan, "Aiops.Forbidden", "no plan plan-ffffffffffffffff", &before).await;

    assert_eq!(memory_limit(&w.deployment()), json!("512Mi"));
    assert_eq!(count(&w.events().await, "action_refused"), 3);
}

async fn a_replayed_approval_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let fix = raise_memory("1Gi");
    let (plan_id, approval_id) = w.approved("c1", &fix).await;
    let out = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await.expect("the approved action runs");
    assert_eq!(out["ok"], true, "{out}");
    let executed = w.deployment();
    assert_eq!(memory_limit(&executed), json!("1Gi"));
    assert_eq!(w.approval(&approval_id).await.status, ApprovalStatus::Used);

    // The same event again (a replayed message, or a retried task after success).
    let replay = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(&w, replay, "Aiops.Forbidden", &format!("approval {approval_id} is used"), &executed).await;
    let events = w.events().await;
    assert_eq!(count(&events, "action_executed"), 1, "executed once");
    assert_eq!(count(&events, "action_refused"), 1);
}

async fn an_approval_for_another_action_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let fix = raise_memory("1Gi");
    let (plan_id, approval_id) = w.approved("c1", &fix).await;
    let before = w.deployment();

    // Other parameters under the approved plan and approval: the hash does not match.
    let more = raise_memory("2Gi");
    let r = w.execute("c1", &more, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(&w, r, "Aiops.Forbidden", "not the action that was planned and approved", &before).await;
    // Another object.
    let other_object = action(
        "set_container_resources",
        json!({"namespace": NS, "deployment": "checkout-api", "container": "app", "memory_limit": "1Gi"}),
    );
    let r = w.execute("c1", &other_object, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(&w, r, "Aiops.Forbidden", "not the action that was planned and approved", &before).await;
    // Another action, planned (dry-run) in its own right but never approved, borrowing the
    // approval of the first.
    let scale = action("scale_deployment", json!({"namespace": NS, "deployment": DEPLOYMENT, "replicas": 3}));
    let scale_plan = w.plan("c2", &scale).await;
    let r = w.execute("c2", &scale, Some(&scale_plan), Some(&approval_id)).await;
    assert_refused(&w, r, "Aiops.Forbidden", &format!("approval {approval_id} is for a different action"), &before)
        .await;
    assert_eq!(w.deployment()["spec"]["replicas"], json!(1));

    // None of that used up the approval: the action it was given for still runs, once.
    assert_eq!(w.approval(&approval_id).await.status, ApprovalStatus::Approved);
    let out = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await.expect("the approved action");
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(memory_limit(&w.deployment()), json!("1Gi"));
}

async fn an_expired_approval_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let before = w.deployment();

    // The workflow's wait timed out: the approval function expires the request.
    let fix = raise_memory("1Gi");
    let plan_id = w.plan("c1", &fix).await;
    let timed_out = w.request("c1", &fix, &plan_id).await;
    let out = aiops_fn_approval::handle(
        &w.approval,
        json!({"mode": "expire", "investigation_id": w.investigation_id, "call_id": "c1"}),
    )
    .await
    .expect("expire");
    assert_eq!(out["status"], "expired");
    let late = w.decide(&timed_out, true, "local:alice").await.expect_err("a decision after the timeout");
    assert_eq!(late.class(), ErrorClass::Conflict, "{late}");
    let r = w.execute("c1", &fix, Some(&plan_id), Some(&timed_out)).await;
    assert_refused(&w, r, "Aiops.Forbidden", &format!("approval {timed_out} is expired"), &before).await;

    // A decision that arrives after the request's expiry is refused and expires it.
    let fix2 = raise_memory("768Mi");
    let plan2 = w.plan("c2", &fix2).await;
    let stale = w.request("c2", &fix2, &plan2).await;
    let expires_at = w.approval(&stale).await.expires_at;
    let late = w
        .decide_at(&stale, true, "local:alice", expires_at + SignedDuration::from_secs(1))
        .await
        .expect_err("a decision after the expiry");
    assert_eq!(late.class(), ErrorClass::Conflict, "{late}");
    assert!(late.to_string().contains("expired at"), "{late}");
    assert_eq!(w.approval(&stale).await.status, ApprovalStatus::Expired);
    let r = w.execute("c2", &fix2, Some(&plan2), Some(&stale)).await;
    assert_refused(&w, r, "Aiops.Forbidden", &format!("approval {stale} is expired"), &before).await;

    let events = w.events().await;
    assert_eq!(count(&events, "action_executed"), 0);
    // Both expiries are on the record: the timeout's, and the late decision that was refused.
    assert!(events.iter().any(|e| matches!(&e.event,
        AuditKind::ApprovalDecided { approval_id, decision, .. } if approval_id == &timed_out && decision == "expired")));
    assert!(
        events.iter().any(|e| e.actor == "local:alice"
            && matches!(&e.event, AuditKind::Error { message, .. } if message.contains(&stale) && message.contains("expired at"))),
        "the refused late decision is not on the record"
    );
    assert!(w.callbacks.sent.lock().expect("lock").is_empty(), "no expired approval resumed the workflow");
}

async fn a_second_decision_is_refused_and_the_first_kept(backend: Backend) {
    let w = World::new(backend).await;
    let before = w.deployment();

    // Rejected by alice; bob's later approval must not turn it around.
    let fix = raise_memory("1Gi");
    let plan_id = w.plan("c1", &fix).await;
    let approval_id = w.request("c1", &fix, &plan_id).await;
    w.decide(&approval_id, false, "local:alice").await.expect("reject");
    let second = w.decide(&approval_id, true, "local:bob").await.expect_err("a second decision");
    assert_eq!(second.class(), ErrorClass::Conflict, "{second}");
    assert_eq!(second.class().error_type(), "Aiops.Conflict");
    assert!(second.to_string().contains("was already rejected by local:alice"), "{second}");
    let kept = w.approval(&approval_id).await;
    assert_eq!((kept.status, kept.decided_by.as_deref()), (ApprovalStatus::Rejected, Some("local:alice")));
    let r = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(&w, r, "Aiops.Forbidden", "is rejected, not approved", &before).await;

    // Approved by alice; bob's later rejection is refused and the approval stands.
    let scale = action("scale_deployment", json!({"namespace": NS, "deployment": DEPLOYMENT, "replicas": 2}));
    let (scale_plan, scale_approval) = w.approved("c2", &scale).await;
    let second = w.decide(&scale_approval, false, "local:bob").await.expect_err("a second decision");
    assert_eq!(second.class(), ErrorClass::Conflict, "{second}");
    assert!(second.to_string().contains("was already approved by local:alice"), "{second}");
    assert_eq!(w.approval(&scale_approval).await.decided_by.as_deref(), Some("local:alice"));

    let events = w.events().await;
    let decided: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.event {
            AuditKind::ApprovalDecided { decision, by, .. } => Some((decision.clone(), by.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        decided,
        [("rejected".to_string(), "local:alice".to_string()), ("approved".to_string(), "local:alice".to_string())]
    );
    let refused_decisions = events
        .iter()
        .filter(|e| {
            e.actor == "local:bob" && matches!(&e.event, AuditKind::Error { error, .. } if error == "Aiops.Conflict")
        })
        .count();
    assert_eq!(refused_decisions, 2, "both of bob's refused decisions are on the record");
    assert_eq!(verify_chain(&w.investigation_id, &events), Ok(()));
    // The workflow was resumed once per request, by the first decision.
    let sent = w.callbacks.sent.lock().expect("lock").clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].1["decision"], "rejected");
    assert_eq!(sent[1].1["decision"], "approved");

    // The first decision is the one that counts: the approved scale runs.
    let out = w.execute("c2", &scale, Some(&scale_plan), Some(&scale_approval)).await.expect("approved scale");
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(w.deployment()["spec"]["replicas"], json!(2));
    assert_eq!(memory_limit(&w.deployment()), json!("512Mi"));
}

async fn an_object_changed_since_its_approval_is_refused(backend: Backend) {
    let w = World::new(backend).await;
    let fix = raise_memory("1Gi");
    let (plan_id, approval_id) = w.approved("c1", &fix).await;
    // Someone else scales the deployment after the approval was given.
    w.write
        .actuator
        .patch_deployment(NS, DEPLOYMENT, &WritePatch::Strategic(json!({"spec": {"replicas": 2}})), false)
        .await
        .expect("someone else's change");
    let changed = w.deployment();
    assert_eq!(changed["spec"]["replicas"], json!(2));

    let r = w.execute("c1", &fix, Some(&plan_id), Some(&approval_id)).await;
    assert_refused(&w, r, "Aiops.Conflict", "changed since the approval", &changed).await;
    assert_eq!(memory_limit(&w.deployment()), json!("512Mi"), "the approved change was not applied");
    assert_eq!(w.deployment()["spec"]["replicas"], json!(2), "the other change was kept");
    assert_eq!(count(&w.events().await, "action_executed"), 0);
}
