//! The Stripe webhook: `POST /v1/stripe/webhook` verifies `Stripe-Signature`
//! on the raw body, and for each event a seat subscription needs, queues one
//! provisioning job (grouped by subscription, deduplicated by event id) and
//! answers 200. It writes no entitlements: the provisioner does, from the queue.
//! A bad, missing or stale signature is refused with 400 before any work.

pub use seatflow_stripe::{event, signature};

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use seatflow_domain::{Clock, JobQueue};
use seatflow_http::ApiError;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// What the handler needs.
#[derive(Debug, Clone)]
pub struct WebhookState {
    /// The endpoint's signing secret (`whsec_…`).
    pub secret: Arc<SecretString>,
    /// Where jobs go.
    pub queue: Arc<dyn JobQueue>,
    /// Now, for the signature's age.
    pub clock: Arc<dyn Clock>,
    /// Called for every refused signature (the Lambda entry point counts
    /// them as a metric; [`count_nothing`] elsewhere).
    pub on_refused_signature: fn(),
}

/// An `on_refused_signature` that counts nothing.
pub fn count_nothing() {}

/// The acknowledgement Stripe gets.
#[derive(Debug, Serialize)]
pub struct Acknowledgement {
    /// Always true: the event was verified.
    pub received: bool,
    /// Whether a provisioning job was queued (false for types not needed).
    pub queued: bool,
}

/// The webhook router.
pub fn router(state: WebhookState) -> axum::Router {
    axum::Router::new()
        .route("/v1/stripe/webhook", post(receive))
        .with_state(state)
}

async fn receive(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Acknowledgement>, ApiError> {
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let now = state.clock.now().timestamp();
    signature::verify(header, &body, state.secret.expose_secret().as_bytes(), now).map_err(|e| {
        tracing::warn!(error = %e, "refused a webhook");
        (state.on_refused_signature)();
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_signature", e.to_string())
    })?;
    let job = event::job_of(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_event", e.to_string()))?;
    let Some(job) = job else {
        return Ok(Json(Acknowledgement {
            received: true,
            queued: false,
        }));
    };
    // Stripe retries a non-2xx, so nothing is lost.
    state.queue.enqueue(&job).await?;
    tracing::info!(event = %job.event_id, kind = %job.event_type, group = %job.group, "queued");
    Ok(Json(Acknowledgement {
        received: true,
        queued: true,
    }))
}
