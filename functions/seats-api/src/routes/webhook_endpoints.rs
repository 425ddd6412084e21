//! Outbound webhook endpoints (admins, and keys with `settings:write`):
//! where the organisation's events go, their signing secrets, and each
//! endpoint's delivery log with redelivery by hand.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use seatflow_domain::{
    EndpointChanges, EndpointId, EndpointWithSecret, EventType, NewEndpoint, PublicEndpoint,
};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, AppState, Caller, Outbound, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

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

pub(super) fn outbound(app: &AppState) -> Result<&Outbound, ApiError> {
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
    Ok(Json(app.seats.integrations().webhook_endpoints(&caller).await?))
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
        .integrations()
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
    Ok(Json(
        app.seats.integrations().webhook_endpoint(&caller, &id).await?,
    ))
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
        .integrations()
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
        .integrations()
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
        .integrations()
        .rotate_webhook_secret(&caller, &id, overlap, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}
