//! [`SweepStore`] over SQLite: every sweep report in `sweeps` (the newest [`HISTORY`] kept), the
//! pointer to the latest in `sweep_latest` (one row), and the root causes' investigation claims
//! in `sweep_claims`. Both conditional writes (the latest pointer, a claim) are one statement
//! or one immediate transaction, so two processes on one file cannot both win.

use aiops_core::ports::SweepStore;
use aiops_core::sweep::{InvestigationClaim, SweepReport, check_report};
use aiops_core::{Error as CoreError, ErrorClass};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{SqliteStore, from_json, micros, to_json};
use crate::error::{Error, is_key_conflict};

/// Sweeps kept besides the latest; older ones are deleted when a sweep is saved.
pub const HISTORY: i64 = 50;

#[async_trait::async_trait]
impl SweepStore for SqliteStore {
    async fn latest_sweep(&self) -> aiops_core::Result<Option<SweepReport>> {
        let operation = "read the latest sweep".to_string();
        let json: Option<String> = self
            .run(operation.clone(), move |conn| {
                Ok(conn
                    .query_row(
                        "SELECT s.json FROM sweep_latest l JOIN sweeps s ON s.id = l.sweep_id WHERE l.slot = 0",
                        [],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(|e| Error::sqlite(operation, e))?)
            })
            .await?;
        let Some(json) = json else { return Ok(None) };
        let report: SweepReport = from_json("a sweep report", &json)?;
        check_report(&report)?;
        Ok(Some(report))
    }

    /// One immediate transaction: reads the pointer, compares it with `previous`, inserts the
    /// report, moves the pointer, and prunes the history.
    async fn save_sweep(&self, report: &SweepReport, previous: Option<&str>) -> aiops_core::Result<bool> {
        let operation = format!("store sweep {}", report.sweep_id);
        let json = to_json("a sweep report", report)?;
        let (id, at, previous) = (report.sweep_id.clone(), micros(report.at), previous.map(str::to_string));
        self.run(operation.clone(), move |conn| {
            let sql = |e: rusqlite::Error| Error::sqlite(operation.clone(), e);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
            let latest: Option<String> = tx
                .query_row("SELECT sweep_id FROM sweep_latest WHERE slot = 0", [], |row| row.get(0))
                .optional()
                .map_err(sql)?;
            if latest != previous {
                return Ok(false);
            }
            match tx.execute("INSERT INTO sweeps (id, at, json) VALUES (?1, ?2, ?3)", params![id, at, json]) {
                Ok(_) => {}
                Err(e) if is_key_conflict(&e) => {
                    return Err(CoreError::backend(
                        ErrorClass::Conflict,
                        operation.clone(),
                        format!("a sweep with id {id} is stored already"),
                    ));
                }
                Err(e) => return Err(sql(e).into()),
            }
            tx.execute(
                "INSERT INTO sweep_latest (slot, sweep_id) VALUES (0, ?1)
                 ON CONFLICT (slot) DO UPDATE SET sweep_id = excluded.sweep_id",
                [&id],
            )
            .map_err(sql)?;
            tx.execute(
                "DELETE FROM sweeps WHERE id NOT IN (SELECT id FROM sweeps ORDER BY at DESC, id DESC LIMIT ?1)",
                [HISTORY],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(true)
        })
        .await
    }

    async fn get_claim(&self, identity: &str) -> aiops_core::Result<Option<InvestigationClaim>> {
        let operation = format!("read the investigation claim on {identity}");
        let identity = identity.to_string();
        let json: Option<String> = self
            .run(operation.clone(), move |conn| {
                Ok(conn
                    .query_row("SELECT json FROM sweep_claims WHERE identity = ?1", [&identity], |row| row.get(0))
                    .optional()
                    .map_err(|e| Error::sqlite(operation, e))?)
            })
            .await?;
        Ok(json.map(|j| from_json("an investigation claim", &j)).transpose()?)
    }

    /// An INSERT (no claim expected) or an UPDATE … WHERE investigation_id = the replaced one.
    async fn put_claim(&self, claim: &InvestigationClaim, replacing: Option<&str>) -> aiops_core::Result<bool> {
        let operation = format!("claim {} for investigation {}", claim.identity, claim.investigation_id);
        let json = to_json("an investigation claim", claim)?;
        let (identity, investigation) = (claim.identity.clone(), claim.investigation_id.clone());
        let replacing = replacing.map(str::to_string);
        self.run(operation.clone(), move |conn| {
            let written = match replacing {
                None => match conn.execute(
                    "INSERT INTO sweep_claims (identity, investigation_id, json) VALUES (?1, ?2, ?3)",
                    params![identity, investigation, json],
                ) {
                    Ok(n) => n,
                    Err(e) if is_key_conflict(&e) => 0,
                    Err(e) => return Err(Error::sqlite(operation, e).into()),
                },
                Some(old) => conn
                    .execute(
                        "UPDATE sweep_claims SET investigation_id = ?2, json = ?3
                         WHERE identity = ?1 AND investigation_id = ?4",
                        params![identity, investigation, json, old],
                    )
                    .map_err(|e| Error::sqlite(operation, e))?,
            };
            Ok(written == 1)
        })
        .await
    }

    async fn release_claim(&self, identity: &str, investigation_id: &str) -> aiops_core::Result<()> {
        let operation = format!("release the claim on {identity}");
        let (identity, investigation) = (identity.to_string(), investigation_id.to_string());
        self.run(operation.clone(), move |conn| {
            conn.execute(
                "DELETE FROM sweep_claims WHERE identity = ?1 AND investigation_id = ?2",
                params![identity, investigation],
            )
            .map_err(|e| Error::sqlite(operation, e))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiops_core::analyze::{Finding, ObjectRef, Severity};
    use aiops_core::sweep::diff;
    use jiff::Timestamp;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_764_496_800 + secs).expect("time")
    }

    fn report(id: &str, at: i64, previous: Option<&SweepReport>) -> SweepReport {
        let f = Finding::new(ObjectRef::new("Pod", "prod", "api"), Severity::Error, "OOMKilled", format!("at {at}"));
        diff(previous, vec![f], id, t(at))
    }

    #[tokio::test]
    async fn the_latest_sweep_moves_only_from_the_one_read() {
        let store = SqliteStore::in_memory().expect("store");
        assert_eq!(store.latest_sweep().await.expect("latest"), None);
        let first = report("s1", 0, None);
        assert!(store.save_sweep(&first, None).await.expect("save"));
        assert_eq!(store.latest_sweep().await.expect("latest"), Some(first.clone()));
        let second = report("s2", 60, Some(&first));
        let rival = report("s2b", 61, Some(&first));
        assert!(store.save_sweep(&second, Some("s1")).await.expect("save"));
        assert!(!store.save_sweep(&rival, Some("s1")).await.expect("lost"), "compared with a stale latest");
        assert!(!store.save_sweep(&rival, None).await.expect("lost"), "there is a latest");
        let latest = store.latest_sweep().await.expect("latest").expect("some");
        assert_eq!(latest.sweep_id, "s2");
        assert_eq!(latest.ongoing[0].since, t(0));
        let again = store.save_sweep(&second, Some("s2")).await.expect_err("same id");
        assert_eq!(again.class(), ErrorClass::Conflict, "{again}");
    }

    #[tokio::test]
    async fn history_is_pruned_to_the_newest() {
        let store = SqliteStore::in_memory().expect("store");
        let mut prev: Option<SweepReport> = None;
        for i in 0..(HISTORY + 5) {
            let r = report(&format!("s{i}"), i * 60, prev.as_ref());
            assert!(store.save_sweep(&r, prev.as_ref().map(|p| p.sweep_id.as_str())).await.expect("save"));
            prev = Some(r);
        }
        let conn = store.conn.lock().expect("lock");
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM sweeps", [], |r| r.get(0)).expect("count");
        assert_eq!(n, HISTORY);
        let oldest: String =
            conn.query_row("SELECT id FROM sweeps ORDER BY at LIMIT 1", [], |r| r.get(0)).expect("oldest");
        assert_eq!(oldest, "s5");
    }

    #[tokio::test]
    async fn a_claim_is_taken_once_and_replaced_only_from_the_one_read() {
        let store = SqliteStore::in_memory().expect("store");
        let claim = |inv: &str| InvestigationClaim {
            identity: "abc".into(),
            investigation_id: inv.into(),
            claimed_at: t(0),
            sweep_id: "s1".into(),
            subject: "Pod prod/api [OOMKilled]".into(),
        };
        assert!(store.put_claim(&claim("inv-1"), None).await.expect("claim"));
        assert!(!store.put_claim(&claim("inv-2"), None).await.expect("taken"));
        assert!(!store.put_claim(&claim("inv-2"), Some("inv-0")).await.expect("stale"));
        assert!(store.put_claim(&claim("inv-2"), Some("inv-1")).await.expect("replace"));
        assert_eq!(store.get_claim("abc").await.expect("get"), Some(claim("inv-2")));
        store.release_claim("abc", "inv-1").await.expect("not ours: kept");
        assert!(store.get_claim("abc").await.expect("get").is_some());
        store.release_claim("abc", "inv-2").await.expect("release");
        store.release_claim("abc", "inv-2").await.expect("idempotent");
        assert_eq!(store.get_claim("abc").await.expect("get"), None);
    }
}
