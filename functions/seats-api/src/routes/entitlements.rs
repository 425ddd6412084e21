//! The entitlement check for the vendor's own application.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use seatflow_domain::{Principal, UserEntitlements};
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::IntoParams;

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
    if let Principal::ApiKey(key) = &caller.principal
        && let Err(not_until) = app.entitlement_checks.check_key(key)
    {
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
        return Ok(refused);
    }
    Ok(Json(app.seats.entitlements(&caller, &query.user).await?).into_response())
}
