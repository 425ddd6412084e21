//! API keys for machine clients (person admins only).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{ApiKey, ApiKeyId, Outcome};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem, auth::ApiKeySecret};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{DryRun, Mutation};
use seatflow_http::AppState;

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for.
    pub name: String,
    /// What it may do (`entitlements:read`, `users:read`, `users:write`,
    /// `seats:read`, `seats:write`, `billing:read`, `billing:write`,
    /// `audit:read`, `settings:write`); `["entitlements:read"]` when absent.
    #[serde(default)]
    pub scopes: Vec<seatflow_domain::ApiScope>,
}

/// A created key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    pub key: ApiKey,
    /// The secret to send as `Authorization: Bearer …`; absent on a dry run.
    pub secret: Option<String>,
}

/// The organisation's API keys (never their secrets).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = [ApiKey]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_api_keys(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(app.seats.integrations().api_keys(&caller).await?))
}

/// Creates an API key scoped to the caller's organisation.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", params(DryRun), request_body = NewApiKey,
    responses((status = 201, body = Mutation<CreatedApiKey>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_api_key(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<Response, ApiError> {
    let secret = ApiKeySecret::generate();
    let outcome = app
        .seats
        .integrations()
        .create_api_key(
            &caller,
            &body.name,
            &secret.prefix,
            &secret.hash,
            &body.scopes,
            dry.mode(),
        )
        .await?;
    let shown = (!outcome.dry_run).then(|| secret.secret.expose_secret().to_owned());
    let outcome = Outcome {
        value: CreatedApiKey {
            key: outcome.value,
            secret: shown,
        },
        audit: outcome.audit,
        dry_run: outcome.dry_run,
    };
    Ok(Mutation::respond(outcome, true))
}

/// Revokes an API key; it authenticates nobody from then on.
#[utoipa::path(delete, path = "/v1/api-keys/{key_id}", tag = "api-keys",
    params(("key_id" = String, Path, description = "API key id"), DryRun),
    responses((status = 200, body = Mutation<ApiKey>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<ApiKeyId>,
    ApiQuery(dry): ApiQuery<DryRun>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .integrations()
        .revoke_api_key(&caller, &id, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}
