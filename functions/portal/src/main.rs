//! Lambda entry point of the portal: wiring only. Its secrets (the JWT
//! secret, the entitlement signing keys, Stripe's API key, the identity
//! provider's client secret when it signs people in) are read from
//! Secrets Manager at cold start and again after their TTL.

use std::sync::Arc;

use seatflow_config::{
    APP_SECRETS, ORIGIN_SECRET, PORTAL_OIDC_CLIENT_SECRET, Refreshing, STRIPE_SECRET_KEY, Secrets, StoreKind,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let proration = seatflow_config::proration_behavior()?;
    let mut names = APP_SECRETS.to_vec();
    names.extend([STRIPE_SECRET_KEY, PORTAL_OIDC_CLIENT_SECRET, ORIGIN_SECRET]);
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
                    let state = seatflow_portal::PortalState {
                        app: seatflow_config::app_state_with(&stores, &secrets).await?,
                        payments: seatflow_config::payment_gateway_with(&secrets)?,
                        secure_cookies: true,
                        proration,
                        sign_in: seatflow_config::portal_sign_in_with(&secrets)?,
                    };
                    Ok(seatflow_http::edge::behind_edge(
                        seatflow_portal::router(state),
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
