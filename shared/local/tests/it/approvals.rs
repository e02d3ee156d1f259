use aiops_core::ErrorClass;
use aiops_core::agent::approval::{ApprovalRequest, ApprovalStatus, Decision, action_hash};
use aiops_core::ports::ApprovalStore;
use aiops_local::SqliteStore;
use jiff::Timestamp;
use serde_json::json;

use crate::{class, file_store};

const TOKEN: &str = "task-token-SECRET-0123456789";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_764_000_000 + secs).expect("timestamp")
}

/// A pending request to scale `web` to 3, requested at t(0), expiring at t(3600).
fn request(id: &str) -> ApprovalRequest {
    let args = json!({"namespace": "prod", "deployment": "web", "replicas": 3});
    serde_json::from_value(json!({
        "id": id, "investigation_id": "inv-1", "call_id": "call-1", "question": "why is web slow?",
        "tool": "scale_deployment", "args": args, "summary": "scale prod/web to 3",
        "action_hash": action_hash("scale_deployment", &args), "plan_id": "plan-1",
        "diff": "-replicas: 1\n+replicas: 3", "evidence": ["cpu at 98%"], "resource_version": "42",
        "requested_by": "local:ann", "requested_at": t(0), "expires_at": t(3600), "status": "pending",
    }))
    .expect("request")
}

fn approve(by: &str) -> Decision {
    Decision { approve: true, by: by.to_string(), reason: None, comment: Some("looks right".into()) }
}

fn reject(by: &str, reason: Option<&str>) -> Decision {
    Decision { approve: false, by: by.to_string(), reason: reason.map(str::to_string), comment: None }
}

async fn store_with(ids: &[&str]) -> SqliteStore {
    let store = SqliteStore::in_memory().expect("store");
    for id in ids {
        store.create(&request(id), TOKEN).await.expect("create");
    }
    store
}

#[tokio::test]
async fn a_decision_records_who_and_when_and_returns_the_token() {
    let store = store_with(&["ap-1"]).await;
    let (decided, token) = store.decide("ap-1", &approve("arn:aws:iam::1:user/bob"), t(60)).await.expect("decide");
    assert_eq!(token, TOKEN);
    assert_eq!(decided.status, ApprovalStatus::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("arn:aws:iam::1:user/bob"));
    assert_eq!(decided.decided_at, Some(t(60)));
    assert_eq!(decided.comment.as_deref(), Some("looks right"));
    assert_eq!(store.get("ap-1").await.expect("get"), Some(decided));
}

#[tokio::test]
async fn a_second_decision_is_a_conflict_naming_who_decided() {
    let store = store_with(&["ap-1"]).await;
    store.decide("ap-1", &approve("local:bob"), t(60)).await.expect("first decision");
    for second in [reject("local:eve", Some("no")), approve("local:eve")] {
        let (cls, msg) = class(store.decide("ap-1", &second, t(120)).await);
        assert_eq!(cls, ErrorClass::Conflict, "{msg}");
        assert!(msg.contains(&format!("approval ap-1 was already approved by local:bob at {}", t(60))), "{msg}");
    }
    assert_eq!(store.get("ap-1").await.expect("get").map(|r| r.status), Some(ApprovalStatus::Approved));
}

#[tokio::test]
async fn two_stores_on_one_file_deciding_at_once_have_exactly_one_winner() {
    let (dir, first) = file_store();
    let second = SqliteStore::open(&dir.path().join("aiops.db")).expect("open");
    first.create(&request("ap-1"), TOKEN).await.expect("create");
    let (yes, no) = (approve("local:alice"), reject("local:bob", Some("too risky")));
    let (a, b) = tokio::join!(first.decide("ap-1", &yes, t(10)), second.decide("ap-1", &no, t(10)));
    assert!(a.is_ok() != b.is_ok(), "exactly one decision wins: {a:?} / {b:?}");
    let stored = first.get("ap-1").await.expect("get").expect("exists");
    let loser = a.err().or(b.err()).expect("one error");
    assert_eq!(loser.class(), ErrorClass::Conflict);
    let winner = stored.decided_by.expect("decided_by");
    assert!(loser.to_string().contains(&winner), "{loser} names {winner}");
}

#[tokio::test]
async fn a_decision_after_expiry_is_refused_and_marks_the_request_expired() {
    let store = store_with(&["ap-1"]).await;
    // At the expiry instant it is still decidable; one second later it is not.
    let (cls, msg) = class(store.decide("ap-1", &approve("local:bob"), t(3601)).await);
    assert_eq!(cls, ErrorClass::Conflict, "{msg}");
    assert!(msg.contains(&format!("approval ap-1 expired at {}", t(3600))), "{msg}");
    let stored = store.get("ap-1").await.expect("get").expect("exists");
    assert_eq!(stored.status, ApprovalStatus::Expired);
    assert_eq!(stored.decided_by, None, "nobody approved it");

    let store = store_with(&["ap-2"]).await;
    store.decide("ap-2", &approve("local:bob"), t(3600)).await.expect("at the expiry instant");
}

#[tokio::test]
async fn a_rejection_needs_a_reason() {
    let store = store_with(&["ap-1"]).await;
    for reason in [None, Some("   ")] {
        let (cls, msg) = class(store.decide("ap-1", &reject("local:bob", reason), t(60)).await);
        assert_eq!(cls, ErrorClass::InvalidInput, "{msg}");
        assert!(msg.contains("needs a reason"), "{msg}");
    }
    assert_eq!(store.get("ap-1").await.expect("get").map(|r| r.status), Some(ApprovalStatus::Pending));
    let (rejected, _) =
        store.decide("ap-1", &reject("local:bob", Some("wrong deployment")), t(60)).await.expect("reject");
    assert_eq!(rejected.status, ApprovalStatus::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("wrong deployment"));
    let (cls, msg) = class(store.decide("ap-1", &approve(""), t(60)).await);
    assert_eq!(cls, ErrorClass::InvalidInput, "an anonymous decision: {msg}");
}

#[tokio::test]
async fn consume_needs_the_approved_hash_and_works_once() {
    let store = store_with(&["ap-1"]).await;
    let hash = request("ap-1").action_hash;
    let (cls, msg) = class(store.consume("ap-1", &hash, t(30)).await);
    assert_eq!(cls, ErrorClass::Conflict);
    assert!(msg.contains("approval ap-1 is not approved: it is still pending"), "{msg}");

    store.decide("ap-1", &approve("local:bob"), t(60)).await.expect("approve");
    let other = action_hash("scale_deployment", &json!({"namespace": "prod", "deployment": "web", "replicas": 30}));
    let (cls, msg) = class(store.consume("ap-1", &other, t(90)).await);
    assert_eq!(cls, ErrorClass::Conflict);
    assert!(msg.contains("approval ap-1 is bound to a different action"), "{msg}");
    assert_eq!(store.get("ap-1").await.expect("get").map(|r| r.status), Some(ApprovalStatus::Approved));

    let used = store.consume("ap-1", &hash, t(90)).await.expect("consume");
    assert_eq!(used.status, ApprovalStatus::Used);
    assert_eq!(used.decided_by.as_deref(), Some("local:bob"));
    let (cls, msg) = class(store.consume("ap-1", &hash, t(95)).await);
    assert_eq!(cls, ErrorClass::Conflict);
    assert!(msg.contains("approval ap-1 was already used"), "{msg}");
}

#[tokio::test]
async fn rejected_and_expired_requests_cannot_be_consumed() {
    let store = store_with(&["ap-r", "ap-x"]).await;
    let hash = request("ap-r").action_hash;
    store.decide("ap-r", &reject("local:bob", Some("no")), t(60)).await.expect("reject");
    let (_, msg) = class(store.consume("ap-r", &hash, t(90)).await);
    assert!(msg.contains("approval ap-r is not approved: it was rejected by local:bob"), "{msg}");
    store.expire("ap-x", t(3600)).await.expect("expire");
    let (_, msg) = class(store.consume("ap-x", &hash, t(3700)).await);
    assert!(msg.contains("approval ap-x is not approved: it expired at"), "{msg}");
}

#[tokio::test]
async fn expire_is_idempotent_and_leaves_decided_requests_alone() {
    let store = store_with(&["ap-1", "ap-2"]).await;
    let expired = store.expire("ap-1", t(3600)).await.expect("expire");
    assert_eq!(expired.status, ApprovalStatus::Expired);
    assert_eq!(store.expire("ap-1", t(4000)).await.expect("again"), expired, "a second expire changes nothing");

    store.decide("ap-2", &approve("local:bob"), t(60)).await.expect("approve");
    let still = store.expire("ap-2", t(3600)).await.expect("expire approved");
    assert_eq!(still.status, ApprovalStatus::Approved);
}

#[tokio::test]
async fn unknown_ids_are_not_found_and_duplicates_conflict() {
    let store = store_with(&["ap-1"]).await;
    assert_eq!(store.get("nope").await.expect("get"), None);
    assert_eq!(class(store.decide("nope", &approve("local:bob"), t(1)).await).0, ErrorClass::NotFound);
    assert_eq!(class(store.expire("nope", t(1)).await).0, ErrorClass::NotFound);
    assert_eq!(class(store.consume("nope", "h", t(1)).await).0, ErrorClass::NotFound);
    let (cls, msg) = class(store.create(&request("ap-1"), "another-token").await);
    assert_eq!(cls, ErrorClass::Conflict);
    assert!(msg.contains("approval ap-1 exists already"), "{msg}");
    // The first token still resumes the workflow.
    assert_eq!(store.decide("ap-1", &approve("local:bob"), t(1)).await.expect("decide").1, TOKEN);
}

#[tokio::test]
async fn list_is_newest_first_with_a_status_filter_and_never_shows_the_token() {
    let store = SqliteStore::in_memory().expect("store");
    for (id, at) in [("ap-old", 0), ("ap-new", 20), ("ap-mid", 10)] {
        let mut r = request(id);
        r.requested_at = t(at);
        store.create(&r, TOKEN).await.expect("create");
    }
    store.decide("ap-mid", &approve("local:bob"), t(30)).await.expect("approve");

    let all = store.list(None).await.expect("list");
    assert_eq!(all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["ap-new", "ap-mid", "ap-old"]);
    let pending = store.list(Some(ApprovalStatus::Pending)).await.expect("pending");
    assert_eq!(pending.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["ap-new", "ap-old"]);

    let listed = serde_json::to_string(&all).expect("serialize");
    let got = serde_json::to_string(&store.get("ap-mid").await.expect("get")).expect("serialize");
    for out in [&listed, &got] {
        assert!(!out.contains("SECRET"), "the task token leaked: {out}");
        assert!(out.contains("ap-mid"), "{out}");
    }
}

#[tokio::test]
async fn a_request_must_be_created_pending() {
    let store = SqliteStore::in_memory().expect("store");
    let mut r = request("ap-1");
    r.status = ApprovalStatus::Approved;
    assert_eq!(class(store.create(&r, TOKEN).await).0, ErrorClass::InvalidInput);
    assert_eq!(store.get("ap-1").await.expect("get"), None);
}
