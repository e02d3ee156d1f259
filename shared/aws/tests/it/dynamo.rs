//! DynamoStore against moto: state, audit trail, approvals, locks, error classification.

pub(crate) mod atomic_moto;

use std::collections::BTreeMap;

use aiops_aws::dynamo::{DynamoStore, TableNames};
use aiops_aws::error::classify;
use aiops_core::agent::approval::{ApprovalRequest, ApprovalStatus, Decision};
use aiops_core::agent::audit::{AuditKind, ChainError, verify_chain};
use aiops_core::agent::{Investigation, InvestigationStatus, Message, Usage};
use aiops_core::ports::{ApprovalStore, AuditLog, StateStore};
use aiops_core::{ErrorClass, Result as CoreResult};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::{sdk_config, unique};

/// A store over three fresh tables.
async fn store() -> anyhow::Result<DynamoStore> {
    store_on(&sdk_config().await?).await
}

/// A store over three fresh tables of the emulator `config` points at.
async fn store_on(config: &aws_config::SdkConfig) -> anyhow::Result<DynamoStore> {
    let store = DynamoStore::new(config, TableNames::prefixed(&unique("aiops")));
    store.create_tables().await?;
    Ok(store)
}

/// The config of the moto whose conditional writes are atomic (see [`atomic_moto`]).
async fn atomic_config() -> anyhow::Result<aws_config::SdkConfig> {
    Ok(crate::sdk_config_at(atomic_moto::endpoint()?).await)
}

/// 2025-11-30T10:00:00Z plus `secs`.
fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_764_496_800 + secs).expect("valid time")
}

fn class<T: std::fmt::Debug>(r: CoreResult<T>) -> (ErrorClass, String) {
    let e = r.expect_err("expected an error");
    (e.class(), e.to_string())
}

fn investigation(id: &str, created_at: Timestamp, status: InvestigationStatus) -> Investigation {
    Investigation {
        id: id.to_string(),
        question: format!("why is {id} failing?"),
        status,
        created_at,
        updated_at: created_at,
        actor: "local:ann".into(),
        namespace: Some("prod".into()),
        writes: false,
        turns: 1,
        usage: Usage::default(),
        answer: None,
        error: None,
        parent: None,
        executed_actions: Vec::new(),
        steps: vec!["tools:get_pods".into()],
        audit_head: None,
    }
}

fn request(id: &str, action_hash: &str, requested_at: Timestamp, expires_at: Timestamp) -> ApprovalRequest {
    ApprovalRequest {
        id: id.to_string(),
        investigation_id: "inv-1".into(),
        call_id: "call-1".into(),
        question: "why is payment-service crashing?".into(),
        tool: "set_container_resources".into(),
        args: json!({"namespace": "prod", "deployment": "payment-service", "memory_limit": "512Mi"}),
        summary: "raise the memory limit of payment-service to 512Mi".into(),
        action_hash: action_hash.to_string(),
        plan_id: "plan-1".into(),
        diff: "- memory: 256Mi\n+ memory: 512Mi".into(),
        evidence: vec!["OOMKilled 5 times in 10 minutes".into()],
        resource_version: "4711".into(),
        requested_by: "system".into(),
        requested_at,
        expires_at,
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
        reason: None,
        comment: None,
        execution_link: Some("https://eu-west-1.console.aws.amazon.com/states/home".into()),
    }
}

fn approve(by: &str) -> Decision {
    Decision { approve: true, by: by.to_string(), reason: None, comment: Some("looks right".into()) }
}

/// How many payload parts the state table holds for a partition (over all query pages: parts
/// are big).
async fn parts_in(store: &DynamoStore, pk: &str) -> anyhow::Result<usize> {
    let out: Vec<_> = store
        .client()
        .query()
        .table_name(store.tables().state)
        .key_condition_expression("pk = :pk AND begins_with(sk, :part)")
        .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
        .expression_attribute_values(":part", AttributeValue::S("PART#".into()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await?;
    Ok(out.len())
}

#[tokio::test]
async fn messages_append_in_order_and_a_replayed_index_is_refused() -> anyhow::Result<()> {
    let store = store().await?;
    // Twelve, so that index 10 must sort after 9.
    for i in 0..12 {
        store.append_message("inv-1", i, &Message::user_text(format!("message {i}"))).await?;
    }
    let (class, text) = class(store.append_message("inv-1", 3, &Message::user_text("a replay")).await);
    assert_eq!(class, ErrorClass::Conflict, "{text}");
    assert!(text.contains("message 3 of investigation inv-1 exists already"), "{text}");

    let messages = store.messages("inv-1").await?;
    let texts: Vec<String> = messages.iter().map(Message::text).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("message {i}")).collect();
    assert_eq!(texts, expected, "in index order, the replay did not overwrite message 3");
    assert!(store.messages("inv-other").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_one_megabyte_result_round_trips_and_replacing_it_drops_its_parts() -> anyhow::Result<()> {
    let store = store().await?;
    let pods: Vec<Value> = (0..4000)
        .map(|i| json!({"name": format!("payment-service-{i}"), "phase": "Running", "note": "ünïcödé ✓"}))
        .collect();
    let big = json!({"log": "OOMKilled — container exceeded its memory limit\n".repeat(15_000), "pods": pods});
    let size = big.to_string().len();
    assert!(size > 1_000_000, "the result is {size} bytes");

    store.put_result("inv-1", "get_pod_logs#1", &big).await?;
    store.put_result("inv-1", "get_pods", &json!({"count": 3})).await?;
    let results = store.results("inv-1").await?;
    let expected =
        BTreeMap::from([("get_pod_logs#1".to_string(), big.clone()), ("get_pods".to_string(), json!({"count": 3}))]);
    assert_eq!(results, expected);
    assert_eq!(parts_in(&store, "INV#inv-1").await?, size.div_ceil(aiops_aws::dynamo::PART_SIZE));

    // Idempotent put of the same key: the newest wins, the old parts go.
    store.put_result("inv-1", "get_pod_logs#1", &json!({"lines": 2})).await?;
    assert_eq!(store.results("inv-1").await?.get("get_pod_logs#1"), Some(&json!({"lines": 2})));
    assert_eq!(parts_in(&store, "INV#inv-1").await?, 0);

    // Documents and messages take the same path.
    store.put_doc("sweep/last", &big).await?;
    assert_eq!(store.get_doc("sweep/last").await?, Some(big.clone()));
    assert_eq!(store.get_doc("sweep/none").await?, None);
    let long = Message::user_text(big.to_string());
    store.append_message("inv-2", 0, &long).await?;
    assert_eq!(store.messages("inv-2").await?, vec![long]);
    Ok(())
}

#[tokio::test]
async fn investigations_list_newest_first_by_status_with_a_cursor() -> anyhow::Result<()> {
    let store = store().await?;
    let mut all = Vec::new();
    for i in 0..7 {
        let status = if i % 2 == 0 { InvestigationStatus::Running } else { InvestigationStatus::Succeeded };
        all.push(investigation(&format!("inv-{i}"), t(i * 60), status));
    }
    // Two created in the same instant: the id breaks the tie.
    all.push(investigation("inv-7", t(600), InvestigationStatus::Succeeded));
    all.push(investigation("inv-8", t(600), InvestigationStatus::Running));
    for inv in &all {
        store.put_investigation(inv).await?;
    }
    assert_eq!(store.get_investigation("inv-3").await?.as_ref(), Some(&all[3]));
    assert_eq!(store.get_investigation("inv-missing").await?, None);

    let ids = |page: &[Investigation]| page.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    let (p1, c1) = store.list_investigations(None, 3, None).await?;
    assert_eq!(ids(&p1), ["inv-8", "inv-7", "inv-6"]);
    assert_eq!(p1[0], all[8], "a listed record is the whole record");
    let (p2, c2) = store.list_investigations(None, 3, c1.as_deref()).await?;
    assert_eq!(ids(&p2), ["inv-5", "inv-4", "inv-3"]);
    let (p3, c3) = store.list_investigations(None, 3, c2.as_deref()).await?;
    assert_eq!(ids(&p3), ["inv-2", "inv-1", "inv-0"]);
    assert_eq!(c3, None, "the last page has no cursor");

    let running = Some(InvestigationStatus::Running);
    let (r1, rc1) = store.list_investigations(running, 2, None).await?;
    assert_eq!(ids(&r1), ["inv-8", "inv-6"]);
    let (r2, rc2) = store.list_investigations(running, 2, rc1.as_deref()).await?;
    assert_eq!(ids(&r2), ["inv-4", "inv-2"]);
    let (r3, rc3) = store.list_investigations(running, 2, rc2.as_deref()).await?;
    assert_eq!((ids(&r3), rc3), (vec!["inv-0".to_string()], None));

    // A status change moves the record between listings.
    let mut done = all[4].clone();
    done.status = InvestigationStatus::Succeeded;
    store.put_investigation(&done).await?;
    let (r, _) = store.list_investigations(running, 10, None).await?;
    assert_eq!(ids(&r), ["inv-8", "inv-6", "inv-2", "inv-0"]);
    let (s, _) = store.list_investigations(Some(InvestigationStatus::Succeeded), 10, None).await?;
    assert_eq!(ids(&s), ["inv-7", "inv-5", "inv-4", "inv-3", "inv-1"]);
    let (f, fc) = store.list_investigations(Some(InvestigationStatus::Failed), 10, None).await?;
    assert!(f.is_empty() && fc.is_none());

    assert_eq!(class(store.list_investigations(None, 0, None).await).0, ErrorClass::InvalidInput);
    assert_eq!(class(store.list_investigations(None, 3, Some("not-a-cursor")).await).0, ErrorClass::InvalidInput);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_appends_chain_without_gaps_or_duplicates() -> anyhow::Result<()> {
    let config = atomic_config().await?;
    let store = store_on(&config).await?;
    let mut tasks = Vec::new();
    for i in 0..40 {
        // Each appender has its own client, as separate Lambdas would.
        let appender = DynamoStore::new(&config, store.tables());
        tasks.push(tokio::spawn(async move {
            appender
                .append("inv-race", &format!("worker-{i:02}"), AuditKind::Answer { text: format!("from {i}") })
                .await
        }));
    }
    let mut returned = Vec::new();
    for task in tasks {
        returned.push(task.await??);
    }
    let mut seqs: Vec<u64> = returned.iter().map(|e| e.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>(), "every append got its own sequence number");

    let events = store.events("inv-race").await?;
    assert_eq!(verify_chain("inv-race", &events), Ok(()));
    let mut actors: Vec<&str> = events.iter().map(|e| e.actor.as_str()).collect();
    actors.sort_unstable();
    actors.dedup();
    assert_eq!(actors.len(), 40, "each worker's event is stored exactly once");
    for e in &returned {
        let stored = &events[usize::try_from(e.seq)? - 1];
        assert_eq!(stored, e, "the stored event is the one the append returned");
    }
    Ok(())
}

#[tokio::test]
async fn an_audit_item_edited_or_deleted_behind_the_store_is_detected() -> anyhow::Result<()> {
    let store = store().await?;
    for inv in ["inv-edit", "inv-delete"] {
        store.append(inv, "local:ann", AuditKind::Question { text: "why?".into() }).await?;
        for i in 0..3 {
            let event = AuditKind::ToolCall {
                tool: "get_pods".into(),
                args: json!({"namespace": "prod"}),
                ok: true,
                result_digest: format!("d{i}"),
                result_bytes: 10,
            };
            store.append(inv, "system", event).await?;
        }
        assert_eq!(verify_chain(inv, &store.events(inv).await?), Ok(()));
    }
    let table = store.tables().audit;
    let event_key = |inv: &str, seq: u64| {
        [
            ("pk".to_string(), AttributeValue::S(format!("INV#{inv}"))),
            ("sk".to_string(), AttributeValue::S(format!("EVT#{seq:020}"))),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    // An attacker with table access rewrites who did something...
    store
        .client()
        .update_item()
        .table_name(&table)
        .set_key(Some(event_key("inv-edit", 2)))
        .update_expression("SET actor = :who")
        .expression_attribute_values(":who", AttributeValue::S("mallory".into()))
        .send()
        .await?;
    let events = store.events("inv-edit").await?;
    assert_eq!(events[1].actor, "mallory");
    assert_eq!(verify_chain("inv-edit", &events), Err(ChainError::Edited { seq: 2 }));

    // ... or removes an event.
    store.client().delete_item().table_name(&table).set_key(Some(event_key("inv-delete", 3))).send().await?;
    assert_eq!(
        verify_chain("inv-delete", &store.events("inv-delete").await?),
        Err(ChainError::Gap { expected: 3, found: 4 })
    );

    // Appending after a deletion continues from the last event; the gap stays visible.
    let next = store.append("inv-delete", "system", AuditKind::Answer { text: "done".into() }).await?;
    assert_eq!(next.seq, 5);
    Ok(())
}

#[tokio::test]
async fn events_on_a_day_span_investigations_in_time_order() -> anyhow::Result<()> {
    let store = store().await?;
    let a1 = store.append("inv-a", "local:ann", AuditKind::Question { text: "a?".into() }).await?;
    let b1 = store.append("inv-b", "local:bob", AuditKind::Question { text: "b?".into() }).await?;
    let a2 = store.append("inv-a", "system", AuditKind::Answer { text: "a.".into() }).await?;
    let day = a1.at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let on_day = store.events_on(&day).await?;
    let mut expected = vec![a1, b1, a2];
    expected.retain(|e| e.at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string() == day);
    assert_eq!(on_day, expected);
    assert!(store.events_on("2000-01-01").await?.is_empty());
    assert_eq!(class(store.events_on("30/11/2025").await).0, ErrorClass::InvalidInput);
    Ok(())
}

#[tokio::test]
async fn approvals_are_decided_once_by_a_named_person_and_used_once() -> anyhow::Result<()> {
    let store = store().await?;
    let hash = aiops_core::agent::approval::action_hash("set_container_resources", &json!({"memory_limit": "512Mi"}));
    let token = "AQCEAAAAKgAAAAMAAAAAAAAAAT-secret-task-token";
    let req = request("apr-1", &hash, t(0), t(3600));
    store.create(&req, token).await?;
    let (class_, text) = class(store.create(&req, "another").await);
    assert_eq!(class_, ErrorClass::Conflict, "{text}");
    assert!(text.contains("approval apr-1 exists already"), "{text}");

    // Reads never carry the token.
    let got = store.get("apr-1").await?.expect("stored");
    assert_eq!(got, req);
    assert!(!serde_json::to_string(&got)?.contains("secret-task-token"));
    let listed = store.list(Some(ApprovalStatus::Pending)).await?;
    assert_eq!(listed, vec![req.clone()]);
    assert!(!serde_json::to_string(&listed)?.contains("secret-task-token"));
    assert_eq!(store.get("apr-none").await?, None);

    // The first decision wins and returns the token; the second names who decided.
    let (decided, returned_token) =
        store.decide("apr-1", &approve("arn:aws:iam::123456789012:user/alice"), t(60)).await?;
    assert_eq!(returned_token, token);
    assert_eq!(decided.status, ApprovalStatus::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("arn:aws:iam::123456789012:user/alice"));
    assert_eq!(decided.decided_at, Some(t(60)));
    assert_eq!(store.get("apr-1").await?.as_ref(), Some(&decided));
    let (class_, text) = class(store.decide("apr-1", &approve("arn:aws:iam::123456789012:user/bob"), t(61)).await);
    assert_eq!(class_, ErrorClass::Conflict, "{text}");
    assert!(
        text.contains("was already approved by arn:aws:iam::123456789012:user/alice at 2025-11-30T10:01:00Z"),
        "{text}"
    );
    assert_eq!(store.list(Some(ApprovalStatus::Approved)).await?, vec![decided.clone()]);
    assert!(store.list(Some(ApprovalStatus::Pending)).await?.is_empty());

    // Consumed once, for exactly the approved action.
    let other = aiops_core::agent::approval::action_hash("set_container_resources", &json!({"memory_limit": "8Gi"}));
    let (class_, text) = class(store.consume("apr-1", &other, t(70)).await);
    assert_eq!(class_, ErrorClass::Conflict);
    assert!(text.contains("bound to a different action"), "{text}");
    let used = store.consume("apr-1", &hash, t(70)).await?;
    assert_eq!(used.status, ApprovalStatus::Used);
    let (class_, text) = class(store.consume("apr-1", &hash, t(71)).await);
    assert_eq!(class_, ErrorClass::Conflict);
    assert!(text.contains("already used"), "{text}");

    // A decision after the expiry is refused and the request becomes expired.
    store.create(&request("apr-2", &hash, t(100), t(160)), "token-2").await?;
    let (class_, text) = class(store.decide("apr-2", &approve("arn:aws:iam::123456789012:user/alice"), t(161)).await);
    assert_eq!(class_, ErrorClass::Conflict, "{text}");
    assert!(text.contains("approval apr-2 expired at 2025-11-30T10:02:40Z"), "{text}");
    assert_eq!(store.get("apr-2").await?.map(|r| r.status), Some(ApprovalStatus::Expired));
    let (_, text) = class(store.consume("apr-2", &hash, t(162)).await);
    assert!(text.contains("not approved: it expired"), "{text}");
    // Expiring again is a no-op.
    assert_eq!(store.expire("apr-2", t(170)).await?.decided_at, Some(t(161)));

    // A rejection needs a reason; a rejected request cannot be used.
    store.create(&request("apr-3", &hash, t(200), t(3600)), "token-3").await?;
    let no_reason =
        Decision { approve: false, by: "arn:aws:iam::123456789012:user/carol".into(), reason: None, comment: None };
    assert_eq!(class(store.decide("apr-3", &no_reason, t(201)).await).0, ErrorClass::InvalidInput);
    let reject = Decision { reason: Some("not during the sale".into()), ..no_reason };
    let (rejected, _) = store.decide("apr-3", &reject, t(202)).await?;
    assert_eq!((rejected.status, rejected.reason.as_deref()), (ApprovalStatus::Rejected, Some("not during the sale")));
    let (_, text) = class(store.consume("apr-3", &hash, t(203)).await);
    assert!(text.contains("rejected by arn:aws:iam::123456789012:user/carol"), "{text}");

    // Newest first; unknown ids are NotFound.
    let all: Vec<String> = store.list(None).await?.into_iter().map(|r| r.id).collect();
    assert_eq!(all, ["apr-3", "apr-2", "apr-1"]);
    assert_eq!(class(store.decide("apr-none", &approve("x"), t(0)).await).0, ErrorClass::NotFound);
    assert_eq!(class(store.consume("apr-none", &hash, t(0)).await).0, ErrorClass::NotFound);
    assert_eq!(class(store.expire("apr-none", t(0)).await).0, ErrorClass::NotFound);
    Ok(())
}

#[tokio::test]
async fn the_approval_indexes_do_not_hold_task_tokens() -> anyhow::Result<()> {
    let store = store().await?;
    store.create(&request("apr-1", "h", t(0), t(60)), "secret-token").await?;
    for (index, attr, value) in [("by_created", "gsi1pk", "APPROVALS"), ("by_status", "gsi2pk", "APPROVALS#pending")] {
        let out = store
            .client()
            .query()
            .table_name(store.tables().approvals)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", attr)
            .expression_attribute_values(":p", AttributeValue::S(value.into()))
            .send()
            .await?;
        assert_eq!(out.items().len(), 1, "{index}");
        assert!(!out.items()[0].contains_key("task_token"), "{index} projects the token");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_ten_racing_for_an_object_lock_exactly_one_wins() -> anyhow::Result<()> {
    let config = atomic_config().await?;
    let store = store_on(&config).await?;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let contender = DynamoStore::new(&config, store.tables());
        tasks.push(tokio::spawn(async move {
            let owner = format!("inv-{i}");
            contender.try_lock("deployment/prod/payment-service", &owner, 300, t(0)).await.map(|won| (owner, won))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (owner, won) = task.await??;
        if won {
            winners.push(owner);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let winner = &winners[0];
    let key = "deployment/prod/payment-service";
    let loser = if winner == "inv-0" { "inv-1" } else { "inv-0" };

    assert!(!store.try_lock(key, loser, 300, t(10)).await?, "held");
    assert!(store.try_lock(key, winner, 300, t(10)).await?, "the holder renews");
    assert!(!store.unlock(key, loser).await?, "only the holder unlocks");
    assert!(store.unlock(key, winner).await?);
    assert!(!store.unlock(key, winner).await?, "unlocking twice is a no-op");
    assert!(store.try_lock(key, loser, 30, t(20)).await?, "free again");
    // A lease that ended is taken over.
    assert!(!store.try_lock(key, winner, 30, t(49)).await?);
    assert!(store.try_lock(key, winner, 30, t(50)).await?);
    Ok(())
}

#[tokio::test]
async fn missing_tables_are_not_found_and_named_and_create_tables_is_idempotent() -> anyhow::Result<()> {
    let config = sdk_config().await?;
    let absent = DynamoStore::new(&config, TableNames::prefixed(&unique("absent")));
    let (class_, text) = class(absent.get_investigation("inv-1").await);
    assert_eq!(class_, ErrorClass::NotFound, "{text}");
    assert!(text.contains("dynamodb:GetItem failed: ResourceNotFoundException"), "{text}");
    assert!(text.contains(&absent.tables().state), "{text}");
    let (class_, _) = class(absent.append("inv-1", "system", AuditKind::Answer { text: "x".into() }).await);
    assert_eq!(class_, ErrorClass::NotFound);

    let store = store().await?;
    store.create_tables().await?;
    Ok(())
}

#[tokio::test]
async fn a_failed_condition_from_dynamodb_classifies_as_conflict() -> anyhow::Result<()> {
    let store = store().await?;
    let item = |v: &str| {
        [
            ("pk".to_string(), AttributeValue::S("X".into())),
            ("sk".to_string(), AttributeValue::S("Y".into())),
            ("v".to_string(), AttributeValue::S(v.into())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let table = store.tables().state;
    store.client().put_item().table_name(&table).set_item(Some(item("1"))).send().await?;
    let err = store
        .client()
        .put_item()
        .table_name(&table)
        .set_item(Some(item("2")))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect_err("the condition fails");
    assert_eq!(classify(&err), ErrorClass::Conflict);
    let mut no_sort_key = item("3");
    no_sort_key.remove("sk");
    let err = store.client().put_item().table_name(&table).set_item(Some(no_sort_key)).send().await.expect_err("no sk");
    assert_eq!(classify(&err), ErrorClass::InvalidInput, "{}", aiops_aws::error::describe(&err));
    assert!(
        aiops_aws::error::describe(&err).starts_with("ValidationException: "),
        "{}",
        aiops_aws::error::describe(&err)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_doc_lets_exactly_one_of_concurrent_writers_win() -> anyhow::Result<()> {
    // Concurrent conditional writes are atomic only on the serialized moto (see atomic_moto).
    let config = atomic_config().await?;
    let store = store_on(&config).await?;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let writer = DynamoStore::new(&config, store.tables());
        tasks.push(tokio::spawn(async move { (i, writer.create_doc("IDEMPOTENCY#k1", &json!({"n": i})).await) }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (i, won) = task.await?;
        if won? {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(store.get_doc("IDEMPOTENCY#k1").await?, Some(json!({"n": winners[0]})));
    assert!(!store.create_doc("IDEMPOTENCY#k1", &json!({"n": 99})).await?, "a second create writes nothing");
    assert_eq!(store.get_doc("IDEMPOTENCY#k1").await?, Some(json!({"n": winners[0]})));
    assert!(store.create_doc("IDEMPOTENCY#k2", &json!("x")).await?);
    assert_eq!(store.get_doc("IDEMPOTENCY#k2").await?, Some(json!("x")));
    Ok(())
}

#[tokio::test]
async fn events_after_pages_through_one_investigation_in_order() -> anyhow::Result<()> {
    let store = store().await?;
    for i in 0..7 {
        store.append("inv-a", "local:ann", AuditKind::Answer { text: format!("a{i}") }).await?;
    }
    store.append("inv-b", "local:bob", AuditKind::Answer { text: "b".into() }).await?;
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events_after("inv-a", after, 3).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        pages.push(page.iter().map(|e| e.seq).collect::<Vec<u64>>());
    }
    assert_eq!(pages, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    assert_eq!(store.events_after("inv-a", 0, 100).await?, store.events("inv-a").await?);
    assert!(store.events_after("inv-a", 7, 5).await?.is_empty());
    assert!(store.events_after("inv-none", 0, 5).await?.is_empty());
    assert_eq!(class(store.events_after("inv-a", 0, 0).await).0, ErrorClass::InvalidInput);
    Ok(())
}
