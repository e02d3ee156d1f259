//! The object lock over SQLite: one action at a time per object, across processes sharing the
//! database file.

use aiops_core::ErrorClass;
use aiops_core::ports::LockStore;
use aiops_local::SqliteStore;
use jiff::Timestamp;

use crate::{class, file_store};

const KEY: &str = "deployment/production/payment-service";

/// 2025-11-30T10:00:00Z plus `secs`.
fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_764_496_800 + secs).expect("valid time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_ten_handles_on_one_file_racing_for_an_object_exactly_one_wins() {
    let (dir, store) = file_store();
    let path = dir.path().join("aiops.db");
    // Each handle has its own connection, as each process would: the race is decided by the
    // database, not by a mutex in this process.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let contender = SqliteStore::open(&path).expect("open");
        tasks.push(tokio::spawn(async move {
            let owner = format!("inv-{i}");
            contender.try_lock(KEY, &owner, 300, t(0)).await.map(|won| (owner, won))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (owner, won) = task.await.expect("task").expect("try_lock");
        if won {
            winners.push(owner);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let winner = winners[0].as_str();
    let loser = if winner == "inv-0" { "inv-1" } else { "inv-0" };
    assert!(!store.try_lock(KEY, loser, 300, t(10)).await.expect("lock"), "held by {winner}");
    assert!(
        store.try_lock("deployment/production/checkout-api", loser, 300, t(10)).await.expect("lock"),
        "other objects are free"
    );
}

#[tokio::test]
async fn the_holder_renews_and_releases_and_an_ended_lease_is_taken_over() {
    let (dir, store) = file_store();
    let other = SqliteStore::open(&dir.path().join("aiops.db")).expect("second handle");
    assert!(store.try_lock(KEY, "inv-a", 30, t(0)).await.expect("lock"));
    assert!(!other.try_lock(KEY, "inv-b", 30, t(1)).await.expect("lock"), "held");
    assert!(store.try_lock(KEY, "inv-a", 30, t(20)).await.expect("lock"), "the holder renews");
    // Renewed at t(20) for 30 s: still held at t(49), ended at t(50).
    assert!(!other.try_lock(KEY, "inv-b", 30, t(49)).await.expect("lock"));
    other.unlock(KEY, "inv-b").await.expect("unlock by a non-holder is a no-op");
    assert!(!other.try_lock(KEY, "inv-b", 30, t(49)).await.expect("lock"), "only the holder unlocks");
    assert!(other.try_lock(KEY, "inv-b", 30, t(50)).await.expect("lock"), "an ended lease is taken over");
    assert!(!store.try_lock(KEY, "inv-a", 30, t(51)).await.expect("lock"), "and the old holder lost it");
    other.unlock(KEY, "inv-b").await.expect("unlock");
    other.unlock(KEY, "inv-b").await.expect("unlocking twice is a no-op");
    assert!(store.try_lock(KEY, "inv-a", 30, t(52)).await.expect("lock"), "free again");
}

#[tokio::test]
async fn a_lock_outlives_the_process_that_took_it_until_its_lease_ends() {
    let (dir, store) = file_store();
    assert!(store.try_lock(KEY, "inv-a", 60, t(0)).await.expect("lock"));
    drop(store);
    let reopened = SqliteStore::open(&dir.path().join("aiops.db")).expect("reopen");
    assert!(!reopened.try_lock(KEY, "inv-b", 60, t(30)).await.expect("lock"));
    assert!(reopened.try_lock(KEY, "inv-b", 60, t(60)).await.expect("lock"));
}

#[tokio::test]
async fn a_lock_needs_an_owner() {
    let store = SqliteStore::in_memory().expect("store");
    let (c, message) = class(store.try_lock(KEY, " ", 60, t(0)).await);
    assert_eq!(c, ErrorClass::InvalidInput, "{message}");
    assert!(message.contains("a lock needs an owner"), "{message}");
}
