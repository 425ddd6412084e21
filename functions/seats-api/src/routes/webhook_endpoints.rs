//! Outbound webhook endpoints (admins, and keys with `settings:write`):
//! where the organisation's events go, their signing secrets, and each
//! endpoint's delivery log with redelivery by hand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use seatflow_domain::{
    Delivery, DeliveryAnswer, DeliveryStatus, EndpointChanges, EndpointId, EndpointWithSecret, EventType,
    NewEndpoint, PublicEndpoint,
};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, AppState, Caller, Outbound, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{DryRun, Mutation};

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// Where events are posted: an `https://` URL.
    pub url: String,
    /// The event types it receives (at least one).
    #[schema(min_items = 1)]
    pub event_types: Vec<EventType>,
}

/// Changes to an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointChanges {
    /// A new URL.
    pub url: Option<String>,
    /// New event types (at least one).
    #[schema(min_items = 1)]
    pub event_types: Option<Vec<EventType>>,
    /// Enable or disable it (enabling clears why seatflow disabled it).
    pub enabled: Option<bool>,
}

/// A secret rotation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRotation {
    /// Hours the current secrets keep signing next to the new one (0 to
    /// 168; 24 when absent), so receivers can switch without refusing.
    pub overlap_hours: Option<i64>,
}

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

fn outbound(app: &AppState) -> Result<&Outbound, ApiError> {
    app.outbound.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhooks_unavailable",
            "outbound webhook delivery is not configured on this deployment",
        )
    })
}

/// The organisation's webhook endpoints (never their secrets).
#[utoipa::path(get, path = "/v1/webhook-endpoints", tag = "webhooks",
    responses((status = 200, body = [PublicEndpoint]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_webhook_endpoints(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<PublicEndpoint>>, ApiError> {
    Ok(Json(app.seats.webhook_endpoints(&caller).await?))
}

/// Adds an endpoint; the answer carries its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "webhooks", params(DryRun),
    request_body = NewWebhookEndpoint,
    responses((status = 201, body = Mutation<EndpointWithSecret>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_webhook_endpoint(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<NewWebhookEndpoint>,
) -> Result<Response, ApiError> {
    let new = NewEndpoint {
        url: body.url,
        event_types: body.event_types,
        allow_http: app.allow_http_endpoints,
    };
    let outcome = app
        .seats
        .create_webhook_endpoint(&caller, &new, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, true))
}

/// One endpoint (never its secrets).
#[utoipa::path(get, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path, description = "Endpoint id")),
    responses((status = 200, body = PublicEndpoint), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_webhook_endpoint(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<EndpointId>,
) -> Result<Json<PublicEndpoint>, ApiError> {
    Ok(Json(app.seats.webhook_endpoint(&caller, &id).await?))
}

/// Changes an endpoint's URL, event types, or enables or disables it.
#[utoipa::path(patch, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path, description = "Endpoint id"), DryRun),
    request_body = WebhookEndpointChanges,
    responses((status = 200, body = Mutation<PublicEndpoint>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_webhook_endpoint(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<EndpointId>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<WebhookEndpointChanges>,
) -> Result<Response, ApiError> {
    let changes = EndpointChanges {
        url: body.url,
        event_types: body.event_types,
        enabled: body.enabled,
        allow_http: app.allow_http_endpoints,
    };
    let outcome = app
        .seats
        .update_webhook_endpoint(&caller, &id, &changes, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// Removes an endpoint; nothing more is sent to it.
#[utoipa::path(delete, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path, description = "Endpoint id"), DryRun),
    responses((status = 200, body = Mutation<PublicEndpoint>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_webhook_endpoint(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<EndpointId>,
    ApiQuery(dry): ApiQuery<DryRun>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .delete_webhook_endpoint(&caller, &id, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// Makes a new signing secret (shown this once); the current ones keep
/// signing for the overlap, so each delivery carries a `v1` for both.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{endpoint_id}/secret", tag = "webhooks",
    params(("endpoint_id" = String, Path, description = "Endpoint id"), DryRun),
    request_body = SecretRotation,
    responses((status = 200, body = Mutation<EndpointWithSecret>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_webhook_secret(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<EndpointId>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<SecretRotation>,
) -> Result<Response, ApiError> {
    let overlap = body.overlap_hours.unwrap_or(24);
    let outcome = app
        .seats
        .rotate_webhook_secret(&caller, &id, overlap, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
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
    app.seats.webhook_endpoint(&caller, &id).await?;
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
    app.seats.redeliverable_endpoint(&caller, &id).await?;
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
