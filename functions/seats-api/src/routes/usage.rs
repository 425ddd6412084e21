//! Usage per organisation, product and team, from counters.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use seatflow_domain::{Activity, DEFAULT_IDLE_DAYS, Usage};
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::IntoParams;

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

/// Where active ends and idle begins.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// A seat used within this many days is active (1 to 365; default 30).
    #[param(minimum = 1, maximum = 365)]
    pub idle_days: Option<u32>,
}

/// Active, idle and never-used seats per product and team (team managers:
/// their teams only), from the days the entitlement check recorded.
#[utoipa::path(get, path = "/v1/usage/activity", tag = "usage", params(ActivityQuery),
    responses((status = 200, body = Activity), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn get_activity(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> Result<Json<Activity>, ApiError> {
    let idle_days = query.idle_days.unwrap_or(DEFAULT_IDLE_DAYS);
    Ok(Json(app.seats.views().activity(&caller, idle_days).await?))
}
