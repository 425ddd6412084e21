//! The portal: the HTML pages people use, on the same domain service as the
//! seats API and with the same authorisation. Server-rendered (askama,
//! escaped by default), forms that work without JavaScript (POST, redirect,
//! GET), one embedded stylesheet, and no inline script (a strict
//! Content-Security-Policy).
//!
//! - `GET /portal/session?code=…`: the sign-in hand-off from the vendor's
//!   application (a single-use code the API made); `GET /portal/sign-in`
//!   and `GET /portal/callback`: signing in with the vendor's identity
//!   provider; `POST /portal/sign-out`; `GET /portal/signed-out`.
//! - `GET /`: Licenses (admins) or My seats (everyone else).
//! - `GET /teams` and its allocation forms, and (admins) teams created,
//!   renamed and removed (a preview first), `GET /usage` (SVG bars),
//!   `GET /audit` (admins; team managers see their teams); `GET /usage.csv`,
//!   `GET /assignments.csv` (admins): the API's exports, for a browser.
//! - `GET /marketplace`, `GET /marketplace/{product}` (add-ons, bought
//!   with seats), `POST /billing` (the provider's billing portal) (admins).
//! - `GET /settings`: notifications, API keys (created with scopes, the
//!   secret shown once; revoked) (admins); `GET /settings/webhooks`
//!   (endpoints: add with the secret shown once, on/off, new secret,
//!   remove) and `GET /settings/webhooks/{id}` (its deliveries, sent again
//!   on request).
//! - `GET /purchase` (choices and the breakdown), `POST /purchase` (on to
//!   the provider's checkout), `GET /purchase/done?session=…` (progress,
//!   then the summary and "create users now"): admins.
//! - `GET /subscriptions/{id}/seats` (what adding seats costs), `POST` (adds
//!   them): admins, from Licenses.
//! - `GET /users`, `POST /users`, `POST /users/{id}/seats`,
//!   `POST /users/{id}/seats/{product}/revoke`: users and their seats
//!   (admins; team managers within their teams).

mod add_seats;
mod assets;
mod insight;
mod marketplace;
mod page;
mod pages;
mod purchase;
pub mod session;
mod settings;
mod webhooks;

use axum::Router;
use axum::routing::{get, post};
use seatflow_http::{AppState, Authenticator, HasAuthenticator};

pub use page::PageError;

/// What the portal's handlers share.
#[derive(Debug, Clone)]
pub struct PortalState {
    /// Entitlements and authentication (the API's).
    pub app: AppState,
    /// The payment provider (checkout sessions).
    pub payments: std::sync::Arc<dyn seatflow_domain::PaymentGateway>,
    /// Whether the session cookie is `Secure` (served over HTTPS).
    pub secure_cookies: bool,
    /// How seats added to a running subscription are billed.
    pub proration: seatflow_domain::ProrationBehavior,
    /// "Sign in" with the vendor's identity provider, when configured.
    pub sign_in: Option<std::sync::Arc<seatflow_http::oidc_sign_in::OidcSignIn>>,
}

impl PortalState {
    /// The billing flows over this state's ports (the API's own).
    #[must_use]
    pub fn billing(&self) -> seatflow_app::Billing {
        seatflow_app::Billing::new(self.app.seats.clone(), self.payments.clone(), self.proration)
    }
}

impl HasAuthenticator for PortalState {
    fn authenticator(&self) -> &Authenticator {
        &self.app.auth
    }
}

async fn signed_out() -> axum::response::Response {
    page::render(
        axum::http::StatusCode::OK,
        &page::Message {
            layout: page::Layout::anonymous(),
            heading: "Signed out".into(),
            text: "You are signed out of seatflow. Open it again from your application, or sign in, to come back."
                .into(),
            link: Some(("/portal/sign-in".into(), "Sign in".into())),
        },
    )
}

/// The portal's router.
pub fn router(state: PortalState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/users", get(pages::users).post(pages::create_user))
        .route("/users/{user_id}", get(pages::user).post(pages::update_user))
        .route("/users/{user_id}/remove", post(pages::remove_user))
        .route("/users/{user_id}/transfer", post(pages::transfer))
        .route("/users/{user_id}/seats", post(pages::assign))
        .route("/users/{user_id}/seats/{product}/revoke", post(pages::revoke))
        .route("/teams", get(insight::teams))
        .route("/teams/allocations", post(insight::set_allocation))
        .route("/teams/allocations/move", post(insight::move_allocation))
        .route("/teams/new", post(insight::create_team))
        .route("/teams/{team_id}/name", post(insight::rename_team))
        .route("/teams/{team_id}/removal", post(insight::remove_team))
        .route(
            "/teams/{team_id}/allocations/{product}",
            post(insight::set_allocation),
        )
        .route("/usage", get(insight::usage))
        .route("/usage.csv", get(insight::usage_csv))
        .route("/assignments.csv", get(insight::assignments_csv))
        .route("/audit", get(insight::audit))
        .route("/marketplace", get(marketplace::marketplace))
        .route("/marketplace/{product}", get(marketplace::product))
        .route("/billing", post(marketplace::billing))
        .route("/settings", get(settings::settings))
        .route("/settings/notifications", post(settings::save_notifications))
        .route("/settings/api-keys", post(settings::create_key))
        .route("/settings/directory-sync", post(settings::save_directory_sync))
        .route(
            "/settings/license-management",
            post(settings::save_license_management),
        )
        .route("/settings/api-keys/{key_id}/revoke", post(settings::revoke_key))
        .route(
            "/settings/webhooks",
            get(webhooks::webhooks).post(webhooks::create_endpoint),
        )
        .route("/settings/webhooks/{endpoint_id}", get(webhooks::deliveries))
        .route(
            "/settings/webhooks/{endpoint_id}/enabled",
            post(webhooks::set_enabled),
        )
        .route(
            "/settings/webhooks/{endpoint_id}/secret",
            post(webhooks::rotate_secret),
        )
        .route(
            "/settings/webhooks/{endpoint_id}/remove",
            post(webhooks::remove_endpoint),
        )
        .route(
            "/settings/webhooks/{endpoint_id}/deliveries/{event_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/purchase", get(purchase::purchase).post(purchase::checkout))
        .route(
            "/subscriptions/{subscription_id}/seats",
            get(add_seats::add_seats).post(add_seats::confirm_add_seats),
        )
        .route("/purchase/done", get(purchase::done))
        .route("/portal/session", get(session::hand_off))
        .route("/portal/sign-in", get(session::start_sign_in))
        .route("/portal/callback", get(session::finish_sign_in))
        .route("/portal/sign-out", post(session::sign_out))
        .route("/portal/signed-out", get(signed_out))
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::middleware::from_fn(page::security_headers))
        .with_state(state)
}
