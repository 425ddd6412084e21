//! One harness for the tests that need AWS, zero2prod's `spawn_app` shape:
//! moto's SDK configuration, and a fresh table, FIFO queue or SES sender per
//! test, so that tests never share state. Fails, never skips, without moto.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use seatflow_dynamodb::DynamoEntitlementStore;

use crate::moto;

/// The SDK configuration for moto at `AWS_ENDPOINT_URL`: one region, dummy
/// credentials (so the SDK never probes for real ones).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(moto::endpoint().await)
        .load()
        .await
}

/// A unique name with `prefix`.
#[must_use]
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A store on a new, uniquely named table.
pub async fn fresh_table(config: &SdkConfig) -> DynamoEntitlementStore {
    let store = DynamoEntitlementStore::new(aws_sdk_dynamodb::Client::new(config), unique("seatflow-test"));
    store.create_table().await.unwrap_or_else(|e| {
        panic!("creating a table on moto failed ({e}); is moto running at AWS_ENDPOINT_URL?")
    });
    store
}

/// A new FIFO queue; its URL.
pub async fn fresh_fifo_queue(config: &SdkConfig) -> String {
    create_fifo(config, &unique("seatflow-test"), &[]).await
}

/// A new FIFO queue whose messages come back at once when not deleted, and
/// go to a new FIFO dead-letter queue once received `max_receives` times;
/// the URLs of both, queue first.
pub async fn fresh_fifo_queue_with_dlq(config: &SdkConfig, max_receives: u32) -> (String, String) {
    let name = unique("seatflow-test");
    let dlq = create_fifo(config, &format!("dlq-{name}"), &[]).await;
    let dlq_arn = aws_sdk_sqs::Client::new(config)
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("the dead-letter queue's ARN");
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()});
    let queue = create_fifo(
        config,
        &format!("jobs-{name}"),
        &[
            (QueueAttributeName::VisibilityTimeout, "0".to_owned()),
            (QueueAttributeName::RedrivePolicy, redrive.to_string()),
        ],
    )
    .await;
    (queue, dlq)
}

async fn create_fifo(config: &SdkConfig, name: &str, attributes: &[(QueueAttributeName, String)]) -> String {
    let mut request = aws_sdk_sqs::Client::new(config)
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true");
    for (attribute, value) in attributes {
        request = request.attributes(attribute.clone(), value);
    }
    request
        .send()
        .await
        .expect("moto creates the queue")
        .queue_url
        .expect("a queue URL")
}

/// A new sender address, verified with SES (moto refuses unverified senders).
pub async fn fresh_sender(config: &SdkConfig) -> String {
    let sender = format!("{}@seatflow.example", unique("reminders"));
    aws_sdk_sesv2::Client::new(config)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("moto verifies the sender");
    sender
}
