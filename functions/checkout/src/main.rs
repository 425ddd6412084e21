//! Lambda entry point of the checkout function: wiring only.

use seatflow_checkout::router;
use seatflow_seats_api::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_http::init_tracing();
    // On Lambda the store is DynamoDB unless SEATFLOW_STORE says otherwise.
    let state = AppState::from_env("dynamodb").await?;
    lambda_http::run(router(state)).await
}
