//! Signing in and out, and who a request is from. The vendor's application
//! sends the browser to `/portal/session?token=…` with a short-lived token,
//! verified exactly as the API verifies tokens; the portal answers with its
//! own session (a seatflow token for the same person, in an HttpOnly,
//! SameSite=Strict cookie) and sends the browser on. Every request then
//! acts as seatflow stores that person now (see `Authenticator::admit`).
//!
//! State-changing forms carry a CSRF proof derived from the session cookie,
//! which another site can neither read nor compute, and a cross-site
//! `Origin` is refused outright.

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use seatflow_domain::{Actor, Principal, UserId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};

use crate::PortalState;
use crate::page::{PageError, form};

/// The session cookie's name.
pub const COOKIE: &str = "seatflow_session";
/// How long a portal session lasts at most (shorter if tokens may not live so long).
pub const SESSION_SECONDS: u64 = 8 * 3600;

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who they are, as stored now.
    pub actor: Actor,
    /// The proof their forms carry.
    pub csrf: String,
}

/// The CSRF proof for a session token.
fn csrf_for(token: &str) -> String {
    let digest = Sha256::digest(format!("seatflow-portal-csrf:{token}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..18])
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl FromRequestParts<PortalState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &PortalState) -> Result<Self, Self::Rejection> {
        let token = cookie_value(&parts.headers, COOKIE).ok_or(PageError::SignedOut)?;
        let (actor, _) = person(state, token).await?;
        Ok(Self {
            actor,
            csrf: csrf_for(token),
        })
    }
}

impl Session {
    /// Refuses a state-changing request without this session's proof, or
    /// from another site.
    ///
    /// # Errors
    /// [`PageError::CrossSite`].
    pub fn check(&self, headers: &HeaderMap, proof: &str) -> Result<(), PageError> {
        let same_origin = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
            (Some(origin), Some(host)) => origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://").map(|(_, rest)| rest))
                .is_some_and(|o| Some(o) == host.to_str().ok()),
            // Browsers send Origin on every cross-site POST; without one the
            // proof alone decides.
            (None, _) => true,
            (Some(_), None) => false,
        };
        if same_origin && !proof.is_empty() && proof == self.csrf {
            Ok(())
        } else {
            Err(PageError::CrossSite)
        }
    }
}

/// A state-changing form from a signed-in person: their session and the
/// form, which is read only once its CSRF proof and origin were checked.
/// Every POST handler takes its form this way, so none can skip the check.
#[derive(Debug)]
pub struct Submitted<T>(pub Session, pub T);

/// The largest form body read (the longest, a user's details, is a few
/// hundred bytes).
const FORM_LIMIT: usize = 64 * 1024;

impl<T: DeserializeOwned> FromRequest<PortalState> for Submitted<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &PortalState) -> Result<Self, Self::Rejection> {
        #[derive(Deserialize)]
        struct Proof {
            #[serde(default)]
            csrf: String,
        }
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let body = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            PageError::Refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is larger than any of this portal's forms".into(),
            )
        })?;
        let proof: Proof = form(&body)?;
        session.check(&parts.headers, &proof.csrf)?;
        Ok(Self(session, form(&body)?))
    }
}

/// The person `token` signs in, verified as the API verifies tokens (a
/// removed or deactivated user is refused); machine clients are not people.
async fn person(state: &PortalState, token: &str) -> Result<(Actor, UserId), PageError> {
    let actor = state
        .app
        .auth
        .authenticate(Some(&format!("Bearer {token}")))
        .await?;
    let Principal::User(user) = &actor.principal else {
        return Err(PageError::SignedOut);
    };
    let user = user.clone();
    Ok((actor, user))
}

/// The hand-off's query.
#[derive(Debug, Deserialize)]
pub struct Handoff {
    token: Option<String>,
}

/// `GET /portal/session?token=…`: signs the browser in.
pub async fn sign_in(
    State(state): State<PortalState>,
    Query(handoff): Query<Handoff>,
) -> Result<Response, PageError> {
    let token = handoff
        .token
        .filter(|t| !t.is_empty())
        .ok_or(PageError::SignedOut)?;
    let (actor, user) = person(&state, &token).await?;
    let ttl = SESSION_SECONDS.min(state.app.auth.max_token_lifetime());
    let session = state
        .app
        .auth
        .mint(&user, &actor.org, actor.role, &actor.teams, ttl)
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}");
    tracing::info!(org = %actor.org, user = %user, "signed in to the portal");
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| PageError::Unavailable(e.to_string()))?,
    );
    Ok(response)
}

/// `POST /portal/sign-out`: clears the session.
pub async fn sign_out(Submitted(_, _): Submitted<IgnoredAny>) -> Result<Response, PageError> {
    let mut response = Redirect::to("/portal/signed-out").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("seatflow_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}
