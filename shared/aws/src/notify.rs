//! [`SnsNotifier`]: the cloud's [`Notifier`], publishing to one SNS topic (approvers subscribe
//! to it by e-mail, chat webhooks, …).

use aiops_core::Result;
use aiops_core::ports::Notifier;
use aws_sdk_sns::Client;

use crate::error::backend_error;

/// The longest subject SNS accepts, in characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// The largest message SNS accepts, in bytes (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Publishes notifications to an SNS topic. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// A notifier whose client is built from `config`.
    pub fn new(config: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> SnsNotifier {
        SnsNotifier::with_client(Client::new(config), topic_arn)
    }

    /// A notifier over an existing client.
    pub fn with_client(client: Client, topic_arn: impl Into<String>) -> SnsNotifier {
        SnsNotifier { client, topic_arn: topic_arn.into() }
    }

    /// The topic.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }
}

/// A subject SNS accepts: printable ASCII on one line (anything else becomes a space or `?`),
/// at most [`MAX_SUBJECT_CHARS`] characters (cut with `...`); `None` when nothing is left.
pub fn sns_subject(subject: &str) -> Option<String> {
    let cleaned: String = subject
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        })
        .collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        return None;
    }
    if cleaned.len() <= MAX_SUBJECT_CHARS {
        return Some(cleaned);
    }
    // ASCII only by now, so byte offsets are character offsets.
    Some(format!("{}...", &cleaned[..MAX_SUBJECT_CHARS - 3]))
}

/// A message SNS accepts: the body, or, when it exceeds [`MAX_MESSAGE_BYTES`], its beginning
/// (cut on a character boundary) followed by a note saying how much was left out.
pub fn sns_message(body: &str) -> String {
    if body.len() <= MAX_MESSAGE_BYTES {
        return body.to_string();
    }
    let note = format!(
        "\n\n[truncated: the message was {} bytes, over the SNS limit of {MAX_MESSAGE_BYTES}; the rest is in the audit trail and the investigation record]",
        body.len()
    );
    let mut cut = MAX_MESSAGE_BYTES - note.len();
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{note}", &body[..cut])
}

#[async_trait::async_trait]
impl Notifier for SnsNotifier {
    /// One `Publish` to the topic, the subject and body made to fit SNS's limits
    /// ([`sns_subject`], [`sns_message`]). Not idempotent: a retry may notify twice.
    ///
    /// # Errors
    /// The SDK's classified error: `NotFound` for a missing topic, `Forbidden` naming
    /// `sns:Publish`, `Throttled`/`Transient` (retryable).
    async fn notify(&self, subject: &str, body: &str) -> Result<()> {
        let message = sns_message(body);
        let message = if message.is_empty() { "(empty)".to_string() } else { message };
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .set_subject(sns_subject(subject))
            .message(message)
            .send()
            .await
            .map_err(|e| backend_error("sns:Publish", e))?;
        tracing::info!(topic = %self.topic_arn, message_id = out.message_id().unwrap_or_default(), "notification published");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_fit_sns() {
        assert_eq!(sns_subject("Approve scale of web\nin prod?").as_deref(), Some("Approve scale of web in prod?"));
        assert_eq!(sns_subject("Pod payment-service — OOMKilled").as_deref(), Some("Pod payment-service ? OOMKilled"));
        assert_eq!(sns_subject(" \n\t"), None);
        let long = sns_subject(&"x".repeat(150)).expect("subject");
        assert_eq!(long.len(), MAX_SUBJECT_CHARS);
        assert!(long.ends_with("..."));
    }

    #[test]
    fn long_messages_are_cut_on_a_character_with_a_note() {
        assert_eq!(sns_message("short"), "short");
        let body = "é".repeat(MAX_MESSAGE_BYTES);
        let m = sns_message(&body);
        assert!(m.len() <= MAX_MESSAGE_BYTES, "{}", m.len());
        assert!(m.contains("[truncated: the message was 524288 bytes"), "{}", &m[m.len() - 200..]);
        assert!(m.starts_with("éé"));
    }
}
