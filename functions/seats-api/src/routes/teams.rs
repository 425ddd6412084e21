//! Teams.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{Team, TeamId, TeamRemoval};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{DryRun, Mutation};
use seatflow_http::AppState;

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// The id to give the team; a fresh one when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub id: Option<TeamId>,
    /// Team name.
    pub name: String,
}

/// A team's changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamChanges {
    /// The team's new name.
    pub name: String,
}

/// Teams the caller manages (every team, for admins).
#[utoipa::path(get, path = "/v1/teams", tag = "teams",
    responses((status = 200, body = [Team]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_teams(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(app.seats.directory().teams(&caller).await?))
}

/// Creates a team (admins).
#[utoipa::path(post, path = "/v1/teams", tag = "teams", params(DryRun), request_body = NewTeam,
    responses((status = 201, body = Mutation<Team>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_team(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<NewTeam>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .directory()
        .create_team(&caller, body.id.as_ref(), &body.name, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, true))
}

/// One team the caller manages.
#[utoipa::path(get, path = "/v1/teams/{team_id}", tag = "teams",
    params(("team_id" = String, Path, description = "Team id")),
    responses((status = 200, body = Team), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_team(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(team): ApiPath<TeamId>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(app.seats.directory().team(&caller, &team).await?))
}

/// Renames a team (admins): its id, members and allocations stay.
#[utoipa::path(patch, path = "/v1/teams/{team_id}", tag = "teams", params(("team_id" = String, Path, description = "Team id"), DryRun),
    request_body = TeamChanges,
    responses((status = 200, body = Mutation<Team>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rename_team(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(team): ApiPath<TeamId>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<TeamChanges>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .directory()
        .rename_team(&caller, &team, &body.name, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// Removes a team (admins): its allocations go back to the pool, its members
/// keep their seats and belong to no team. Large teams are emptied in
/// batches; a removal cut short can be asked again.
#[utoipa::path(delete, path = "/v1/teams/{team_id}", tag = "teams", params(("team_id" = String, Path, description = "Team id"), DryRun),
    responses((status = 200, body = Mutation<TeamRemoval>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_team(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(team): ApiPath<TeamId>,
    ApiQuery(dry): ApiQuery<DryRun>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .directory()
        .remove_team(&caller, &team, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}
