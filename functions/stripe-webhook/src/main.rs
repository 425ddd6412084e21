//! Lambda entry point of the Stripe webhook: wiring only.

use std::sync::Arc;

use anyhow::Context as _;
use seatflow_domain::SystemClock;
use seatflow_stripe_webhook::{WebhookState, router};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    seatflow_http::init_tracing();
    let secret = std::env::var("STRIPE_WEBHOOK_SECRET").context("STRIPE_WEBHOOK_SECRET is not set")?;
    let queue = seatflow_sqs::SqsJobQueue::from_env().await.context("SQS queue")?;
    let state = WebhookState {
        secret: Arc::new(SecretString::from(secret)),
        queue: Arc::new(queue),
        clock: Arc::new(SystemClock),
    };
    lambda_http::run(router(state)).await
}
