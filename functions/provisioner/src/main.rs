//! Lambda entry point of the provisioner: SQS batches in, partial batch
//! failures out (the event source mapping sets `ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::{Refreshing, STRIPE_SECRET_KEY, Secrets, StoreKind};
use seatflow_provisioner::{Provisioner, batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_config::init_tracing();
    // Stripe's key is read from Secrets Manager at cold start (while the
    // store is made) and again after its TTL; the provisioner is rebuilt
    // when it changed.
    let (seats, secrets, queue) = tokio::try_join!(
        seatflow_config::seats(StoreKind::DynamoDb),
        Secrets::from_env(&[STRIPE_SECRET_KEY]),
        seatflow_config::sqs_job_queue()
    )?;
    let window = seatflow_config::quantity_sync_window(seatflow_app::billing::DEFAULT_SYNC_WINDOW_SECONDS)?;
    let proration = seatflow_config::proration_behavior()?;
    let provisioners = Refreshing::from_env_with_first(
        &[STRIPE_SECRET_KEY],
        secrets,
        Box::new(move |secrets| {
            let seats = seats.clone();
            Box::pin(async move {
                Ok(
                    Provisioner::new(seats, seatflow_config::payment_gateway_with(&secrets)?)
                        .with_quantity_sync(window, proration),
                )
            })
        }),
    )
    .await?;
    let provisioners = &provisioners;
    let queue = &queue;
    let clock = seatflow_config::clock();
    let clock = &clock;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = batch::sqs::deadline(event.context.deadline);
        let receipts = batch::sqs::receipts(&event.payload);
        let messages = batch::sqs::messages(event.payload);
        let provisioner = provisioners.get().await;
        let report = provisioner.apply_batch_until(&messages, Some(deadline)).await;
        // A quantity sync waiting for its window comes back when it ends,
        // not after the queue's visibility timeout.
        for (id, until) in &report.not_before {
            let seconds = (*until - clock.now()).num_seconds().max(1);
            if let Some(receipt) = receipts.get(id)
                && let Err(error) = queue.hold(receipt, seconds).await
            {
                tracing::warn!(message = %id, %error, "a quantity sync was not held back; it comes back after the visibility timeout");
            }
        }
        let failures = report.failures;
        // Failed jobs go back to the queue (and after five receives to its
        // dead-letter queue): what the dashboard shows as parked.
        seatflow_config::emit_metrics(
            "provisioner",
            &[
                ("JobsApplied", messages.len().saturating_sub(failures.len())),
                ("JobsFailed", failures.len()),
            ],
            clock.now(),
        );
        Ok::<SqsBatchResponse, Error>(batch::sqs::response(failures))
    }))
    .await
}
