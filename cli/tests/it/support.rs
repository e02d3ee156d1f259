//! Shared helpers: a local stack over a corpus snapshot, a scripted reasoner.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aiops_cli::local::{LocalOptions, LocalStack};
use aiops_cli::source::Source;
use aiops_core::agent::{Message, ReasonInput, ReasonOutput, Step, Usage};
use aiops_core::ports::{Notifier, Reasoner};
use aiops_core::snapshot::Snapshot;

pub fn corpus(name: &str) -> PathBuf {
    Path::new(&manifest_dir()).join("../tests/snapshots").join(name)
}

pub struct Harness {
    pub stack: LocalStack,
    pub notifier: Arc<aiops_local::RecordingNotifier>,
    pub _dir: tempfile::TempDir,
}

pub async fn harness(snapshot: &str, reasoner: Arc<dyn Reasoner>, tweak: impl FnOnce(&mut LocalOptions)) -> Harness {
    let snap = Snapshot::load(&corpus(snapshot)).expect("snapshot loads");
    let source = Source::from_snapshot(snap, snapshot.into()).await.expect("sim starts");
    harness_on(source, reasoner, tweak)
}

pub fn harness_on(source: Source, reasoner: Arc<dyn Reasoner>, tweak: impl FnOnce(&mut LocalOptions)) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = LocalOptions::new(dir.path().to_path_buf());
    options.time_scale = 0.01;
    options.actor = "local:tester".into();
    tweak(&mut options);
    let notifier = Arc::new(aiops_local::RecordingNotifier::new());
    let n: Arc<dyn Notifier> = notifier.clone();
    let stack = LocalStack::new(source, reasoner, n, options).expect("stack");
    Harness { stack, notifier, _dir: dir }
}

/// A reasoner that plays scripted steps, then answers.
pub struct Scripted {
    steps: Mutex<Vec<Step>>,
    pub seen: Mutex<Vec<Vec<Message>>>,
}

impl Scripted {
    pub fn new(steps: Vec<Step>) -> Arc<Scripted> {
        Arc::new(Scripted { steps: Mutex::new(steps.into_iter().rev().collect()), seen: Mutex::new(Vec::new()) })
    }
}

#[async_trait::async_trait]
impl Reasoner for Scripted {
    fn name(&self) -> String {
        "scripted".into()
    }

    async fn next(&self, input: &ReasonInput<'_>) -> aiops_core::Result<ReasonOutput> {
        self.seen.lock().expect("lock").push(input.messages.to_vec());
        let step = self.steps.lock().expect("lock").pop().unwrap_or(Step::Answer {
            answer: aiops_core::agent::Answer { text: "done".into(), ..Default::default() },
        });
        let message = match &step {
            Step::Tools { calls } => Message {
                role: aiops_core::agent::Role::Assistant,
                content: calls
                    .iter()
                    .map(|c| aiops_core::agent::Block::ToolUse {
                        id: c.id.clone(),
                        name: c.tool.clone(),
                        input: c.args.clone(),
                    })
                    .collect(),
            },
            Step::Propose { call_id, action } => Message {
                role: aiops_core::agent::Role::Assistant,
                content: vec![aiops_core::agent::Block::ToolUse {
                    id: call_id.clone(),
                    name: action.tool.clone(),
                    input: action.args.clone(),
                }],
            },
            Step::Answer { answer } => Message {
                role: aiops_core::agent::Role::Assistant,
                content: vec![aiops_core::agent::Block::Text { text: answer.text.clone() }],
            },
        };
        Ok(ReasonOutput {
            step,
            message,
            usage: Usage { input_tokens: 100, output_tokens: 10, ..Usage::default() },
            model: "scripted".into(),
        })
    }
}

/// The crate folder, read when the test runs (cargo and nextest set it), so a test binary
/// built in another checkout that shares the target folder still looks in this one.
pub fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
