//! Assigning, revoking and transferring seats, add-ons, and the export.

use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{Assignment, ProductId, SeatError, Transfer, UserId, ValidationError};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::views::{DryRun, Format, Mutation};
use seatflow_http::AppState;
use seatflow_http::export::{AssignmentExportRow, EXPORT_PAGE};

/// A seat to assign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The product (a plan or an add-on).
    #[schema(value_type = String)]
    pub product: ProductId,
    /// The user.
    #[schema(value_type = String)]
    pub user: UserId,
}

/// A seat to move between users.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The product.
    #[schema(value_type = String)]
    pub product: ProductId,
    /// Current holder.
    #[schema(value_type = String)]
    pub from_user: UserId,
    /// New holder.
    #[schema(value_type = String)]
    pub to_user: UserId,
}

/// An add-on to give a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddOnRequest {
    /// The add-on product.
    #[schema(value_type = String)]
    pub product: ProductId,
}

/// One page of the assignment export.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Format,
    /// Start after this holder (the `after` of the previous page's `Link`).
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub after: Option<UserId>,
    /// Holders per page, 1 to 10,000 (default 10,000).
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<usize>,
}

/// Every seat with its holder (admins), one page of holders at a time;
/// `?format=csv` for the export. When more holders follow, the response
/// carries `Link: <…&after=…>; rel="next"`. Each page is read from the store
/// in pages of 500 holders and written out as they are turned into rows. An
/// API key needs `seats:read` and `users:read` (the rows name people).
#[utoipa::path(get, path = "/v1/assignments", tag = "assignments", params(ExportQuery),
    responses((status = 200, content((Vec<AssignmentExportRow> = "application/json"), (String = "text/csv")),
            headers(("Link" = String, description = "The next page, when there is one: `<…>; rel=\"next\"`"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_assignments(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let limit = match query.limit {
        None => EXPORT_PAGE,
        Some(n @ 1..=EXPORT_PAGE) => n,
        Some(_) => return Err(ApiError::invalid_query("limit", "must be 1 to 10000")),
    };
    Ok(seatflow_http::export::assignment_export(
        &app.seats,
        &caller,
        query.format,
        query.after,
        limit,
        "/v1/assignments",
    )
    .await?)
}

/// Assigns a seat to a user.
#[utoipa::path(post, path = "/v1/assignments", tag = "assignments", params(DryRun), request_body = AssignRequest,
    responses((status = 201, body = Mutation<Assignment>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_seat(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .allocations()
        .assign(&caller, &body.product, &body.user, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, true))
}

/// Revokes a user's seat; their add-ons go with their last base seat.
#[utoipa::path(delete, path = "/v1/assignments/{product}/{user_id}", tag = "assignments",
    params(("product" = String, Path, description = "Product id"), ("user_id" = String, Path, description = "User id"), DryRun),
    responses((status = 200, body = Mutation<Vec<Assignment>>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn unassign_seat(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath((product, user)): ApiPath<(ProductId, UserId)>,
    ApiQuery(dry): ApiQuery<DryRun>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .allocations()
        .unassign(&caller, &product, &user, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

/// Moves a seat from one user to another in one change.
#[utoipa::path(post, path = "/v1/transfers", tag = "assignments", params(DryRun), request_body = TransferRequest,
    responses((status = 200, body = Mutation<Transfer>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn transfer_seat(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<TransferRequest>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .allocations()
        .transfer(&caller, &body.product, &body.from_user, &body.to_user, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}

fn require_add_on(app: &AppState, product: &ProductId) -> Result<(), ApiError> {
    match app.seats.catalog().product(product) {
        Some(p) if p.kind == seatflow_domain::ProductKind::AddOn => Ok(()),
        Some(_) => {
            Err(ValidationError::new("product", format!("'{product}' is a plan, not an add-on")).into())
        }
        None => Err(SeatError::UnknownAddOn(product.to_string()).into()),
    }
}

/// Gives a user an add-on; they must hold a base seat.
#[utoipa::path(post, path = "/v1/users/{user_id}/add-ons", tag = "assignments",
    params(("user_id" = String, Path, description = "User id"), DryRun), request_body = AddOnRequest,
    responses((status = 201, body = Mutation<Assignment>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_add_on(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath(user): ApiPath<UserId>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<AddOnRequest>,
) -> Result<Response, ApiError> {
    require_add_on(&app, &body.product)?;
    let outcome = app
        .seats
        .allocations()
        .assign(&caller, &body.product, &user, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, true))
}

/// Takes an add-on from a user (their base seat stays).
#[utoipa::path(delete, path = "/v1/users/{user_id}/add-ons/{product}", tag = "assignments",
    params(("user_id" = String, Path, description = "User id"), ("product" = String, Path, description = "Add-on id"), DryRun),
    responses((status = 200, body = Mutation<Vec<Assignment>>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn unassign_add_on(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiPath((user, product)): ApiPath<(UserId, ProductId)>,
    ApiQuery(dry): ApiQuery<DryRun>,
) -> Result<Response, ApiError> {
    require_add_on(&app, &product)?;
    let outcome = app
        .seats
        .allocations()
        .unassign(&caller, &product, &user, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}
