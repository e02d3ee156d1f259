//! SnsNotifier against moto: what reaches the topic, and a missing topic.

use aiops_aws::notify::{MAX_MESSAGE_BYTES, SnsNotifier};
use aiops_core::ErrorClass;
use aiops_core::ports::Notifier;
use serde_json::Value;

use crate::{sdk_config, unique};

/// What moto recorded as published to `topic_arn`: (subject, message) pairs.
pub(crate) fn published(topic_arn: &str) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let data: Value =
        serde_json::from_str(&aiops_testkit::moto::shared()?.request("GET", "/moto-api/data.json", "")?)?;
    let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
    let topic = topics
        .iter()
        .find(|t| t["arn"] == topic_arn)
        .ok_or_else(|| anyhow::anyhow!("topic {topic_arn} not in moto's data"))?;
    // Each notification is [message_id, message, subject, attributes, group_id].
    Ok(topic["sent_notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| (n[2].as_str().map(str::to_string), n[1].as_str().unwrap_or_default().to_string()))
        .collect())
}

#[tokio::test]
async fn a_notification_reaches_the_topic_made_to_fit_sns_limits() -> anyhow::Result<()> {
    let config = sdk_config().await?;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns.create_topic().name(unique("approvals")).send().await?;
    let topic_arn = topic.topic_arn().ok_or_else(|| anyhow::anyhow!("no topic arn"))?.to_string();
    let notifier = SnsNotifier::new(&config, &topic_arn);

    notifier.notify("Approval needed: scale web in prod", "approve with `aiops approve apr-1`").await?;
    let long_subject = format!("Approval needed:\n{}", "restart payment-service ".repeat(10));
    let huge_body = "kubectl logs line\n".repeat(20_000);
    notifier.notify(&long_subject, &huge_body).await?;

    let sent = published(&topic_arn)?;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        sent[0],
        (Some("Approval needed: scale web in prod".to_string()), "approve with `aiops approve apr-1`".to_string())
    );
    let (subject, message) = &sent[1];
    let subject = subject.as_deref().unwrap_or_default();
    assert!(
        subject.len() <= 100 && subject.starts_with("Approval needed: restart") && subject.ends_with("..."),
        "{subject}"
    );
    assert!(message.len() <= MAX_MESSAGE_BYTES, "{}", message.len());
    assert!(message.starts_with("kubectl logs line\n"));
    assert!(message.contains("[truncated: the message was 360000 bytes"), "{}", &message[message.len() - 200..]);
    Ok(())
}

#[tokio::test]
async fn publishing_to_a_missing_topic_is_not_found() -> anyhow::Result<()> {
    let config = sdk_config().await?;
    let notifier = SnsNotifier::new(&config, "arn:aws:sns:eu-west-1:123456789012:no-such-topic");
    let err = notifier.notify("s", "b").await.expect_err("no topic");
    assert_eq!(err.class(), ErrorClass::NotFound, "{err}");
    assert!(err.to_string().starts_with("sns:Publish failed: NotFound"), "{err}");
    Ok(())
}
