//! Hand-offs to the portal: the vendor's application, holding a person's
//! token, asks for a link that signs that person in to the portal once,
//! within a minute, and sends their browser to it. The link carries no API
//! credential: the API refuses it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use seatflow_http::auth::{ApiKeySecret, HAND_OFF_PREFIX};
use seatflow_http::{ApiError, ApiQuery, AppState, Caller, Problem};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use utoipa::ToSchema;

use super::views::DryRun;

/// A sign-in link for the portal.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandOff {
    /// Where to send the person's browser: it signs them in once. Absent on
    /// a dry run.
    pub url: Option<String>,
    /// When the link stops working (a minute from now).
    pub expires_at: DateTime<Utc>,
    /// Whether this was a dry run (nothing kept).
    pub dry_run: bool,
}

/// A single-use link that signs the calling person in to the portal within
/// 60 seconds. People only: an API key stands for no person (403).
#[utoipa::path(post, path = "/v1/portal/hand-offs", tag = "portal", params(DryRun),
    responses((status = 201, body = HandOff), (status = 200, description = "dry run: nothing kept", body = HandOff),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn create_hand_off(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = ApiKeySecret::generate_with(HAND_OFF_PREFIX);
    let dry_run = dry.mode() == seatflow_domain::Mode::DryRun;
    let pass = app
        .seats
        .sign_ins()
        .hand_off(&caller, &secret.hash, dry.mode())
        .await?;
    let answer = HandOff {
        url: (!dry_run).then(|| {
            format!(
                "{}/portal/session?code={}",
                seatflow_http::request_origin(&headers),
                secret.secret.expose_secret()
            )
        }),
        expires_at: pass.expires_at,
        dry_run,
    };
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(answer)).into_response())
}
