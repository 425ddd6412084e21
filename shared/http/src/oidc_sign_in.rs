//! Signing people in with the vendor's identity provider: OpenID Connect's
//! authorization-code flow with PKCE (RFC 7636, `S256`). The portal sends
//! the browser to the provider's authorization endpoint with a fresh
//! `state`, `nonce` and code challenge, kept meanwhile in a short-lived
//! cookie ([`Attempt`]); the provider sends it back with a code, which is
//! exchanged at the token endpoint (client secret and code verifier) for an
//! ID token, verified like any provider token (keys, issuer, audience = the
//! client id, expiry) and bound to the attempt by its `nonce`.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::auth::AuthConfigError;
use crate::oidc::{OidcConfig, OidcVerifier, ProviderIdentity, fetchable, https_connector, identity};
use crate::problem::ApiError;

const TOKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// The portal as a client of the provider.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// The provider, its claim names, and the client id as the audience its
    /// ID tokens are for.
    pub provider: OidcConfig,
    /// The client secret (`client_secret_basic`); `None` for a public client
    /// (PKCE alone).
    pub client_secret: Option<SecretString>,
    /// The scopes asked for (`openid` first).
    pub scopes: String,
}

impl SignInConfig {
    /// From its settings (`var`; `seatflow-config` reads the environment and
    /// the secret): `SEATFLOW_PORTAL_OIDC_CLIENT_ID` (none: `None`, no
    /// sign-in), `SEATFLOW_OIDC_ISSUER` (required with it) and the provider
    /// settings [`OidcConfig::from_vars`] reads, the client id standing for
    /// the audience; `SEATFLOW_PORTAL_OIDC_CLIENT_SECRET`;
    /// `SEATFLOW_PORTAL_OIDC_SCOPES` (default `openid email profile`).
    ///
    /// # Errors
    /// [`AuthConfigError`] for a client id without an issuer, or a
    /// malformed provider setting.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, AuthConfigError> {
        let var = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(client_id) = var("SEATFLOW_PORTAL_OIDC_CLIENT_ID") else {
            return Ok(None);
        };
        let provider = OidcConfig::from_vars(|name| match name {
            "SEATFLOW_OIDC_AUDIENCE" => Some(client_id.clone()),
            other => var(other),
        })?
        .ok_or(AuthConfigError::PortalSignInIssuer)?;
        Ok(Some(Self {
            provider,
            client_secret: var("SEATFLOW_PORTAL_OIDC_CLIENT_SECRET").map(SecretString::from),
            scopes: var("SEATFLOW_PORTAL_OIDC_SCOPES").unwrap_or_else(|| "openid email profile".into()),
        }))
    }
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One sign-in under way: what the browser keeps (in an HttpOnly cookie)
/// between leaving for the provider and coming back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Sent as `state` and compared on return (no sign-in forced on
    /// someone by another site).
    pub state: String,
    /// Sent as `nonce` and required in the ID token (no token replayed).
    pub nonce: String,
    /// The PKCE code verifier (a stolen code is useless without it).
    pub verifier: String,
}

impl Attempt {
    /// A fresh attempt: 256 random bits each.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: random_text(),
            nonce: random_text(),
            verifier: random_text(),
        }
    }

    /// As a cookie value.
    #[must_use]
    pub fn to_cookie(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    /// From its cookie value.
    #[must_use]
    pub fn from_cookie(value: &str) -> Option<Self> {
        let mut parts = value.split('.');
        let (state, nonce, verifier) = (parts.next()?, parts.next()?, parts.next()?);
        let fine = |p: &str| {
            (43..=128).contains(&p.len())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        (parts.next().is_none() && fine(state) && fine(nonce) && fine(verifier)).then(|| Self {
            state: state.to_owned(),
            nonce: nonce.to_owned(),
            verifier: verifier.to_owned(),
        })
    }

    /// The PKCE `S256` challenge of the verifier.
    #[must_use]
    pub fn challenge(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Self::new()
    }
}

/// The provider's endpoints, from its discovery document.
#[derive(Debug, Clone)]
struct Endpoints {
    authorization: String,
    token: String,
}

/// Signs people in with the provider (see the module).
pub struct OidcSignIn {
    config: SignInConfig,
    verifier: OidcVerifier,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    endpoints: tokio::sync::OnceCell<Endpoints>,
}

impl std::fmt::Debug for OidcSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSignIn")
            .field("issuer", &self.config.provider.issuer)
            .field("client_id", &self.config.provider.audience)
            .finish_non_exhaustive()
    }
}

/// The provider failed or answered what a provider should not: the person
/// is told to try again, the operator finds the reason in the log.
fn provider_failed(what: &str) -> ApiError {
    ApiError::upstream("identity_provider_unavailable", &what)
}

impl OidcSignIn {
    /// A sign-in client for `config`.
    ///
    /// # Errors
    /// As [`OidcVerifier::new`].
    pub fn new(config: SignInConfig) -> Result<Self, AuthConfigError> {
        let verifier = OidcVerifier::new(config.provider.clone())?;
        let connector = https_connector()?;
        Ok(Self {
            config,
            verifier,
            http: Client::builder(TokioExecutor::new()).build(connector),
            endpoints: tokio::sync::OnceCell::new(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SignInConfig {
        &self.config
    }

    async fn endpoints(&self) -> Result<&Endpoints, ApiError> {
        self.endpoints
            .get_or_try_init(|| async {
                let document = self
                    .verifier
                    .discovery_document()
                    .await
                    .map_err(|e| provider_failed(&e))?;
                let endpoint = |name: &str| {
                    document
                        .get(name)
                        .and_then(Value::as_str)
                        .filter(|url| fetchable(url))
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            provider_failed(&format!("the discovery document has no usable {name}"))
                        })
                };
                Ok(Endpoints {
                    authorization: endpoint("authorization_endpoint")?,
                    token: endpoint("token_endpoint")?,
                })
            })
            .await
    }

    /// Where to send the browser for `attempt`, coming back to `redirect_uri`.
    ///
    /// # Errors
    /// 502 `identity_provider_unavailable` when the provider's discovery
    /// document cannot be read.
    pub async fn authorization_url(&self, attempt: &Attempt, redirect_uri: &str) -> Result<String, ApiError> {
        let endpoints = self.endpoints().await?;
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.provider.audience)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.config.scopes)
            .append_pair("state", &attempt.state)
            .append_pair("nonce", &attempt.nonce)
            .append_pair("code_challenge", &attempt.challenge())
            .append_pair("code_challenge_method", "S256")
            .finish();
        let separator = if endpoints.authorization.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{separator}{query}", endpoints.authorization))
    }

    fn token_request(
        &self,
        token_endpoint: &str,
        code: &str,
        attempt: &Attempt,
        redirect_uri: &str,
    ) -> Result<hyper::Request<Full<Bytes>>, ApiError> {
        let client_id = &self.config.provider.audience;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", &attempt.verifier);
        let mut request = hyper::Request::post(token_endpoint)
            .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(hyper::header::ACCEPT, "application/json");
        match &self.config.client_secret {
            // RFC 6749 §2.3.1: each part form-encoded, then Basic.
            Some(secret) => {
                let encode =
                    |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
                let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    encode(client_id),
                    encode(secret.expose_secret())
                ));
                request = request.header(hyper::header::AUTHORIZATION, format!("Basic {basic}"));
            }
            None => {
                form.append_pair("client_id", client_id);
            }
        }
        request
            .body(Full::new(Bytes::from(form.finish())))
            .map_err(|e| provider_failed(&e.to_string()))
    }

    /// The person the provider signed in: `code` exchanged (with the
    /// attempt's verifier) for an ID token, verified, and bound to the
    /// attempt by its nonce.
    ///
    /// # Errors
    /// 401 `unauthenticated` for a code the provider refuses or an ID token
    /// that fails a check; 502 `identity_provider_unavailable` when the
    /// provider cannot be reached or answers nonsense.
    pub async fn finish(
        &self,
        code: &str,
        attempt: &Attempt,
        redirect_uri: &str,
    ) -> Result<ProviderIdentity, ApiError> {
        let endpoints = self.endpoints().await?;
        // Built in one step: the form builder is not Send, so it must not
        // live across an await.
        let request = self.token_request(&endpoints.token, code, attempt, redirect_uri)?;
        let response = tokio::time::timeout(TOKEN_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| provider_failed("the token endpoint did not answer in time"))?
            .map_err(|e| provider_failed(&format!("the token endpoint: {e}")))?;
        let status = response.status();
        let body = tokio::time::timeout(
            TOKEN_TIMEOUT,
            Limited::new(response.into_body(), MAX_TOKEN_RESPONSE).collect(),
        )
        .await
        .map_err(|_| provider_failed("the token endpoint did not finish its answer in time"))?
        .map_err(|e| provider_failed(&format!("the token endpoint's answer: {e}")))?
        .to_bytes();
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_client_error() {
            let error = answer.get("error").and_then(Value::as_str).unwrap_or("refused");
            return Err(ApiError::unauthenticated(format!(
                "the identity provider refused the sign-in code ({error})"
            )));
        }
        if !status.is_success() {
            return Err(provider_failed(&format!("the token endpoint answered {status}")));
        }
        let id_token = answer
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| provider_failed("the token endpoint's answer has no id_token"))?;
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| ApiError::unauthenticated(format!("identity provider token: {e}")))?;
        let claims = self.verifier.verified_claims(id_token, &header).await?;
        if claims.get("nonce").and_then(Value::as_str) != Some(attempt.nonce.as_str()) {
            return Err(ApiError::unauthenticated(
                "identity provider token: its nonce is not this sign-in's",
            ));
        }
        identity(&claims, &self.config.provider.claims)
            .map_err(|what| ApiError::unauthenticated(format!("identity provider token: {what}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_survives_its_cookie_and_nothing_else_passes_for_one() {
        let attempt = Attempt::new();
        assert_eq!(Attempt::from_cookie(&attempt.to_cookie()), Some(attempt.clone()));
        assert_ne!(attempt, Attempt::new());
        for bad in [
            "",
            "a.b.c",
            &format!("{}.x", attempt.to_cookie()),
            "..",
            &"x".repeat(200),
        ] {
            assert_eq!(Attempt::from_cookie(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_challenge_is_rfc_7636s_s256() {
        // RFC 7636, Appendix B.
        let attempt = Attempt {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(attempt.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn no_client_id_no_sign_in_and_an_issuer_is_required() {
        let none = SignInConfig::from_vars(|_| None).expect("fine");
        assert!(none.is_none());
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let missing = SignInConfig::from_vars(vars(&[("SEATFLOW_PORTAL_OIDC_CLIENT_ID", "portal")]));
        assert!(matches!(missing, Err(AuthConfigError::PortalSignInIssuer)));
        let config = SignInConfig::from_vars(vars(&[
            ("SEATFLOW_PORTAL_OIDC_CLIENT_ID", "portal"),
            ("SEATFLOW_OIDC_ISSUER", "https://id.example.com"),
            ("SEATFLOW_OIDC_AUDIENCE", "the-api"),
            ("SEATFLOW_PORTAL_OIDC_CLIENT_SECRET", "s3cret"),
        ]))
        .expect("fine")
        .expect("configured");
        assert_eq!(config.provider.audience, "portal", "ID tokens are for the client");
        assert_eq!(config.scopes, "openid email profile");
        assert_eq!(config.client_secret.expect("a secret").expose_secret(), "s3cret");
    }
}
