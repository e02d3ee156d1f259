use std::sync::{Arc, Mutex};

use aiops_core::ports::Notifier;
use aiops_local::{Notification, RecordingNotifier, TerminalNotifier};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_terminal_notifier_writes_subject_then_body() {
    let buffer = Buffer::default();
    let notifier = TerminalNotifier::to_writer(Box::new(buffer.clone()));
    notifier
        .notify("Approval needed: scale prod/web to 3", "aiops approve ap-1\naiops reject ap-1 --reason R\n")
        .await
        .expect("notify");
    notifier.notify("Investigation inv-1 answered", "OOMKilled").await.expect("notify");
    let text = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf8");
    assert_eq!(
        text,
        "== Approval needed: scale prod/web to 3 ==\naiops approve ap-1\naiops reject ap-1 --reason R\n\n\
         == Investigation inv-1 answered ==\nOOMKilled\n\n"
    );
}

struct Broken;

impl std::io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_terminal_is_an_error_not_a_silent_loss() {
    let notifier = TerminalNotifier::to_writer(Box::new(Broken));
    let e = notifier.notify("s", "b").await.expect_err("must fail");
    assert_eq!(e.class(), aiops_core::ErrorClass::Fatal);
}

#[tokio::test]
async fn the_recording_notifier_keeps_messages_in_order() {
    let notifier = RecordingNotifier::new();
    assert!(notifier.messages().is_empty());
    notifier.notify("one", "first body").await.expect("notify");
    notifier.notify("two", "second body").await.expect("notify");
    assert_eq!(
        notifier.messages(),
        [
            Notification { subject: "one".into(), body: "first body".into() },
            Notification { subject: "two".into(), body: "second body".into() },
        ]
    );
}
