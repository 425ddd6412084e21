//! Assigning, revoking and transferring seats, add-ons, and the export.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use seatflow_domain::{Assignment, AssignmentRow, ProductId, SeatError, Transfer, UserId, ValidationError};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::views::{DryRun, Format, Mutation, csv_cell, streamed};
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

/// Holders per export page unless `limit` says otherwise, and at most:
/// 10,000 holders (a few seats each) stay well under Lambda's 6 MB response.
pub const EXPORT_PAGE: usize = 10_000;

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
/// in pages of 500 holders and written out as they are turned into rows.
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
    // Read the page's holders (and one more, to know whether another page
    // follows) before answering, so that the status and `Link` are right.
    let mut chunks = Vec::new();
    let mut after = query.after.clone();
    let mut holders = 0;
    let mut next = None;
    while holders < limit {
        let want = (limit - holders).min(seatflow_domain::MAX_PAGE);
        let page = app.seats.assignment_page(&caller, after.as_ref(), want).await?;
        holders += want;
        after = page.next.clone();
        chunks.push(page.rows);
        if after.is_none() {
            break;
        }
    }
    if holders >= limit
        && let Some(last) = after.clone()
        && app
            .seats
            .assignment_page(&caller, Some(&last), 1)
            .await?
            .next
            .is_some()
    {
        next = Some(last);
    }
    let mut response = match query.format {
        Format::Json => streamed("application/json", None, json_stream(chunks)),
        Format::Csv => streamed(
            "text/csv; charset=utf-8",
            Some("assignments.csv"),
            csv_stream(chunks),
        ),
    };
    if let Some(next) = next {
        let format = match query.format {
            Format::Json => "json",
            Format::Csv => "csv",
        };
        let link = format!("</v1/assignments?format={format}&limit={limit}&after={next}>; rel=\"next\"");
        if let Ok(value) = axum::http::HeaderValue::from_str(&link) {
            response.headers_mut().insert(axum::http::header::LINK, value);
        }
    }
    Ok(response)
}

fn export_row(r: AssignmentRow) -> AssignmentExportRow {
    AssignmentExportRow {
        user_id: r.user.id.to_string(),
        name: r.user.name.as_str().to_owned(),
        email: r.user.email.as_str().to_owned(),
        team_id: r.assignment.team.map(|t| t.to_string()).unwrap_or_default(),
        product: r.assignment.product.to_string(),
        assigned_at: r.assignment.assigned_at,
    }
}

/// The rows as a JSON array, written one chunk at a time.
fn json_stream(chunks: Vec<Vec<AssignmentRow>>) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    let mut first = true;
    std::iter::once(b"[".to_vec())
        .chain(chunks.into_iter().map(move |chunk| {
            let mut out = Vec::new();
            for row in chunk {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                // Plain strings and a timestamp always serialise.
                let _ = serde_json::to_writer(&mut out, &export_row(row));
            }
            out
        }))
        .chain(std::iter::once(b"]".to_vec()))
}

/// The rows as CSV with a header row, written one chunk at a time.
fn csv_stream(chunks: Vec<Vec<AssignmentRow>>) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    let mut header = true;
    chunks.into_iter().map(move |chunk| {
        // The header row goes before the first row, wherever that is.
        let with_header = header && !chunk.is_empty();
        header &= chunk.is_empty();
        let mut writer = csv::WriterBuilder::new()
            .has_headers(with_header)
            .from_writer(Vec::new());
        for row in chunk {
            let row = export_row(row);
            let row = AssignmentExportRow {
                user_id: csv_cell(row.user_id),
                name: csv_cell(row.name),
                email: csv_cell(row.email),
                team_id: csv_cell(row.team_id),
                product: csv_cell(row.product),
                ..row
            };
            // Writing into memory cannot fail.
            let _ = writer.serialize(row);
        }
        writer.into_inner().unwrap_or_default()
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
