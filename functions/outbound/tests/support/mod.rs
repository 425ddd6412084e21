//! What the moto test and the benchmark of the outbound functions share:
//! the table's stream, played from the stored outbox items, and Lambda's
//! side of an SQS event source (receive, then delete what succeeded).

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;
use seatflow_outbound::delivery::Message;
use seatflow_outbound::stream::StreamEvent;

/// The stream records Lambda would hand the relay for `org`'s outbox items
/// not in `seen` (which then holds them too): each new image carries the
/// stored item's `SK` and `events` exactly as the table holds them, in the
/// order the table sorts them.
pub async fn outbox_stream(
    config: &aws_config::SdkConfig,
    table: &str,
    org: &str,
    seen: &mut HashSet<String>,
) -> StreamEvent {
    let items = aws_sdk_dynamodb::Client::new(config)
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :outbox)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{org}")))
        .expression_attribute_values(":outbox", AttributeValue::S("OUTBOX#".into()))
        .send()
        .await
        .expect("outbox items")
        .items
        .unwrap_or_default();
    let records: Vec<serde_json::Value> = items
        .iter()
        .filter_map(|item| {
            let sk = item.get("SK")?.as_s().ok()?.clone();
            let events = item.get("events")?.as_s().ok()?.clone();
            seen.insert(sk.clone()).then(|| {
                serde_json::json!({
                    "eventName": "INSERT",
                    "eventSource": "aws:dynamodb",
                    "dynamodb": {
                        "SequenceNumber": sk,
                        "NewImage": { "SK": { "S": sk }, "events": { "S": events } },
                        "StreamViewType": "NEW_IMAGE"
                    }
                })
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("a stream event")
}

/// Up to 10 messages of the queue, as an event source mapping receives them.
pub async fn receive(config: &aws_config::SdkConfig, queue_url: &str) -> Vec<Message> {
    aws_sdk_sqs::Client::new(config)
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("received")
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| Message {
            id: m.message_id.unwrap_or_default(),
            receipt: m.receipt_handle.unwrap_or_default(),
            body: m.body.unwrap_or_default(),
        })
        .collect()
}

/// What the event source mapping does after a batch: deletes every message
/// the response does not name.
pub async fn settle(
    config: &aws_config::SdkConfig,
    queue_url: &str,
    messages: &[Message],
    failures: &[String],
) {
    let client = aws_sdk_sqs::Client::new(config);
    for message in messages.iter().filter(|m| !failures.contains(&m.id)) {
        client
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .expect("deleted");
    }
}
