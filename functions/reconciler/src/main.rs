//! Lambda entry point of the reconciler: the daily EventBridge schedule in,
//! the run report out (a run that left anything undone is an error, so the
//! function's error alarm fires).

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use seatflow_config::{Refreshing, STRIPE_SECRET_KEY, Secrets, StoreKind};
use seatflow_reconciler::{ReconcileConfig, ReconcileReport, Reconciler};

/// Kept back from the invocation's time, to end grants and report.
const MARGIN: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), Error> {
    seatflow_config::init_tracing();
    // The stores and Stripe's key are made and read at the same time.
    let (stores, secrets) = tokio::try_join!(
        seatflow_config::stores(StoreKind::DynamoDb),
        Secrets::from_env(&[STRIPE_SECRET_KEY])
    )?;
    let seats = Arc::new(seatflow_config::seats_over(
        stores.entitlements,
        seatflow_config::clock(),
    )?);
    let config = ReconcileConfig::from_vars(seatflow_config::env::var)?;
    let renewals = stores.renewals;
    // Stripe's key is read from Secrets Manager at cold start and again
    // after its TTL; the reconciler is rebuilt when it changed.
    let reconcilers = Refreshing::from_env_with_first(
        &[STRIPE_SECRET_KEY],
        secrets,
        Box::new(move |secrets| {
            let (seats, renewals, config) = (seats.clone(), renewals.clone(), config);
            Box::pin(async move {
                let payments = seatflow_config::payment_gateway_with(&secrets)?;
                Ok(Reconciler::new(seats, payments, renewals, config)
                    .with_report_hook(seatflow_reconciler::emit))
            })
        }),
    )
    .await?;
    let reconcilers = &reconcilers;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = deadline(event.context.deadline).checked_sub(MARGIN);
            let reconciler = reconcilers.get().await;
            Ok::<ReconcileReport, Error>(reconciler.on_schedule(deadline).await?)
        },
    ))
    .await
}

#[allow(
    clippy::disallowed_methods,
    reason = "the runtime's deadline is wall-clock time; only here is it compared with the wall clock"
)]
fn deadline(unix_ms: u64) -> tokio::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    tokio::time::Instant::now() + Duration::from_millis(unix_ms.saturating_sub(now_ms))
}
