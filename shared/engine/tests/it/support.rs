//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aiops_engine::{
    Definition, Engine, EngineOptions, ExecutionHandle, ExecutionResult, LoadError, TaskError, TaskHandler,
    TaskRequest, handler_fn,
};
use serde_json::Value;

/// Loads a definition written as a JSON value, with no substitutions.
pub fn load(definition: &Value) -> Definition {
    Definition::from_json(&definition.to_string(), &BTreeMap::new()).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// The load error of a definition that must not load.
pub fn load_error(definition: &Value) -> LoadError {
    match Definition::from_json(&definition.to_string(), &BTreeMap::new()) {
        Ok(_) => panic!("expected a load error for {definition}"),
        Err(e) => e,
    }
}

/// Test options: a thousand times faster than real time, deterministic jitter and ids.
pub fn options() -> EngineOptions {
    EngineOptions { time_scale: 0.001, seed: Some(7), ..EngineOptions::default() }
}

pub fn engine(definition: &Value, handler: Arc<dyn TaskHandler>) -> Engine {
    Engine::new(load(definition), handler, options())
}

/// Waits for the execution, failing the test instead of hanging.
pub async fn finish(handle: &ExecutionHandle) -> ExecutionResult {
    tokio::time::timeout(Duration::from_secs(20), handle.await_result())
        .await
        .unwrap_or_else(|_| panic!("execution {} did not finish within 20 s", handle.name()))
}

/// Starts one execution named "test" and waits for it.
pub async fn run(definition: &Value, handler: Arc<dyn TaskHandler>, input: Value) -> ExecutionResult {
    let engine = engine(definition, handler);
    let handle = engine.start_execution("test", input).expect("start execution");
    finish(&handle).await
}

/// A Lambda function ARN.
pub fn lambda(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

/// Returns each request's payload.
pub fn echo() -> Arc<dyn TaskHandler> {
    handler_fn(|request| async move { Ok(request.payload) })
}

/// Fails the test's execution if any task runs.
pub fn no_tasks() -> Arc<dyn TaskHandler> {
    handler_fn(|request| async move {
        Err(TaskError::new("Test.Unexpected", format!("no task expected, got {}", request.state_name)))
    })
}

/// Every request a handler received, in order.
#[derive(Clone, Default)]
pub struct Requests(Arc<Mutex<Vec<TaskRequest>>>);

impl Requests {
    pub fn push(&self, request: &TaskRequest) {
        self.0.lock().expect("requests lock").push(request.clone());
    }

    pub fn all(&self) -> Vec<TaskRequest> {
        self.0.lock().expect("requests lock").clone()
    }
}
