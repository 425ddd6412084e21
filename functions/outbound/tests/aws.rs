//! Outbound webhooks on AWS, over the wire against moto: a change committed
//! to DynamoDB leaves its outbox item; the relay takes the item as the
//! table's stream hands it over (built from the stored item itself) and
//! queues deliveries on SQS FIFO; the delivering function posts them to a
//! local receiver that verifies each signature; a failing endpoint's
//! message is held back by its visibility.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

mod support;

use seatflow_domain::{Catalog, Clock as _, EventType, Mode, NewEndpoint, Seats};
use seatflow_dynamodb::DynamoEntitlementStore;
use seatflow_outbound::delivery::deliver_batch;
use seatflow_outbound::stream::relay_records;
use seatflow_sqs::SqsDeliveryQueue;
use seatflow_testkit::receiver::Receiver;
use seatflow_testkit::{Fixture, aws, product};
use seatflow_webhooks::{DEFAULT_TOLERANCE_SECONDS, Deliverer, HttpTransport, Relay, SignedHeaders, verify};

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

#[tokio::test]
async fn a_committed_change_reaches_the_receiver_through_the_stream_and_sqs() {
    let aws = aws().await;
    let receiver = Receiver::start().await;
    let f = Fixture::new(aws.store.clone(), "org_wired").await;
    let created = f
        .seats
        .integrations()
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
    let mut seen = HashSet::new();
    let stream = support::outbox_stream(&aws.config, aws.store.table(), "org_wired", &mut seen).await;
    let report = relay_records(&relay, stream).await;
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
    let messages = support::receive(&aws.config, &aws.queue_url).await;
    assert_eq!(messages.len(), 1);
    let report = deliver_batch(&deliverer, &*aws.queue, &messages).await;
    assert_eq!((report.delivered, report.failures.len()), (1, 0));
    support::settle(&aws.config, &aws.queue_url, &messages, &report.failures).await;
    let got = receiver.events();
    assert_eq!(got.len(), 1);
    let (signature, event, body) = &got[0];
    assert_eq!(event["type"], "seat.assigned");
    assert_eq!(event["data"]["object"]["user"]["id"], ada.id.as_str());
    assert_eq!(
        verify(
            SignedHeaders {
                id: &signature.id,
                timestamp: &signature.timestamp,
                signature: &signature.signature,
            },
            body,
            &secret,
            f.clock.now().timestamp(),
            DEFAULT_TOLERANCE_SECONDS
        ),
        Ok(())
    );

    // The endpoint fails: the message is held back (invisible) for the backoff.
    receiver.answer(503);
    f.unassign(&product("professional"), &ada.id).await;
    let stream = support::outbox_stream(&aws.config, aws.store.table(), "org_wired", &mut seen).await;
    assert_eq!(stream.records.len(), 1, "the unassign's outbox item only");
    let report = relay_records(&relay, stream).await;
    assert_eq!(report.queued, 1);
    let messages = support::receive(&aws.config, &aws.queue_url).await;
    assert_eq!(messages.len(), 1);
    let report = deliver_batch(&deliverer, &*aws.queue, &messages).await;
    assert_eq!(
        (report.retried, report.failures.clone()),
        (1, vec![messages[0].id.clone()])
    );
    assert!(
        support::receive(&aws.config, &aws.queue_url).await.is_empty(),
        "held back for the backoff"
    );
}
