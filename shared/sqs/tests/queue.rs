//! The SQS job queue over the wire against moto (started by `make test`).

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_sqs::types::MessageSystemAttributeName;
use seatflow_domain::{JobQueue, ProvisioningJob};
use seatflow_sqs::SqsJobQueue;
use seatflow_testkit::aws;

async fn client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws::sdk_config().await)
}

async fn fifo_queue() -> String {
    aws::fresh_fifo_queue(&aws::sdk_config().await).await
}

fn job(event: &str, group: &str) -> ProvisioningJob {
    ProvisioningJob {
        event_id: event.into(),
        event_type: "customer.subscription.updated".into(),
        occurred_at: chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("time"),
        group: group.into(),
        subject: seatflow_domain::JobSubject::Subscription {
            id: "sub_1".into(),
            org: None,
        },
    }
}

#[tokio::test]
async fn a_job_is_sent_once_per_event_in_its_subscription_group() {
    let client = client().await;
    let url = fifo_queue().await;
    let queue = SqsJobQueue::new(client.clone(), url.clone());
    queue.enqueue(&job("evt_1", "sub_1")).await.expect("sent");
    queue
        .enqueue(&job("evt_1", "sub_1"))
        .await
        .expect("duplicate accepted");
    queue.enqueue(&job("evt_2", "sub_2")).await.expect("sent");

    let received = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("received");
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 2, "the duplicate event was dropped");
    let first: ProvisioningJob =
        serde_json::from_str(messages[0].body().expect("body")).expect("a job round-trips");
    assert_eq!(first, job("evt_1", "sub_1"));
    let attributes = messages[0].attributes().expect("attributes");
    assert_eq!(
        attributes
            .get(&MessageSystemAttributeName::MessageGroupId)
            .map(String::as_str),
        Some("sub_1")
    );
    assert_eq!(
        attributes
            .get(&MessageSystemAttributeName::MessageDeduplicationId)
            .map(String::as_str),
        Some("evt_1")
    );
}

#[tokio::test]
async fn an_unreachable_queue_is_reported_not_swallowed() {
    let queue = SqsJobQueue::new(client().await, "http://127.0.0.1:9/000000000000/missing.fifo");
    let err = queue
        .enqueue(&job("evt_x", "sub_x"))
        .await
        .expect_err("no such queue");
    assert!(err.to_string().contains("unavailable"), "{err}");
}
