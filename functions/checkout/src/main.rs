//! Lambda entry point of the checkout function: wiring only.

use seatflow_checkout::router;
use seatflow_seats_api::AppState;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_http::init_tracing();
    let state = AppState::from_env().await?;
    lambda_http::run(router(state)).await
}
