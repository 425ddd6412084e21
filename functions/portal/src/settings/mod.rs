//! Settings (admins, signed in as themselves): who receives billing notices
//! and which, and API keys (created with scopes, the secret shown once;
//! revoked).
//! The page is here; the forms that change it are `forms`.

mod forms;

pub use forms::{create_key, revoke_key, save_directory_sync, save_license_management, save_notifications};

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{ApiKeyId, ApiScope, Email, Mode, NoticeKind, ProductId, SeatError};
use seatflow_http::auth::ApiKeySecret;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// A key, in words.
pub struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    notice: Option<String>,
    /// A refusal and the form it is shown in: `contacts`, `key` (a new
    /// key) or `keys` (a revocation).
    problem: Option<(String, String)>,
    new_secret: Option<String>,
    contacts: String,
    kinds: Vec<(&'static str, &'static str, bool)>,
    keys: Vec<KeyRow>,
    scopes: Vec<(&'static str, &'static str)>,
    /// The plans, and the one directory users get a seat of (empty: none).
    plans: Vec<(String, String)>,
    directory_seat: String,
    /// Whether a full pool buys the seat (automatic license management).
    automatic: bool,
    /// The most seats bought automatically per period (empty: no limit).
    auto_max: String,
}

const KINDS: [(NoticeKind, &str); 4] = [
    (NoticeKind::Renewal, "Renewal reminders"),
    (NoticeKind::PaymentFailed, "Failed payments"),
    (NoticeKind::OverLimit, "Seats over the limit"),
    (NoticeKind::AutoPurchases, "Seats bought automatically"),
];

fn scope_label(scope: ApiScope) -> &'static str {
    match scope {
        ApiScope::EntitlementsRead => "Check entitlements",
        ApiScope::UsersRead => "Read users and teams",
        ApiScope::UsersWrite => "Change users and teams",
        ApiScope::SeatsRead => "Read seats and usage",
        ApiScope::SeatsWrite => "Assign and revoke seats",
        ApiScope::BillingRead => "Read billing",
        ApiScope::BillingWrite => "Buy and change subscriptions",
        ApiScope::AuditRead => "Read the audit log",
        ApiScope::SettingsWrite => "Change settings",
        ApiScope::Scim => "Provision users from your identity provider (SCIM)",
        ApiScope::AdminsWrite => "Make and unmake admins",
    }
}

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// `GET /settings`.
pub async fn settings(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let notice = query.saved.as_deref().map(|what| match what {
        "revoked" => "The key was revoked: it no longer works.".to_owned(),
        "license-automatic" => {
            "Saved: when every seat of a plan is taken, the next one is bought on your subscription."
                .to_owned()
        }
        "license-manual" => {
            "Saved: when every seat of a plan is taken, the next person is refused.".to_owned()
        }
        _ => "Saved.".to_owned(),
    });
    settings_page(&session, &state, notice, None, None, StatusCode::OK).await
}

async fn settings_page(
    session: &Session,
    state: &PortalState,
    notice: Option<String>,
    problem: Option<(String, String)>,
    new_secret: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let preferences = seats.directory().notification_preferences(&session.actor).await?;
    let organization = seats.organizations().organization(&session.actor.org).await?;
    let license = organization
        .as_ref()
        .map(|o| o.license_management.clone())
        .unwrap_or_default();
    let keys = seats
        .integrations()
        .api_keys(&session.actor)
        .await?
        .into_iter()
        .filter(|k| k.revoked_at.is_none())
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name.as_str().to_owned(),
            prefix: k.prefix.clone(),
            scopes: k
                .scopes
                .iter()
                .map(|s| scope_label(*s))
                .collect::<Vec<_>>()
                .join(", "),
            last_used: k.last_used_at.map_or_else(
                || "never".to_owned(),
                |at| at.format("%-d %b %Y %H:00 UTC").to_string(),
            ),
        })
        .collect();
    let page = SettingsPage {
        layout: Layout::signed_in(session, "/settings"),
        notice,
        problem,
        new_secret,
        contacts: preferences
            .billing_contacts
            .iter()
            .map(Email::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        kinds: KINDS
            .iter()
            .map(|(kind, label)| (kind.as_str(), *label, !preferences.opted_out.contains(kind)))
            .collect(),
        keys,
        scopes: ApiScope::ALL
            .iter()
            .map(|s| (s.as_str(), scope_label(*s)))
            .collect(),
        plans: seats
            .catalog()
            .products
            .values()
            .filter(|p| p.kind == seatflow_domain::ProductKind::Plan)
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect(),
        directory_seat: organization
            .as_ref()
            .and_then(|o| o.directory_seat.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default(),
        automatic: license.mode == seatflow_domain::LicenseMode::Automatic,
        auto_max: license
            .max_auto_seats_per_period
            .map(|n| n.to_string())
            .unwrap_or_default(),
    };
    Ok(render(status, &page))
}

impl SettingsPage {
    fn problem_at(&self, at: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(key, _)| key == at)
            .map(|(_, text)| text.as_str())
    }
}

/// Shows a refusal next to form `at` of the settings page, or passes
/// other errors on.
async fn refused(
    session: &Session,
    state: &PortalState,
    at: &str,
    error: SeatError,
) -> Result<Response, PageError> {
    let (status, text) = crate::page::refusal(error)?;
    settings_page(session, state, None, Some((at.to_owned(), text)), None, status).await
}
