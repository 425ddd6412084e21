//! Lambda entry point of the Stripe webhook: wiring only. It refuses to start
//! without a Stripe signing secret (`whsec_…`).

use std::sync::Arc;

use seatflow_stripe_webhook::{WebhookState, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let state = WebhookState {
        secret: Arc::new(seatflow_config::webhook_secret()?),
        queue: seatflow_config::job_queue().await?,
        clock: seatflow_config::clock(),
        on_refused_signature: || {
            let now = seatflow_domain::Clock::now(&seatflow_domain::SystemClock);
            seatflow_config::emit_metrics("stripe-webhook", &[("WebhookSignaturesRefused", 1)], now);
        },
    };
    lambda_http::run(router(state)).await
}
