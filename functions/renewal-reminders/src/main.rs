//! Lambda entry point of the renewal reminders: the daily EventBridge
//! schedule in, the run report out (a run with failed sends is an error; see
//! [`Reminders::on_schedule`]).

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::{ReminderConfig, StoreKind};
use seatflow_renewal_reminders::{Reminders, RunError, RunReport};

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_config::init_tracing();
    let stores = seatflow_config::stores(StoreKind::DynamoDb).await?;
    let reminders = Reminders::new(
        Arc::new(seatflow_config::seats_over(
            stores.entitlements,
            seatflow_config::clock(),
        )?),
        stores.renewals,
        seatflow_config::notice_ledger().await?,
        seatflow_config::mailer().await?,
        ReminderConfig::from_env()?,
    );
    let reminders = &reminders;
    let clock = seatflow_config::clock();
    let clock = &clock;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let outcome = reminders.on_schedule(&event.payload).await;
            let report = match &outcome {
                Ok(report) | Err(RunError::NotSent(report)) => Some(report),
                Err(_) => None,
            };
            if let Some(report) = report {
                seatflow_config::emit_metrics(
                    "renewal-reminders",
                    &[
                        ("NoticesSent", report.sent.len()),
                        ("NoticesFailed", report.failed.len()),
                    ],
                    clock.now(),
                );
            }
            Ok::<RunReport, Error>(outcome?)
        },
    ))
    .await
}
