//! What every page shares: the layout (stylesheet, navigation, who is
//! signed in, the CSRF proof), the pages that explain a refusal in words,
//! form parsing, and the security headers of every answer.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use seatflow_domain::{Role, SeatError};
use seatflow_http::ApiError;
use serde::de::DeserializeOwned;

use crate::assets::{script_path, stylesheet_path};
use crate::session::Session;

/// A link of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the page shown.
    pub current: bool,
}

/// The frame of every page.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The stylesheet's URL.
    pub stylesheet: &'static str,
    /// The script's URL.
    pub script: &'static str,
    /// The navigation, for a signed-in person.
    pub nav: Option<Vec<NavItem>>,
    /// Who is signed in.
    pub who: String,
    /// The proof forms carry.
    pub csrf: String,
}

impl Layout {
    /// A page for `session`, with `current` marked in the navigation (the
    /// links its role may follow).
    #[must_use]
    pub fn signed_in(session: &Session, current: &str) -> Self {
        let mut nav = Vec::new();
        let role = session.actor.role;
        let admin = role == Role::Admin;
        let manages = matches!(role, Role::Admin | Role::TeamManager);
        nav.push(("/", if admin { "Licenses" } else { "My seats" }));
        if manages {
            nav.extend([("/users", "Users"), ("/teams", "Teams"), ("/usage", "Usage")]);
        }
        if admin {
            nav.extend([
                ("/marketplace", "Marketplace"),
                ("/purchase", "Buy seats"),
                ("/audit", "Audit log"),
                ("/settings", "Settings"),
            ]);
        }
        let who = match role {
            Role::Admin => "admin",
            Role::TeamManager => "team manager",
            Role::Member => "member",
        };
        Self {
            stylesheet: stylesheet_path(),
            script: script_path(),
            nav: Some(
                nav.into_iter()
                    .map(|(href, label)| NavItem {
                        href,
                        label,
                        current: href == current,
                    })
                    .collect(),
            ),
            who: format!("{} · {who}", session.name),
            csrf: session.csrf.clone(),
        }
    }

    /// A page for nobody in particular.
    #[must_use]
    pub fn anonymous() -> Self {
        Self {
            stylesheet: stylesheet_path(),
            script: script_path(),
            nav: None,
            who: String::new(),
            csrf: String::new(),
        }
    }
}

/// A page that only says something.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message {
    /// The frame.
    pub layout: Layout,
    /// The heading.
    pub heading: String,
    /// The explanation.
    pub text: String,
    /// Where to go from here.
    pub link: Option<(String, String)>,
}

/// The page that sets a new session's cookie and moves on to the start.
#[derive(Template)]
#[template(path = "signing_in.html")]
pub struct SigningIn {
    /// The frame.
    pub layout: Layout,
}

/// Renders a template, or a plain error if it cannot be.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown").into_response()
        }
    }
}

/// Why a page cannot be shown, in a person's words.
#[derive(Debug)]
pub enum PageError {
    /// No session, or it ended (expired, or the person was removed).
    SignedOut,
    /// Their role does not allow it.
    Forbidden(String),
    /// Nothing there.
    NotFound,
    /// A form without this session's proof, or from another site.
    CrossSite,
    /// A sign-in link that was used, expired, or never was one.
    SignInLink,
    /// Signing in with the identity provider did not work, and why.
    SignInFailed(String),
    /// A form the service refused, with the status and its reason.
    Refused(StatusCode, String),
    /// The store or another service failed.
    Unavailable(String),
}

impl From<SeatError> for PageError {
    fn from(error: SeatError) -> Self {
        Self::from(ApiError::from(error))
    }
}

impl From<seatflow_app::BillingError> for PageError {
    fn from(error: seatflow_app::BillingError) -> Self {
        Self::from(ApiError::from(error))
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        match error.status() {
            StatusCode::UNAUTHORIZED => Self::SignedOut,
            StatusCode::FORBIDDEN => Self::Forbidden(error.problem().detail),
            StatusCode::NOT_FOUND => Self::NotFound,
            status if status.is_server_error() => Self::Unavailable(error.problem().detail),
            status => Self::Refused(status, error.problem().detail),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, text) = match self {
            Self::SignedOut => (
                StatusCode::UNAUTHORIZED,
                "You are signed out",
                "Your session has ended or was never started. Open seatflow again from your application, or sign in.".to_owned(),
            ),
            Self::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                "Not available to you",
                format!("Your role does not allow this ({detail}). Ask an admin of your organisation."),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it belongs to someone else.".to_owned(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was sent without its proof that it came from this page, or from another site. Go back, reload the page and try again.".to_owned(),
            ),
            Self::SignInLink => (
                StatusCode::UNAUTHORIZED,
                "This sign-in link does not work",
                "A sign-in link works once, within a minute of being made. Open seatflow again from your application for a new one.".to_owned(),
            ),
            Self::SignInFailed(text) => {
                return render(
                    StatusCode::UNAUTHORIZED,
                    &Message {
                        layout: Layout::anonymous(),
                        heading: "You are not signed in".to_owned(),
                        text,
                        link: Some(("/portal/sign-in".to_owned(), "Sign in again".to_owned())),
                    },
                );
            }
            Self::Refused(status, detail) => (status, "That did not work", detail),
            Self::Unavailable(detail) => {
                tracing::error!(%detail, "a portal page failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Try again in a moment",
                    "seatflow could not reach its data just now. Nothing was changed.".to_owned(),
                )
            }
        };
        render(
            status,
            &Message {
                layout: Layout::anonymous(),
                heading: heading.to_owned(),
                text,
                link: Some(if status == StatusCode::UNAUTHORIZED {
                    ("/portal/sign-in".to_owned(), "Sign in".to_owned())
                } else {
                    ("/".to_owned(), "Back to the start".to_owned())
                }),
            },
        )
    }
}

/// A refusal a form's page explains in words: its status and text. Any
/// other failure (signed out, forbidden, not found, unavailable) passes on.
///
/// # Errors
/// That other failure, as its page.
pub fn refusal(error: SeatError) -> Result<(StatusCode, String), PageError> {
    match PageError::from(error.clone()) {
        PageError::Refused(status, _) => Ok((status, error.to_string())),
        other => Err(other),
    }
}

/// A form body (`application/x-www-form-urlencoded`).
///
/// # Errors
/// [`PageError::Refused`] (400) for a body that is not such a form.
pub fn form<T: DeserializeOwned>(body: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        PageError::Refused(
            StatusCode::BAD_REQUEST,
            format!("the form could not be read: {e}"),
        )
    })
}

/// Headers every portal answer carries: no inline script, no framing, no
/// referrer to other sites (a sign-in link carries its code), no sniffing.
pub async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            // Forms post here, and two of them are then sent on to Stripe's
            // Checkout and Customer Portal (form-action governs redirects too).
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' https://checkout.stripe.com https://billing.stripe.com; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it, browsers send `Origin: null` on form
        // posts, which the CSRF check refuses. Same-origin keeps the hand-off
        // link (it carries its code) from leaking to any other site.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
