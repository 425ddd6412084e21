//! Lambda entry point of the renewal reminders: the daily EventBridge
//! schedule in, the run report out (a run with failed sends is an error; see
//! [`Reminders::on_schedule`]).

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::{ReminderConfig, StoreKind};
use seatflow_renewal_reminders::{Reminders, RunReport};

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
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<RunReport, Error>(reminders.on_schedule(&event.payload).await?)
        },
    ))
    .await
}
