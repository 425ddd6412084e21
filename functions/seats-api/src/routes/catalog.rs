//! The catalog, the licenses summary and add-ons.

use axum::Json;
use axum::extract::State;
use seatflow_domain::{AddOnSeats, Catalog, LicenseSummary, SubscriptionOverview};
use seatflow_http::{ApiError, Caller, Problem};

use seatflow_http::AppState;

/// The product catalog: plans, add-ons and prices.
#[utoipa::path(get, path = "/v1/catalog", tag = "licenses",
    responses((status = 200, body = Catalog), (status = 401, body = Problem)))]
pub async fn get_catalog(Caller(_caller): Caller, State(app): State<AppState>) -> Json<Catalog> {
    Json(app.seats.catalog().clone())
}

/// Seats per product: purchased, allocated, assigned, available, over-limit.
#[utoipa::path(get, path = "/v1/licenses", tag = "licenses",
    responses((status = 200, body = [LicenseSummary]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_licenses(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<LicenseSummary>>, ApiError> {
    Ok(Json(app.seats.views().licenses(&caller).await?))
}

/// Every subscription at a glance: plan, term, items and quantities, status,
/// current period, renewal date and amount, whether it ends at the period's
/// end; renewing soonest first.
#[utoipa::path(get, path = "/v1/subscriptions", tag = "licenses",
    responses((status = 200, body = [SubscriptionOverview]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_subscriptions(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<SubscriptionOverview>>, ApiError> {
    Ok(Json(
        app.seats.subscriptions().subscription_overviews(&caller).await?,
    ))
}

/// Add-ons: each one in the catalog, with the organisation's seats of it.
#[utoipa::path(get, path = "/v1/add-ons", tag = "licenses",
    responses((status = 200, body = [AddOnSeats]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_add_ons(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<AddOnSeats>>, ApiError> {
    Ok(Json(app.seats.views().add_ons(&caller).await?))
}
