//! Map: item selection, order of results, the concurrency bound, failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aiops_engine::{EventType, ExecutionStatus, TaskError, TaskHandler, handler_fn};
use serde_json::{Value, json};

use crate::support::{echo, lambda, no_tasks, run};

fn tools_map(max_concurrency: u64) -> Value {
    json!({
        "StartAt": "Tools",
        "States": {
            "Tools": {
                "Type": "Map",
                "ItemsPath": "$.calls",
                "MaxConcurrency": max_concurrency,
                "ItemSelector": {
                    "call.$": "$$.Map.Item.Value",
                    "index.$": "$$.Map.Item.Index",
                    "investigation.$": "$.id"
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Call",
                    "States": {"Call": {"Type": "Task", "Resource": lambda("tools"), "End": true}}
                },
                "ResultPath": "$.results",
                "End": true
            }
        }
    })
}

/// Counts how many invocations run at once, keeping the highest count.
fn concurrency_probe(peak: Arc<AtomicUsize>) -> Arc<dyn TaskHandler> {
    let current = Arc::new(AtomicUsize::new(0));
    handler_fn(move |request| {
        let current = Arc::clone(&current);
        let peak = Arc::clone(&peak);
        async move {
            let now = current.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(25)).await;
            current.fetch_sub(1, Ordering::SeqCst);
            Ok(request.payload)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_keep_item_order_and_item_selector_sees_the_map_context() {
    // Later items finish first.
    let handler = handler_fn(|request| async move {
        let delay = 40 - 10 * request.payload["index"].as_u64().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        Ok(request.payload)
    });
    let result = run(&tools_map(0), handler, json!({"id": "inv-1", "calls": ["a", "b", "c"]})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(
        result.output.expect("output")["results"],
        json!([
            {"call": "a", "index": 0, "investigation": "inv-1"},
            {"call": "b", "index": 1, "investigation": "inv-1"},
            {"call": "c", "index": 2, "investigation": "inv-1"}
        ])
    );
    assert_eq!(result.history.count(EventType::MapIterationStarted), 3);
    assert_eq!(result.history.count(EventType::MapIterationSucceeded), 3);
    let started = result.history.of_type(EventType::MapStateStarted).next().and_then(|e| e.index);
    assert_eq!(started, Some(3), "MapStateStarted carries the item count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_bounds_simultaneous_iterations() {
    let peak = Arc::new(AtomicUsize::new(0));
    let calls: Vec<u32> = (0..10).collect();
    let result = run(&tools_map(3), concurrency_probe(Arc::clone(&peak)), json!({"id": "x", "calls": calls})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(peak.load(Ordering::SeqCst), 3, "MaxConcurrency 3");
    assert_eq!(result.output.expect("output")["results"].as_array().map(Vec::len), Some(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_path_reads_the_bound_from_the_input() {
    let mut definition = tools_map(0);
    let map = definition["States"]["Tools"].as_object_mut().expect("map object");
    map.remove("MaxConcurrency");
    map.insert("MaxConcurrencyPath".to_owned(), json!("$.limit"));
    let peak = Arc::new(AtomicUsize::new(0));
    let input = json!({"id": "x", "limit": 2, "calls": [1, 2, 3, 4, 5]});
    let result = run(&definition, concurrency_probe(Arc::clone(&peak)), input).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_zero_runs_every_iteration_at_once() {
    let peak = Arc::new(AtomicUsize::new(0));
    let result =
        run(&tools_map(0), concurrency_probe(Arc::clone(&peak)), json!({"id": "x", "calls": [1, 2, 3, 4, 5, 6]})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(peak.load(Ordering::SeqCst), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_iteration_fails_the_map_which_can_catch_it() {
    let mut definition = tools_map(2);
    definition["States"]["Tools"]["Catch"] =
        json!([{"ErrorEquals": ["Aiops.Fatal"], "ResultPath": "$.failure", "Next": "Handled"}]);
    definition["States"]["Tools"].as_object_mut().map(|m| m.remove("End"));
    definition["States"]["Tools"]["Next"] = json!("Done");
    definition["States"]["Handled"] = json!({"Type": "Pass", "End": true});
    definition["States"]["Done"] = json!({"Type": "Succeed"});
    let handler = handler_fn(|request| async move {
        if request.payload["call"] == json!("bad") {
            Err(TaskError::new("Aiops.Fatal", "tool crashed"))
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(request.payload)
        }
    });
    let result = run(&definition, handler, json!({"id": "x", "calls": ["ok", "bad", "ok"]})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    let output = result.output.expect("output");
    assert_eq!(output["failure"], json!({"Error": "Aiops.Fatal", "Cause": "tool crashed"}));
    assert!(output.get("results").is_none());
    assert_eq!(result.history.count(EventType::MapIterationFailed), 1);
    assert_eq!(result.history.count(EventType::MapStateFailed), 1);
    assert_eq!(result.history.state_sequence().last().map(String::as_str), Some("Handled"));
}

#[tokio::test]
async fn an_error_caught_inside_an_iteration_becomes_its_result() {
    let definition = json!({
        "StartAt": "Tools",
        "States": {
            "Tools": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Call",
                    "States": {
                        "Call": {
                            "Type": "Task",
                            "Resource": lambda("tools"),
                            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Report"}],
                            "End": true
                        },
                        "Report": {"Type": "Pass", "End": true}
                    }
                },
                "End": true
            }
        }
    });
    let handler = handler_fn(|request| async move {
        match request.payload["ok"].as_bool() {
            Some(true) => Ok(json!("fine")),
            _ => Err(TaskError::new("Aiops.NotFound", "no such pod")),
        }
    });
    let result = run(&definition, handler, json!([{"ok": true}, {"ok": false}])).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded, "{result:?}");
    assert_eq!(
        result.output,
        Some(json!(["fine", {"ok": false, "error": {"Error": "Aiops.NotFound", "Cause": "no such pod"}}]))
    );
}

#[tokio::test]
async fn legacy_iterator_and_parameters_still_work() {
    let definition = json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "Iterator": {"StartAt": "Id", "States": {"Id": {"Type": "Pass", "OutputPath": "$.v", "End": true}}},
                "End": true
            }
        }
    });
    let result = run(&definition, no_tasks(), json!({"items": [1, 2]})).await;
    assert_eq!(result.output, Some(json!([1, 2])));
}

#[tokio::test]
async fn items_path_must_select_an_array() {
    let result = run(&tools_map(0), echo(), json!({"id": "x", "calls": "not a list"})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    let empty = run(&tools_map(0), no_tasks(), json!({"id": "x", "calls": []})).await;
    assert_eq!(empty.output, Some(json!({"id": "x", "calls": [], "results": []})));
}
