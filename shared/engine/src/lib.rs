//! aiops-engine: a local AWS Step Functions engine for the JSONPath flavour of the Amazon States
//! Language. It runs the same `statemachine/*.asl.json` that Step Functions runs in the cloud, on
//! one machine, calling task handlers injected by the caller.
//!
//! Belongs here: an ASL interpreter faithful to Step Functions' documented semantics for the
//! subset we use — loading with `${Name}` definition substitutions and load-time validation;
//! Task, Choice, Map (inline), Pass, Wait, Succeed, Fail and Parallel states; InputPath,
//! Parameters, ResultSelector, ResultPath and OutputPath; reference paths and the context object
//! (`$$`); intrinsic functions; Retry (backoff, MaxDelaySeconds, jitter) and Catch; task and
//! execution timeouts, heartbeats and `.waitForTaskToken` callbacks; the `lambda:invoke` output
//! shape; execution history with Step Functions' event names; payload and history limits.
//!
//! Refused when a definition is loaded, naming the state and the field: JSONata, variables
//! (`Assign`), Distributed Map (`ItemReader`, `ItemBatcher`, …), `.sync` integrations,
//! activities, `Credentials`, and any unknown field. A definition this engine loads runs here as
//! it would there; one it cannot run faithfully does not load.
//!
//! Does not belong here: AWS calls (no SDK; a service integration is whatever the injected
//! [`TaskHandler`] does with the request) and our handlers themselves (the Lambdas' `handle`
//! functions live in their crates; local mode wires them into a [`TaskHandler`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::collections::BTreeMap;
//! use aiops_engine::{Definition, Engine, EngineOptions, handler_fn};
//!
//! let text = std::fs::read_to_string("statemachine/investigation.asl.json")?;
//! let subs = BTreeMap::from([("ReasonFunctionArn".to_owned(), "reason".to_owned())]);
//! let definition = Definition::from_json(&text, &subs)?;
//! let handler = handler_fn(|request| async move { Ok(request.payload) });
//! let engine = Engine::new(definition, handler, EngineOptions::default());
//! let execution = engine.start_execution("inv-1", serde_json::json!({"question": "why?"}))?;
//! let mut events = execution.events();
//! while let Some(event) = events.next().await {
//!     println!("{:?} {}", event.event_type, event.state_name.unwrap_or_default());
//! }
//! let result = execution.await_result().await;
//! println!("{:?}: {:?}", result.status, result.output);
//! # Ok(())
//! # }
//! ```

mod choice;
mod context;
mod definition;
mod engine;
mod error;
mod history;
mod interpreter;
mod intrinsics;
mod path;
mod rng;
mod task;
mod template;

pub use context::ExecutionInfo;
pub use definition::Definition;
pub use engine::{Engine, EngineOptions, EventStream, ExecutionHandle, ExecutionResult, ExecutionStatus};
pub use error::{Error, LoadError, Location, Result, TaskTokenError};
pub use history::{EventType, History, HistoryEvent};
pub use task::{IntegrationPattern, TaskCallbacks, TaskError, TaskHandler, TaskRequest, handler_fn};
