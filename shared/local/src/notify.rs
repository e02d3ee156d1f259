//! Notifiers of local mode ([`TerminalNotifier`]) and of tests ([`RecordingNotifier`]).

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use aiops_core::ports::Notifier;

use crate::error::Error;

/// Local mode's [`Notifier`]: writes each notification (subject, then body) to stderr, where
/// the person running `aiops` sees it, or to a writer given for tests. stdout stays free for
/// the command's output (`--output json`).
///
/// A notification is a few lines, so it is written synchronously, under a lock that keeps two
/// notifications from interleaving.
pub struct TerminalNotifier {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for TerminalNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalNotifier").finish_non_exhaustive()
    }
}

impl Default for TerminalNotifier {
    fn default() -> TerminalNotifier {
        TerminalNotifier::stderr()
    }
}

impl TerminalNotifier {
    /// Writes to stderr.
    pub fn stderr() -> TerminalNotifier {
        TerminalNotifier::to_writer(Box::new(std::io::stderr()))
    }

    /// Writes to `out` (a buffer in tests, a file, …).
    pub fn to_writer(out: Box<dyn Write + Send>) -> TerminalNotifier {
        TerminalNotifier { out: Mutex::new(out) }
    }
}

#[async_trait::async_trait]
impl Notifier for TerminalNotifier {
    /// Writes `== subject ==`, the body, and a blank line, then flushes. Not idempotent.
    ///
    /// # Errors
    /// `Fatal` when the writer fails (a closed stderr).
    async fn notify(&self, subject: &str, body: &str) -> aiops_core::Result<()> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let body = body.trim_end_matches('\n');
        writeln!(out, "== {subject} ==\n{body}\n")
            .and_then(|()| out.flush())
            .map_err(|source| Error::Notify { source })?;
        Ok(())
    }
}

/// One notification a [`RecordingNotifier`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub body: String,
}

/// A [`Notifier`] for tests: keeps every notification in memory, in order, and never fails.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    messages: Mutex<Vec<Notification>>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> RecordingNotifier {
        RecordingNotifier::default()
    }

    /// The notifications received so far, oldest first.
    pub fn messages(&self) -> Vec<Notification> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[async_trait::async_trait]
impl Notifier for RecordingNotifier {
    /// Records the notification. Never fails.
    async fn notify(&self, subject: &str, body: &str) -> aiops_core::Result<()> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Notification { subject: subject.to_string(), body: body.to_string() });
        Ok(())
    }
}
