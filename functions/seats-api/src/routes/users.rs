//! Users: created one at a time (optionally with a seat) or imported in bulk, changed, removed.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{
    DisplayName, Email, NewUser, ProductId, Role, TeamId, User, UserChanges, UserId, UserSeats,
};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{DryRun, Mutation};
use seatflow_http::AppState;

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The id to give the user (for example your own user id); a fresh one when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub id: Option<UserId>,
    /// Display name.
    #[schema(value_type = String)]
    pub name: DisplayName,
    /// Email, unique in the organisation.
    #[schema(value_type = String)]
    pub email: Email,
    /// `admin`, `team_manager` or `member`.
    pub role: Role,
    /// Team, if any.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub team: Option<TeamId>,
    /// A plan's product to assign a seat of in the same change.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub seat: Option<ProductId>,
}

/// Which users to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only this team's members.
    #[param(value_type = Option<String>)]
    pub team: Option<TeamId>,
    /// Users with ids after this one (the previous page's `next_after`).
    #[param(value_type = Option<String>)]
    pub after: Option<UserId>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Users by id.
    pub users: Vec<User>,
    /// Pass as `after` for the next page; absent on the last page.
    #[schema(value_type = Option<String>)]
    pub next_after: Option<UserId>,
}

/// Users the caller may see, by id, a page at a time.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = UserPage), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_users(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> Result<Json<UserPage>, ApiError> {
    let limit = seatflow_http::page_limit(query.limit, 100, seatflow_domain::MAX_PAGE)?;
    let users = app
        .seats
        .directory()
        .users(&caller, query.team.as_ref(), query.after.as_ref(), limit)
        .await?;
    let next_after = if users.len() == limit.clamp(1, seatflow_domain::MAX_PAGE) {
        users.last().map(|u| u.id.clone())
    } else {
        None
    };
    Ok(Json(UserPage { users, next_after }))
}

/// Creates a user, optionally with a seat in the same change.
#[utoipa::path(post, path = "/v1/users", tag = "users", params(DryRun), request_body = CreateUser,
    responses((status = 201, body = Mutation<UserSeats>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let new = NewUser {
        id: body.id,
        name: body.name,
        email: Some(body.email),
        directory: None,
        role: body.role,
        team: body.team,
    };
    let outcome = app
        .seats
        .directory()
        .create_user(&caller, new, body.seat.as_ref(), dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, true))
}

/// A user and their seats.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id")),
    responses((status = 200, body = UserSeats), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_user(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(user): ApiPath<UserId>,
) -> Result<Json<UserSeats>, ApiError> {
    Ok(Json(app.seats.directory().user(&caller, &user).await?))
}

/// Changes to a user: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// A new display name.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Option<DisplayName>,
    /// A new email, unique in the organisation.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    /// A new role: `admin`, `team_manager` or `member`.
    #[serde(default)]
    pub role: Option<Role>,
    /// A new team; `null` for none. Their seats move with them.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub team: Option<Option<TeamId>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Changes a user's name, email, role or team in one audited change. A team
/// move carries their seats to the new team's counts, or is refused with
/// `team_allocation_exhausted` (the new team's allocation is full) or
/// `no_seats_available` (the unallocated seats are). A role change takes
/// effect on their next request. Admins only; not one's own role.
#[utoipa::path(patch, path = "/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id"), DryRun), request_body = UpdateUser,
    responses((status = 200, body = Mutation<UserSeats>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn update_user(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(user): ApiPath<UserId>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Response, ApiError> {
    let changes = UserChanges {
        name: body.name,
        email: body.email.map(Some),
        role: body.role,
        team: body.team,
        directory: None,
    };
    let outcome = app
        .seats
        .directory()
        .update_user(&caller, &user, &changes, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// Removes a user: every seat and add-on they hold goes back in the same
/// change, their email is free again, the audit log keeps who they were, and
/// their tokens are refused from then on. Admins only; not oneself.
#[utoipa::path(delete, path = "/v1/users/{user_id}", tag = "users",
    params(("user_id" = String, Path, description = "User id"), DryRun),
    responses((status = 200, body = Mutation<UserSeats>, description = "The user as they were, with the seats given back"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_user(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(user): ApiPath<UserId>,
    ApiQuery(dry): ApiQuery<DryRun>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .directory()
        .remove_user(&caller, &user, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// The caller's own account and seats.
#[utoipa::path(get, path = "/v1/me", tag = "users",
    responses((status = 200, body = UserSeats), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_me(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<UserSeats>, ApiError> {
    Ok(Json(app.seats.directory().me(&caller).await?))
}
