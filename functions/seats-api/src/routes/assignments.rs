//! Assigning, revoking and transferring seats, add-ons, and the export.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use seatflow_domain::{Assignment, ProductId, SeatError, Transfer, UserId, ValidationError};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{DryRun, Format, FormatQuery, Mutation, csv_response, to_csv};
use seatflow_http::AppState;

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

/// One seat and its holder, as exported.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentExportRow {
    /// Holder's id.
    pub user_id: String,
    /// Holder's name.
    pub name: String,
    /// Holder's email.
    pub email: String,
    /// Team whose counters count the seat.
    pub team_id: String,
    /// Product.
    pub product: String,
    /// When assigned.
    pub assigned_at: DateTime<Utc>,
}

/// Every seat with its holder (admins); `?format=csv` for the export.
#[utoipa::path(get, path = "/v1/assignments", tag = "assignments", params(FormatQuery),
    responses((status = 200, content((Vec<AssignmentExportRow> = "application/json"), (String = "text/csv"))),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_assignments(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let rows: Vec<AssignmentExportRow> = app
        .seats
        .assignment_rows(&caller)
        .await?
        .into_iter()
        .map(|r| AssignmentExportRow {
            user_id: r.user.id.to_string(),
            name: r.user.name.as_str().to_owned(),
            email: r.user.email.as_str().to_owned(),
            team_id: r.assignment.team.map(|t| t.to_string()).unwrap_or_default(),
            product: r.assignment.product.to_string(),
            assigned_at: r.assignment.assigned_at,
        })
        .collect();
    Ok(match query.format {
        Format::Json => Json(rows).into_response(),
        Format::Csv => csv_response("assignments.csv", to_csv(rows)),
    })
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
    let outcome = app.seats.unassign(&caller, &product, &user, dry.mode()).await?;
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
    let outcome = app.seats.unassign(&caller, &product, &user, dry.mode()).await?;
    Ok(Mutation::respond(outcome, false))
}
