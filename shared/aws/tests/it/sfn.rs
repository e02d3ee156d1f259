//! Step Functions against moto (executing state machines for real): starting and describing
//! executions, resuming one waiting on a task token, and refused tokens.

use std::time::Duration;

use aiops_aws::sfn::{Execution, ExecutionStatus, SfnStarter, SfnTaskCallback};
use aiops_core::ErrorClass;
use aiops_core::ports::TaskCallback;
use serde_json::{Value, json};

use crate::{REGION, sdk_config, unique};

/// Creates a state machine from `definition` in moto, with execution switched on.
async fn state_machine(config: &aws_config::SdkConfig, definition: &Value) -> anyhow::Result<String> {
    aiops_testkit::moto::shared()?.enable_stepfunctions_execution()?;
    let out = aws_sdk_sfn::Client::new(config)
        .create_state_machine()
        .name(unique("investigation"))
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/aiops-states")
        .send()
        .await?;
    Ok(out.state_machine_arn().to_string())
}

/// Describes until the execution ends (10 s at most).
async fn finished(starter: &SfnStarter, arn: &str) -> anyhow::Result<Execution> {
    for _ in 0..100 {
        let e = starter.describe(arn).await?;
        if e.status.is_done() {
            return Ok(e);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("execution {arn} did not end within 10 s")
}

/// The task tokens published to `topic_arn` so far (10 s at most for `n` of them).
async fn tokens(topic_arn: &str, n: usize) -> anyhow::Result<Vec<String>> {
    for _ in 0..100 {
        let sent = crate::notify::published(topic_arn)?;
        if sent.len() >= n {
            return Ok(sent.into_iter().map(|(_, message)| message).collect());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("no task token reached {topic_arn} within 10 s")
}

#[tokio::test]
async fn an_execution_is_started_by_name_and_described() -> anyhow::Result<()> {
    let config = sdk_config().await?;
    let definition = json!({"StartAt": "Reason", "States": {"Reason": {"Type": "Pass", "Parameters": {"investigation_id.$": "$.id", "step": "answer"}, "End": true}}});
    let starter = SfnStarter::new(&config, state_machine(&config, &definition).await?);

    let arn = starter.start("inv-1", &json!({"id": "inv-1"})).await?;
    assert!(arn.ends_with(":inv-1"), "{arn}");
    let done = finished(&starter, &arn).await?;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output, Some(json!({"investigation_id": "inv-1", "step": "answer"})));
    assert_eq!(done.name.as_deref(), Some("inv-1"));
    assert!(done.started_at.is_some() && done.error.is_none());

    let err = starter.start("inv-1", &json!({"id": "something else"})).await.expect_err("the name is taken");
    assert_eq!(err.class(), ErrorClass::Conflict, "{err}");
    assert!(err.to_string().contains("an execution named inv-1 exists already"), "{err}");

    let missing = arn.replace(":inv-1", ":inv-none");
    let err = starter.describe(&missing).await.expect_err("no such execution");
    assert_eq!(err.class(), ErrorClass::NotFound, "{err}");
    assert!(err.to_string().contains("ExecutionDoesNotExist"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_waiting_execution_resumes_on_its_task_token_once() -> anyhow::Result<()> {
    let config = sdk_config().await?;
    let topic = aws_sdk_sns::Client::new(&config).create_topic().name(unique("tokens")).send().await?;
    let topic_arn = topic.topic_arn().unwrap_or_default().to_string();
    // The approval step: hand the token out, wait for a decision.
    let definition = json!({"StartAt": "Approve", "States": {"Approve": {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "Parameters": {"TopicArn": topic_arn, "Message.$": "$$.Task.Token"},
        "End": true
    }}});
    let starter = SfnStarter::new(&config, state_machine(&config, &definition).await?);
    let callback = SfnTaskCallback::new(&config);

    let approved = starter.start("inv-approved", &json!({})).await?;
    let token = tokens(&topic_arn, 1).await?.remove(0);
    assert_eq!(starter.describe(&approved).await?.status, ExecutionStatus::Running);
    callback.succeed(&token, &json!({"approved": true, "by": "alice"})).await?;
    let done = finished(&starter, &approved).await?;
    assert_eq!(
        (done.status, done.output),
        (ExecutionStatus::Succeeded, Some(json!({"approved": true, "by": "alice"})))
    );

    let err = callback.succeed(&token, &json!({"approved": true})).await.expect_err("already resumed");
    assert_eq!(err.class(), ErrorClass::Conflict, "{err}");
    assert!(!err.to_string().contains(&token), "the token never appears in a message: {err}");

    let rejected = starter.start("inv-rejected", &json!({})).await?;
    let token = tokens(&topic_arn, 2).await?.remove(1);
    callback.fail(&token, "Aiops.Rejected", "rejected by bob: not during the sale").await?;
    let done = finished(&starter, &rejected).await?;
    assert_eq!(done.status, ExecutionStatus::Failed, "{done:?}");
    assert_eq!(done.error.as_deref(), Some("Aiops.Rejected"));
    Ok(())
}

#[tokio::test]
async fn a_bogus_task_token_is_a_conflict_that_says_why() -> anyhow::Result<()> {
    let config = sdk_config().await?;
    aiops_testkit::moto::shared()?.enable_stepfunctions_execution()?;
    let callback = SfnTaskCallback::new(&config);
    let err = callback.fail("bogus-token", "Aiops.Rejected", "no").await.expect_err("bogus");
    assert_eq!(err.class(), ErrorClass::Conflict, "{err}");
    let text = err.to_string();
    assert!(text.starts_with("states:SendTaskFailure failed: "), "{text}");
    assert!(text.contains("task token"), "{text}");
    assert!(!text.contains("bogus-token"), "{text}");
    let err = callback.succeed("bogus-token", &json!({})).await.expect_err("bogus");
    assert_eq!(err.class(), ErrorClass::Conflict, "{err}");
    Ok(())
}

#[test]
fn console_links_name_the_region_and_execution() {
    let link = aiops_aws::sfn::console_link(REGION, "arn:aws:states:eu-west-1:123456789012:execution:sm:inv-1");
    assert!(
        link.starts_with(
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/"
        )
    );
    assert!(link.ends_with("execution:sm:inv-1"));
}
