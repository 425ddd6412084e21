//! An outbound webhook endpoint's delivery log, newest first, and a
//! redelivery by hand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use seatflow_domain::{Delivery, DeliveryAnswer, DeliveryStatus, EndpointId, EventType};
use seatflow_http::{ApiError, ApiPath, ApiQuery, AppState, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::webhook_endpoints::outbound;

/// How many deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryPage {
    /// At most this many, newest first (1 to 100; 50 when absent).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// One event's delivery to the endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The first attempt.
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What the endpoint answered last.
    pub last_answer: Option<DeliveryAnswer>,
    /// The event, as sent.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            event_id: d.event.id.clone(),
            event_type: d.event.kind,
            status: d.status,
            attempts: d.attempts,
            first_attempt_at: d.first_attempt_at,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
            last_answer: d.last_answer,
            event: serde_json::to_value(&d.event).unwrap_or_default(),
        }
    }
}

/// The endpoint's delivery log, newest first.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{endpoint_id}/deliveries", tag = "webhooks",
    params(("endpoint_id" = String, Path, description = "Endpoint id"), DeliveryPage),
    responses((status = 200, body = [DeliveryView]), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn list_deliveries(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<EndpointId>,
    ApiQuery(page): ApiQuery<DeliveryPage>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let limit = seatflow_http::page_limit(page.limit, 50, 100)?;
    // Checks the caller may see the endpoint (and that it exists).
    app.seats.integrations().webhook_endpoint(&caller, &id).await?;
    let log = outbound(&app)?.log.deliveries(&caller.org, &id, limit).await?;
    Ok(Json(log.into_iter().map(DeliveryView::from).collect()))
}

/// Sends a logged event to the endpoint again, as a new delivery (three
/// more days of retries); answers 202 once it is queued.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}/redeliver",
    tag = "webhooks",
    params(("endpoint_id" = String, Path, description = "Endpoint id"),
        ("event_id" = String, Path, description = "Event id (`evt_…`)")),
    responses((status = 202, body = DeliveryView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn redeliver(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath((id, event)): ApiPath<(EndpointId, String)>,
) -> Result<Response, ApiError> {
    app.seats
        .integrations()
        .redeliverable_endpoint(&caller, &id)
        .await?;
    let outbound = outbound(&app)?;
    let not_found = || ApiError::not_found(format!("no delivery of event '{event}' to endpoint '{id}'"));
    if !event.starts_with("evt_") || event.len() > 64 {
        return Err(not_found());
    }
    let again = seatflow_webhooks::redeliver(&*outbound.log, &*outbound.queue, &caller.org, &id, &event)
        .await
        .map_err(|e| match e {
            seatflow_webhooks::RelayError::Store(e) => ApiError::from(e),
            seatflow_webhooks::RelayError::Queue(e) => ApiError::from(e),
        })?
        .ok_or_else(not_found)?;
    tracing::info!(event = %again.event.id, endpoint = %again.endpoint, "redelivery queued");
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::from(again))).into_response())
}
