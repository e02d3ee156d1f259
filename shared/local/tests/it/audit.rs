use std::sync::{Arc, Mutex};

use aiops_core::ErrorClass;
use aiops_core::agent::audit::{AuditKind, ChainError, GENESIS, verify_chain};
use aiops_core::ports::AuditLog;
use aiops_local::SqliteStore;

use crate::{class, file_store, raw};

fn answer(text: &str) -> AuditKind {
    AuditKind::Answer { text: text.to_string() }
}

/// Appends `n` events to `inv` and returns the database path.
async fn chain_of(store: &SqliteStore, inv: &str, n: usize) {
    for i in 0..n {
        store.append(inv, "local:test", answer(&format!("step {i}"))).await.expect("append");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_appends_have_no_gaps_no_duplicates_and_verify() {
    let (dir, store) = file_store();
    // Several handles on the same file, as separate processes would have: their appends
    // really race for the next sequence number (one handle alone serializes on its mutex).
    let path = dir.path().join("aiops.db");
    let handles: Vec<SqliteStore> =
        std::iter::once(store).chain((0..3).map(|_| SqliteStore::open(&path).expect("open"))).collect();

    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = handles[i % handles.len()].clone();
        tasks.push(tokio::spawn(async move {
            store.append("inv-race", &format!("local:user{i}"), answer(&format!("event {i}"))).await
        }));
    }
    let mut returned = Vec::new();
    for t in tasks {
        returned.push(t.await.expect("task").expect("append"));
    }

    let events = handles[0].events("inv-race").await.expect("events");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<u64>>());
    assert_eq!(verify_chain("inv-race", &events), Ok(()));
    // Every append's payload is there exactly once, and what append returned is what was stored.
    let mut texts: Vec<String> = events
        .iter()
        .map(|e| match &e.event {
            AuditKind::Answer { text } => text.clone(),
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    texts.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("event {i}")).collect();
    expected.sort();
    assert_eq!(texts, expected);
    returned.sort_by_key(|e| e.seq);
    assert_eq!(returned, events);
}

#[tokio::test]
async fn the_first_event_chains_to_genesis_and_events_are_per_investigation() {
    let store = SqliteStore::in_memory().expect("store");
    let first = store.append("inv-1", "local:ann", AuditKind::Question { text: "why?".into() }).await.expect("append");
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS));
    let second = store.append("inv-1", "system", answer("because")).await.expect("append");
    assert_eq!((second.seq, &second.prev_hash), (2, &first.hash));
    let other = store.append("inv-2", "system", answer("elsewhere")).await.expect("append");
    assert_eq!(other.seq, 1, "each investigation has its own chain");
    assert_eq!(store.events("inv-1").await.expect("events"), [first, second]);
    assert_eq!(
        verify_chain("nobody", &store.events("nobody").await.expect("none")),
        Err(ChainError::Empty("nobody".into()))
    );
}

#[tokio::test]
async fn an_edited_row_is_detected_by_verify_chain() {
    let (dir, store) = file_store();
    chain_of(&store, "inv-1", 4).await;
    let conn = raw(&dir.path().join("aiops.db"));
    conn.execute_batch(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET json = json_set(json, '$.event.text', 'nothing to see here')
         WHERE investigation_id = 'inv-1' AND seq = 2;",
    )
    .expect("tamper");
    let events = store.events("inv-1").await.expect("events");
    assert!(matches!(&events[1].event, AuditKind::Answer { text } if text == "nothing to see here"));
    assert_eq!(verify_chain("inv-1", &events), Err(ChainError::Edited { seq: 2 }));
}

#[tokio::test]
async fn a_deleted_row_is_detected_by_verify_chain() {
    let (dir, store) = file_store();
    chain_of(&store, "inv-1", 4).await;
    let conn = raw(&dir.path().join("aiops.db"));
    conn.execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE investigation_id = 'inv-1' AND seq = 3;")
        .expect("tamper");
    let events = store.events("inv-1").await.expect("events");
    assert_eq!(verify_chain("inv-1", &events), Err(ChainError::Gap { expected: 3, found: 4 }));
}

#[tokio::test]
async fn the_triggers_refuse_update_delete_and_replace_of_audit_rows() {
    let (dir, store) = file_store();
    chain_of(&store, "inv-1", 2).await;
    let conn = raw(&dir.path().join("aiops.db"));
    // A raw connection gets the triggers from the file, but recursive_triggers is a
    // per-connection setting: turn it on as the store does.
    conn.execute_batch("PRAGMA recursive_triggers = ON").expect("pragma");
    for sql in [
        "UPDATE audit SET json = '{}' WHERE seq = 1",
        "DELETE FROM audit WHERE seq = 2",
        "INSERT OR REPLACE INTO audit (investigation_id, seq, day, json, hash) VALUES ('inv-1', 1, 'x', '{}', 'x')",
    ] {
        let e = conn.execute(sql, []).expect_err(sql);
        assert!(e.to_string().contains("the audit trail is append-only"), "{sql}: {e}");
    }
    assert_eq!(verify_chain("inv-1", &store.events("inv-1").await.expect("events")), Ok(()));
}

#[tokio::test]
async fn events_on_a_day_use_the_utc_day_of_each_event() {
    let store = SqliteStore::in_memory().expect("store");
    let a = store.append("inv-1", "system", answer("one")).await.expect("append");
    let b = store.append("inv-2", "system", answer("two")).await.expect("append");
    let today = a.at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let on_day = store.events_on(&today).await.expect("today");
    // b may fall on the next day if the test straddles midnight UTC.
    let expected: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .filter(|e| e.at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string() == today)
        .collect();
    assert_eq!(on_day, expected);
    assert!(store.events_on("1999-01-01").await.expect("empty day").is_empty());
    let (cls, msg) = class(store.events_on("yesterday").await);
    assert_eq!(cls, ErrorClass::InvalidInput, "{msg}");
}

/// Captures what is written to the `audit` tracing target.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_append_emits_the_events_json_line_on_the_audit_target() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_target(true)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = SqliteStore::in_memory().expect("store");
    let event = store.append("inv-log", "local:ann", answer("logged")).await.expect("append");

    let out = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    let line = out.lines().find(|l| l.contains(" audit: ")).unwrap_or_else(|| panic!("no audit line in {out:?}"));
    assert!(line.ends_with(&event.log_line()), "{line}");
}

#[tokio::test]
async fn events_after_pages_through_one_investigation_in_order() {
    let store = SqliteStore::in_memory().expect("store");
    chain_of(&store, "inv-a", 7).await;
    chain_of(&store, "inv-b", 3).await;
    let mut pages = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events_after("inv-a", after, 3).await.expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().expect("last").seq;
        pages.push(page.iter().map(|e| e.seq).collect::<Vec<u64>>());
    }
    assert_eq!(pages, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    let all: Vec<_> = store.events_after("inv-a", 0, 100).await.expect("all");
    assert_eq!(all, store.events("inv-a").await.expect("events"));
    assert!(store.events_after("inv-a", 7, 10).await.expect("past the end").is_empty());
    assert!(store.events_after("inv-none", 0, 10).await.expect("unknown").is_empty());
    let (c, msg) = class(store.events_after("inv-a", 0, 0).await);
    assert_eq!(c, ErrorClass::InvalidInput, "{msg}");
}
