//! The context object (`$$`) and the environment paths, templates and intrinsics are evaluated
//! in.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::path::{Path, Root, Segment, select};
use crate::rng::Rng;

/// Who is running: the execution's identity, as the context object and task handlers see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExecutionInfo {
    /// `arn:aws:states:<region>:<account>:execution:<state machine>:<name>` (`$$.Execution.Id`).
    pub execution_arn: String,
    /// The execution name (`$$.Execution.Name`).
    pub name: String,
    /// The state machine ARN from [`crate::EngineOptions`] (`$$.StateMachine.Id`).
    pub state_machine_arn: String,
    /// When the execution started (`$$.Execution.StartTime`).
    pub start_time: Timestamp,
}

impl ExecutionInfo {
    /// The state machine's name: the last field of its ARN.
    pub fn state_machine_name(&self) -> &str {
        self.state_machine_arn.rsplit(':').next().unwrap_or_default()
    }
}

/// A timestamp as the context object prints it: UTC, milliseconds, `Z`.
pub(crate) fn iso_millis(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The context object of one state, built lazily: only the part a path asks for is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) execution: &'a ExecutionInfo,
    pub(crate) input: &'a Value,
    pub(crate) state_name: &'a str,
    pub(crate) entered_time: &'a str,
    pub(crate) retry_count: u32,
    /// Only inside a `.waitForTaskToken` Task's Parameters.
    pub(crate) task_token: Option<&'a str>,
    /// Only inside a Map's ItemSelector: the item's index and value.
    pub(crate) map_item: Option<(usize, &'a Value)>,
}

impl Context<'_> {
    fn execution_value(&self, with_input: bool) -> Value {
        let mut map = Map::new();
        map.insert("Id".into(), json!(self.execution.execution_arn));
        if with_input {
            map.insert("Input".into(), self.input.clone());
        }
        map.insert("Name".into(), json!(self.execution.name));
        map.insert("StartTime".into(), json!(iso_millis(self.execution.start_time)));
        map.insert("RedriveCount".into(), json!(0));
        Value::Object(map)
    }

    fn top(&self, key: &str) -> Option<Value> {
        Some(match key {
            "Execution" => self.execution_value(true),
            "State" => json!({
                "EnteredTime": self.entered_time,
                "Name": self.state_name,
                "RetryCount": self.retry_count,
            }),
            "StateMachine" => json!({
                "Id": self.execution.state_machine_arn,
                "Name": self.execution.state_machine_name(),
            }),
            "Task" => json!({ "Token": self.task_token? }),
            "Map" => {
                let (index, value) = self.map_item?;
                json!({ "Item": { "Index": index, "Value": value } })
            }
            _ => return None,
        })
    }

    /// The value at `segments` below `$$`.
    pub(crate) fn lookup(&self, segments: &[Segment]) -> Option<Value> {
        let Some((first, rest)) = segments.split_first() else {
            let mut map = Map::new();
            for key in ["Execution", "State", "StateMachine", "Task", "Map"] {
                if let Some(value) = self.top(key) {
                    map.insert(key.to_owned(), value);
                }
            }
            return Some(Value::Object(map));
        };
        let Segment::Field(key) = first else { return None };
        // `$$.Execution.Input…` is read in place rather than copying the whole input.
        if key == "Execution"
            && let Some((Segment::Field(field), below)) = rest.split_first()
            && field == "Input"
        {
            return select(self.input, below).cloned();
        }
        let top = if key == "Execution" { self.execution_value(rest.is_empty()) } else { self.top(key)? };
        select(&top, rest).cloned()
    }
}

/// What a path, a template or an intrinsic function is evaluated against.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    /// `$`.
    pub(crate) input: &'a Value,
    /// `$$`.
    pub(crate) context: &'a Context<'a>,
    /// For `States.UUID` and `States.MathRandom` without a seed.
    pub(crate) rng: &'a Rng,
}

impl Env<'_> {
    pub(crate) fn resolve(&self, path: &Path) -> Option<Value> {
        match path.root() {
            Root::Input => path.select(self.input).cloned(),
            Root::Context => self.context.lookup(path.segments()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn info() -> ExecutionInfo {
        ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:investigation:run-1".into(),
            name: "run-1".into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:investigation".into(),
            start_time: "2024-05-01T10:00:00.5Z".parse().expect("timestamp"),
        }
    }

    fn path(text: &str) -> Path {
        Path::parse(text).expect("path")
    }

    #[test]
    fn context_paths() {
        let info = info();
        let input = json!({"question": "why?"});
        let item = json!({"tool": "get_pods"});
        let ctx = Context {
            execution: &info,
            input: &input,
            state_name: "Reason",
            entered_time: "2024-05-01T10:00:01.000Z",
            retry_count: 2,
            task_token: Some("tok"),
            map_item: Some((3, &item)),
        };
        let rng = Rng::new(1);
        let env = Env { input: &input, context: &ctx, rng: &rng };
        assert_eq!(env.resolve(&path("$$.Execution.Id")), Some(json!(info.execution_arn)));
        assert_eq!(env.resolve(&path("$$.Execution.Name")), Some(json!("run-1")));
        assert_eq!(env.resolve(&path("$$.Execution.Input.question")), Some(json!("why?")));
        assert_eq!(env.resolve(&path("$$.Execution.StartTime")), Some(json!("2024-05-01T10:00:00.500Z")));
        assert_eq!(env.resolve(&path("$$.Execution.Input")), Some(input.clone()));
        assert_eq!(env.resolve(&path("$$.State.Name")), Some(json!("Reason")));
        assert_eq!(env.resolve(&path("$$.State.EnteredTime")), Some(json!("2024-05-01T10:00:01.000Z")));
        assert_eq!(env.resolve(&path("$$.State.RetryCount")), Some(json!(2)));
        assert_eq!(env.resolve(&path("$$.StateMachine.Id")), Some(json!(info.state_machine_arn)));
        assert_eq!(env.resolve(&path("$$.StateMachine.Name")), Some(json!("investigation")));
        assert_eq!(env.resolve(&path("$$.Task.Token")), Some(json!("tok")));
        assert_eq!(env.resolve(&path("$$.Map.Item.Index")), Some(json!(3)));
        assert_eq!(env.resolve(&path("$$.Map.Item.Value.tool")), Some(json!("get_pods")));
        assert_eq!(env.resolve(&path("$$.Nope")), None);
        let whole = env.resolve(&path("$$")).expect("whole context");
        assert_eq!(whole["Execution"]["Input"], input);
        assert_eq!(env.resolve(&path("$$.Execution")).expect("execution")["Input"], input);

        let plain = Context { task_token: None, map_item: None, ..ctx };
        let env = Env { context: &plain, ..env };
        assert_eq!(env.resolve(&path("$$.Task.Token")), None);
        assert_eq!(env.resolve(&path("$$.Map.Item.Index")), None);
    }
}
