//! Notification preferences: who receives billing notices, which kinds the
//! organisation does not want (admins).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{Email, NoticeKind, NotificationPreferences};
use seatflow_http::{ApiError, ApiJson, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{DryRun, Mutation};
use seatflow_http::AppState;

/// The preferences to set (the whole of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPreferences {
    /// Who receives renewal reminders and payment-failed notices (at most
    /// 10); empty: the organisation's admins.
    #[schema(value_type = Vec<String>)]
    pub billing_contacts: Vec<Email>,
    /// Kinds of notice not to send: `renewal`, `payment_failed`, `over_limit`.
    #[serde(default)]
    pub opted_out: BTreeSet<NoticeKind>,
}

/// The organisation's notification preferences (defaults if never set).
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications",
    responses((status = 200, body = NotificationPreferences), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_notifications(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    Ok(Json(
        app.seats.directory().notification_preferences(&caller).await?,
    ))
}

/// Sets the organisation's notification preferences.
#[utoipa::path(put, path = "/v1/notifications", tag = "notifications", params(DryRun), request_body = SetPreferences,
    responses((status = 200, body = Mutation<NotificationPreferences>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_notifications(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<SetPreferences>,
) -> Result<Response, ApiError> {
    let outcome = app
        .seats
        .directory()
        .set_notification_preferences(&caller, body.billing_contacts, body.opted_out, dry.mode())
        .await?;
    Ok(Mutation::respond(outcome, false))
}
