//! Usage per organisation, product and team, from counters.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use seatflow_domain::Usage;
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};
use serde::Serialize;

use super::views::{Format, FormatQuery, csv_cell, csv_response, to_csv};
use seatflow_http::AppState;

/// One CSV row: a scope (organisation, product or team) and its counts.
#[derive(Debug, Serialize)]
struct UsageRow {
    scope: &'static str,
    team_id: String,
    team_name: String,
    product: String,
    purchased: Option<u32>,
    allocated: Option<u32>,
    assigned: u32,
    available: Option<u32>,
}

fn rows(usage: Usage) -> Vec<UsageRow> {
    let mut rows = Vec::new();
    if let Some(org) = usage.organization {
        rows.push(UsageRow {
            scope: "organization",
            team_id: String::new(),
            team_name: String::new(),
            product: String::new(),
            purchased: Some(org.purchased),
            allocated: Some(org.allocated),
            assigned: org.assigned,
            available: Some(org.available),
        });
    }
    rows.extend(usage.products.into_iter().map(|p| UsageRow {
        scope: "product",
        team_id: String::new(),
        team_name: String::new(),
        product: p.product.to_string(),
        purchased: Some(p.purchased),
        allocated: Some(p.allocated),
        assigned: p.assigned,
        available: Some(p.available),
    }));
    rows.extend(usage.teams.into_iter().map(|t| UsageRow {
        scope: "team",
        team_id: t.team.to_string(),
        team_name: t.team_name,
        product: t.product.to_string(),
        purchased: None,
        allocated: t.allocated,
        assigned: t.assigned,
        available: t.allocated.map(|a| a.saturating_sub(t.assigned)),
    }));
    rows
}

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
    let usage = app.seats.usage(&caller).await?;
    Ok(match query.format {
        Format::Json => Json(usage).into_response(),
        Format::Csv => csv_response(
            "usage.csv",
            to_csv(rows(usage).into_iter().map(|row| UsageRow {
                team_id: csv_cell(row.team_id),
                team_name: csv_cell(row.team_name),
                product: csv_cell(row.product),
                ..row
            })),
        ),
    })
}
