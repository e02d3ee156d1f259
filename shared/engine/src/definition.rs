//! Loading a definition: `${Name}` substitution, parsing, and every check that can be made before
//! anything runs. What this engine does not support is refused here, naming the state and the
//! field, rather than discovered half way through an execution.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::choice::ChoiceRule;
use crate::error::{LoadError, Location, names};
use crate::intrinsics::{Intrinsic, is_intrinsic};
use crate::path::{Path, Root};
use crate::rng::Rng;
use crate::task::IntegrationPattern;
use crate::template::Template;

/// The largest value of a seconds field, as in Step Functions.
const MAX_SECONDS: u64 = 99_999_999;
/// Retry's `MaxDelaySeconds` upper bound (exclusive), as in Step Functions.
const MAX_DELAY_SECONDS: u64 = 31_622_401;
/// State names are at most this many characters.
const MAX_STATE_NAME: usize = 80;

/// A loaded, validated state machine definition (JSONPath flavour of the Amazon States Language).
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) machine: Arc<Machine>,
    comment: Option<String>,
    timeout_seconds: Option<u64>,
}

impl Definition {
    /// Replaces the `${Name}` definition substitutions in `text` (as `DefinitionSubstitutions`
    /// does in CloudFormation/SAM), parses the result and validates it.
    ///
    /// # Errors
    /// [`LoadError::UnknownSubstitution`] for a `${Name}` not in `substitutions`,
    /// [`LoadError::Json`] when the text is not JSON, and [`LoadError::Invalid`] for anything the
    /// engine would not run as Step Functions does: a missing or unknown field, a wrong value, a
    /// `Next` naming no state, no reachable terminal state, or a feature this engine does not
    /// support (JSONata, variables, Distributed Map, `.sync` tasks, activities, …).
    pub fn from_json(text: &str, substitutions: &BTreeMap<String, String>) -> Result<Definition, LoadError> {
        let text = substitute(text, substitutions)?;
        let value: Value = serde_json::from_str(&text).map_err(LoadError::Json)?;
        let top = value.as_object().ok_or_else(|| LoadError::invalid(None, "", "a definition is a JSON object"))?;
        let obj = Obj { state: None, prefix: String::new(), map: top };
        obj.check_fields("state machine", &["Comment", "StartAt", "States", "TimeoutSeconds", "Version"])?;
        if let Some(version) = obj.get("Version")
            && version != "1.0"
        {
            return Err(obj.err("Version", "the only States language version is \"1.0\""));
        }
        let comment = obj.string("Comment")?.map(str::to_owned);
        let timeout_seconds = obj.uint("TimeoutSeconds", 1, MAX_SECONDS)?;
        let machine = parse_machine(&obj)?;
        Ok(Definition { machine: Arc::new(machine), comment, timeout_seconds })
    }

    /// The first state.
    pub fn start_at(&self) -> &str {
        &self.machine.start_at
    }

    /// The top-level `Comment`.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The execution's `TimeoutSeconds`, if set.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }

    /// Every state's name, nested ones (Map, Parallel) included, sorted.
    pub fn state_names(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        self.machine.collect_names(&mut names);
        names.into_iter().collect()
    }
}

/// A scope of states: the definition itself, a Map's ItemProcessor, a Parallel branch.
#[derive(Debug)]
pub(crate) struct Machine {
    pub(crate) start_at: String,
    pub(crate) states: HashMap<String, State>,
}

impl Machine {
    fn collect_names(&self, names: &mut BTreeSet<String>) {
        for (name, state) in &self.states {
            names.insert(name.clone());
            match &state.body {
                Body::Map(map) => map.processor.collect_names(names),
                Body::Parallel(parallel) => parallel.branches.iter().for_each(|b| b.collect_names(names)),
                _ => {}
            }
        }
    }
}

/// One state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) name: String,
    /// `None` when `InputPath` is `null` (the effective input is `{}`).
    pub(crate) input_path: Option<Path>,
    /// `None` when `OutputPath` is `null` (the output is `{}`).
    pub(crate) output_path: Option<Path>,
    /// `Next`; `None` for `End: true` and for Choice, Succeed and Fail.
    pub(crate) next: Option<String>,
    pub(crate) body: Body,
}

/// What a state does.
#[derive(Debug)]
pub(crate) enum Body {
    Task(TaskState),
    Choice(ChoiceState),
    Map(MapState),
    Pass(PassState),
    Wait(WaitState),
    Succeed,
    Fail(FailState),
    Parallel(ParallelState),
}

impl Body {
    /// The `Type` field, which also prefixes the state's history events.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Body::Task(_) => "Task",
            Body::Choice(_) => "Choice",
            Body::Map(_) => "Map",
            Body::Pass(_) => "Pass",
            Body::Wait(_) => "Wait",
            Body::Succeed => "Succeed",
            Body::Fail(_) => "Fail",
            Body::Parallel(_) => "Parallel",
        }
    }
}

/// `ResultSelector`, `ResultPath`, `Retry` and `Catch`: what Task, Map and Parallel share.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) result_selector: Option<Template>,
    /// `None` when `ResultPath` is `null` (the result is discarded).
    pub(crate) result_path: Option<Path>,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

#[derive(Debug)]
pub(crate) struct TaskState {
    pub(crate) resource: Resource,
    pub(crate) parameters: Option<Template>,
    pub(crate) outcome: Outcome,
    pub(crate) timeout: Option<Count>,
    pub(crate) heartbeat: Option<Count>,
}

/// A number of seconds (or a concurrency) written in the definition, or read from the effective
/// input through a `…Path` field.
#[derive(Debug)]
pub(crate) enum Count {
    Fixed(u64),
    Path(Path),
}

/// What a Task's `Resource` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    /// `arn:aws:states:::lambda:invoke` (optimized integration; output wrapped with `Payload`).
    LambdaInvoke,
    /// A Lambda function ARN (legacy integration; output is the function's value).
    LambdaFunction,
    /// Any other `arn:aws:states:::service:action` integration, passed to the handler as is.
    Service,
}

#[derive(Debug)]
pub(crate) struct Resource {
    pub(crate) arn: String,
    pub(crate) kind: ResourceKind,
    pub(crate) pattern: IntegrationPattern,
}

#[derive(Debug)]
pub(crate) struct ChoiceState {
    pub(crate) choices: Vec<ChoiceRule>,
    pub(crate) default: Option<String>,
}

#[derive(Debug)]
pub(crate) struct MapState {
    pub(crate) items_path: Path,
    pub(crate) item_selector: Option<Template>,
    pub(crate) processor: Arc<Machine>,
    /// 0 means unbounded.
    pub(crate) max_concurrency: Count,
    pub(crate) outcome: Outcome,
}

#[derive(Debug)]
pub(crate) struct PassState {
    pub(crate) parameters: Option<Template>,
    pub(crate) result: Option<Value>,
    pub(crate) result_path: Option<Path>,
}

#[derive(Debug)]
pub(crate) enum WaitState {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(Timestamp),
    TimestampPath(Path),
}

/// Where a Fail state's error or cause comes from.
#[derive(Debug)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
    Call(Intrinsic),
}

#[derive(Debug)]
pub(crate) struct FailState {
    pub(crate) error: Option<Text>,
    pub(crate) cause: Option<Text>,
}

#[derive(Debug)]
pub(crate) struct ParallelState {
    pub(crate) branches: Vec<Arc<Machine>>,
    pub(crate) parameters: Option<Template>,
    pub(crate) outcome: Outcome,
}

/// One element of `Retry`.
#[derive(Debug)]
pub(crate) struct Retrier {
    pub(crate) error_equals: Vec<String>,
    pub(crate) interval_seconds: u64,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_rate: f64,
    pub(crate) max_delay_seconds: Option<u64>,
    /// `JitterStrategy: FULL`.
    pub(crate) full_jitter: bool,
}

impl Retrier {
    pub(crate) fn matches(&self, error: &str) -> bool {
        error_matches(&self.error_equals, error)
    }

    /// Seconds to wait before retry number `retry` (0-based) of this retrier:
    /// `IntervalSeconds × BackoffRate^retry`, capped by `MaxDelaySeconds`, and with full jitter
    /// a uniform draw in `[0, that)`.
    pub(crate) fn delay_seconds(&self, retry: u32, rng: &Rng) -> f64 {
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let mut delay = self.interval_seconds as f64 * self.backoff_rate.powi(exponent);
        if let Some(max) = self.max_delay_seconds {
            delay = delay.min(max as f64);
        }
        if !delay.is_finite() {
            delay = MAX_SECONDS as f64;
        }
        if self.full_jitter { delay * rng.next_f64() } else { delay }
    }
}

/// One element of `Catch`.
#[derive(Debug)]
pub(crate) struct Catcher {
    pub(crate) error_equals: Vec<String>,
    /// `None` when `ResultPath` is `null`.
    pub(crate) result_path: Option<Path>,
    pub(crate) next: String,
}

impl Catcher {
    pub(crate) fn matches(&self, error: &str) -> bool {
        error_matches(&self.error_equals, error)
    }
}

/// Whether an `ErrorEquals` list matches an error name.
///
/// - `States.Runtime` is never matched: Step Functions documents it as not retriable and never
///   caught. `States.DataLimitExceeded` is only matched by its own name.
/// - `States.ALL` matches every other error.
/// - `States.TaskFailed` matches every error except `States.Timeout` and `States.HeartbeatTimeout`
///   (a missed heartbeat is a kind of timeout).
/// - `States.Timeout` also matches `States.HeartbeatTimeout`: Step Functions documents
///   `States.Timeout` as raised for a missed heartbeat too, and definitions written before
///   `States.HeartbeatTimeout` existed rely on it.
pub(crate) fn error_matches(patterns: &[String], error: &str) -> bool {
    if error == names::RUNTIME {
        return false;
    }
    patterns.iter().any(|pattern| match pattern.as_str() {
        names::ALL => error != names::DATA_LIMIT_EXCEEDED,
        names::TASK_FAILED => !matches!(error, names::TIMEOUT | names::HEARTBEAT_TIMEOUT | names::DATA_LIMIT_EXCEEDED),
        names::TIMEOUT => matches!(error, names::TIMEOUT | names::HEARTBEAT_TIMEOUT),
        other => other == error,
    })
}

// ---------------------------------------------------------------------------------------------
// Substitution

fn is_substitution_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

fn substitute(text: &str, substitutions: &BTreeMap<String, String>) -> Result<String, LoadError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name = after.find('}').map(|end| &after[..end]).filter(|name| is_substitution_name(name));
        let Some(name) = name else {
            out.push_str("${");
            rest = after;
            continue;
        };
        match substitutions.get(name) {
            Some(value) => out.push_str(value),
            None => {
                let offset = text.len() - rest.len() + start;
                return Err(LoadError::UnknownSubstitution {
                    name: name.to_owned(),
                    location: locate_substitution(text, name, offset),
                });
            }
        }
        rest = &after[name.len() + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The state and field holding `${name}`, when the unsubstituted text is JSON (substitutions
/// inside strings), and the line in any case.
fn locate_substitution(text: &str, name: &str, offset: usize) -> Location {
    let line = text[..offset].matches('\n').count() + 1;
    let needle = format!("${{{name}}}");
    let found =
        serde_json::from_str::<Value>(text).ok().and_then(|value| find_string(&value, &needle, None, String::new()));
    match found {
        Some((state, field)) => Location { state, field, line: Some(line) },
        None => Location { state: None, field: String::new(), line: Some(line) },
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

fn find_string(value: &Value, needle: &str, state: Option<String>, field: String) -> Option<(Option<String>, String)> {
    match value {
        Value::String(s) if s.contains(needle) => Some((state, field)),
        Value::Object(map) => map.iter().find_map(|(key, child)| {
            if key.contains(needle) {
                return Some((state.clone(), join(&field, key)));
            }
            match (key.as_str(), child) {
                ("States", Value::Object(states)) => states.iter().find_map(|(name, body)| {
                    if name.contains(needle) {
                        return Some((Some(name.clone()), String::new()));
                    }
                    find_string(body, needle, Some(name.clone()), String::new())
                }),
                _ => find_string(child, needle, state.clone(), join(&field, key)),
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_string(item, needle, state.clone(), format!("{field}[{i}]"))),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A JSON object being read as part of a state (or of the state machine), with the location
/// every error about it carries.
struct Obj<'a> {
    state: Option<&'a str>,
    prefix: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn field(&self, key: &str) -> String {
        join(&self.prefix, key)
    }

    fn err(&self, key: &str, message: impl Into<String>) -> LoadError {
        LoadError::invalid(self.state, self.field(key), message)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn child(&self, key: &str, map: &'a Map<String, Value>) -> Obj<'a> {
        Obj { state: self.state, prefix: self.field(key), map }
    }

    /// Refuses every field not in `allowed` (besides `Comment`, `QueryLanguage: JSONPath`),
    /// explaining the ones this engine knows but does not support.
    fn check_fields(&self, what: &str, allowed: &[&str]) -> Result<(), LoadError> {
        for (key, value) in self.map {
            if key == "QueryLanguage" {
                match value.as_str() {
                    Some("JSONPath") => continue,
                    Some("JSONata") => {
                        return Err(self.err(key, "JSONata is not supported; only JSONPath definitions run here"));
                    }
                    _ => return Err(self.err(key, "QueryLanguage is \"JSONPath\" or \"JSONata\"")),
                }
            }
            if key == "Comment" || allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match key.as_str() {
                "Assign" => "variables (Assign) are not supported".to_owned(),
                "Arguments" | "Output" => format!("{key} is a JSONata field; only JSONPath definitions run here"),
                "ItemReader"
                | "ItemBatcher"
                | "ResultWriter"
                | "ToleratedFailurePercentage"
                | "ToleratedFailureCount"
                | "ToleratedFailurePercentagePath"
                | "ToleratedFailureCountPath"
                | "Label" => format!("{key} belongs to a Distributed Map; only inline Map states are supported"),
                "Credentials" => {
                    format!("{key} is not supported by this engine")
                }
                "Next" | "End" if matches!(what, "Choice" | "Succeed" | "Fail") => {
                    format!("a {what} state cannot have {key}")
                }
                _ if matches!(
                    what,
                    "state machine" | "ItemProcessor" | "Iterator" | "branch" | "Retry" | "Catch" | "ProcessorConfig"
                ) =>
                {
                    format!("unknown field {key:?} in {what}")
                }
                _ => format!("unknown field {key:?} for a {what} state"),
            };
            return Err(self.err(key, message));
        }
        Ok(())
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(key, format!("{key} must be a string"))),
        }
    }

    fn required_string(&self, key: &str) -> Result<&'a str, LoadError> {
        self.string(key)?.ok_or_else(|| self.err(key, format!("{key} is required")))
    }

    fn uint(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, LoadError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(self.err(key, format!("{key} must be an integer from {min} to {max}"))),
        }
    }

    /// `key` (an integer from `min`) or `keyPath` (a path to one), not both.
    fn count(&self, key: &str, min: u64) -> Result<Option<Count>, LoadError> {
        let path_key = format!("{key}Path");
        match (self.uint(key, min, MAX_SECONDS)?, self.path(&path_key, true)?) {
            (Some(_), Some(_)) => Err(self.err(&path_key, format!("give {key} or {path_key}, not both"))),
            (Some(n), None) => Ok(Some(Count::Fixed(n))),
            (None, Some(path)) => Ok(Some(Count::Path(path))),
            (None, None) => Ok(None),
        }
    }

    /// A reference path; `allow_context` for fields that may read `$$`.
    fn path(&self, key: &str, allow_context: bool) -> Result<Option<Path>, LoadError> {
        let Some(text) = self.string(key)? else { return Ok(None) };
        let path = Path::parse(text).map_err(|e| self.err(key, e))?;
        if !allow_context && path.root() == Root::Context {
            return Err(self.err(key, format!("{key} must be a path into the state input ($…), not the context ($$…)")));
        }
        Ok(Some(path))
    }

    /// InputPath / OutputPath / ResultPath: absent means `$`, `null` means none.
    fn nullable_path(&self, key: &str, allow_context: bool) -> Result<Option<Path>, LoadError> {
        match self.get(key) {
            None => Ok(Some(Path::identity())),
            Some(Value::Null) => Ok(None),
            Some(_) => self.path(key, allow_context),
        }
    }

    fn template(&self, key: &str) -> Result<Option<Template>, LoadError> {
        let Some(value) = self.get(key) else { return Ok(None) };
        if !value.is_object() {
            return Err(self.err(key, format!("{key} must be an object")));
        }
        Template::parse(value, &self.field(key))
            .map(Some)
            .map_err(|(field, message)| LoadError::invalid(self.state, field, message))
    }

    /// `Next` / `End: true`, exactly one.
    fn transition(&self) -> Result<Option<String>, LoadError> {
        let end = match self.get("End") {
            None => false,
            Some(Value::Bool(end)) => *end,
            Some(_) => return Err(self.err("End", "End must be true or false")),
        };
        match (self.string("Next")?, end) {
            (Some(_), true) => Err(self.err("Next", "a state has either Next or End: true, not both")),
            (Some(next), false) => Ok(Some(next.to_owned())),
            (None, true) => Ok(None),
            (None, false) => Err(self.err("Next", "a non-terminal state needs Next (or End: true)")),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, LoadError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.err(key, format!("{key} must be an array"))),
        }
    }

    fn object_at(&self, key: &str, value: &'a Value) -> Result<Obj<'a>, LoadError> {
        match value {
            Value::Object(map) => Ok(self.child(key, map)),
            _ => Err(self.err(key, format!("{key} must be an object"))),
        }
    }
}

/// Reads `StartAt` and `States` of `obj` (the state machine, an ItemProcessor or a branch) and
/// validates transitions within that scope.
fn parse_machine(obj: &Obj<'_>) -> Result<Machine, LoadError> {
    let start_at = obj.required_string("StartAt")?.to_owned();
    let states_value = obj.get("States").ok_or_else(|| obj.err("States", "States is required"))?;
    let states_obj = obj.object_at("States", states_value)?;
    if states_obj.map.is_empty() {
        return Err(obj.err("States", "States must name at least one state"));
    }
    let mut states = HashMap::new();
    for (name, value) in states_obj.map {
        if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
            return Err(obj.err("States", format!("state name {name:?} must be 1 to {MAX_STATE_NAME} characters")));
        }
        let Value::Object(map) = value else {
            return Err(LoadError::invalid(Some(name), "", "a state must be an object"));
        };
        let state = parse_state(name, &Obj { state: Some(name), prefix: String::new(), map })?;
        states.insert(name.clone(), state);
    }
    let machine = Machine { start_at, states };
    validate_machine(obj, &machine)?;
    Ok(machine)
}

fn validate_machine(obj: &Obj<'_>, machine: &Machine) -> Result<(), LoadError> {
    if !machine.states.contains_key(&machine.start_at) {
        return Err(
            obj.err("StartAt", format!("StartAt names {:?}, which is not a state in this scope", machine.start_at))
        );
    }
    let mut names: Vec<&String> = machine.states.keys().collect();
    names.sort();
    for name in names {
        let state = &machine.states[name];
        for (field, target) in transitions(state) {
            if !machine.states.contains_key(target) {
                return Err(LoadError::invalid(Some(name), field, format!("{target:?} is not a state in this scope")));
            }
        }
    }
    // Some terminal state must be reachable from StartAt.
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([machine.start_at.as_str()]);
    let mut terminal = false;
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        let Some(state) = machine.states.get(name) else { continue };
        terminal |= match &state.body {
            Body::Succeed | Body::Fail(_) => true,
            Body::Choice(_) => false,
            _ => state.next.is_none(),
        };
        queue.extend(transitions(state).into_iter().map(|(_, target)| target));
    }
    if !terminal {
        return Err(obj.err("StartAt", "no terminal state (End: true, Succeed or Fail) is reachable from StartAt"));
    }
    Ok(())
}

/// Every (field, target) a state can move to.
fn transitions(state: &State) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(next) = &state.next {
        out.push(("Next".to_owned(), next.as_str()));
    }
    let catch = match &state.body {
        Body::Choice(choice) => {
            for (i, rule) in choice.choices.iter().enumerate() {
                out.push((format!("Choices[{i}].Next"), rule.next.as_str()));
            }
            if let Some(default) = &choice.default {
                out.push(("Default".to_owned(), default.as_str()));
            }
            &[][..]
        }
        Body::Task(task) => &task.outcome.catch[..],
        Body::Map(map) => &map.outcome.catch[..],
        Body::Parallel(parallel) => &parallel.outcome.catch[..],
        _ => &[][..],
    };
    for (i, catcher) in catch.iter().enumerate() {
        out.push((format!("Catch[{i}].Next"), catcher.next.as_str()));
    }
    out
}

fn parse_state(name: &str, obj: &Obj<'_>) -> Result<State, LoadError> {
    let kind = obj.required_string("Type")?;
    const IO: [&str; 2] = ["InputPath", "OutputPath"];
    const FLOW: [&str; 2] = ["Next", "End"];
    let allowed: Vec<&str> = match kind {
        "Task" => [
            &FLOW[..],
            &IO[..],
            &[
                "Type",
                "Resource",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
                "TimeoutSeconds",
                "TimeoutSecondsPath",
                "HeartbeatSeconds",
                "HeartbeatSecondsPath",
            ],
        ]
        .concat(),
        "Choice" => [&IO[..], &["Type", "Choices", "Default"]].concat(),
        "Map" => [
            &FLOW[..],
            &IO[..],
            &[
                "Type",
                "ItemsPath",
                "ItemProcessor",
                "Iterator",
                "ItemSelector",
                "Parameters",
                "MaxConcurrency",
                "MaxConcurrencyPath",
                "ResultSelector",
                "ResultPath",
                "Retry",
                "Catch",
            ],
        ]
        .concat(),
        "Pass" => [&FLOW[..], &IO[..], &["Type", "Parameters", "Result", "ResultPath"]].concat(),
        "Wait" => [&FLOW[..], &IO[..], &["Type", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"]].concat(),
        "Succeed" => [&IO[..], &["Type"]].concat(),
        "Fail" => vec!["Type", "Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel" => {
            [&FLOW[..], &IO[..], &["Type", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Branches"]]
                .concat()
        }
        other => {
            return Err(obj.err(
                "Type",
                format!(
                    "state type {other:?} is not supported (Task, Choice, Map, Pass, Wait, Succeed, Fail, Parallel)"
                ),
            ));
        }
    };
    obj.check_fields(kind, &allowed)?;
    let has_io = kind != "Fail";
    let input_path = if has_io { obj.nullable_path("InputPath", true)? } else { None };
    let output_path = if has_io { obj.nullable_path("OutputPath", true)? } else { None };
    let next = if matches!(kind, "Choice" | "Succeed" | "Fail") { None } else { obj.transition()? };
    let body = match kind {
        "Task" => Body::Task(parse_task(obj)?),
        "Choice" => Body::Choice(parse_choice(obj)?),
        "Map" => Body::Map(parse_map(obj)?),
        "Pass" => Body::Pass(PassState {
            parameters: obj.template("Parameters")?,
            result: obj.get("Result").cloned(),
            result_path: obj.nullable_path("ResultPath", false)?,
        }),
        "Wait" => Body::Wait(parse_wait(obj)?),
        "Succeed" => Body::Succeed,
        "Fail" => Body::Fail(FailState {
            error: parse_text(obj, "Error", "ErrorPath")?,
            cause: parse_text(obj, "Cause", "CausePath")?,
        }),
        _ => Body::Parallel(parse_parallel(obj)?),
    };
    Ok(State { name: name.to_owned(), input_path, output_path, next, body })
}

fn parse_outcome(obj: &Obj<'_>) -> Result<Outcome, LoadError> {
    let result_selector = obj.template("ResultSelector")?;
    let result_path = obj.nullable_path("ResultPath", false)?;
    let mut retry = Vec::new();
    if let Some(items) = obj.array("Retry")? {
        for (i, item) in items.iter().enumerate() {
            let key = format!("Retry[{i}]");
            let r = obj.object_at(&key, item)?;
            r.check_fields(
                "Retry",
                &["ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"],
            )?;
            let backoff_rate = match r.get("BackoffRate") {
                None => 2.0,
                Some(v) => v
                    .as_f64()
                    .filter(|rate| *rate >= 1.0)
                    .ok_or_else(|| r.err("BackoffRate", "BackoffRate must be a number greater than or equal to 1.0"))?,
            };
            let full_jitter = match r.string("JitterStrategy")? {
                None | Some("NONE") => false,
                Some("FULL") => true,
                Some(_) => return Err(r.err("JitterStrategy", "JitterStrategy is \"FULL\" or \"NONE\"")),
            };
            retry.push(Retrier {
                error_equals: error_equals(&r, i + 1 == items.len())?,
                interval_seconds: r.uint("IntervalSeconds", 1, MAX_SECONDS)?.unwrap_or(1),
                max_attempts: r.uint("MaxAttempts", 0, MAX_SECONDS)?.map_or(3, |n| n as u32),
                backoff_rate,
                max_delay_seconds: r.uint("MaxDelaySeconds", 1, MAX_DELAY_SECONDS - 1)?,
                full_jitter,
            });
        }
    }
    let mut catch = Vec::new();
    if let Some(items) = obj.array("Catch")? {
        for (i, item) in items.iter().enumerate() {
            let key = format!("Catch[{i}]");
            let c = obj.object_at(&key, item)?;
            c.check_fields("Catch", &["ErrorEquals", "ResultPath", "Next"])?;
            catch.push(Catcher {
                error_equals: error_equals(&c, i + 1 == items.len())?,
                result_path: c.nullable_path("ResultPath", false)?,
                next: c.required_string("Next")?.to_owned(),
            });
        }
    }
    Ok(Outcome { result_selector, result_path, retry, catch })
}

fn error_equals(obj: &Obj<'_>, last: bool) -> Result<Vec<String>, LoadError> {
    let items = obj.array("ErrorEquals")?.ok_or_else(|| obj.err("ErrorEquals", "ErrorEquals is required"))?;
    if items.is_empty() {
        return Err(obj.err("ErrorEquals", "ErrorEquals must name at least one error"));
    }
    let names: Vec<String> = items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| obj.err("ErrorEquals", "ErrorEquals must be an array of strings"))?;
    if names.iter().any(|n| n == names::ALL) && (names.len() > 1 || !last) {
        return Err(obj.err("ErrorEquals", "States.ALL must appear alone, in the last retrier or catcher"));
    }
    Ok(names)
}

fn parse_resource(obj: &Obj<'_>) -> Result<Resource, LoadError> {
    let arn = obj.required_string("Resource")?;
    let parts: Vec<&str> = arn.split(':').collect();
    let bad = |message: String| obj.err("Resource", message);
    if parts.len() < 6 || parts[0] != "arn" {
        return Err(bad(format!("{arn:?} is not an ARN (a Lambda function or a service integration)")));
    }
    match parts[2] {
        "lambda" if parts[5] == "function" && parts.len() >= 7 => Ok(Resource {
            arn: arn.to_owned(),
            kind: ResourceKind::LambdaFunction,
            pattern: IntegrationPattern::RequestResponse,
        }),
        "states" if parts[5] == "activity" => Err(bad("activities are not supported by this engine".to_owned())),
        "states" if parts.len() == 7 => {
            let action = parts[6];
            let (action, pattern) = match action.split_once('.') {
                None => (action, IntegrationPattern::RequestResponse),
                Some((action, "waitForTaskToken")) => (action, IntegrationPattern::WaitForTaskToken),
                Some((_, "sync")) => {
                    return Err(bad(
                        "the .sync (run a job) integration pattern is not supported by this engine".to_owned()
                    ));
                }
                Some((_, other)) => return Err(bad(format!("unknown integration pattern .{other}"))),
            };
            let kind = if parts[5] == "lambda" && action == "invoke" {
                ResourceKind::LambdaInvoke
            } else {
                ResourceKind::Service
            };
            Ok(Resource { arn: arn.to_owned(), kind, pattern })
        }
        "states" if parts.len() == 8 && parts[7] == "2" => {
            Err(bad("the .sync (run a job) integration pattern is not supported by this engine".to_owned()))
        }
        _ => {
            Err(bad(format!("{arn:?} is not a Lambda function ARN or an arn:aws:states:::service:action integration")))
        }
    }
}

/// The Parameters Lambda's Invoke API accepts.
const LAMBDA_INVOKE_PARAMETERS: [&str; 6] =
    ["FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"];

fn parse_task(obj: &Obj<'_>) -> Result<TaskState, LoadError> {
    let resource = parse_resource(obj)?;
    if resource.kind == ResourceKind::LambdaInvoke {
        let params = obj.get("Parameters").and_then(Value::as_object);
        let Some(params) = params else {
            return Err(obj.err("Parameters", "lambda:invoke needs Parameters with FunctionName"));
        };
        for key in params.keys() {
            if !LAMBDA_INVOKE_PARAMETERS.contains(&key.trim_end_matches(".$")) {
                return Err(obj.err(&format!("Parameters.{key}"), "not a parameter of lambda:invoke"));
            }
        }
        if !params.contains_key("FunctionName") && !params.contains_key("FunctionName.$") {
            return Err(obj.err("Parameters.FunctionName", "lambda:invoke needs FunctionName"));
        }
        if let Some(kind) = params.get("InvocationType")
            && kind != "RequestResponse"
        {
            return Err(obj.err(
                "Parameters.InvocationType",
                "only the RequestResponse invocation type is supported by this engine",
            ));
        }
    }
    let timeout = obj.count("TimeoutSeconds", 1)?;
    let heartbeat = obj.count("HeartbeatSeconds", 1)?;
    if let (Some(Count::Fixed(timeout)), Some(Count::Fixed(heartbeat))) = (&timeout, &heartbeat)
        && heartbeat >= timeout
    {
        return Err(obj.err("HeartbeatSeconds", "HeartbeatSeconds must be smaller than TimeoutSeconds"));
    }
    Ok(TaskState {
        resource,
        parameters: obj.template("Parameters")?,
        outcome: parse_outcome(obj)?,
        timeout,
        heartbeat,
    })
}

fn parse_choice(obj: &Obj<'_>) -> Result<ChoiceState, LoadError> {
    let items = obj.array("Choices")?.ok_or_else(|| obj.err("Choices", "a Choice state needs Choices"))?;
    if items.is_empty() {
        return Err(obj.err("Choices", "Choices must have at least one rule"));
    }
    let mut choices = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        choices.push(
            ChoiceRule::parse(item, &obj.field(&format!("Choices[{i}]")))
                .map_err(|(field, message)| LoadError::invalid(obj.state, field, message))?,
        );
    }
    Ok(ChoiceState { choices, default: obj.string("Default")?.map(str::to_owned) })
}

fn parse_map(obj: &Obj<'_>) -> Result<MapState, LoadError> {
    let processor = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
        (Some(_), Some(_)) => return Err(obj.err("Iterator", "give ItemProcessor or the legacy Iterator, not both")),
        (None, None) => return Err(obj.err("ItemProcessor", "a Map state needs ItemProcessor")),
        (Some(value), None) => {
            let p = obj.object_at("ItemProcessor", value)?;
            p.check_fields("ItemProcessor", &["ProcessorConfig", "StartAt", "States"])?;
            if let Some(config) = p.get("ProcessorConfig") {
                let c = p.object_at("ProcessorConfig", config)?;
                c.check_fields("ProcessorConfig", &["Mode"])?;
                match c.string("Mode")? {
                    None | Some("INLINE") => {}
                    Some("DISTRIBUTED") => {
                        return Err(c.err("Mode", "Distributed Map is not supported; use Mode INLINE"));
                    }
                    Some(_) => return Err(c.err("Mode", "Mode is INLINE or DISTRIBUTED")),
                }
            }
            parse_machine(&p)?
        }
        (None, Some(value)) => {
            let p = obj.object_at("Iterator", value)?;
            p.check_fields("Iterator", &["StartAt", "States"])?;
            parse_machine(&p)?
        }
    };
    let item_selector = match (obj.get("ItemSelector"), obj.get("Parameters")) {
        (Some(_), Some(_)) => return Err(obj.err("Parameters", "give ItemSelector or the legacy Parameters, not both")),
        (Some(_), None) => obj.template("ItemSelector")?,
        (None, Some(_)) => obj.template("Parameters")?,
        (None, None) => None,
    };
    let max_concurrency = obj.count("MaxConcurrency", 0)?.unwrap_or(Count::Fixed(0));
    Ok(MapState {
        items_path: obj.path("ItemsPath", true)?.unwrap_or_else(Path::identity),
        item_selector,
        processor: Arc::new(processor),
        max_concurrency,
        outcome: parse_outcome(obj)?,
    })
}

fn parse_parallel(obj: &Obj<'_>) -> Result<ParallelState, LoadError> {
    let items = obj.array("Branches")?.ok_or_else(|| obj.err("Branches", "a Parallel state needs Branches"))?;
    if items.is_empty() {
        return Err(obj.err("Branches", "Branches must have at least one branch"));
    }
    let mut branches = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let b = obj.object_at(&format!("Branches[{i}]"), item)?;
        b.check_fields("branch", &["StartAt", "States"])?;
        branches.push(Arc::new(parse_machine(&b)?));
    }
    Ok(ParallelState { branches, parameters: obj.template("Parameters")?, outcome: parse_outcome(obj)? })
}

fn parse_wait(obj: &Obj<'_>) -> Result<WaitState, LoadError> {
    let given: Vec<&str> =
        ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"].into_iter().filter(|k| obj.get(k).is_some()).collect();
    match given.as_slice() {
        [] => Err(obj.err("Seconds", "a Wait state needs one of Seconds, SecondsPath, Timestamp, TimestampPath")),
        ["Seconds"] => Ok(WaitState::Seconds(obj.uint("Seconds", 0, MAX_SECONDS)?.unwrap_or(0))),
        ["SecondsPath"] => Ok(WaitState::SecondsPath(obj.path("SecondsPath", true)?.unwrap_or_else(Path::identity))),
        ["Timestamp"] => {
            let text = obj.required_string("Timestamp")?;
            let ts = text
                .parse::<Timestamp>()
                .map_err(|e| obj.err("Timestamp", format!("not an RFC 3339 timestamp: {e}")))?;
            Ok(WaitState::Timestamp(ts))
        }
        [_] => Ok(WaitState::TimestampPath(obj.path("TimestampPath", true)?.unwrap_or_else(Path::identity))),
        [_, second, ..] => {
            Err(obj.err(second, "a Wait state takes exactly one of Seconds, SecondsPath, Timestamp, TimestampPath"))
        }
    }
}

fn parse_text(obj: &Obj<'_>, literal: &str, path: &str) -> Result<Option<Text>, LoadError> {
    match (obj.string(literal)?, obj.string(path)?) {
        (Some(_), Some(_)) => Err(obj.err(path, format!("give {literal} or {path}, not both"))),
        (Some(text), None) => Ok(Some(Text::Literal(text.to_owned()))),
        (None, Some(text)) if is_intrinsic(text) => {
            Ok(Some(Text::Call(Intrinsic::parse(text).map_err(|e| obj.err(path, e))?)))
        }
        (None, Some(text)) => Ok(Some(Text::Path(Path::parse(text).map_err(|e| obj.err(path, e))?))),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn substitution_replaces_known_names_and_leaves_other_dollar_braces() {
        let out = substitute("a ${X} b ${Y} ${ not } $x", &subs(&[("X", "1"), ("Y", "two")])).expect("substitute");
        assert_eq!(out, "a 1 b two ${ not } $x");
    }

    #[test]
    fn error_matching_follows_the_documented_wildcards() {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert!(error_matches(&list(&["States.ALL"]), "Aiops.Throttled"));
        assert!(error_matches(&list(&["States.ALL"]), "States.Timeout"));
        assert!(!error_matches(&list(&["States.ALL"]), "States.Runtime"));
        assert!(!error_matches(&list(&["States.Runtime"]), "States.Runtime"));
        assert!(!error_matches(&list(&["States.ALL"]), "States.DataLimitExceeded"));
        assert!(error_matches(&list(&["States.DataLimitExceeded"]), "States.DataLimitExceeded"));
        assert!(error_matches(&list(&["States.TaskFailed"]), "Aiops.Fatal"));
        assert!(!error_matches(&list(&["States.TaskFailed"]), "States.Timeout"));
        assert!(!error_matches(&list(&["States.TaskFailed"]), "States.HeartbeatTimeout"));
        assert!(error_matches(&list(&["States.Timeout"]), "States.HeartbeatTimeout"));
        assert!(error_matches(&list(&["States.HeartbeatTimeout"]), "States.HeartbeatTimeout"));
        assert!(!error_matches(&list(&["States.HeartbeatTimeout"]), "States.Timeout"));
        assert!(error_matches(&list(&["Aiops.X", "Aiops.Throttled"]), "Aiops.Throttled"));
        assert!(!error_matches(&list(&["Aiops.X"]), "Aiops.Throttled"));
    }

    #[test]
    fn retry_delay_grows_caps_and_jitters() {
        let retrier = Retrier {
            error_equals: vec![],
            interval_seconds: 2,
            max_attempts: 5,
            backoff_rate: 3.0,
            max_delay_seconds: Some(10),
            full_jitter: false,
        };
        let rng = Rng::new(1);
        let delays: Vec<f64> = (0..4).map(|i| retrier.delay_seconds(i, &rng)).collect();
        assert_eq!(delays, vec![2.0, 6.0, 10.0, 10.0]);
        let jittered = Retrier { full_jitter: true, ..retrier };
        for i in 0..20 {
            let d = jittered.delay_seconds(1, &rng);
            assert!((0.0..6.0).contains(&d), "draw {i}: {d}");
        }
    }
}
