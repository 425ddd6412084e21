//! The vendor's operators, across tenants, with an operator key (`sfo_…`):
//! find organisations, look into one for support, open one with its first
//! admin, grant and end manual seats. No organisation's credential reaches
//! these routes, and an operator key reaches no other.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use seatflow_domain::{
    FirstAdmin, GrantId, JobFailure, Mode, NewGrant, OpenedOrganization, OrgId, OrganizationPage,
    OrganizationTriage, ProductId, SeatGrant,
};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, AppState, OperatorCaller, Problem};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::views::Mutation;

/// Which organisations.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FindOrganizations {
    /// Part of an id or name (any case), or a subscription id (`sub_…`).
    pub q: Option<String>,
    /// The `next_after` of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<OrgId>,
    /// At most this many (1 to 100, default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// An organisation to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Its id: the vendor's tenant id, as its people's tokens name it.
    #[schema(value_type = String)]
    pub id: OrgId,
    /// Its display name.
    pub name: String,
    /// Its first admin.
    pub admin: FirstAdmin,
}

/// Seats the vendor gives outside any subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The product.
    #[schema(value_type = String)]
    pub product: ProductId,
    /// Seats, at least one.
    pub quantity: u32,
    /// When the grant ends, if it does (reconciliation ends it then).
    pub until: Option<DateTime<Utc>>,
    /// Why: a contract, a trial, a ticket (1 to 200 characters).
    pub reference: String,
}

/// Finds organisations, by id.
#[utoipa::path(get, path = "/v1/operator/organizations", tag = "operators", params(FindOrganizations),
    responses((status = 200, body = OrganizationPage), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn find_organizations(
    OperatorCaller(operator): OperatorCaller,
    State(app): State<AppState>,
    ApiQuery(query): ApiQuery<FindOrganizations>,
) -> Result<Json<OrganizationPage>, ApiError> {
    let page = app
        .seats
        .organizations()
        .find_organizations(
            &operator,
            query.q.as_deref(),
            query.after.as_ref(),
            seatflow_http::page_limit(query.limit, 50, 100)?,
        )
        .await?;
    Ok(Json(page))
}

/// Opens an organisation with its first admin.
#[utoipa::path(post, path = "/v1/operator/organizations", tag = "operators", request_body = NewOrganization,
    responses((status = 201, body = OpenedOrganization), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn open_organization(
    OperatorCaller(operator): OperatorCaller,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<NewOrganization>,
) -> Result<Response, ApiError> {
    let opened = app
        .seats
        .organizations()
        .open_organization(&operator, &body.id, &body.name, &body.admin)
        .await?;
    Ok((StatusCode::CREATED, Json(opened)).into_response())
}

/// One organisation for support: pools, subscriptions, grants, admins and
/// recent audit.
#[utoipa::path(get, path = "/v1/operator/organizations/{org_id}", tag = "operators",
    params(("org_id" = String, Path, description = "Organisation id")),
    responses((status = 200, body = OrganizationTriage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_organization(
    OperatorCaller(operator): OperatorCaller,
    State(app): State<AppState>,
    ApiPath(org): ApiPath<OrgId>,
) -> Result<Json<OrganizationTriage>, ApiError> {
    Ok(Json(app.seats.organizations().triage(&operator, &org).await?))
}

/// Provisioning jobs failing now, of every organisation (unknown ones
/// included): what failed, how often, since when. Each is retried, and
/// parked in the dead-letter queue after its last attempt.
#[utoipa::path(get, path = "/v1/operator/jobs", tag = "operators",
    responses((status = 200, body = [JobFailure]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn failed_jobs(
    OperatorCaller(operator): OperatorCaller,
    State(app): State<AppState>,
) -> Result<Json<Vec<JobFailure>>, ApiError> {
    Ok(Json(app.seats.integrations().failed_jobs(&operator, None).await?))
}

/// Grants seats outside any subscription (a contract, a trial).
#[utoipa::path(post, path = "/v1/operator/organizations/{org_id}/grants", tag = "operators",
    params(("org_id" = String, Path, description = "Organisation id")), request_body = GrantRequest,
    responses((status = 201, body = Mutation<SeatGrant>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn grant_seats(
    OperatorCaller(operator): OperatorCaller,
    State(app): State<AppState>,
    ApiPath(org): ApiPath<OrgId>,
    ApiJson(body): ApiJson<GrantRequest>,
) -> Result<Response, ApiError> {
    let grant = NewGrant::parse(body.product, body.quantity, body.until, &body.reference)
        .map_err(seatflow_domain::SeatError::from)?;
    let outcome = app
        .seats
        .subscriptions()
        .grant_seats(&operator.acting_in(org), &grant, Mode::Apply)
        .await?;
    Ok(Mutation::respond(outcome, true))
}

/// Ends a grant: its seats stop counting (seats in use stay assigned, the
/// pool shows over its limit).
#[utoipa::path(delete, path = "/v1/operator/organizations/{org_id}/grants/{grant_id}", tag = "operators",
    params(("org_id" = String, Path, description = "Organisation id"),
        ("grant_id" = String, Path, description = "Grant id")),
    responses((status = 200, body = SeatGrant), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn end_grant(
    OperatorCaller(operator): OperatorCaller,
    State(app): State<AppState>,
    ApiPath((org, grant)): ApiPath<(OrgId, GrantId)>,
) -> Result<Json<SeatGrant>, ApiError> {
    Ok(Json(
        app.seats
            .subscriptions()
            .end_grant(&operator.acting_in(org), &grant)
            .await?,
    ))
}
