//! Lambda entry point of checkout: wiring only. Its secrets (the JWT
//! secret, the entitlement signing keys, Stripe's API key) are read from
//! Secrets Manager at cold start and again after their TTL.

use std::sync::Arc;

use seatflow_checkout::{CheckoutState, router};
use seatflow_config::{
    APP_SECRETS, CheckoutConfig, ORIGIN_SECRET, Refreshing, STRIPE_SECRET_KEY, Secrets, StoreKind,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let config = Arc::new(CheckoutConfig::from_env()?);
    let mut names = APP_SECRETS.to_vec();
    names.extend([STRIPE_SECRET_KEY, ORIGIN_SECRET]);
    // The stores and the secrets are made and read at the same time.
    let (stores, idempotency, secrets) = tokio::try_join!(
        seatflow_config::stores(StoreKind::DynamoDb),
        seatflow_config::idempotency_store(StoreKind::DynamoDb),
        Secrets::from_env(&names)
    )?;
    let app = Arc::new(
        Refreshing::from_env_with_first(
            &names,
            secrets,
            Box::new(move |secrets| {
                let (stores, config, idempotency) = (stores.clone(), config.clone(), idempotency.clone());
                Box::pin(async move {
                    let state = CheckoutState {
                        app: seatflow_config::app_state_with(&stores, &secrets).await?,
                        payments: seatflow_config::payment_gateway_with(&secrets)?,
                        config,
                        idempotency,
                    };
                    let router = seatflow_http::lambda::with_gateway_claims(router(state));
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
