//! Usage per organisation, product and team, from counters.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use seatflow_domain::Usage;
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};

use super::views::{Format, FormatQuery, csv_response};
use seatflow_http::AppState;
use seatflow_http::export::usage_csv;

/// Usage for the organisation, each product and each team (team managers:
/// their teams only); `?format=csv` for billing and compliance exports.
#[utoipa::path(get, path = "/v1/usage", tag = "usage", params(FormatQuery),
    responses((status = 200, content((Usage = "application/json"), (String = "text/csv"))),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_usage(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let usage = app.seats.views().usage(&caller).await?;
    Ok(match query.format {
        Format::Json => Json(usage).into_response(),
        Format::Csv => csv_response("usage.csv", usage_csv(usage)),
    })
}
