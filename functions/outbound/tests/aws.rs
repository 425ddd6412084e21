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

/// `f`'s organisation subscribes to `seats` professional seats as
/// subscription `id`, in automatic license mode.
async fn subscribe_automatically(f: &Fixture, id: &str, seats: u32) {
    let now = f.clock.now();
    let state = seatflow_domain::SubscriptionSnapshot {
        org: f.admin.org.clone(),
        id: seatflow_domain::SubscriptionId::parse(id).unwrap(),
        customer: "cus_roles".into(),
        status: seatflow_domain::SubscriptionStatus::Active,
        items: [(product("professional"), seats)].into(),
        term: Some(seatflow_domain::Term::Monthly),
        current_period_start: Some(now),
        current_period_end: Some(now + chrono::Duration::days(30)),
        cancel_at_period_end: false,
    };
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, &format!("evt_{id}"), now, Mode::Apply)
        .await
        .unwrap();
    f.buy_automatically(None, true).await;
}

/// An endpoint of `f`'s organisation at `url` for seat events; its secret.
async fn seat_endpoint(f: &Fixture, url: &str) -> String {
    f.seats
        .integrations()
        .create_webhook_endpoint(
            &f.admin,
            &NewEndpoint {
                url: url.to_owned(),
                event_types: vec![EventType::SeatAssigned, EventType::SeatRevoked],
                allow_http: true,
            },
            Mode::Apply,
        )
        .await
        .unwrap()
        .value
        .secret
}

#[tokio::test]
async fn a_committed_change_reaches_the_receiver_through_the_stream_and_sqs() {
    let aws = aws().await;
    let receiver = Receiver::start().await;
    let f = Fixture::new(aws.store.clone(), "org_wired").await;
    let secret = seat_endpoint(&f, &receiver.url).await;
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

/// The relay's and the delivering function's AWS calls, recorded on the wire
/// as they make them on moto (DynamoDB, SQS, SES), are every one allowed by
/// their roles in the template as SAM deploys it (`seatflow_testkit::iam`;
/// moto enforces no IAM): a delivery, a retry held back by the queue, and a
/// delivery failing for good, which disables the endpoint and emails the
/// admins.
#[tokio::test]
async fn every_aws_call_of_the_relay_and_the_deliverer_is_allowed_by_their_roles() {
    use seatflow_testkit::aws_calls::CallLog;
    use seatflow_testkit::iam::{Evaluation, Stack, Template};

    const RELAY: &str = "OutboxRelayFunction";
    const DELIVERY: &str = "WebhookDeliveryFunction";
    let aws = aws().await;
    let sender = aws::fresh_sender(&aws.config).await;
    let calls = CallLog::new();
    let recorded_store = |function: &str| {
        Arc::new(DynamoEntitlementStore::new(
            calls.dynamodb(&aws.config, function),
            aws.store.table(),
        ))
    };
    let recorded_queue = |function: &str| {
        Arc::new(SqsDeliveryQueue::new(
            calls.sqs(&aws.config, function),
            aws.queue_url.clone(),
        ))
    };

    let receiver = Receiver::start().await;
    let f = Fixture::new(aws.store.clone(), "org_roles").await;
    f.user_with_role("Ada Admin", None, seatflow_domain::Role::Admin)
        .await;
    seat_endpoint(&f, &receiver.url).await;
    // A subscription of one seat, in automatic mode: the second seat is
    // bought, and the relay queues its quantity sync.
    subscribe_automatically(&f, "sub_roles", 1).await;
    let bea = f.user("Bea", None).await;
    f.assign(&product("professional"), &bea.id).await;
    let cy = f.user("Cy", None).await;
    f.assign(&product("professional"), &cy.id).await;
    let provisioning_url = aws::fresh_fifo_queue(&aws.config).await;

    let relay_store = recorded_store(RELAY);
    let relay =
        Relay::new(relay_store.clone(), relay_store, recorded_queue(RELAY)).with_quantity_syncs(Arc::new(
            seatflow_sqs::SqsJobQueue::new(calls.sqs(&aws.config, RELAY), provisioning_url.clone()),
        ));
    let delivery_store = recorded_store(DELIVERY);
    let deliverer = Deliverer::new(
        Arc::new(Seats::new(
            delivery_store.clone(),
            f.clock.clone(),
            Arc::new(Catalog::default_catalog().unwrap()),
        )),
        delivery_store.clone(),
        delivery_store,
        Arc::new(HttpTransport::new().unwrap()),
        Some(Arc::new(seatflow_ses::SesMailer::new(
            calls.sesv2(&aws.config, DELIVERY),
            &sender,
        ))),
        f.clock.clone(),
    );
    let delivery_queue = recorded_queue(DELIVERY);
    let mut seen = HashSet::new();

    let stream = support::outbox_stream(&aws.config, aws.store.table(), "org_roles", &mut seen).await;
    assert_eq!(relay_records(&relay, stream).await.queued, 2);
    let syncs = support::receive(&aws.config, &provisioning_url).await;
    assert_eq!(syncs.len(), 1, "one quantity sync, for the seat bought");
    assert!(syncs[0].body.contains("quantity_sync"), "{}", syncs[0].body);
    let messages = support::receive(&aws.config, &aws.queue_url).await;
    let report = deliver_batch(&deliverer, &*delivery_queue, &messages).await;
    assert_eq!(report.delivered, 2);
    support::settle(&aws.config, &aws.queue_url, &messages, &report.failures).await;

    receiver.answer(503);
    f.unassign(&product("professional"), &bea.id).await;
    let stream = support::outbox_stream(&aws.config, aws.store.table(), "org_roles", &mut seen).await;
    assert_eq!(relay_records(&relay, stream).await.queued, 1);
    let messages = support::receive(&aws.config, &aws.queue_url).await;
    assert_eq!(
        deliver_batch(&deliverer, &*delivery_queue, &messages)
            .await
            .retried,
        1
    );
    // Three days of failures later: the endpoint is disabled, the admins told.
    f.clock.advance(chrono::Duration::days(4));
    let report = deliver_batch(&deliverer, &*delivery_queue, &messages).await;
    assert_eq!(report.failed, 1, "{report:?}");
    assert!(
        calls
            .calls()
            .iter()
            .any(|c| c.function == DELIVERY && c.operation == "SendEmail"),
        "the admins were emailed"
    );

    let template = Template::transformed().with_parameter("SenderAddress", &sender);
    let stack = Stack::new(template)
        .with_table(aws.store.table())
        .with_queue(&aws.queue_url, "WebhookDeliveryQueue")
        .with_queue(&provisioning_url, "ProvisioningQueue");
    let mut recorded = calls.calls();
    recorded.extend(stack.template().secret_reads(DELIVERY));
    let evaluation = Evaluation::of(&stack, &recorded);
    evaluation.assert_allowed();
    evaluation.assert_unused_are(&stack, &UNUSED_ON_PURPOSE);

    // Another organisation's items are out of both roles' reach.
    let mut foreign = calls.calls();
    for call in &mut foreign {
        let text = call.body.to_string().replace("ORG#org_roles", "APIKEY#anything");
        call.body = serde_json::from_str(&text).unwrap();
    }
    let refused = Evaluation::of(&stack, &foreign).denied;
    for function in [RELAY, DELIVERY] {
        assert!(
            refused
                .iter()
                .any(|(f, r)| f == function && r.contains("APIKEY#anything")),
            "{function} may touch only organisations' items: {refused:?}"
        );
    }
}

/// Grants no call of the relay or the deliverer makes, and why they stay.
const UNUSED_ON_PURPOSE: [(&str, &str); 6] = [
    (
        "OutboxRelayFunction/OutboxRelayFunctionOutboxSQSPolicy[0]/sqs:SendMessage",
        ON_FAILURE,
    ),
    (
        "WebhookDeliveryFunction/WebhookDeliveryFunctionRolePolicy2[0]/sqs:ChangeMessageVisibilityBatch",
        POLLER,
    ),
    (
        "WebhookDeliveryFunction/WebhookDeliveryFunctionRolePolicy2[0]/sqs:DeleteMessage",
        POLLER,
    ),
    (
        "WebhookDeliveryFunction/WebhookDeliveryFunctionRolePolicy2[0]/sqs:DeleteMessageBatch",
        POLLER,
    ),
    (
        "WebhookDeliveryFunction/WebhookDeliveryFunctionRolePolicy2[0]/sqs:GetQueueAttributes",
        POLLER,
    ),
    (
        "WebhookDeliveryFunction/WebhookDeliveryFunctionRolePolicy2[0]/sqs:ReceiveMessage",
        POLLER,
    ),
];
/// Lambda's event source mapping polls and deletes with the function's role.
const POLLER: &str = "the SQS event source polls with the function's role";
/// The stream's on-failure destination sends with the function's role.
const ON_FAILURE: &str = "the stream's on-failure destination";
