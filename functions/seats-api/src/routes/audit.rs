//! The audit log.

use axum::Json;
use axum::extract::State;
use seatflow_domain::{AuditId, AuditPage};
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::IntoParams;

use seatflow_http::AppState;

/// Which page of the audit log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this (the previous page's `next_cursor`).
    #[param(value_type = Option<String>)]
    pub cursor: Option<AuditId>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn list_audit(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(
        app.seats
            .views()
            .audit(
                &caller,
                query.cursor.as_ref(),
                seatflow_http::page_limit(query.limit, 50, 500)?,
            )
            .await?,
    ))
}
