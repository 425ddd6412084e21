//! Lambda entry point of the checkout function: wiring only.

use std::sync::Arc;

use seatflow_checkout::{CheckoutConfig, CheckoutState, router};
use seatflow_seats_api::AppState;
use seatflow_stripe::StripeGateway;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_http::init_tracing();
    // On Lambda the store is DynamoDB unless SEATFLOW_STORE says otherwise.
    let state = CheckoutState {
        app: AppState::from_env("dynamodb").await?,
        payments: Arc::new(StripeGateway::from_env()?),
        config: Arc::new(CheckoutConfig::from_env()?),
    };
    lambda_http::run(seatflow_http::lambda::with_gateway_claims(router(state))).await
}
