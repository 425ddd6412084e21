//! Team allocations of seats per product.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{ProductId, TeamId, TeamSeats};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{DryRun, Mutation};
use seatflow_http::AppState;

/// A team's allocation of a product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    /// Seats set aside for the team; `null` removes the allocation (members
    /// then draw on the unallocated pool).
    pub seats: Option<u32>,
}

/// Moving allocated seats between two teams.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The product.
    #[schema(value_type = String)]
    pub product: ProductId,
    /// Team giving seats.
    #[schema(value_type = String)]
    pub from_team: TeamId,
    /// Team receiving them.
    #[schema(value_type = String)]
    pub to_team: TeamId,
    /// How many.
    pub seats: u32,
}

/// Sets a team's allocation of a product (admins).
#[utoipa::path(put, path = "/v1/teams/{team_id}/allocations/{product}", tag = "teams",
    params(("team_id" = String, Path, description = "Team id"), ("product" = String, Path, description = "Product id"), DryRun),
    request_body = AllocationRequest,
    responses((status = 200, body = Mutation<TeamSeats>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_allocation(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath((team, product)): ApiPath<(TeamId, ProductId)>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<AllocationRequest>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .allocations()
        .set_allocation(&caller, &team, &product, body.seats, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// Allocations and usage of every team the caller manages.
#[utoipa::path(get, path = "/v1/allocations", tag = "teams",
    responses((status = 200, body = [TeamSeats]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_allocations(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<TeamSeats>>, ApiError> {
    Ok(Json(app.seats.allocations().list(&caller).await?))
}

/// Moves allocated seats from one team to another (admins, or a manager of both).
#[utoipa::path(post, path = "/v1/allocations/moves", tag = "teams", params(DryRun), request_body = MoveRequest,
    responses((status = 200, body = Mutation<Vec<TeamSeats>>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn move_allocation(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<MoveRequest>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .allocations()
        .move_allocation(
            &caller,
            &body.product,
            &body.from_team,
            &body.to_team,
            body.seats,
            dry.mode(),
        )
        .await?;
    Ok(Mutation::respond(outcome, false))
}
