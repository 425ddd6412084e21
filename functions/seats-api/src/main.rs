//! Lambda entry point of the seats API: wiring only. Its secrets (the JWT
//! secret, the entitlement signing keys) are read from Secrets Manager at
//! cold start and again after their TTL; the router is rebuilt when they
//! changed.

use std::sync::Arc;

use seatflow_config::{APP_SECRETS, ORIGIN_SECRET, Refreshing, Secrets, StoreKind};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let mut names = APP_SECRETS.to_vec();
    names.push(ORIGIN_SECRET);
    // The stores and the secrets are made and read at the same time.
    let (stores, secrets) = tokio::try_join!(
        seatflow_config::stores(StoreKind::DynamoDb),
        Secrets::from_env(&names)
    )?;
    let app = Arc::new(
        Refreshing::from_env_with_first(
            &names,
            secrets,
            Box::new(move |secrets| {
                let stores = stores.clone();
                Box::pin(async move {
                    let state = seatflow_config::app_state_with(&stores, &secrets).await?;
                    let router =
                        seatflow_http::lambda::with_gateway_claims(seatflow_seats_api::router(state));
                    Ok(seatflow_http::edge::behind_edge(
                        router,
                        secrets.get(ORIGIN_SECRET),
                    )?)
                })
            }),
        )
        .await?,
    );
    seatflow_http::lambda::run_current(move || {
        let app = app.clone();
        async move { (*app.get().await).clone() }
    })
    .await
}
