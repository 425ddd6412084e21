//! Lambda entry point of the portal: wiring only.

use seatflow_config::StoreKind;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let app = seatflow_config::app_state(StoreKind::DynamoDb).await?;
    let state = seatflow_portal::PortalState {
        app,
        payments: seatflow_config::payment_gateway()?,
        secure_cookies: true,
        proration: match std::env::var("PRORATION_BEHAVIOR") {
            Ok(text) => text.parse()?,
            Err(_) => seatflow_domain::ProrationBehavior::default(),
        },
    };
    lambda_http::run(seatflow_portal::router(state)).await
}
