//! Signing in and out, and who a request is from. A person arrives signed
//! in one of two ways:
//!
//! - a hand-off: the vendor's application, holding the person's token, asks
//!   the API for a link (`POST /v1/portal/hand-offs`) and sends the browser
//!   to `/portal/session?code=…`; the code works once, within a minute, and
//!   is no API credential;
//! - "Sign in" (`/portal/sign-in`): OpenID Connect's authorization-code flow
//!   with PKCE against the vendor's identity provider, back at
//!   `/portal/callback` (see `seatflow_http::oidc_sign_in`).
//!
//! Either way the portal opens a session kept in the store and gives the
//! browser its secret in an HttpOnly, SameSite=Strict cookie. Every request
//! looks the session up and then acts as seatflow stores that person now
//! (see `Authenticator::admit`); signing out ends the session in the store,
//! so a copied cookie stops working too.
//!
//! State-changing forms carry a CSRF proof derived from the session cookie,
//! which another site can neither read nor compute, and a cross-site
//! `Origin` is refused outright.

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use seatflow_domain::{Actor, OrgId, Principal, SESSION_SECONDS, UserId};
use seatflow_http::auth::{ApiKeySecret, HAND_OFF_PREFIX, SESSION_PREFIX};
use seatflow_http::oidc_sign_in::Attempt;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};

use crate::PortalState;
use crate::page::{self, PageError, form};

/// The session cookie's name.
pub const COOKIE: &str = "seatflow_session";
/// The cookie that carries a sign-in with the identity provider while the
/// browser is away at the provider.
const ATTEMPT_COOKIE: &str = "seatflow_sign_in";
/// How long the browser may stay at the provider, in seconds.
const ATTEMPT_SECONDS: u32 = 600;

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who they are, as stored now.
    pub actor: Actor,
    /// Their name, as the header shows it.
    pub name: String,
    /// The proof their forms carry.
    pub csrf: String,
    /// Where the store keeps the session (the digest of its secret).
    digest: String,
}

/// The CSRF proof for a session secret.
fn csrf_for(secret: &str) -> String {
    let digest = Sha256::digest(format!("seatflow-portal-csrf:{secret}").as_bytes());
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
        let secret = cookie_value(&parts.headers, COOKIE)
            .filter(|s| s.starts_with(SESSION_PREFIX))
            .ok_or(PageError::SignedOut)?;
        let digest = ApiKeySecret::hash(secret);
        let pass = state
            .app
            .seats
            .sign_ins()
            .session(&digest)
            .await?
            .ok_or(PageError::SignedOut)?;
        // The person as stored now: a removed user is signed out, a
        // demotion applies at once.
        let (actor, user) = state
            .app
            .seats
            .directory()
            .signed_in_user(&pass.org, &pass.user)
            .await?
            .ok_or(PageError::SignedOut)?;
        let name = user.name.as_str().to_owned();
        Ok(Self {
            actor,
            name,
            csrf: csrf_for(secret),
            digest,
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

fn cookie_header(text: &str) -> Result<HeaderValue, PageError> {
    HeaderValue::from_str(text).map_err(|e| PageError::Unavailable(e.to_string()))
}

/// How long a session lasts, in seconds.
fn session_ttl() -> u64 {
    u64::try_from(SESSION_SECONDS).unwrap_or(8 * 3600)
}

/// The answer to a browser whose session was opened under `secret`: its
/// cookie, and a page that moves on to the start. Not a redirect: a browser
/// that came from another site (the vendor's application, the provider)
/// would not send a SameSite=Strict cookie on a redirect of that same
/// navigation.
fn signed_in(
    state: &PortalState,
    secret: &ApiKeySecret,
    org: &OrgId,
    user: &UserId,
) -> Result<Response, PageError> {
    let mut response = page::render(
        StatusCode::OK,
        &page::SigningIn {
            layout: page::Layout::anonymous(),
        },
    );
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        secret.secret.expose_secret(),
        session_ttl(),
        secure(state)
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie_header(&cookie)?);
    tracing::info!(%org, %user, "signed in to the portal");
    Ok(response)
}

fn secure(state: &PortalState) -> &'static str {
    if state.secure_cookies { "; Secure" } else { "" }
}

/// The hand-off's query.
#[derive(Debug, Deserialize)]
pub struct HandOff {
    code: Option<String>,
}

/// `GET /portal/session?code=…`: signs the browser in with a hand-off.
pub async fn hand_off(
    State(state): State<PortalState>,
    Query(handed): Query<HandOff>,
) -> Result<Response, PageError> {
    let used = || PageError::SignInLink;
    let code = handed
        .code
        .filter(|c| c.starts_with(HAND_OFF_PREFIX))
        .ok_or_else(used)?;
    let session = ApiKeySecret::generate_with(SESSION_PREFIX);
    let pass = state
        .app
        .seats
        .sign_ins()
        .redeem(&ApiKeySecret::hash(&code), &session.hash, session_ttl())
        .await?
        .ok_or_else(used)?;
    signed_in(&state, &session, &pass.org, &pass.user)
}

/// `GET /portal/sign-in`: off to the identity provider, or, when the vendor
/// configured none, how to sign in instead.
pub async fn start_sign_in(
    State(state): State<PortalState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(provider) = &state.sign_in else {
        return Ok(page::render(
            StatusCode::OK,
            &page::Message {
                layout: page::Layout::anonymous(),
                heading: "Sign in from your application".into(),
                text:
                    "This seatflow is opened from your application: open it there, and you arrive signed in."
                        .into(),
                link: None,
            },
        ));
    };
    let attempt = Attempt::new();
    let url = provider
        .authorization_url(&attempt, &callback_url(&headers))
        .await?;
    let mut response = Redirect::to(&url).into_response();
    // Lax, not Strict: the provider sends the browser back from its own site.
    let cookie = format!(
        "{ATTEMPT_COOKIE}={}; Path=/portal/callback; HttpOnly; SameSite=Lax; Max-Age={ATTEMPT_SECONDS}{}",
        attempt.to_cookie(),
        secure(&state)
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie_header(&cookie)?);
    Ok(response)
}

fn callback_url(headers: &HeaderMap) -> String {
    format!("{}/portal/callback", seatflow_http::request_origin(headers))
}

/// What the provider sends the browser back with.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /portal/callback`: the provider's answer; signs the person in.
pub async fn finish_sign_in(
    State(state): State<PortalState>,
    Query(back): Query<Callback>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(provider) = &state.sign_in else {
        return Err(PageError::NotFound);
    };
    let failed = |text: &str| PageError::SignInFailed(text.to_owned());
    if let Some(error) = back.error {
        return Err(failed(&format!(
            "Your identity provider did not sign you in ({error})."
        )));
    }
    let attempt = cookie_value(&headers, ATTEMPT_COOKIE)
        .and_then(Attempt::from_cookie)
        .ok_or_else(|| {
            failed("This sign-in was not started in this browser, or took longer than ten minutes.")
        })?;
    if back.state.as_deref() != Some(attempt.state.as_str()) {
        return Err(failed("This sign-in was not started in this browser."));
    }
    let code = back
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| failed("Your identity provider sent no sign-in code."))?;
    let who = provider
        .finish(&code, &attempt, &callback_url(&headers))
        .await
        .map_err(|e| match e.status() {
            StatusCode::UNAUTHORIZED => failed(&format!(
                "Your identity provider's answer could not be accepted: {}.",
                e.problem().detail
            )),
            _ => PageError::from(e),
        })?;
    let claimed = Actor {
        org: who.org,
        principal: Principal::User(who.user),
        role: who.role,
        teams: who.teams,
        grants_admin: true,
    };
    // An admin's first sign-in may found their organisation, as with a token.
    let actor = state
        .app
        .auth
        .admit(claimed, who.email.as_deref(), who.org_name.as_deref())
        .await
        .map_err(|e| match e.status() {
            StatusCode::UNAUTHORIZED => failed(
                "Your identity provider signed you in, but you are not a user of your organisation in seatflow. Ask one of its admins to add you.",
            ),
            _ => PageError::from(e),
        })?;
    let user = actor.user_id().ok_or(PageError::SignedOut)?;
    let session = ApiKeySecret::generate_with(SESSION_PREFIX);
    state
        .app
        .seats
        .sign_ins()
        .open_session(&actor.org, user, &session.hash, session_ttl())
        .await?;
    let mut response = signed_in(&state, &session, &actor.org, user)?;
    let spent = format!("{ATTEMPT_COOKIE}=; Path=/portal/callback; HttpOnly; SameSite=Lax; Max-Age=0");
    response
        .headers_mut()
        .append(header::SET_COOKIE, cookie_header(&spent)?);
    Ok(response)
}

/// `POST /portal/sign-out`: ends the session, here and in the store.
pub async fn sign_out(
    State(state): State<PortalState>,
    Submitted(session, _): Submitted<IgnoredAny>,
) -> Result<Response, PageError> {
    state.app.seats.sign_ins().end_session(&session.digest).await?;
    tracing::info!(org = %session.actor.org, "signed out of the portal");
    let mut response = Redirect::to("/portal/signed-out").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("seatflow_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}
