//! Outbound webhooks on AWS, over the wire against moto: a change committed
//! to DynamoDB leaves its outbox item; the relay takes the item as the
//! table's stream hands it over (built from the stored item itself) and
//! queues deliveries on SQS FIFO; the delivering function posts them to a
//! local receiver that verifies each signature; a failing endpoint's
//! message is held back by its visibility.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use seatflow_domain::{Catalog, Clock as _, EventType, Mode, NewEndpoint, Seats};
use seatflow_dynamodb::DynamoEntitlementStore;
use seatflow_outbound::delivery::{Message, deliver_batch};
use seatflow_outbound::stream::{StreamEvent, relay_records};
use seatflow_sqs::SqsDeliveryQueue;
use seatflow_testkit::receiver::Receiver;
use seatflow_testkit::{Fixture, aws, product};
use seatflow_webhooks::{DEFAULT_TOLERANCE_SECONDS, Deliverer, HttpTransport, Relay, verify};

struct Aws {
    config: aws_config::SdkConfig,
    store: Arc<DynamoEntitlementStore>,
    queue: Arc<SqsDeliveryQueue>,
    queue_url: String,
}

async fn aws() -> Aws {
    let config = aws::sdk_config().await;
    let store = Arc::new(aws::fresh_table(&config).await);
    let queue_url = aws::fresh_fifo_queue(&config).await;
    let queue = Arc::new(SqsDeliveryQueue::new(
        aws_sdk_sqs::Client::new(&config),
        queue_url.clone(),
    ));
    Aws {
        config,
        store,
        queue,
        queue_url,
    }
}

/// The stream records Lambda would hand the relay for the organisation's
/// outbox items: each new image carries the stored item's `SK` and
/// `events` exactly as the table holds them.
async fn stream_of_outbox(aws: &Aws, org: &str) -> StreamEvent {
    let items = aws_sdk_dynamodb::Client::new(&aws.config)
        .query()
        .table_name(aws.store.table())
        .key_condition_expression("PK = :pk AND begins_with(SK, :outbox)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("ORG#{org}")))
        .expression_attribute_values(":outbox", AttributeValue::S("OUTBOX#".into()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let records: Vec<serde_json::Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let image: serde_json::Map<String, serde_json::Value> = item
                .iter()
                .filter_map(|(name, value)| match value {
                    AttributeValue::S(s) => Some((name.clone(), serde_json::json!({ "S": s }))),
                    AttributeValue::N(n) => Some((name.clone(), serde_json::json!({ "N": n }))),
                    _ => None,
                })
                .collect();
            serde_json::json!({
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": { "SequenceNumber": format!("{}", 100 + i), "NewImage": image, "StreamViewType": "NEW_IMAGE" }
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
}

async fn receive(aws: &Aws) -> Vec<Message> {
    let received = aws_sdk_sqs::Client::new(&aws.config)
        .receive_message()
        .queue_url(&aws.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    received
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

/// What Lambda's event source mapping does after a batch: deletes every
/// message the response does not name.
async fn settle(aws: &Aws, messages: &[Message], failures: &[String]) {
    let client = aws_sdk_sqs::Client::new(&aws.config);
    for message in messages.iter().filter(|m| !failures.contains(&m.id)) {
        client
            .delete_message()
            .queue_url(&aws.queue_url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_committed_change_reaches_the_receiver_through_the_stream_and_sqs() {
    let aws = aws().await;
    let receiver = Receiver::start().await;
    let f = Fixture::new(aws.store.clone(), "org_wired").await;
    let created = f
        .seats
        .create_webhook_endpoint(
            &f.admin,
            &NewEndpoint {
                url: receiver.url.clone(),
                event_types: vec![EventType::SeatAssigned, EventType::SeatRevoked],
                allow_http: true,
            },
            Mode::Apply,
        )
        .await
        .unwrap();
    let secret = created.value.secret;
    f.buy("professional", 1).await;
    let ada = f.user("Ada", None).await;
    let bob = f.user("Bob", None).await;
    f.assign(&product("professional"), &ada.id).await;
    assert_eq!(
        f.refused_assign(&product("professional"), &bob.id).await,
        "no_seats_available"
    );

    let relay = Relay::new(aws.store.clone(), aws.store.clone(), aws.queue.clone());
    let report = relay_records(&relay, stream_of_outbox(&aws, "org_wired").await).await;
    assert_eq!(
        report.queued, 1,
        "one seat event, for the one endpoint that wants it"
    );
    assert!(report.response.batch_item_failures.is_empty());

    let seats = Arc::new(Seats::new(
        aws.store.clone(),
        f.clock.clone(),
        Arc::new(Catalog::default_catalog().unwrap()),
    ));
    let deliverer = Deliverer::new(
        seats,
        aws.store.clone(),
        aws.store.clone(),
        Arc::new(HttpTransport::new().unwrap()),
        None,
        f.clock.clone(),
    );
    let messages = receive(&aws).await;
    assert_eq!(messages.len(), 1);
    let report = deliver_batch(&deliverer, &*aws.queue, &messages).await;
    assert_eq!((report.delivered, report.failures.len()), (1, 0));
    settle(&aws, &messages, &report.failures).await;
    let got = receiver.events();
    assert_eq!(got.len(), 1);
    let (signature, event, body) = &got[0];
    assert_eq!(event["type"], "seat.assigned");
    assert_eq!(event["data"]["object"]["user"]["id"], ada.id.as_str());
    assert_eq!(
        verify(
            signature,
            body,
            &secret,
            f.clock.now().timestamp(),
            DEFAULT_TOLERANCE_SECONDS
        ),
        Ok(())
    );

    // The endpoint fails: the message is held back (invisible) for the backoff.
    receiver.answer(503);
    // A second later: the newest outbox item sorts last.
    f.clock.advance(chrono::Duration::seconds(1));
    f.unassign(&product("professional"), &ada.id).await;
    let fresh = stream_of_outbox(&aws, "org_wired").await;
    let last = fresh.records.into_iter().last().unwrap();
    let report = relay_records(&relay, StreamEvent { records: vec![last] }).await;
    assert_eq!(report.queued, 1);
    let messages = receive(&aws).await;
    assert_eq!(messages.len(), 1);
    let report = deliver_batch(&deliverer, &*aws.queue, &messages).await;
    assert_eq!(
        (report.retried, report.failures.clone()),
        (1, vec![messages[0].id.clone()])
    );
    assert!(receive(&aws).await.is_empty(), "held back for the backoff");
}
