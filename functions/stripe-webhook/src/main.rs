//! Lambda entry point of the Stripe webhook: wiring only. It refuses to start
//! without a Stripe signing secret (`whsec_…`), read from Secrets Manager at
//! cold start and again after its TTL (a new secret takes effect then).

use std::sync::Arc;

use seatflow_config::{ORIGIN_SECRET, Refreshing, STRIPE_WEBHOOK_SECRET, Secrets};
use seatflow_stripe_webhook::{WebhookState, router};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_config::init_tracing();
    let names = [STRIPE_WEBHOOK_SECRET, ORIGIN_SECRET];
    // The queue is made and the secrets read at the same time.
    let (queue, secrets) = tokio::try_join!(seatflow_config::job_queue(), Secrets::from_env(&names))?;
    let app = Arc::new(
        Refreshing::from_env_with_first(
            &names,
            secrets,
            Box::new(move |secrets| {
                let queue = queue.clone();
                Box::pin(async move {
                    let state = WebhookState {
                        secret: Arc::new(seatflow_config::webhook_secret_with(&secrets)?),
                        queue,
                        clock: seatflow_config::clock(),
                        on_refused_signature: || {
                            let now = seatflow_domain::Clock::now(&seatflow_domain::SystemClock);
                            seatflow_config::emit_metrics(
                                "stripe-webhook",
                                &[("WebhookSignaturesRefused", 1)],
                                now,
                            );
                        },
                    };
                    Ok(seatflow_http::edge::behind_edge(
                        router(state),
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
