//! The catalog, the licenses summary and add-ons.

use axum::Json;
use axum::extract::State;
use seatflow_domain::{Catalog, LicenseSummary, ProductKind};
use seatflow_http::{ApiError, Caller, Problem};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

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
    Ok(Json(app.seats.licenses(&caller).await?))
}

/// An add-on of the catalog with the organisation's seats of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddOnView {
    /// The add-on.
    pub product: seatflow_domain::Product,
    /// The organisation's seats of it (zeros when none bought).
    pub seats: LicenseSummary,
}

/// Add-ons: each one in the catalog, with the organisation's seats of it.
#[utoipa::path(get, path = "/v1/add-ons", tag = "licenses",
    responses((status = 200, body = [AddOnView]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_add_ons(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<AddOnView>>, ApiError> {
    let held = app.seats.licenses(&caller).await?;
    let views = app
        .seats
        .catalog()
        .products
        .values()
        .filter(|p| p.kind == ProductKind::AddOn)
        .map(|p| AddOnView {
            seats: held
                .iter()
                .find(|s| s.product == p.id)
                .cloned()
                .unwrap_or(LicenseSummary {
                    product: p.id.clone(),
                    name: p.name.clone(),
                    kind: p.kind,
                    purchased: 0,
                    allocated: 0,
                    assigned: 0,
                    available: 0,
                    over_limit: false,
                }),
            product: p.clone(),
        })
        .collect();
    Ok(Json(views))
}
