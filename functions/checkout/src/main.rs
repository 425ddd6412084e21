//! Lambda entry point of the checkout function: wiring only.

use std::sync::Arc;

use seatflow_checkout::{CheckoutState, router};
use seatflow_config::{CheckoutConfig, StoreKind};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let state = CheckoutState {
        app: seatflow_config::app_state(StoreKind::DynamoDb).await?,
        payments: seatflow_config::payment_gateway()?,
        config: Arc::new(CheckoutConfig::from_env()?),
        idempotency: seatflow_config::idempotency_store(StoreKind::DynamoDb).await?,
    };
    lambda_http::run(seatflow_http::lambda::with_gateway_claims(router(state))).await
}
