//! Lambda entry point of the provisioner: SQS batches in, partial batch
//! failures out (the event source mapping sets `ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::StoreKind;
use seatflow_provisioner::{Provisioner, batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_config::init_tracing();
    let seats = seatflow_config::seats(StoreKind::DynamoDb).await?;
    let provisioner = Provisioner::new(seats, seatflow_config::payment_gateway()?);
    let provisioner = &provisioner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = batch::sqs::deadline(event.context.deadline);
        let failures = provisioner
            .apply_batch_until(&batch::sqs::messages(event.payload), Some(deadline))
            .await;
        Ok::<SqsBatchResponse, Error>(batch::sqs::response(failures))
    }))
    .await
}
