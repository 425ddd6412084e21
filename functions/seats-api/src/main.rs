//! Lambda entry point of the seats API: wiring only.

use seatflow_config::StoreKind;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let state = seatflow_config::app_state(StoreKind::DynamoDb).await?;
    lambda_http::run(seatflow_http::lambda::with_gateway_claims(
        seatflow_seats_api::router(state),
    ))
    .await
}
