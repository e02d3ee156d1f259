//! Execution history: events named as Step Functions names them (`GetExecutionHistory`).

use jiff::Timestamp;
use serde_json::Value;

/// The type of a history event; the variant names are Step Functions' event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[allow(missing_docs)] // each variant is the Step Functions event type of the same name
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    TaskStateEntered,
    TaskStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    MapStateEntered,
    MapStateExited,
    PassStateEntered,
    PassStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateExited,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
}

impl EventType {
    /// The `…StateEntered` event of a state type (`Task`, `Choice`, …).
    pub(crate) fn entered(type_name: &str) -> EventType {
        match type_name {
            "Task" => EventType::TaskStateEntered,
            "Choice" => EventType::ChoiceStateEntered,
            "Map" => EventType::MapStateEntered,
            "Pass" => EventType::PassStateEntered,
            "Wait" => EventType::WaitStateEntered,
            "Succeed" => EventType::SucceedStateEntered,
            "Fail" => EventType::FailStateEntered,
            _ => EventType::ParallelStateEntered,
        }
    }

    /// The `…StateExited` event of a state type (Fail states never exit).
    pub(crate) fn exited(type_name: &str) -> EventType {
        match type_name {
            "Task" => EventType::TaskStateExited,
            "Choice" => EventType::ChoiceStateExited,
            "Map" => EventType::MapStateExited,
            "Pass" => EventType::PassStateExited,
            "Wait" => EventType::WaitStateExited,
            "Succeed" => EventType::SucceedStateExited,
            _ => EventType::ParallelStateExited,
        }
    }

    /// Whether this is a `…StateEntered` event.
    pub fn is_state_entered(self) -> bool {
        matches!(
            self,
            EventType::TaskStateEntered
                | EventType::ChoiceStateEntered
                | EventType::MapStateEntered
                | EventType::PassStateEntered
                | EventType::WaitStateEntered
                | EventType::SucceedStateEntered
                | EventType::FailStateEntered
                | EventType::ParallelStateEntered
        )
    }

    /// Whether this event ends the execution.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventType::ExecutionSucceeded
                | EventType::ExecutionFailed
                | EventType::ExecutionTimedOut
                | EventType::ExecutionAborted
        )
    }
}

/// One history event. Fields that do not apply to an event type are `None`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryEvent {
    /// 1-based, in recording order.
    pub id: u64,
    /// When it was recorded (wall clock, even when `time_scale` speeds time up).
    pub timestamp: Timestamp,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The state it is about (state events, task events, map and parallel events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_name: Option<String>,
    /// The task's resource (task events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The input (`…StateEntered`, `ExecutionStarted`) or the task parameters (`TaskScheduled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// The output (`…StateExited`, `TaskSucceeded`, `ExecutionSucceeded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The error name (failures, timeouts, aborts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The error cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The Map iteration index (`MapIteration…`), or the item count (`MapStateStarted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl HistoryEvent {
    pub(crate) fn new(event_type: EventType) -> Self {
        HistoryEvent {
            id: 0,
            timestamp: Timestamp::UNIX_EPOCH,
            event_type,
            state_name: None,
            resource: None,
            input: None,
            output: None,
            error: None,
            cause: None,
            index: None,
        }
    }

    pub(crate) fn state(mut self, name: &str) -> Self {
        self.state_name = Some(name.to_owned());
        self
    }

    pub(crate) fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_owned());
        self
    }

    pub(crate) fn input(mut self, input: Value) -> Self {
        self.input = Some(input);
        self
    }

    pub(crate) fn output(mut self, output: Value) -> Self {
        self.output = Some(output);
        self
    }

    pub(crate) fn error(mut self, error: &str, cause: &str) -> Self {
        self.error = Some(error.to_owned());
        self.cause = Some(cause.to_owned());
        self
    }

    pub(crate) fn index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

/// The events of one execution, in order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct History {
    events: Vec<HistoryEvent>,
}

impl History {
    pub(crate) fn new(events: Vec<HistoryEvent>) -> Self {
        History { events }
    }

    /// Every event.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The names of the states entered, in order, nested ones included (Map iterations and
    /// Parallel branches interleave as they ran). This is what a differential test compares
    /// with Step Functions' `GetExecutionHistory`.
    pub fn state_sequence(&self) -> Vec<String> {
        self.events.iter().filter(|e| e.event_type.is_state_entered()).filter_map(|e| e.state_name.clone()).collect()
    }

    /// The events of one type.
    pub fn of_type(&self, event_type: EventType) -> impl Iterator<Item = &HistoryEvent> {
        self.events.iter().filter(move |e| e.event_type == event_type)
    }

    /// How many events of one type there are.
    pub fn count(&self, event_type: EventType) -> usize {
        self.of_type(event_type).count()
    }
}
