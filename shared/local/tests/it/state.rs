use aiops_core::ErrorClass;
use aiops_core::agent::{Investigation, InvestigationStatus, Message};
use aiops_core::ports::StateStore;
use aiops_local::SqliteStore;
use jiff::Timestamp;
use serde_json::json;

use crate::class;

/// An investigation created `secs` seconds after the epoch (built from JSON so that new
/// optional fields of the record do not break these tests).
fn investigation(id: &str, secs: i64, status: &str) -> Investigation {
    let at = Timestamp::from_second(secs).expect("timestamp").to_string();
    serde_json::from_value(json!({
        "id": id, "question": format!("why is {id} failing?"), "status": status,
        "created_at": at, "updated_at": at, "actor": "local:test", "writes": false, "turns": 0,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }))
    .expect("investigation")
}

#[tokio::test]
async fn messages_keep_their_order_and_a_replayed_index_is_refused() {
    let store = SqliteStore::in_memory().expect("store");
    // Appended out of order on purpose: the transcript is by index, not by arrival.
    store.append_message("inv-1", 1, &Message::user_text("second")).await.expect("append 1");
    store.append_message("inv-1", 0, &Message::user_text("first")).await.expect("append 0");
    store.append_message("inv-1", 2, &Message::user_text("third")).await.expect("append 2");
    store.append_message("inv-2", 0, &Message::user_text("other")).await.expect("other investigation");

    let (cls, msg) = class(store.append_message("inv-1", 1, &Message::user_text("replayed")).await);
    assert_eq!(cls, ErrorClass::Conflict, "{msg}");
    assert!(msg.contains("message 1 of investigation inv-1 exists already"), "{msg}");

    let texts: Vec<String> = store.messages("inv-1").await.expect("messages").iter().map(Message::text).collect();
    assert_eq!(texts, ["first", "second", "third"], "the replay must not overwrite message 1");
    assert!(store.messages("nobody").await.expect("empty").is_empty());
}

#[tokio::test]
async fn results_and_docs_round_trip_and_overwrite() {
    let store = SqliteStore::in_memory().expect("store");
    let pods = json!({"pods": [{"name": "web-1", "restarts": 5}], "unicode": "ünï ✓"});
    store.put_result("inv-1", "get_pods#1", &pods).await.expect("put");
    store.put_result("inv-1", "a_first", &json!(1)).await.expect("put");
    store.put_result("inv-2", "get_pods#1", &json!("elsewhere")).await.expect("put");
    store.put_result("inv-1", "a_first", &json!(2)).await.expect("idempotent overwrite");

    let results = store.results("inv-1").await.expect("results");
    assert_eq!(results.keys().collect::<Vec<_>>(), ["a_first", "get_pods#1"]);
    assert_eq!(results["get_pods#1"], pods);
    assert_eq!(results["a_first"], json!(2));

    assert_eq!(store.get_doc("sweep/last").await.expect("get"), None);
    store.put_doc("sweep/last", &json!({"findings": 3})).await.expect("put doc");
    store.put_doc("sweep/last", &json!({"findings": 4})).await.expect("replace doc");
    assert_eq!(store.get_doc("sweep/last").await.expect("get"), Some(json!({"findings": 4})));
}

#[tokio::test]
async fn investigations_list_newest_first_in_pages_with_a_status_filter() {
    let store = SqliteStore::in_memory().expect("store");
    // Two share a creation time: the id breaks the tie, so paging never skips or repeats.
    let all = [
        investigation("inv-a", 100, "succeeded"),
        investigation("inv-b", 200, "running"),
        investigation("inv-c", 300, "succeeded"),
        investigation("inv-d", 300, "failed"),
        investigation("inv-e", 500, "succeeded"),
    ];
    for inv in &all {
        store.put_investigation(inv).await.expect("put");
    }
    assert_eq!(store.get_investigation("inv-c").await.expect("get"), Some(all[2].clone()));
    assert_eq!(store.get_investigation("nope").await.expect("get"), None);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, next) = store.list_investigations(None, 2, after.as_deref()).await.expect("page");
        pages += 1;
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|i| i.id));
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, ["inv-e", "inv-d", "inv-c", "inv-b", "inv-a"]);
    assert_eq!(pages, 3);

    let (page, next) = store.list_investigations(Some(InvestigationStatus::Succeeded), 2, None).await.expect("filter");
    assert_eq!(page.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["inv-e", "inv-c"]);
    let (page, next) =
        store.list_investigations(Some(InvestigationStatus::Succeeded), 2, next.as_deref()).await.expect("filter p2");
    assert_eq!(page.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["inv-a"]);
    assert_eq!(next, None);

    // A status change moves the record between filters (put replaces).
    let mut b = all[1].clone();
    b.status = InvestigationStatus::Succeeded;
    store.put_investigation(&b).await.expect("replace");
    let (page, _) = store.list_investigations(Some(InvestigationStatus::Running), 10, None).await.expect("running");
    assert!(page.is_empty(), "inv-b is no longer running: {page:?}");
}

#[tokio::test]
async fn a_bad_cursor_or_a_zero_limit_is_invalid_input() {
    let store = SqliteStore::in_memory().expect("store");
    let (cls, msg) = class(store.list_investigations(None, 10, Some("garbage")).await);
    assert_eq!(cls, ErrorClass::InvalidInput, "{msg}");
    let (cls, msg) = class(store.list_investigations(None, 0, None).await);
    assert_eq!(cls, ErrorClass::InvalidInput, "{msg}");
}

#[tokio::test]
async fn a_file_store_creates_its_folders_and_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/data/aiops.db");
    {
        let store = SqliteStore::open(&path).expect("open creates folders");
        store.put_investigation(&investigation("inv-1", 100, "running")).await.expect("put");
        store.append_message("inv-1", 0, &Message::user_text("hello")).await.expect("append");
    }
    let mode: String = crate::raw(&path).query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.get_investigation("inv-1").await.expect("get").map(|i| i.id), Some("inv-1".into()));
    assert_eq!(store.messages("inv-1").await.expect("messages").len(), 1);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_fails_to_open_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("aiops.db");
    std::fs::write(&path, b"this is not a SQLite database, just text long enough to have a header").expect("write");
    let e = SqliteStore::open(&path).expect_err("must fail");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert_eq!(aiops_core::Error::from(e).class(), ErrorClass::Fatal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_doc_lets_exactly_one_of_concurrent_writers_win_and_never_overwrites() {
    let (_dir, store) = crate::file_store();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { (i, store.create_doc("IDEMPOTENCY#k1", &json!({"n": i})).await) }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (i, won) = t.await.expect("task");
        if won.expect("create") {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(store.get_doc("IDEMPOTENCY#k1").await.expect("get"), Some(json!({"n": winners[0]})));
    assert!(!store.create_doc("IDEMPOTENCY#k1", &json!({"n": 99})).await.expect("second create"));
    assert_eq!(store.get_doc("IDEMPOTENCY#k1").await.expect("get"), Some(json!({"n": winners[0]})));
    // put_doc still replaces; create_doc on a fresh key writes.
    assert!(store.create_doc("IDEMPOTENCY#k2", &json!("x")).await.expect("create"));
    assert_eq!(store.get_doc("IDEMPOTENCY#k2").await.expect("get"), Some(json!("x")));
}
