//! Lambda entry point of the seats API: wiring only.

use seatflow_seats_api::{AppState, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_http::init_tracing();
    // On Lambda the store is DynamoDB unless SEATFLOW_STORE says otherwise.
    let state = AppState::from_env("dynamodb").await?;
    lambda_http::run(seatflow_http::lambda::with_gateway_claims(router(state))).await
}
