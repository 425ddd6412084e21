//! Lambda entry point of the renewal reminders: the daily EventBridge
//! schedule in, the run report out. A run with failed sends ends in an error,
//! so the function's error alarm sees it (the failed notices are released
//! and go out on the next run).

use std::sync::Arc;

use anyhow::Context as _;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_domain::SystemClock;
use seatflow_renewal_reminders::{ReminderConfig, Reminders, RunReport};

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_http::init_tracing();
    let seats = seatflow_seats_api::seats_from_env("dynamodb", Arc::new(SystemClock)).await?;
    let reminders = Reminders::new(
        Arc::new(seats),
        Arc::new(
            seatflow_dynamodb::DynamoNoticeLedger::from_env()
                .await
                .context("notice ledger")?,
        ),
        Arc::new(seatflow_ses::SesMailer::from_env().await?),
        ReminderConfig::from_env()?,
    );
    let reminders = &reminders;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let report = reminders.on_schedule(&event.payload).await?;
            if report.failed.is_empty() {
                Ok::<RunReport, Error>(report)
            } else {
                Err(format!(
                    "{} notices not sent: {}",
                    report.failed.len(),
                    report.failed.join(", ")
                )
                .into())
            }
        },
    ))
    .await
}
