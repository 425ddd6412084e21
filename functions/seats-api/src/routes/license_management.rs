//! The organisation's license management: a full pool refuses (manual) or
//! buys the seat on the organisation's subscription (automatic), within a
//! budget per billing period (admins).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use seatflow_domain::{LicenseManagement, LicenseMode, Outcome};
use seatflow_http::{ApiError, ApiJson, ApiQuery, AppState, Caller, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::views::{DryRun, Mutation};

/// The license management settings.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseSettings {
    /// `manual`: a full pool refuses a seat (`no_seats_available`).
    /// `automatic`: a user who needs a seat when none is free gets one at
    /// once, bought on the organisation's subscription for the product and
    /// billed prorated on its next invoice.
    pub mode: LicenseMode,
    /// The most seats of each product bought automatically in one billing
    /// period; `null` (or absent): no limit. Past it an add is refused with
    /// `auto_seat_budget_exhausted`.
    #[serde(default)]
    pub max_auto_seats_per_period: Option<u32>,
    /// Whether admins and billing contacts are told of automatic purchases
    /// and refusals (default true).
    #[serde(default = "notify_by_default")]
    pub notify: bool,
}

fn notify_by_default() -> bool {
    true
}

impl From<LicenseManagement> for LicenseSettings {
    fn from(settings: LicenseManagement) -> Self {
        Self {
            mode: settings.mode,
            max_auto_seats_per_period: settings.max_auto_seats_per_period,
            notify: settings.notify,
        }
    }
}

/// The license management settings (admins and keys with `billing:read`).
#[utoipa::path(get, path = "/v1/license-management", tag = "licenses",
    responses((status = 200, body = LicenseSettings), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_license_management(
    Caller(caller): Caller,
    State(app): State<AppState>,
) -> Result<Json<LicenseSettings>, ApiError> {
    let settings = app.seats.subscriptions().license_management(&caller).await?;
    Ok(Json(settings.into()))
}

/// Sets the license management settings (admins and keys with
/// `billing:write`); `?dry_run=true` shows the change and its audit entry.
#[utoipa::path(put, path = "/v1/license-management", tag = "licenses", params(DryRun), request_body = LicenseSettings,
    responses((status = 200, body = Mutation<LicenseSettings>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_license_management(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(body): ApiJson<LicenseSettings>,
) -> Result<Response, ApiError> {
    let settings = LicenseManagement {
        mode: body.mode,
        max_auto_seats_per_period: body.max_auto_seats_per_period,
        notify: body.notify,
    };
    let outcome = app
        .seats
        .subscriptions()
        .set_license_management(&caller, &settings, dry.mode())
        .await?;
    Ok(Mutation::respond(
        Outcome {
            value: LicenseSettings::from(outcome.value),
            dry_run: outcome.dry_run,
            audit: outcome.audit,
        },
        false,
    ))
}
