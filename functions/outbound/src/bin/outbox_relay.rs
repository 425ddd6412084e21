//! Lambda entry point of the outbox relay: DynamoDB stream batches in
//! (filtered to new `OUTBOX#` items), deliveries queued on SQS, partial
//! batch failures out.

use std::sync::Arc;

use anyhow::Context as _;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::StoreKind;
use seatflow_outbound::stream::{StreamBatchResponse, StreamEvent, relay_records};
use seatflow_webhooks::Relay;

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_config::init_tracing();
    let stores = seatflow_config::stores(StoreKind::DynamoDb).await?;
    let queue: Arc<dyn seatflow_domain::DeliveryQueue> = seatflow_config::delivery_queue()
        .await?
        .context("WEBHOOK_QUEUE_URL is not set")?;
    // Seats bought automatically: their quantity syncs go to the
    // provisioning queue, as durable as the change that bought them.
    let syncs = seatflow_config::job_queue().await?;
    let relay = Relay::new(stores.entitlements, stores.deliveries, queue).with_quantity_syncs(syncs);
    let relay = &relay;
    let clock = seatflow_config::clock();
    let clock = &clock;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| async move {
        let report = relay_records(relay, event.payload).await;
        seatflow_config::emit_metrics(
            "outbox-relay",
            &[
                ("WebhookDeliveriesQueued", report.queued),
                ("OutboxItemsUnreadable", report.unreadable),
                ("SeatsAssigned", report.seats_assigned),
                ("SeatsRevoked", report.seats_revoked),
            ],
            clock.now(),
        );
        Ok::<StreamBatchResponse, Error>(report.response)
    }))
    .await
}
