//! Lambda entry point of the provisioner: SQS batches in, partial batch
//! failures out (the event source mapping sets `ReportBatchItemFailures`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_domain::SystemClock;
use seatflow_provisioner::{Provisioner, batch};
use seatflow_stripe::StripeGateway;

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_http::init_tracing();
    let seats = seatflow_seats_api::seats_from_env("dynamodb", Arc::new(SystemClock)).await?;
    let provisioner = Provisioner::new(seats, Arc::new(StripeGateway::from_env()?));
    let provisioner = &provisioner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let failures = provisioner
            .apply_batch(&batch::sqs::messages(event.payload))
            .await;
        Ok::<SqsBatchResponse, Error>(batch::sqs::response(failures))
    }))
    .await
}
