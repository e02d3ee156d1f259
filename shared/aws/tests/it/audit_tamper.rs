//! The DynamoDB audit trail tampered with behind the store, with a raw client (what someone
//! with table access and no regard for the functions' IAM could do): an item overwritten with
//! PutItem, naively or with its own hash recomputed, and an item removed with DeleteItem. Each
//! is detected by `verify_chain`, which names the sequence, and nothing else of the trail is
//! lost.

use std::collections::HashMap;

use aiops_aws::dynamo::{DynamoStore, TableNames};
use aiops_core::agent::audit::{AuditEvent, AuditKind, ChainError, verify_chain};
use aiops_core::ports::AuditLog;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::{sdk_config, unique};

type Item = HashMap<String, AttributeValue>;

/// A fresh store with a five-event trail for `inv`: question, three tool calls, answer.
async fn trail(inv: &str) -> anyhow::Result<(DynamoStore, Vec<AuditEvent>)> {
    let store = DynamoStore::new(&sdk_config().await?, TableNames::prefixed(&unique("tamper")));
    store.create_tables().await?;
    store.append(inv, "local:ann", AuditKind::Question { text: "why is payment-service crashing?".into() }).await?;
    for tool in ["get_pods", "describe_pod", "get_pod_logs"] {
        let event = AuditKind::ToolCall {
            tool: tool.into(),
            args: json!({"namespace": "production"}),
            ok: true,
            result_digest: format!("digest-{tool}"),
            result_bytes: 100,
        };
        store.append(inv, "system", event).await?;
    }
    store.append(inv, "system", AuditKind::Answer { text: "OOMKilled at 512Mi".into() }).await?;
    let events = store.events(inv).await?;
    assert_eq!(verify_chain(inv, &events), Ok(()));
    Ok((store, events))
}

fn key(inv: &str, seq: u64) -> Item {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(format!("INV#{inv}"))),
        ("sk".to_string(), AttributeValue::S(format!("EVT#{seq:020}"))),
    ])
}

/// The raw item of an event.
async fn raw_item(store: &DynamoStore, inv: &str, seq: u64) -> anyhow::Result<Item> {
    let out = store.client().get_item().table_name(store.tables().audit).set_key(Some(key(inv, seq))).send().await?;
    out.item().cloned().ok_or_else(|| anyhow::anyhow!("no item for event {seq}"))
}

/// Puts `item` over whatever is there: no condition, bypassing the store.
async fn overwrite(store: &DynamoStore, item: Item) -> anyhow::Result<()> {
    store.client().put_item().table_name(store.tables().audit).set_item(Some(item)).send().await?;
    Ok(())
}

/// Every event but `seq` is exactly as it was.
fn others_kept(before: &[AuditEvent], after: &[AuditEvent], seq: u64) {
    let keep = |events: &[AuditEvent]| events.iter().filter(|e| e.seq != seq).cloned().collect::<Vec<_>>();
    assert_eq!(keep(after), keep(before), "events other than {seq} changed or went missing");
}

#[tokio::test]
async fn an_audit_item_overwritten_with_put_item_is_detected_as_edited() -> anyhow::Result<()> {
    let inv = "inv-put";
    let (store, before) = trail(inv).await?;
    // Hide which pod's logs were read: rewrite the tool of event 4, keep its stored hash.
    let mut item = raw_item(&store, inv, 4).await?;
    let event = AuditKind::ToolCall {
        tool: "get_pods".into(),
        args: json!({"namespace": "production"}),
        ok: true,
        result_digest: "digest-get_pod_logs".into(),
        result_bytes: 100,
    };
    item.insert("event".into(), AttributeValue::S(serde_json::to_string(&event)?));
    item.insert("type".into(), AttributeValue::S("tool_call".into()));
    overwrite(&store, item).await?;

    let after = store.events(inv).await?;
    assert_eq!(after.len(), before.len());
    assert!(matches!(&after[3].event, AuditKind::ToolCall { tool, .. } if tool == "get_pods"));
    assert_eq!(verify_chain(inv, &after), Err(ChainError::Edited { seq: 4 }));
    assert_eq!(ChainError::Edited { seq: 4 }.to_string(), "event 4 was edited: its content does not match its hash");
    others_kept(&before, &after, 4);
    Ok(())
}

#[tokio::test]
async fn an_audit_item_overwritten_with_its_hash_recomputed_breaks_the_next_link() -> anyhow::Result<()> {
    let inv = "inv-rehash";
    let (store, before) = trail(inv).await?;
    // A careful forger rewrites who asked and recomputes the event's own hash.
    let mut forged = before[0].clone();
    forged.actor = "local:mallory".into();
    forged.hash = forged.compute_hash();
    let mut item = raw_item(&store, inv, 1).await?;
    item.insert("actor".into(), AttributeValue::S(forged.actor.clone()));
    item.insert("hash".into(), AttributeValue::S(forged.hash.clone()));
    overwrite(&store, item).await?;

    let after = store.events(inv).await?;
    assert_eq!(after[0], forged, "the forged item reads back as written");
    assert_eq!(after[0].compute_hash(), after[0].hash, "the forged event is self-consistent");
    assert_eq!(verify_chain(inv, &after), Err(ChainError::Broken { seq: 2, prev: 1 }));
    others_kept(&before, &after, 1);
    Ok(())
}

#[tokio::test]
async fn an_audit_item_removed_with_delete_item_is_detected_as_a_gap() -> anyhow::Result<()> {
    let inv = "inv-delete";
    let (store, before) = trail(inv).await?;
    store.client().delete_item().table_name(store.tables().audit).set_key(Some(key(inv, 2))).send().await?;

    let after = store.events(inv).await?;
    assert_eq!(after.len(), before.len() - 1);
    let problem = verify_chain(inv, &after).expect_err("a gap");
    assert_eq!(problem, ChainError::Gap { expected: 2, found: 3 });
    assert_eq!(problem.to_string(), "gap: expected event 2, found 3 (an event was deleted)");
    others_kept(&before, &after, 2);
    // The trail goes on after the gap, and the gap stays visible.
    let next = store.append(inv, "system", AuditKind::Answer { text: "follow-up".into() }).await?;
    assert_eq!(next.seq, 6);
    assert_eq!(verify_chain(inv, &store.events(inv).await?), Err(ChainError::Gap { expected: 2, found: 3 }));
    Ok(())
}
