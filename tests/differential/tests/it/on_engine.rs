//! A script on the local engine: a task handler that returns the scripted replies in order,
//! and the approver answering the task token the engine hands the approval task.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aiops_engine::{Definition, Engine, EngineOptions, EventType, History, TaskError, TaskRequest, handler_fn};
use anyhow::Context;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::INVESTIGATION_ASL;
use crate::script::{Approver, Reply, Scenario};

/// Multiplies the definition's durations: the 1-second approval timeout takes 50 ms.
const TIME_SCALE: f64 = 0.05;

/// How an execution went on the engine.
#[derive(Debug)]
pub struct EngineRun {
    /// `SUCCEEDED`, `FAILED`, … (as `DescribeExecution` names it).
    pub status: String,
    pub output: Option<Value>,
    /// The entered states, Map iteration states included.
    pub path: Vec<String>,
    pub history: History,
    /// Replies the execution did not use.
    pub unused_replies: usize,
}

impl EngineRun {
    /// The output of every exit from `state`, in order.
    pub fn exits(&self, state: &str) -> Vec<Value> {
        self.history
            .events()
            .iter()
            .filter(|e| e.state_name.as_deref() == Some(state) && is_state_exited(e.event_type))
            .filter_map(|e| e.output.clone())
            .collect()
    }
}

fn is_state_exited(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::TaskStateExited
            | EventType::ChoiceStateExited
            | EventType::MapStateExited
            | EventType::PassStateExited
            | EventType::WaitStateExited
            | EventType::SucceedStateExited
            | EventType::ParallelStateExited
    )
}

/// Runs `scenario` on the engine, with `substitutions` for the definition's placeholders.
///
/// # Errors
/// The definition does not load, the execution does not start, or it does not reach the
/// approval task or its end in time.
pub async fn run(scenario: &Scenario, substitutions: &BTreeMap<String, String>) -> anyhow::Result<EngineRun> {
    let definition = Definition::from_json(INVESTIGATION_ASL, substitutions).context("the definition does not load")?;
    let replies = Arc::new(Mutex::new(VecDeque::from(scenario.replies.clone())));
    let (tokens, mut token_rx) = mpsc::unbounded_channel::<String>();
    let queue = Arc::clone(&replies);
    let handler = handler_fn(move |request: TaskRequest| {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
        if let Some(token) = &request.task_token {
            // The approval function stores the token for the approver; here the test is the
            // approver. A closed channel only means no one will answer, as with Silent.
            let _ = tokens.send(token.clone());
        }
        let state = request.state_name;
        async move {
            match next {
                Some(Reply::Returns(payload)) => Ok(payload),
                // What the Lambda runtime reports for a handler error, as local mode maps it.
                Some(Reply::Fails { error_type, message }) => {
                    let cause = json!({"errorMessage": message, "errorType": error_type}).to_string();
                    Err(TaskError::new(error_type, cause))
                }
                None => Err(TaskError::new("Test.NoReplyLeft", format!("the script has no reply left for {state}"))),
            }
        }
    });
    let options = EngineOptions { time_scale: TIME_SCALE, seed: Some(7), ..EngineOptions::default() };
    let engine = Engine::new(definition, handler, options);
    let execution = engine.start_execution(scenario.name, scenario.input.clone())?;

    if let Some(Approver::Decides(decision)) = &scenario.approver {
        let token = tokio::time::timeout(Duration::from_secs(10), token_rx.recv())
            .await
            .context("the engine did not reach the approval task within 10 s")?
            .context("the handler is gone")?;
        engine.send_task_success(&token, decision.clone())?;
    }
    let result = tokio::time::timeout(Duration::from_secs(30), execution.await_result())
        .await
        .context("the engine's execution did not end within 30 s")?;
    let status = serde_json::to_value(result.status)?.as_str().unwrap_or_default().to_owned();
    let unused_replies = replies.lock().unwrap_or_else(PoisonError::into_inner).len();
    Ok(EngineRun {
        status,
        output: result.output,
        path: result.history.state_sequence(),
        history: result.history,
        unused_replies,
    })
}
