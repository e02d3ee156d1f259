//! The offline reasoner: deterministic, no model. It reads the question, plans the calls a
//! careful SRE would make, and writes the answer from the analyzers' findings.
//!
//! It is stateless: each step is derived from the transcript since the latest question (which
//! tools ran, what they returned), so a replayed step gives the same answer.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{
    Answer, Block, Message, ProposedAction, ReasonInput, ReasonOutput, Role, Step, ToolCall, Usage, estimate_tokens,
};
use crate::analyze::{Action, Finding, Severity};
use crate::error::Result;
use crate::ports::Reasoner;
use crate::tools::{NameMatch, ranked_by_name};

/// The offline reasoner.
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineReasoner;

#[async_trait::async_trait]
impl Reasoner for OfflineReasoner {
    fn name(&self) -> String {
        "offline".into()
    }

    async fn next(&self, input: &ReasonInput<'_>) -> Result<ReasonOutput> {
        Ok(plan(input))
    }
}

/// What the user wants.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Find out what is wrong (with a target, or in general).
    Diagnose,
    /// Show the state of things.
    Status { what: StatusWhat },
    /// Do something: a write that goes through approval.
    Write { tool: &'static str, replicas: Option<i64>, revision: Option<i64>, memory: Option<String> },
}

/// What a status question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusWhat {
    Pods,
    Deployments,
    Services,
    Nodes,
    Events,
}

/// A parsed question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub text: String,
    pub intent: Intent,
    /// A namespace the question names (`in production`, `namespace payments`).
    pub namespace: Option<String>,
    /// Whether the namespace is only a guess from "in X" ("crashing in staging" or "increase in
    /// search-api memory"), so X may name the object instead (see [`Question::candidates`]).
    pub namespace_guessed: bool,
    /// Words that may name an object.
    pub names: Vec<String>,
}

impl Question {
    /// Words that may name the object, likeliest first: the names, then a namespace guessed
    /// from "in X", which may be the object's name after all.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        let guessed = self.namespace.as_deref().filter(|_| self.namespace_guessed);
        self.names.iter().map(String::as_str).chain(guessed)
    }
}

const STOPWORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "is",
    "are",
    "my",
    "our",
    "why",
    "what",
    "whats",
    "what's",
    "how",
    "does",
    "do",
    "did",
    "keep",
    "keeps",
    "pod",
    "pods",
    "deployment",
    "deployments",
    "service",
    "services",
    "in",
    "on",
    "of",
    "to",
    "for",
    "with",
    "and",
    "or",
    "namespace",
    "cluster",
    "crashing",
    "crash",
    "crashes",
    "failing",
    "fail",
    "fails",
    "broken",
    "down",
    "wrong",
    "going",
    "me",
    "show",
    "list",
    "all",
    "there",
    "any",
    "anything",
    "problem",
    "problems",
    "issue",
    "issues",
    "error",
    "errors",
    "please",
    "can",
    "could",
    "you",
    "restart",
    "restarting",
    "restarts",
    "scale",
    "roll",
    "back",
    "rollback",
    "it",
    "its",
    "up",
    "not",
    "working",
    "healthy",
    "health",
    "check",
    "status",
    "running",
    "state",
    "happening",
    "happened",
    "this",
    "that",
    "be",
    "so",
    "i",
    "we",
    "has",
    "have",
    "been",
    "get",
    "tell",
    "about",
    "ready",
    "pending",
    "stuck",
    "revision",
    "replicas",
    "instances",
    "increase",
    "raise",
    "memory",
    "limit",
    "set",
    "nodes",
    "node",
    "events",
    "event",
    "which",
    "where",
    "when",
    "who",
    "than",
    "then",
    "into",
    "from",
    "at",
    "by",
    "revert",
    "previous",
    "version",
    "unhealthy",
    "look",
    "investigate",
    "diagnose",
    "explain",
    "help",
    "hi",
    "hello",
    "again",
    "other",
    "others",
    "same",
    "too",
    // Kinds people name objects by ("the redis statefulset").
    "statefulset",
    "statefulsets",
    "daemonset",
    "daemonsets",
    "replicaset",
    "replicasets",
    "cronjob",
    "cronjobs",
    "ingress",
    "ingresses",
    "hpa",
    "pvc",
    "pvcs",
    "container",
    "containers",
    "replica",
    // "thanks in advance", "in short", "in general": never a namespace.
    "advance",
    "short",
    "general",
    "particular",
    "fact",
    "total",
    "case",
    "order",
    "progress",
    "detail",
    "addition",
    "practice",
    // "in the last hour", "in the past day": time, never a namespace or a name.
    "last",
    "past",
    "hour",
    "hours",
    "minute",
    "minutes",
    "day",
    "days",
    "week",
    "morning",
    "afternoon",
    "evening",
    "night",
    "meantime",
];

/// States a pod is said to be "in" ("stuck in Init", "is in CrashLoopBackOff"): never a
/// namespace or an object's name.
const POD_STATES: &[&str] = &[
    "crashloopbackoff",
    "init",
    "podinitializing",
    "containercreating",
    "imagepullbackoff",
    "errimagepull",
    "createcontainerconfigerror",
    "createcontainererror",
    "runcontainererror",
    "oomkilled",
    "completed",
    "evicted",
    "terminating",
    "unknown",
    "backoff",
];

/// A memory amount as people type it ("1gi", "768Mi", "2G", "512m"), in the form Kubernetes
/// takes ("1Gi", "768Mi", "2G", "512M"); `None` for anything else.
fn memory_amount(word: &str) -> Option<String> {
    let at = word.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, u) = word.split_at(at);
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let unit = match u.to_ascii_lowercase().as_str() {
        "gi" | "gib" => "Gi",
        "mi" | "mib" => "Mi",
        "ki" | "kib" => "Ki",
        "ti" | "tib" => "Ti",
        "g" | "gb" => "G",
        "m" | "mb" => "M",
        "k" | "kb" => "k",
        _ => return None,
    };
    let q = format!("{n}{unit}");
    crate::catalog::is_quantity(&q).then_some(q)
}

/// Parses a question.
pub fn parse_question(text: &str) -> Question {
    let lower = text.to_lowercase();
    let words: Vec<String> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '\''))
        .map(|w| w.trim_matches(|c| c == '.' || c == '\'' || c == '-'))
        // "search-api's memory": the name without the possessive.
        .map(|w| w.strip_suffix("'s").unwrap_or(w).to_string())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    let verb_at =
        words.iter().position(|w| !["please", "can", "could", "you", "would", "kindly", "now"].contains(&w.as_str()));
    let first_verb = verb_at.map(|i| words[i].as_str());
    // "restart checkout-api" is a command; "restart loop on webhook-relay", "scale up of feed-api
    // stops at 5", "increase in memory usage" and anything asking why are questions.
    let after_verb = verb_at
        .and_then(|i| words[i + 1..].iter().find(|w| !["up", "down", "the"].contains(&w.as_str())))
        .map(String::as_str);
    let command = !has("why")
        && !after_verb.is_some_and(|w| {
            ["loop", "loops", "looping", "storm", "storms", "of", "in", "or", "is", "was", "keeps", "count", "counts"]
                .contains(&w)
        });
    let asks_why = [
        "why",
        "wrong",
        "crash",
        "crashing",
        "failing",
        "broken",
        "error",
        "errors",
        "problem",
        "problems",
        "issue",
        "issues",
        "unhealthy",
        "down",
        "stuck",
        "pending",
        "restarting",
        "oom",
        "healthy",
        "health",
        "diagnose",
        "investigate",
        "investigating",
        "blocking",
        "blocked",
        "reason",
        "cause",
        "causing",
    ]
    .iter()
    .any(|w| has(w));
    let number_after = |key: &str| -> Option<i64> {
        let i = words.iter().position(|w| w == key)?;
        words[i + 1..].iter().take(3).find_map(|w| w.parse::<i64>().ok())
    };
    let intent = match first_verb {
        Some("restart") | Some("bounce") if command => {
            Intent::Write { tool: "restart_deployment", replicas: None, revision: None, memory: None }
        }
        Some("scale") if command => Intent::Write {
            tool: "scale_deployment",
            replicas: number_after("to").or_else(|| number_after("scale")),
            revision: None,
            memory: None,
        },
        Some("rollback") | Some("revert") if command => Intent::Write {
            tool: "rollback_deployment",
            replicas: None,
            revision: number_after("revision"),
            memory: None,
        },
        Some("roll") if command && has("back") => Intent::Write {
            tool: "rollback_deployment",
            replicas: None,
            revision: number_after("revision"),
            memory: None,
        },
        Some("increase") | Some("raise") | Some("set") | Some("bump") | Some("give") | Some("change")
            if command && has("memory") =>
        {
            let memory = words.iter().find_map(|w| memory_amount(w));
            Intent::Write { tool: "set_container_resources", replicas: None, revision: None, memory }
        }
        _ if !asks_why
            && (matches!(first_verb, Some("show") | Some("list") | Some("get") | Some("which") | Some("display"))
                || lower.starts_with("what pods")
                || lower.starts_with("what is running")
                || lower.starts_with("what's running")) =>
        {
            let what = if has("deployments") || has("deployment") {
                StatusWhat::Deployments
            } else if has("services") || has("service") || has("endpoints") {
                StatusWhat::Services
            } else if has("nodes") || has("node") {
                StatusWhat::Nodes
            } else if has("events") || has("event") {
                StatusWhat::Events
            } else {
                StatusWhat::Pods
            };
            Intent::Status { what }
        }
        _ => Intent::Diagnose,
    };
    let mut namespace = None;
    let label = |w: &str| crate::catalog::is_dns_label(w) && !STOPWORDS.contains(&w) && !POD_STATES.contains(&w);
    for (i, w) in words.iter().enumerate() {
        if w != "namespace" && w != "ns" {
            continue;
        }
        let before = i.checked_sub(1).map(|j| words[j].as_str());
        let before2 = i.checked_sub(2).map(|j| words[j].as_str());
        let after = words.get(i + 1).map(String::as_str);
        // "in the staging namespace keeps restarting": the word before, when it follows an
        // article or preposition (or starts the question), names it; else "namespace staging".
        let named_before = before.filter(|b| {
            label(b) && before2.is_none_or(|b2| ["the", "in", "of", "from", "to", "across", "my", "our"].contains(&b2))
        });
        if let Some(b) = named_before {
            namespace = Some(b.to_string());
        } else if let Some(a) = after.filter(|a| label(a)) {
            namespace = Some(a.to_string());
        }
    }
    let mut namespace_guessed = false;
    if namespace.is_none() {
        for (i, w) in words.iter().enumerate() {
            if w == "in" && i + 1 < words.len() {
                let next = if words[i + 1] == "the" && i + 2 < words.len() { &words[i + 2] } else { &words[i + 1] };
                // The first "in X" names the place ("storefront-api in web got slow in the last
                // hour"); later ones are more often time or circumstance.
                if label(next) && namespace.is_none() {
                    namespace = Some(next.clone());
                    namespace_guessed = true;
                }
            }
        }
    }
    let names = words
        .iter()
        .filter(|w| {
            w.len() >= 3
                && !STOPWORDS.contains(&w.as_str())
                && !POD_STATES.contains(&w.as_str())
                && w.chars().any(|c| c.is_ascii_alphabetic())
                && memory_amount(w).is_none()
        })
        .filter(|w| crate::catalog::is_dns_subdomain(w))
        .filter(|w| Some(*w) != namespace.as_ref())
        .cloned()
        .collect();
    Question { text: text.to_string(), intent, namespace, namespace_guessed, names }
}

/// A tool call made since the question, with its result.
struct Done {
    call: ToolCall,
    ok: bool,
    text: String,
    data: Option<Value>,
}

fn history(input: &ReasonInput<'_>) -> (String, Vec<Done>, usize) {
    // The latest user text is the question; calls after it are this question's.
    let start = input
        .messages
        .iter()
        .rposition(|m| m.role == Role::User && m.content.iter().any(|b| matches!(b, Block::Text { .. })))
        .unwrap_or(0);
    let question = input.messages.get(start).map(Message::text).unwrap_or_default();
    let mut done: Vec<Done> = Vec::new();
    for m in &input.messages[start..] {
        for b in &m.content {
            match b {
                Block::ToolUse { id, name, input: args } => {
                    done.push(Done {
                        call: ToolCall { id: id.clone(), tool: name.clone(), args: args.clone() },
                        ok: false,
                        text: String::new(),
                        data: None,
                    });
                }
                Block::ToolResult { id, ok, text, data_ref } => {
                    if let Some(d) = done.iter_mut().find(|d| &d.call.id == id) {
                        d.ok = *ok;
                        d.text = text.clone();
                        d.data = data_ref.as_ref().and_then(|r| input.results.get(r)).cloned();
                    }
                }
                Block::Text { .. } => {}
            }
        }
    }
    let turn = input.messages.iter().filter(|m| m.role == Role::Assistant).count();
    (question, done, turn)
}

fn plan(input: &ReasonInput<'_>) -> ReasonOutput {
    let (question, done, turn) = history(input);
    let q = parse_question(&question);
    let step = if input.turns_left <= 1 || input.input_tokens_left == 0 {
        let mut answer = compose(&q, &done, input);
        answer.budget_note = Some(if input.turns_left <= 1 {
            "turn budget reached".into()
        } else {
            "input token budget reached".into()
        });
        answer
            .text
            .push_str("\n\n(The investigation's budget was reached; this answer uses what was gathered so far.)");
        Step::Answer { answer }
    } else {
        decide(&q, &done, input, turn)
    };
    let message = assistant_message(&step, turn);
    let usage = Usage {
        input_tokens: estimate_input_tokens(input),
        output_tokens: estimate_tokens(&serde_json::to_string(&message).unwrap_or_default()),
        ..Usage::default()
    };
    ReasonOutput { step, message, usage, model: "offline".into() }
}

/// Tokens a model would have been sent for this step: the system prompt, the tool list and the
/// transcript text.
pub fn estimate_input_tokens(input: &ReasonInput<'_>) -> u64 {
    let messages: u64 = input
        .messages
        .iter()
        .flat_map(|m| m.content.iter())
        .map(|b| match b {
            Block::Text { text } => estimate_tokens(text),
            Block::ToolUse { name, input, .. } => estimate_tokens(name) + estimate_tokens(&input.to_string()) + 8,
            Block::ToolResult { text, .. } => estimate_tokens(text) + 8,
        })
        .sum();
    estimate_prefix_tokens(&input.tools) + messages
}

/// Tokens of what every turn starts with: the system prompt and the tool list. Models with
/// cache points (see aiops-aws's Bedrock reasoner) read this prefix from the cache on every
/// turn after the first.
pub fn estimate_prefix_tokens(tools: &[&crate::catalog::ToolSpec]) -> u64 {
    let tools: u64 = tools
        .iter()
        .map(|t| estimate_tokens(t.description) + estimate_tokens(&super::model_schema(&t.schema).to_string()) + 8)
        .sum();
    estimate_tokens(super::prompt::SYSTEM_PROMPT) + tools
}

fn assistant_message(step: &Step, _turn: usize) -> Message {
    let content = match step {
        Step::Tools { calls } => calls
            .iter()
            .map(|c| Block::ToolUse { id: c.id.clone(), name: c.tool.clone(), input: c.args.clone() })
            .collect(),
        Step::Propose { call_id, action } => vec![
            Block::Text {
                text: format!("I propose to {}. This needs a human's approval.", lowercase_first(&action.summary)),
            },
            Block::ToolUse { id: call_id.clone(), name: action.tool.clone(), input: action.args.clone() },
        ],
        Step::Answer { answer } => vec![Block::Text { text: answer.text.clone() }],
    };
    Message { role: Role::Assistant, content }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn calls(turn: usize, list: Vec<(&str, Value)>) -> Step {
    Step::Tools {
        calls: list
            .into_iter()
            .enumerate()
            .map(|(i, (tool, args))| ToolCall {
                id: format!("t{turn}-{i}"),
                tool: tool.to_string(),
                args: strip_nulls(args),
            })
            .collect(),
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.retain(|_, x| !x.is_null());
    }
    v
}

fn called<'a>(done: &'a [Done], tool: &str) -> Vec<&'a Done> {
    done.iter().filter(|d| d.call.tool == tool).collect()
}

/// A pod the question names, from get_pods rows: the first name that matches exactly, else the
/// least healthy pod of a workload it names, else of one whose name contains it.
fn resolve_pod<'a>(q: &Question, rows: &'a [Value]) -> Option<&'a Value> {
    fn key(r: &Value) -> (&str, bool, i64) {
        (
            r["name"].as_str().unwrap_or_default(),
            r["healthy"].as_bool().unwrap_or(true),
            r["restarts"].as_i64().unwrap_or(0),
        )
    }
    NameMatch::ALL
        .into_iter()
        .find_map(|how| q.candidates().find_map(|n| ranked_by_name(how, n, rows, key).first().copied()))
}

/// The pod the investigation is about, once get_pods has run: `(namespace, name)`. Lists
/// taken after an action (to verify it) show the new pods, not the one diagnosed.
fn target_of(q: &Question, done: &[Done]) -> Option<(String, String)> {
    let before = done.iter().position(|d| is_write(&d.call.tool)).unwrap_or(done.len());
    let r = resolve_pod(q, rows(called(&done[..before], "get_pods").last()?, "pods"))?;
    Some((r["namespace"].as_str()?.to_string(), r["name"].as_str()?.to_string()))
}

/// The name to look at before any listing: the pod tools resolve a workload or partial name
/// themselves. Workload names nearly always have a dash (`payment-service`, `kafka-0`); a
/// question without one ("why did last night's report fail?") lists the pods first.
fn likely_name(q: &Question) -> Option<&str> {
    q.candidates().find(|n| n.contains('-'))
}

/// The calls that examine a pod: describe_pod, get_events, get_pod_logs (the failing
/// container, its crashed instance when it restarted) and analyze_pod_issues. `pod` may be a
/// workload or partial name, which the tools resolve.
fn examine(ns: Option<&str>, pod: &str, events: Value, logs: bool) -> Vec<(&'static str, Value)> {
    let mut list = vec![
        ("describe_pod", json!({"namespace": ns, "pod": pod})),
        ("get_events", json!({"namespace": ns, "object_name": pod, "type": events, "limit": 20})),
    ];
    if logs {
        list.push(("get_pod_logs", json!({"namespace": ns, "pod": pod, "tail_lines": 300})));
    }
    // The analyzers need only the pod's name too: one turn for all of it, not two.
    list.push(("analyze_pod_issues", json!({"namespace": ns, "pod": pod})));
    list
}

/// A successful call of `tool` whose result is about pod `ns/pod` (whatever name it was given).
fn examined<'a>(done: &'a [Done], tool: &str, ns: &str, pod: &str) -> Option<&'a Done> {
    let scope = format!("pod {ns}/{pod}");
    done.iter().rev().filter(|d| d.call.tool == tool && d.ok).find(|d| {
        let Some(v) = d.data.as_ref() else { return false };
        v["scope"].as_str() == Some(scope.as_str())
            || (v["namespace"].as_str() == Some(ns) && v["name"].as_str() == Some(pod))
    })
}

/// Whether an analysis of a whole namespace or the cluster has run.
fn wide_analysis(done: &[Done]) -> bool {
    called(done, "analyze_pod_issues")
        .iter()
        .any(|d| d.call.args.get("pod").is_none() && d.call.args.get("deployment").is_none())
}

/// A deployment the question names, from get_deployments rows.
fn resolve_deployment<'a>(q: &Question, rows: &'a [Value]) -> Option<&'a Value> {
    let name_of = |r: &Value| r["name"].as_str().unwrap_or_default().to_string();
    for n in &q.names {
        if let Some(r) = rows.iter().find(|r| &name_of(r) == n) {
            return Some(r);
        }
    }
    for n in q.names.iter().filter(|n| n.len() >= 4) {
        let v: Vec<&Value> =
            rows.iter().filter(|r| name_of(r).starts_with(n.as_str()) || name_of(r).contains(n.as_str())).collect();
        if v.len() == 1 {
            return v.first().copied();
        }
    }
    None
}

fn rows<'a>(d: &'a Done, key: &str) -> &'a [Value] {
    d.data.as_ref().and_then(|v| v.get(key)).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn decide(q: &Question, done: &[Done], input: &ReasonInput<'_>, turn: usize) -> Step {
    match &q.intent {
        Intent::Status { what } => {
            if done.is_empty() {
                let ns = json!(q.namespace);
                let list = match what {
                    StatusWhat::Pods => vec![("get_pods", json!({"namespace": ns}))],
                    StatusWhat::Deployments => vec![("get_deployments", json!({"namespace": ns}))],
                    StatusWhat::Services => vec![("get_services", json!({"namespace": ns}))],
                    StatusWhat::Nodes => vec![("get_nodes", json!({}))],
                    StatusWhat::Events => vec![("get_events", json!({"namespace": ns, "limit": 30}))],
                };
                return calls(turn, list);
            }
            Step::Answer { answer: compose(q, done, input) }
        }
        Intent::Write { .. } => decide_write(q, done, input, turn),
        Intent::Diagnose => decide_diagnose(q, done, input, turn),
    }
}

/// A node the question names: an EC2 host name (`ip-10-0-12-34`, with or without
/// `.eu-west-1.compute.internal`).
fn node_named(q: &Question) -> Option<&str> {
    q.candidates().find(|n| {
        (n.starts_with("ip-") && n[3..].starts_with(|c: char| c.is_ascii_digit())) || n.ends_with(".compute.internal")
    })
}

/// The get_nodes row of the node the question names (a short name matches its full one).
fn node_row<'a>(q: &Question, done: &'a [Done]) -> Option<&'a Value> {
    let name = node_named(q)?;
    let rows = rows(called(done, "get_nodes").last()?, "nodes");
    rows.iter().find(|r| r["name"].as_str().is_some_and(|n| n == name || n.starts_with(&format!("{name}."))))
}

fn decide_diagnose(q: &Question, done: &[Done], input: &ReasonInput<'_>, turn: usize) -> Step {
    if done.iter().any(|d| is_write(&d.call.tool)) {
        // The diagnosis led to an action: what is left is to verify it and answer.
        return finish(q, done, input, turn);
    }
    if node_named(q).is_some() {
        // A question about a node: the nodes, and the analyzers over the cluster, in one turn.
        if called(done, "get_nodes").is_empty() {
            return calls(turn, vec![("get_nodes", json!({})), ("analyze_pod_issues", json!({}))]);
        }
        return finish(q, done, input, turn);
    }
    let ns = q.namespace.clone();
    let gets = called(done, "get_pods");
    let Some(last_get) = gets.last() else {
        if q.names.is_empty() {
            // A general question: the analyzers over the scope.
            if called(done, "analyze_pod_issues").is_empty() {
                return calls(turn, vec![("analyze_pod_issues", json!({"namespace": ns}))]);
            }
            return finish(q, done, input, turn);
        }
        // The likeliest name: list its pods (`kubectl get pods | grep`) and, in the same turn,
        // examine it; the pod tools resolve it to its least healthy pod. The next turn checks
        // that pod is the one the list points at; when it is not, the right one is examined then.
        return calls(
            turn,
            match likely_name(q) {
                Some(name) => {
                    // "increase in search-api memory": the guessed namespace is the name.
                    let ns = ns.filter(|n| !(q.namespace_guessed && n == name));
                    let mut list = vec![("get_pods", json!({"namespace": ns, "name": name}))];
                    list.extend(examine(ns.as_deref(), name, json!("Warning"), true));
                    list
                }
                None => vec![("get_pods", json!({"namespace": ns}))],
            },
        );
    };
    let pod_rows = rows(last_get, "pods");
    let target = resolve_pod(q, pod_rows);
    if target.is_none() && last_get.call.args.get("name").is_some() {
        // No pod has the likeliest name: list them all, to match the question's other words.
        return calls(turn, vec![("get_pods", json!({"namespace": ns}))]);
    }
    let full: Vec<&&Done> = gets.iter().filter(|d| d.call.args.get("name").is_none()).collect();
    let total = |d: &&&Done| d.data.as_ref().and_then(|v| v.get("total")).and_then(Value::as_u64);
    if target.is_none() && ns.is_some() && full.len() == 1 && full.first().and_then(total) == Some(0) {
        // The namespace guessed from the question holds no pods, so it is not one: look
        // everywhere once. (A namespace with pods is real; what the question names is then
        // not a pod there, and the namespace's analysis comes next.)
        return calls(turn, vec![("get_pods", json!({}))]);
    }
    let Some(target) = target else {
        if !wide_analysis(done) {
            // A namespace guessed from the question ("in CloudWatch") that holds no pod is not one.
            let guessed_empty = full.first().and_then(total) == Some(0);
            let scope = if guessed_empty { None } else { ns };
            return calls(turn, vec![("analyze_pod_issues", json!({"namespace": scope}))]);
        }
        return finish(q, done, input, turn);
    };
    let pns = target["namespace"].as_str().unwrap_or_default().to_string();
    let pod = target["name"].as_str().unwrap_or_default().to_string();
    if examined(done, "describe_pod", &pns, &pod).is_none() {
        let restarts = target["restarts"].as_i64().unwrap_or(0);
        let healthy = target["healthy"].as_bool().unwrap_or(false);
        return calls(turn, examine(Some(&pns), &pod, Value::Null, !healthy || restarts > 0));
    }
    let Some(analysis) = examined(done, "analyze_pod_issues", &pns, &pod) else {
        return calls(turn, vec![("analyze_pod_issues", json!({"namespace": pns, "pod": pod}))]);
    };
    // The pod itself is fine: the problem the question is about may sit on an object around it
    // (its HPA, a CronJob, a DaemonSet): look at the whole namespace once.
    let pod_healthy = analysis.data.as_ref().and_then(|d| d.get("healthy")).and_then(Value::as_bool).unwrap_or(false);
    if pod_healthy && !wide_analysis(done) {
        return calls(turn, vec![("analyze_pod_issues", json!({"namespace": q.namespace}))]);
    }
    finish(q, done, input, turn)
}

/// Whether a finding is about something the question names (stems compared: "backups" finds
/// `db-backup`).
fn mentions(f: &Finding, names: &[String]) -> bool {
    let objects = std::iter::once(f.name.as_str())
        .chain(std::iter::once(f.namespace.as_str()))
        .chain(f.chain.iter().map(|c| c.name.as_str()));
    let objects: Vec<&str> = objects.collect();
    names.iter().any(|n| {
        let stem = n.trim_end_matches('s');
        objects.iter().any(|o| *o == n || (stem.len() >= 4 && o.contains(stem)) || (o.len() >= 4 && n.contains(o)))
            // A long, specific name (a node, a full pod name) in the finding's own words.
            || (n.len() >= 12 && f.message.contains(n.as_str()))
    })
}

/// After the diagnosis: propose the typed action when writes are on and it was not yet decided,
/// verify after an executed action, else answer.
fn finish(q: &Question, done: &[Done], input: &ReasonInput<'_>, turn: usize) -> Step {
    let decided = done.iter().find(|d| is_write(&d.call.tool));
    match decided {
        None => {
            if input.writes_enabled
                && let Some(action) = top_action(done)
            {
                return Step::Propose { call_id: format!("t{turn}-0"), action };
            }
            Step::Answer { answer: compose(q, done, input) }
        }
        Some(d) => {
            let executed = d.data.as_ref().and_then(|v| v.get("executed")).and_then(Value::as_bool).unwrap_or(false);
            let verified = done
                .iter()
                .rev()
                .take_while(|x| !is_write(&x.call.tool))
                .any(|x| x.call.tool == "get_pods" || x.call.tool == "get_deployments");
            if executed && !verified {
                let ns = d.call.args["namespace"].clone();
                return calls(
                    turn,
                    vec![
                        ("get_deployments", json!({"namespace": ns, "name": d.call.args["deployment"]})),
                        ("get_pods", json!({"namespace": ns})),
                    ],
                );
            }
            Step::Answer { answer: compose(q, done, input) }
        }
    }
}

fn is_write(tool: &str) -> bool {
    crate::catalog::find(tool).is_ok_and(|t| t.class == crate::catalog::ToolClass::Write)
}

fn diagnosis(done: &[Done]) -> Option<&Value> {
    called(done, "analyze_pod_issues").last().and_then(|d| d.data.as_ref())
}

fn findings_of(done: &[Done]) -> Vec<Finding> {
    diagnosis(done)
        .and_then(|d| d.get("findings"))
        .and_then(|f| serde_json::from_value::<Vec<Finding>>(f.clone()).ok())
        .unwrap_or_default()
}

/// The typed action of the most severe finding, if any.
fn top_action(done: &[Done]) -> Option<ProposedAction> {
    let findings = findings_of(done);
    let f = findings.iter().find(|f| f.severity > Severity::Info)?;
    let a: &Action = f.actions.iter().find(|a| a.tool.is_some())?;
    Some(ProposedAction { tool: a.tool.clone()?, args: a.args.clone()?, summary: a.summary.clone() })
}

fn decide_write(q: &Question, done: &[Done], input: &ReasonInput<'_>, turn: usize) -> Step {
    let Intent::Write { tool, replicas, revision, memory } = &q.intent else {
        return Step::Answer { answer: compose(q, done, input) };
    };
    if called(done, "get_deployments").is_empty() {
        return calls(turn, vec![("get_deployments", json!({"namespace": q.namespace}))]);
    }
    if done.iter().any(|d| is_write(&d.call.tool)) {
        return finish(q, done, input, turn);
    }
    let deps = called(done, "get_deployments");
    let Some(dep) = deps.first().and_then(|d| resolve_deployment(q, rows(d, "deployments"))) else {
        return Step::Answer { answer: compose(q, done, input) };
    };
    let ns = dep["namespace"].as_str().unwrap_or_default();
    let name = dep["name"].as_str().unwrap_or_default();
    let action = match *tool {
        "scale_deployment" => match replicas {
            Some(n) if dep["desired"].as_i64() == Some(*n) => {
                let text = format!(
                    "Deployment {ns}/{name} already has {n} replicas desired ({} ready), so scaling it to {n} would change nothing.{}",
                    dep["ready"],
                    if dep["ready"].as_i64() < Some(*n) {
                        " Ask why its pods are not all ready to find what holds them back."
                    } else {
                        ""
                    }
                );
                return Step::Answer { answer: Answer { text, ..Answer::default() } };
            }
            Some(n) => ProposedAction {
                tool: (*tool).into(),
                args: json!({"namespace": ns, "deployment": name, "replicas": n}),
                summary: format!("Scale deployment {ns}/{name} from {} to {n} replicas", dep["desired"]),
            },
            None => return Step::Answer { answer: compose(q, done, input) },
        },
        "restart_deployment" => ProposedAction {
            tool: (*tool).into(),
            args: json!({"namespace": ns, "deployment": name}),
            summary: format!("Restart deployment {ns}/{name} (rolling restart)"),
        },
        "rollback_deployment" => {
            let to = revision.or_else(|| dep["previous"]["revision"].as_i64());
            match to {
                Some(r) => ProposedAction {
                    tool: (*tool).into(),
                    args: json!({"namespace": ns, "deployment": name, "revision": r}),
                    summary: format!(
                        "Roll deployment {ns}/{name} back from revision {} to revision {r}",
                        dep["current"]["revision"].as_i64().map_or_else(|| "?".into(), |c| c.to_string())
                    ),
                },
                None => return Step::Answer { answer: compose(q, done, input) },
            }
        }
        "set_container_resources" => {
            let containers: Vec<&str> =
                dep["containers"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            // The container the question names, else the only one.
            let container = containers
                .iter()
                .find(|c| {
                    q.text.to_lowercase().split(|ch: char| !ch.is_ascii_alphanumeric() && ch != '-').any(|w| w == **c)
                })
                .or(if containers.len() == 1 { containers.first() } else { None });
            match (memory, container) {
                (Some(m), Some(c)) => ProposedAction {
                    tool: (*tool).into(),
                    args: json!({"namespace": ns, "deployment": name, "container": c, "memory_limit": m}),
                    summary: format!("Set the memory limit of container {c} in deployment {ns}/{name} to {m}"),
                },
                (None, _) => {
                    let text = format!(
                        "To change the memory of deployment {ns}/{name}, say the new limit, e.g. \"increase the memory of {name} to 1Gi\"."
                    );
                    return Step::Answer { answer: Answer { text, ..Answer::default() } };
                }
                (Some(m), None) => {
                    let text = format!(
                        "Deployment {ns}/{name} has several containers ({}): say which one should get a {m} memory limit.",
                        containers.join(", ")
                    );
                    return Step::Answer { answer: Answer { text, ..Answer::default() } };
                }
            }
        }
        _ => return Step::Answer { answer: compose(q, done, input) },
    };
    if !input.writes_enabled {
        return Step::Answer { answer: compose_write_off(&action) };
    }
    Step::Propose { call_id: format!("t{turn}-0"), action }
}

fn compose_write_off(action: &ProposedAction) -> Answer {
    Answer {
        text: format!(
            "Writes are off, so I have not changed anything. The action you asked for would be: {}.\nRun again with writes set to approval (`--writes approval`) to have it proposed for a human's approval.",
            action.summary
        ),
        proposed_actions: vec![action.clone()],
        ..Answer::default()
    }
}

/// The offer a typed action deserves.
fn offer(a: &ProposedAction) -> String {
    match a.tool.as_str() {
        "set_container_resources" => match a.args.get("memory_limit").and_then(Value::as_str) {
            Some(m) => format!("Would you like me to increase the memory limit to {m}?"),
            None => "Would you like me to change the container's resources?".into(),
        },
        "rollback_deployment" => format!("Would you like me to roll back to revision {}?", a.args["revision"]),
        "scale_deployment" => format!("Would you like me to scale it to {} replicas?", a.args["replicas"]),
        "restart_deployment" => "Would you like me to restart the deployment?".into(),
        _ => format!("Would you like me to {}?", lowercase_first(&a.summary)),
    }
}

fn write_outcome(done: &[Done]) -> Option<(String, bool)> {
    let d = done.iter().find(|d| is_write(&d.call.tool))?;
    let executed = d.data.as_ref().and_then(|v| v.get("executed")).and_then(Value::as_bool).unwrap_or(false);
    Some((d.text.clone(), executed))
}

/// Writes the answer from what was gathered.
fn compose(q: &Question, done: &[Done], _input: &ReasonInput<'_>) -> Answer {
    let mut text = String::new();
    let mut answer = Answer::default();
    match &q.intent {
        Intent::Status { .. } => {
            for d in done {
                text.push_str(&d.text);
            }
            if text.is_empty() {
                text = "I could not read the cluster state.".into();
            }
            answer.text = text;
            return answer;
        }
        Intent::Write { tool, .. } => {
            match write_outcome(done) {
                Some((outcome, executed)) => {
                    text.push_str(&outcome);
                    if executed && let Some(v) = called(done, "get_deployments").last() {
                        text.push_str("\n\nCurrent state:\n");
                        text.push_str(&v.text);
                    }
                }
                None => {
                    let names = if q.names.is_empty() { "(no name given)".to_string() } else { q.names.join(", ") };
                    text.push_str(&format!(
                        "I could not find a single deployment matching {names} to {}.",
                        tool.replace('_', " ")
                    ));
                    if let Some(d) = called(done, "get_deployments").last() {
                        let known: Vec<String> = rows(d, "deployments")
                            .iter()
                            .filter_map(|r| Some(format!("{}/{}", r["namespace"].as_str()?, r["name"].as_str()?)))
                            .take(15)
                            .collect();
                        if !known.is_empty() {
                            text.push_str(&format!(" Deployments I can see: {}.", known.join(", ")));
                        }
                    }
                }
            }
            answer.text = text;
            return answer;
        }
        Intent::Diagnose => {}
    }
    let findings = findings_of(done);
    let diag = diagnosis(done);
    let healthy = diag.and_then(|d| d.get("healthy")).and_then(Value::as_bool).unwrap_or(false);
    let scope = diag.and_then(|d| d.get("scope")).and_then(Value::as_str).unwrap_or("the cluster").to_string();
    let status = diag.and_then(|d| d.get("target_status")).and_then(Value::as_str).map(str::to_string);
    if diag.is_none() {
        let names = q.names.join(", ");
        answer.text = if names.is_empty() {
            "I could not complete the diagnosis: the analysis did not run.".into()
        } else {
            let mut t = format!("I could not find a pod matching {names}");
            if let Some(ns) = &q.namespace {
                t.push_str(&format!(" in namespace {ns}"));
            }
            t.push('.');
            if let Some(d) = called(done, "get_pods").last() {
                let known: Vec<String> = rows(d, "pods")
                    .iter()
                    .filter_map(|r| Some(format!("{}/{}", r["namespace"].as_str()?, r["name"].as_str()?)))
                    .take(10)
                    .collect();
                if !known.is_empty() {
                    t.push_str(&format!(" Pods I can see include: {}.", known.join(", ")));
                }
            }
            t
        };
        return answer;
    }
    let mut related: Vec<&Finding> = findings.iter().filter(|f| mentions(f, &q.names)).collect();
    // A node's name: its own findings, and findings that name it (pods evicted from it).
    let node = node_row(q, done);
    if let Some(full) = node.and_then(|r| r["name"].as_str()) {
        related = findings.iter().filter(|f| f.name == full || f.message.contains(full)).collect();
    }
    if let Some(row) = node.filter(|_| related.iter().all(|f| f.severity <= Severity::Info)) {
        let name = row["name"].as_str().unwrap_or_default();
        let mut facts = vec![format!("Ready={}", row["ready"].as_str().unwrap_or("?"))];
        if row["unschedulable"].as_bool() == Some(true) {
            facts.push("cordoned (unschedulable)".into());
        }
        for p in row["problems"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            facts.push(p.to_string());
        }
        for (k, label) in [("instance_type", ""), ("zone", "in "), ("nodegroup", "nodegroup ")] {
            if let Some(v) = row[k].as_str() {
                facts.push(format!("{label}{v}"));
            }
        }
        if row["healthy"].as_bool() == Some(true) {
            text.push_str(&format!("Nothing is wrong with node {name}: it is healthy ({}).", facts.join(", ")));
        } else {
            text.push_str(&format!("Node {name} is not healthy: {}.", facts.join(", ")));
        }
        let serious: Vec<&Finding> = findings.iter().filter(|f| f.severity > Severity::Info).collect();
        push_elsewhere(&mut text, &serious);
        answer.text = text.trim_end().to_string();
        answer.findings = findings;
        return answer;
    }
    let mut serious: Vec<&Finding> = findings.iter().filter(|f| f.severity > Severity::Info).collect();
    if let Some(first) = related.first() {
        // What the question is about goes first, even when it is only notable (a suspended CronJob).
        serious.retain(|f| !std::ptr::eq(*f, *first));
        serious.insert(0, first);
    }
    // A named pod that is fine: say so, and only then mention problems elsewhere.
    let first_diag = target_of(q, done)
        .and_then(|(ns, pod)| examined(done, "analyze_pod_issues", &ns, &pod))
        .and_then(|d| d.data.clone());
    let target_healthy = first_diag.as_ref().and_then(|d| d.get("healthy")).and_then(Value::as_bool) == Some(true);
    if target_healthy && related.is_empty() {
        let target_scope =
            first_diag.as_ref().and_then(|d| d.get("scope")).and_then(Value::as_str).unwrap_or("the target");
        text.push_str(&format!("Nothing is wrong with {target_scope}: it is healthy."));
        if let Some(s) = first_diag.as_ref().and_then(|d| d.get("target_status")).and_then(Value::as_str) {
            text.push_str(&format!(" Current state: {s}."));
        }
        push_elsewhere(&mut text, &serious);
        answer.text = text.trim_end().to_string();
        answer.findings = findings;
        return answer;
    }
    if (healthy && related.is_empty()) || serious.is_empty() {
        text.push_str(&format!("Nothing is wrong with {scope}: it is healthy."));
        if let Some(s) = &status {
            text.push_str(&format!(" Current state: {s}."));
        }
        answer.text = text;
        answer.findings = findings;
        return answer;
    }
    let top = serious[0];
    text.push_str(&format!("What is wrong: {}\n", top.message));
    if serious.len() > 1 {
        text.push_str(&format!(
            "{} other problem{} in {scope}:\n",
            serious.len() - 1,
            if serious.len() == 2 { "" } else { "s" }
        ));
        for f in &serious[1..serious.len().min(6)] {
            text.push_str(&format!("- {} {}/{}: {}\n", f.kind, f.namespace, f.name, f.message));
        }
    }
    if !top.chain.is_empty() {
        text.push_str("\nThis also explains:\n");
        for c in &top.chain {
            text.push_str(&format!("- {} {}/{}: {}\n", c.kind, c.namespace, c.name, c.message));
        }
    }
    if !top.evidence.is_empty() {
        text.push_str("\nEvidence:\n");
        for e in top.evidence.iter().take(8) {
            text.push_str(&format!("- {e}\n"));
        }
    }
    if !top.actions.is_empty() {
        text.push_str("\nRecommended actions:\n");
        for a in &top.actions {
            text.push_str(&format!("- {}\n", a.summary));
        }
    }
    for w in &top.warnings {
        text.push_str(&format!("\nNote: {w}.\n"));
    }
    let typed: Vec<ProposedAction> = top
        .actions
        .iter()
        .filter_map(|a| {
            Some(ProposedAction { tool: a.tool.clone()?, args: a.args.clone()?, summary: a.summary.clone() })
        })
        .collect();
    match write_outcome(done) {
        Some((outcome, executed)) => {
            text.push_str(&format!("\n{outcome}\n"));
            if executed && let Some(v) = called(done, "get_pods").last() {
                text.push_str(&format!("\nAfter the change:\n{}", v.text));
            }
        }
        None => {
            if let Some(a) = typed.first() {
                text.push_str(&format!("\n{}\n", offer(a)));
            }
            answer.proposed_actions = typed;
        }
    }
    answer.text = text.trim_end().to_string();
    answer.findings = findings;
    answer
}

/// After saying the target is fine: the worst problems found elsewhere, at most three.
fn push_elsewhere(text: &mut String, serious: &[&Finding]) {
    if serious.is_empty() {
        return;
    }
    text.push_str("\n\nElsewhere:\n");
    for f in serious.iter().take(3) {
        text.push_str(&format!("- {} {}/{}: {}\n", f.kind, f.namespace, f.name, f.message));
    }
}

/// Results by key, for building a [`ReasonInput`] in tests.
pub type Results = BTreeMap<String, Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_recognised_short_or_full() {
        let full = parse_question("is node ip-10-0-12-34.eu-west-1.compute.internal healthy?");
        assert_eq!(node_named(&full), Some("ip-10-0-12-34.eu-west-1.compute.internal"));
        assert_eq!(node_named(&parse_question("is ip-10-0-12-34 ok?")), Some("ip-10-0-12-34"));
        assert_eq!(node_named(&parse_question("why is ip-rotator crashing?")), None);
        assert_eq!(node_named(&parse_question("why is payment-service crashing?")), None);
    }

    #[test]
    fn intents() {
        struct Case {
            q: &'static str,
            intent: Intent,
            ns: Option<&'static str>,
            name: Option<&'static str>,
        }
        let w =
            |tool: &'static str, replicas: Option<i64>| Intent::Write { tool, replicas, revision: None, memory: None };
        let cases = [
            Case {
                q: "Why is my payment-service pod crashing?",
                intent: Intent::Diagnose,
                ns: None,
                name: Some("payment-service"),
            },
            Case {
                q: "show me the pods in production",
                intent: Intent::Status { what: StatusWhat::Pods },
                ns: Some("production"),
                name: None,
            },
            Case {
                q: "restart checkout-api",
                intent: w("restart_deployment", None),
                ns: None,
                name: Some("checkout-api"),
            },
            Case {
                q: "scale payment-service to 3",
                intent: w("scale_deployment", Some(3)),
                ns: None,
                name: Some("payment-service"),
            },
            Case {
                q: "roll back orders-api",
                intent: w("rollback_deployment", None),
                ns: None,
                name: Some("orders-api"),
            },
            Case {
                q: "Why does checkout keep restarting in the staging namespace?",
                intent: Intent::Diagnose,
                ns: Some("staging"),
                name: Some("checkout"),
            },
            Case {
                q: "notification-worker is in CrashLoopBackOff, what is wrong?",
                intent: Intent::Diagnose,
                ns: None,
                name: Some("notification-worker"),
            },
            Case {
                q: "The invoice-service 3.5.0 pod is stuck in Init. Why?",
                intent: Intent::Diagnose,
                ns: None,
                name: Some("invoice-service"),
            },
            Case {
                q: "Webhook-Relay in the notifications namespace restarts since the upgrade",
                intent: Intent::Diagnose,
                ns: Some("notifications"),
                name: Some("webhook-relay"),
            },
            Case {
                q: "payments-api in namespace payments times out, why?",
                intent: Intent::Diagnose,
                ns: Some("payments"),
                name: Some("payments-api"),
            },
            Case {
                q: "Restart loop on webhook-relay since the 2.0.0 upgrade, why?",
                intent: Intent::Diagnose,
                ns: None,
                name: Some("webhook-relay"),
            },
            Case {
                q: "Scale up of feed-api in team-b stops at 5 replicas. Why?",
                intent: Intent::Diagnose,
                ns: Some("team-b"),
                name: Some("feed-api"),
            },
            Case {
                q: "Increase in search-api memory usage: is it going to OOM?",
                intent: Intent::Diagnose,
                ns: Some("search-api"),
                name: Some("search-api"),
            },
            Case {
                q: "scale up payment-service to 5",
                intent: w("scale_deployment", Some(5)),
                ns: None,
                name: Some("payment-service"),
            },
            Case {
                q: "Get me the reason search-indexer in team-a has no pods",
                intent: Intent::Diagnose,
                ns: Some("team-a"),
                name: Some("search-indexer"),
            },
            Case {
                q: "storefront-api in web got slow in the last hour during the sale. Why?",
                intent: Intent::Diagnose,
                ns: Some("web"),
                name: Some("storefront-api"),
            },
            Case {
                q: "increase the memory of payment-service to 1Gi",
                intent: Intent::Write {
                    tool: "set_container_resources",
                    replicas: None,
                    revision: None,
                    memory: Some("1Gi".into()),
                },
                ns: None,
                name: Some("payment-service"),
            },
            Case {
                q: "bump search-api's memory limit to 2Gi",
                intent: Intent::Write {
                    tool: "set_container_resources",
                    replicas: None,
                    revision: None,
                    memory: Some("2Gi".into()),
                },
                ns: None,
                name: Some("search-api"),
            },
            Case {
                q: "inventory-sync can't find its database host, why? thanks in advance",
                intent: Intent::Diagnose,
                ns: None,
                name: Some("inventory-sync"),
            },
            Case {
                q: "Is anything wrong in namespace payments?",
                intent: Intent::Diagnose,
                ns: Some("payments"),
                name: None,
            },
        ];
        for c in cases {
            let q = parse_question(c.q);
            assert_eq!(q.intent, c.intent, "{}", c.q);
            assert_eq!(q.namespace.as_deref(), c.ns, "{}", c.q);
            if let Some(n) = c.name {
                assert!(q.candidates().any(|x| x == n), "{}: names {:?}", c.q, q.names);
            } else {
                assert!(q.names.is_empty(), "{}: names {:?}", c.q, q.names);
            }
        }
    }
}
