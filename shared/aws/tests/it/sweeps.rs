//! DynamoStore as the SweepStore against moto: a report far over DynamoDB's 400 KB item limit
//! stored in parts and read back whole, the latest-sweep compare-and-swap, and the claims'
//! conditional writes (raced on the moto whose conditional writes are atomic).

use aiops_aws::dynamo::{DynamoStore, PART_SIZE, TableNames};
use aiops_core::ErrorClass;
use aiops_core::analyze::{Finding, ObjectRef, Severity};
use aiops_core::ports::SweepStore;
use aiops_core::sweep::{InvestigationClaim, SweepReport, diff};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;

use crate::{sdk_config, unique};

async fn store_on(config: &aws_config::SdkConfig) -> anyhow::Result<DynamoStore> {
    let store = DynamoStore::new(config, TableNames::prefixed(&unique("sweeps")));
    store.create_tables().await?;
    Ok(store)
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_764_496_800 + secs).expect("valid time")
}

/// A report of `n` findings, each carrying about `evidence_bytes` of evidence.
fn report(id: &str, at: i64, previous: Option<&SweepReport>, n: usize, evidence_bytes: usize) -> SweepReport {
    let findings = (0..n)
        .map(|i| {
            Finding::new(
                ObjectRef::new("Pod", "prod", &format!("api{i}")),
                Severity::Error,
                "OOMKilled",
                format!("container app was OOMKilled {i} times"),
            )
            .evidence("x".repeat(evidence_bytes))
        })
        .collect();
    diff(previous, findings, id, t(at))
}

/// Items stored under a partition key: (sk, size of `data` in bytes), every page.
async fn items(store: &DynamoStore, pk: &str) -> anyhow::Result<Vec<(String, usize)>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .query()
            .table_name(store.tables().state)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await?;
        out.extend(page.items().iter().map(|i| {
            let sk = i.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let size = i.get("data").and_then(|v| v.as_b().ok()).map_or(0, |b| b.as_ref().len());
            (sk, size)
        }));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(out);
        }
    }
}

#[tokio::test]
async fn a_report_over_the_item_limit_is_stored_in_parts_and_read_back_whole() -> anyhow::Result<()> {
    let store = store_on(&sdk_config().await?).await?;
    assert_eq!(store.latest_sweep().await?, None);
    // 3,000 findings with 400 bytes of evidence each: about 1.6 MB of JSON.
    let big = report("sweep-20251130T100000Z-big", 0, None, 3000, 400);
    let bytes = serde_json::to_vec(&big)?.len();
    assert!(bytes > 3 * PART_SIZE, "{bytes}");
    assert!(store.save_sweep(&big, None).await?);
    assert_eq!(store.latest_sweep().await?, Some(big.clone()));

    let stored = items(&store, "SWEEP#sweep-20251130T100000Z-big").await?;
    let parts: Vec<&(String, usize)> = stored.iter().filter(|(sk, _)| sk.starts_with("PART#")).collect();
    assert_eq!(parts.len(), bytes.div_ceil(PART_SIZE), "{stored:?}");
    assert!(parts.iter().all(|(_, size)| *size <= PART_SIZE), "{parts:?}");
    assert_eq!(parts.iter().map(|(_, size)| size).sum::<usize>(), bytes);
    assert!(stored.iter().any(|(sk, _)| sk == "META"), "{stored:?}");
    Ok(())
}

#[tokio::test]
async fn the_latest_sweep_moves_only_from_the_one_read_and_a_loser_leaves_nothing() -> anyhow::Result<()> {
    let store = store_on(&sdk_config().await?).await?;
    let first = report("sweep-1", 0, None, 2, 10);
    assert!(store.save_sweep(&first, None).await?);
    let second = report("sweep-2", 300, Some(&first), 1, 10);
    let rival = report("sweep-2b", 301, Some(&first), 3, 10);
    assert!(store.save_sweep(&second, Some("sweep-1")).await?);
    assert!(!store.save_sweep(&rival, Some("sweep-1")).await?, "compared with a stale latest");
    assert!(!store.save_sweep(&report("sweep-3", 600, None, 1, 10), None).await?, "there is a latest");
    assert!(items(&store, "SWEEP#sweep-2b").await?.is_empty(), "the loser's items are deleted");

    let latest = store.latest_sweep().await?.ok_or_else(|| anyhow::anyhow!("no latest"))?;
    assert_eq!(latest.sweep_id, "sweep-2");
    assert_eq!(latest.ongoing.len(), 1);
    assert_eq!(latest.ongoing[0].since, t(0), "since survives the round trip");
    assert_eq!(latest.resolved.len(), 1);
    assert_eq!(latest.previous.as_ref().map(|p| p.sweep_id.as_str()), Some("sweep-1"));

    let again = store.save_sweep(&second, Some("sweep-2")).await.expect_err("the id is stored");
    assert_eq!(again.class(), ErrorClass::Conflict, "{again}");
    assert_eq!(store.latest_sweep().await?, Some(second), "a refused save changes nothing");
    Ok(())
}

fn claim(identity: &str, investigation: &str) -> InvestigationClaim {
    InvestigationClaim {
        identity: identity.into(),
        investigation_id: investigation.into(),
        claimed_at: t(0),
        sweep_id: "sweep-1".into(),
        subject: "Pod prod/api [OOMKilled]".into(),
    }
}

#[tokio::test]
async fn a_claim_is_taken_once_replaced_only_from_the_one_read_and_released_by_its_owner() -> anyhow::Result<()> {
    let store = store_on(&sdk_config().await?).await?;
    assert_eq!(store.get_claim("abc").await?, None);
    assert!(store.put_claim(&claim("abc", "inv-1"), None).await?);
    assert!(!store.put_claim(&claim("abc", "inv-2"), None).await?, "taken");
    assert!(!store.put_claim(&claim("abc", "inv-2"), Some("inv-0")).await?, "stale");
    assert!(store.put_claim(&claim("abc", "inv-2"), Some("inv-1")).await?);
    assert_eq!(store.get_claim("abc").await?, Some(claim("abc", "inv-2")));
    store.release_claim("abc", "inv-1").await?;
    assert!(store.get_claim("abc").await?.is_some(), "only the owner releases");
    store.release_claim("abc", "inv-2").await?;
    store.release_claim("abc", "inv-2").await?;
    assert_eq!(store.get_claim("abc").await?, None);
    Ok(())
}

#[tokio::test]
async fn of_concurrent_claims_on_one_root_cause_exactly_one_wins() -> anyhow::Result<()> {
    let config = crate::sdk_config_at(crate::dynamo::atomic_moto::endpoint()?).await;
    let store = store_on(&config).await?;
    let attempts = (0..12).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.put_claim(&claim("root", &format!("inv-{i}")), None).await })
    });
    let mut won = Vec::new();
    for (i, a) in attempts.enumerate() {
        if a.await?? {
            won.push(format!("inv-{i}"));
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    assert_eq!(store.get_claim("root").await?.map(|c| c.investigation_id), Some(won[0].clone()));
    Ok(())
}
