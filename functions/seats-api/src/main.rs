//! Lambda entry point of the seats API: wiring only.

use seatflow_seats_api::{AppState, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_http::init_tracing();
    let state = AppState::from_env().await?;
    lambda_http::run(router(state)).await
}
