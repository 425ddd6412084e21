//! The entitlement check for the vendor's own application, online (a JSON
//! answer) and offline (a signed token it verifies against the published
//! keys without calling seatflow).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use seatflow_domain::{Principal, UserEntitlements};
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use seatflow_http::AppState;

/// Whose entitlements.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntitlementQuery {
    /// A user id, or an email address.
    pub user: String,
}

/// What a user may use right now, and until when (admins and API keys).
/// Each API key may ask a limited number of times per second; past that it
/// gets 429 `rate_limited` with `Retry-After`.
#[utoipa::path(get, path = "/v1/entitlements", tag = "users", params(EntitlementQuery),
    responses((status = 200, body = UserEntitlements), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem, headers(("Retry-After" = String, description = "Seconds to wait")))))]
pub async fn get_entitlements(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<EntitlementQuery>,
) -> Result<Response, ApiError> {
    if let Some(refused) = rate_limited(&app, &caller) {
        return Ok(refused);
    }
    Ok(Json(app.seats.views().entitlements(&caller, &query.user).await?).into_response())
}

/// 429 `rate_limited` with `Retry-After` for an API key past its rate of
/// entitlement checks; nothing for anyone else.
fn rate_limited(app: &AppState, caller: &seatflow_domain::Actor) -> Option<Response> {
    let Principal::ApiKey(key) = &caller.principal else {
        return None;
    };
    let not_until = app.entitlement_checks.check_key(key).err()?;
    let wait = not_until.wait_time_from(governor::clock::Clock::now(
        &governor::clock::DefaultClock::default(),
    ));
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut refused = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many entitlement checks with this API key; retry in {seconds} s"),
    )
    .into_response();
    refused
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    Some(refused)
}

/// An offline entitlement token.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementToken {
    /// The compact JWS (ES256): verify it against `/.well-known/jwks.json`.
    pub token: String,
    /// The key that signed it.
    pub kid: String,
    /// When it stops being valid: the configured lifetime, never past a
    /// product's paid period plus the payment grace.
    pub expires_at: DateTime<Utc>,
}

/// A user's entitlements as a signed token (a JWS, ES256) for the vendor's
/// application to verify offline with any JOSE library: claims `iss`, `sub`
/// (the user), `org`, `products` (`product`, `until`), `iat`, `exp`; the
/// header's `kid` names the key in `/.well-known/jwks.json`. Admins and API
/// keys with `entitlements:read`, rate-limited per key as the check is.
#[utoipa::path(get, path = "/v1/entitlements/token", tag = "users", params(EntitlementQuery),
    responses((status = 200, body = EntitlementToken), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem, headers(("Retry-After" = String, description = "Seconds to wait"))),
        (status = 503, body = Problem, description = "no signing keys are configured")))]
pub async fn get_entitlement_token(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<EntitlementQuery>,
) -> Result<Response, ApiError> {
    if let Some(refused) = rate_limited(&app, &caller) {
        return Ok(refused);
    }
    let tokens = app.entitlement_tokens.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "entitlement_tokens_unavailable",
            "no entitlement signing keys are configured (SEATFLOW_ENTITLEMENT_KEYS)",
        )
    })?;
    let lifetime = chrono::Duration::from_std(tokens.lifetime()).unwrap_or(chrono::Duration::hours(1));
    let claims = app
        .seats
        .views()
        .entitlement_token_claims(&caller, &query.user, lifetime)
        .await?;
    let token = tokens
        .sign(&claims)
        .map_err(|e| ApiError::upstream("signing_failed", &e))?;
    Ok(Json(EntitlementToken {
        token,
        kid: tokens.signing_kid().to_owned(),
        expires_at: claims.expires_at,
    })
    .into_response())
}

/// The public keys that verify entitlement tokens (a JWK Set), the one that
/// signs now and those whose tokens may still be valid. No authentication:
/// they are public.
pub async fn jwks(State(app): State<AppState>) -> Result<Response, ApiError> {
    let tokens = app
        .entitlement_tokens
        .as_ref()
        .ok_or_else(|| ApiError::not_found("no entitlement signing keys are configured"))?;
    let mut response = Json(tokens.jwks()).into_response();
    // Short enough that a rotation's new key is seen before it signs much.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}
