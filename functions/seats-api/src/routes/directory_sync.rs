//! The organisation's directory sync (SCIM) policy: which plan a user its
//! identity provider creates gets a seat of (admins).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{Outcome, ProductId};
use seatflow_http::{ApiError, ApiJson, ApiQuery, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{DryRun, Mutation};
use seatflow_http::AppState;

/// The directory sync policy.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectorySync {
    /// The plan a user created through SCIM gets a seat of when one is free
    /// (otherwise they are created without and flagged `seatPending`);
    /// `null`: no seat.
    #[schema(value_type = Option<String>)]
    pub default_product: Option<ProductId>,
}

/// The directory sync policy (admins and keys with `users:read`).
#[utoipa::path(get, path = "/v1/directory-sync", tag = "users",
    responses((status = 200, body = DirectorySync), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_directory_sync(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<DirectorySync>, ApiError> {
    caller.require_admin("see the directory sync policy")?;
    let org = app
        .seats
        .organizations()
        .organization(&caller.org)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("organisation '{}' not found", caller.org)))?;
    Ok(Json(DirectorySync {
        default_product: org.directory_seat,
    }))
}

/// Sets the directory sync policy (admins and keys with `settings:write`).
#[utoipa::path(put, path = "/v1/directory-sync", tag = "users", params(DryRun), request_body = DirectorySync,
    responses((status = 200, body = Mutation<DirectorySync>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_directory_sync(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<DirectorySync>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .directory()
        .set_directory_seat(&caller, body.default_product.as_ref(), dry.mode())
        .await?;
    Ok(Mutation::respond(
        Outcome {
            value: DirectorySync {
                default_product: outcome.value.directory_seat,
            },
            dry_run: outcome.dry_run,
            audit: outcome.audit,
        },
        false,
    ))
}
