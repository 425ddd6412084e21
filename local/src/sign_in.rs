//! The vendor's application, locally: `GET /dev/sign-in?key=…&role=…&user=…`
//! hands the demo person over to the portal as the vendor's application
//! would (a single-use hand-off, a minute long) and sends the browser on.
//! The key, kept in the state directory, makes the link this machine's
//! developer's alone; the link itself can be opened again and again, which
//! the hand-off it makes each time cannot.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse as _, Redirect, Response};
use axum::routing::get;
use seatflow_domain::{Actor, Mode, Principal};
use seatflow_http::auth::{ApiKeySecret, HAND_OFF_PREFIX};
use seatflow_http::{ApiError, AppState};
use secrecy::ExposeSecret as _;
use serde::Deserialize;

use crate::{RoleArg, demo_person};

#[derive(Clone)]
pub struct SignInState {
    pub app: AppState,
    /// The local key the link carries.
    pub key: String,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    key: String,
    role: Option<RoleArg>,
    user: Option<String>,
}

pub fn router(state: SignInState) -> Router {
    Router::new()
        .route("/dev/sign-in", get(sign_in))
        .with_state(state)
}

/// The link `login-url` prints.
pub fn link(base: &str, key: &str, role: RoleArg, user: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("key", key).append_pair("role", role.as_str());
    if let Some(user) = user {
        query.append_pair("user", user);
    }
    format!("{base}/dev/sign-in?{}", query.finish())
}

async fn sign_in(State(state): State<SignInState>, Query(link): Query<Link>) -> Result<Response, ApiError> {
    if link.key.is_empty() || link.key != state.key {
        return Err(ApiError::unauthenticated(
            "not this machine's sign-in link: print one with `seatflow-local login-url`",
        ));
    }
    let (user, role, teams) = demo_person(link.role.unwrap_or(RoleArg::Admin), link.user.as_deref())
        .map_err(|e| ApiError::unauthenticated(e.to_string()))?;
    let person = Actor {
        org: crate::demo::org(),
        principal: Principal::User(user),
        role,
        teams,
        grants_admin: true,
    };
    let code = ApiKeySecret::generate_with(HAND_OFF_PREFIX);
    state
        .app
        .seats
        .sign_ins()
        .hand_off(&person, &code.hash, Mode::Apply)
        .await?;
    Ok(Redirect::to(&format!("/portal/session?code={}", code.secret.expose_secret())).into_response())
}
