//! Lambda entry point of webhook delivery: SQS FIFO batches in, signed posts
//! out, partial batch failures (retries held back by visibility) out.

use std::sync::Arc;

use anyhow::Context as _;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::StoreKind;
use seatflow_outbound::delivery::{deliver_batch, messages};
use seatflow_webhooks::{Deliverer, HttpTransport};

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_config::init_tracing();
    let stores = seatflow_config::stores(StoreKind::DynamoDb).await?;
    let clock = seatflow_config::clock();
    let seats = seatflow_config::seats_over(stores.entitlements.clone(), clock.clone())?;
    let queue = seatflow_config::delivery_queue()
        .await?
        .context("WEBHOOK_QUEUE_URL is not set")?;
    let transport = HttpTransport::public_only().map_err(anyhow::Error::msg)?;
    let deliverer = Deliverer::new(
        Arc::new(seats),
        stores.entitlements,
        stores.deliveries,
        Arc::new(transport),
        Some(seatflow_config::mailer().await?),
        clock.clone(),
    )
    .with_deliveries_per_org(seatflow_config::deliveries_per_org()?);
    let (deliverer, queue, clock) = (&deliverer, &*queue, &clock);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let report = deliver_batch(deliverer, queue, &messages(event.payload)).await;
        seatflow_config::emit_metrics(
            "webhook-delivery",
            &[
                ("WebhooksDelivered", report.delivered),
                ("WebhookRetries", report.retried),
                ("WebhookDeliveriesFailed", report.failed),
            ],
            clock.now(),
        );
        Ok::<SqsBatchResponse, Error>(report.response())
    }))
    .await
}
