//! The entitlement check for the vendor's own application.

use axum::Json;
use axum::extract::State;
use seatflow_domain::UserEntitlements;
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
#[utoipa::path(get, path = "/v1/entitlements", tag = "users", params(EntitlementQuery),
    responses((status = 200, body = UserEntitlements), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_entitlements(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<EntitlementQuery>,
) -> Result<Json<UserEntitlements>, ApiError> {
    Ok(Json(app.seats.entitlements(&caller, &query.user).await?))
}
