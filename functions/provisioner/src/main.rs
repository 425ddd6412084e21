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
    let (seats, secrets) = tokio::try_join!(
        seatflow_config::seats(StoreKind::DynamoDb),
        Secrets::from_env(&[STRIPE_SECRET_KEY])
    )?;
    let provisioners = Refreshing::from_env_with_first(
        &[STRIPE_SECRET_KEY],
        secrets,
        Box::new(move |secrets| {
            let seats = seats.clone();
            Box::pin(async move {
                Ok(Provisioner::new(
                    seats,
                    seatflow_config::payment_gateway_with(&secrets)?,
                ))
            })
        }),
    )
    .await?;
    let provisioners = &provisioners;
    let clock = seatflow_config::clock();
    let clock = &clock;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = batch::sqs::deadline(event.context.deadline);
        let messages = batch::sqs::messages(event.payload);
        let provisioner = provisioners.get().await;
        let failures = provisioner.apply_batch_until(&messages, Some(deadline)).await;
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
