//! Bearer authentication. A request carries either a JWT (people: HS256 with
//! a secret from the environment, claims naming organisation, role and, for
//! team managers, teams) or an API key (machine clients: `sfk_…`, looked up by
//! its SHA-256 hash). Either way the handler gets a [`Caller`] scoped to one
//! organisation.

use axum::extract::FromRequestParts;
use axum::http::{StatusCode, header, request::Parts};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use seatflow_domain::{Actor, ApiScope, Operator, OrgId, Principal, Role, Seats, TeamId, UserId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::problem::ApiError;

/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_LEN: usize = 32;
/// Prefix of every API key secret.
pub const API_KEY_PREFIX: &str = "sfk_";
/// Prefix of every operator key secret (the vendor's staff).
pub const OPERATOR_KEY_PREFIX: &str = "sfo_";
/// Prefix of a portal hand-off (single use, a minute; never an API credential).
pub const HAND_OFF_PREFIX: &str = "sfh_";
/// Prefix of a portal session's cookie (never an API credential).
pub const SESSION_PREFIX: &str = "sfs_";

/// How JWTs are checked.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    secret: SecretString,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Longest lifetime (`exp - iat`) a token may have, in seconds: a token
    /// minted to last longer is refused, however fresh.
    pub max_lifetime_seconds: u64,
}

/// A token may live at most a day unless configured
/// (`SEATFLOW_JWT_MAX_LIFETIME_HOURS`).
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS: u64 = 24 * 3600;

/// Why the JWT configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// No secret configured.
    #[error("SEATFLOW_JWT_SECRET is not set")]
    MissingSecret,
    /// The secret is too short to be safe for HS256.
    #[error("SEATFLOW_JWT_SECRET must be at least {MIN_SECRET_LEN} bytes")]
    ShortSecret,
    /// The maximum lifetime is not a whole number of hours from 1 to 720.
    #[error("SEATFLOW_JWT_MAX_LIFETIME_HOURS must be 1 to 720 hours")]
    MaxLifetime,
    /// An identity provider without the audience its tokens are for.
    #[error("SEATFLOW_OIDC_AUDIENCE must be set with SEATFLOW_OIDC_ISSUER")]
    OidcAudience,
    /// The portal's sign-in names a client but no provider.
    #[error(
        "SEATFLOW_OIDC_ISSUER must be set with SEATFLOW_PORTAL_OIDC_CLIENT_ID (the provider the portal signs people in with)"
    )]
    PortalSignInIssuer,
    /// A claim mapping that is not `field=claim,…` over known fields.
    #[error(
        "SEATFLOW_OIDC_CLAIMS must be field=claim pairs separated by commas, fields among org, user, role, teams, email, org_name"
    )]
    ClaimNames,
    /// A key cache lifetime out of range.
    #[error("SEATFLOW_OIDC_JWKS_TTL_SECONDS must be 60 to 86400")]
    KeysTtl,
    /// Keys that would be fetched without TLS.
    #[error("the identity provider's keys must be fetched over HTTPS, not {0}")]
    InsecureUrl(String),
    /// Operator keys that are not `name=sha256hex` pairs.
    #[error("SEATFLOW_OPERATOR_KEYS must be name=sha256hex pairs separated by commas")]
    OperatorKeys,
    /// No trust roots to check the provider's certificate with.
    #[error("no trust roots for the identity provider's HTTPS: {0}")]
    TrustRoots(String),
}

impl JwtConfig {
    /// A configuration with `secret` and the default issuer and audience.
    ///
    /// # Errors
    /// [`AuthConfigError::ShortSecret`].
    pub fn new(secret: SecretString) -> Result<Self, AuthConfigError> {
        if secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(AuthConfigError::ShortSecret);
        }
        Ok(Self {
            secret,
            issuer: "seatflow".into(),
            audience: "seatflow-api".into(),
            max_lifetime_seconds: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
        })
    }

    /// From its settings (`var`; `seatflow-config` reads the environment):
    /// `SEATFLOW_JWT_SECRET`, and optionally `SEATFLOW_JWT_ISSUER` and
    /// `SEATFLOW_JWT_AUDIENCE`.
    ///
    /// # Errors
    /// [`AuthConfigError`] when the secret is missing or short.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        let secret = var("SEATFLOW_JWT_SECRET").ok_or(AuthConfigError::MissingSecret)?;
        Self::with_secret(SecretString::from(secret), var)
    }

    /// With `secret` (read elsewhere: Secrets Manager), and the rest from
    /// `var` as [`JwtConfig::from_vars`] reads it.
    ///
    /// # Errors
    /// A short secret; a bad maximum lifetime.
    pub fn with_secret(
        secret: SecretString,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AuthConfigError> {
        let mut config = Self::new(secret)?;
        if let Some(issuer) = var("SEATFLOW_JWT_ISSUER") {
            config.issuer = issuer;
        }
        if let Some(audience) = var("SEATFLOW_JWT_AUDIENCE") {
            config.audience = audience;
        }
        if let Some(hours) = var("SEATFLOW_JWT_MAX_LIFETIME_HOURS") {
            config.max_lifetime_seconds = hours
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|h| (1..=24 * 30).contains(h))
                .ok_or(AuthConfigError::MaxLifetime)?
                * 3600;
        }
        Ok(config)
    }
}

/// The claims of a seatflow access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The organisation id.
    pub org: String,
    /// `admin`, `team_manager` or `member`.
    pub role: Role,
    /// For team managers: the teams they manage.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// The person's email: with it, an admin's first token for an
    /// organisation seatflow does not know founds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The organisation's display name, when the token founds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
}

/// A freshly generated API key secret: shown once, stored only as its hash.
#[derive(Debug, Clone)]
pub struct ApiKeySecret {
    /// The secret to hand to the client.
    pub secret: SecretString,
    /// Its first characters, stored to recognise it by.
    pub prefix: String,
    /// Hex SHA-256 of the secret: what the store keeps.
    pub hash: String,
}

impl ApiKeySecret {
    /// A new random API key (256 bits).
    #[must_use]
    pub fn generate() -> Self {
        Self::generate_with(API_KEY_PREFIX)
    }

    /// A new random operator key (256 bits).
    #[must_use]
    pub fn generate_operator() -> Self {
        Self::generate_with(OPERATOR_KEY_PREFIX)
    }

    /// A new random secret of 256 bits after `prefix` (the portal's
    /// hand-offs and sessions use this too: [`HAND_OFF_PREFIX`],
    /// [`SESSION_PREFIX`]).
    #[must_use]
    pub fn generate_with(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!(
            "{prefix}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        Self {
            prefix: secret[..12].to_owned(),
            hash: Self::hash(&secret),
            secret: SecretString::from(secret),
        }
    }

    /// Hex SHA-256 of a secret.
    #[must_use]
    pub fn hash(secret: &str) -> String {
        Sha256::digest(secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The vendor's operator keys: each a name and the SHA-256 of its secret.
/// Only hashes are configured, so the configuration cannot sign anyone in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorKeys(std::collections::HashMap<String, String>);

impl OperatorKeys {
    /// `name=sha256hex` pairs separated by commas (empty: no operators).
    ///
    /// # Errors
    /// [`AuthConfigError::OperatorKeys`] for a pair that is not a name and a
    /// 64-digit hex hash.
    pub fn parse(text: &str) -> Result<Self, AuthConfigError> {
        let mut keys = std::collections::HashMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, hash) = pair
                .split_once('=')
                .map(|(n, h)| (n.trim(), h.trim().to_ascii_lowercase()))
                .filter(|(n, h)| {
                    seatflow_domain::DisplayName::parse(n).is_ok()
                        && h.len() == 64
                        && h.bytes().all(|b| b.is_ascii_hexdigit())
                })
                .ok_or(AuthConfigError::OperatorKeys)?;
            keys.insert(hash, name.to_owned());
        }
        Ok(Self(keys))
    }

    /// From `SEATFLOW_OPERATOR_KEYS` (unset: no operators), as `var` reads it.
    ///
    /// # Errors
    /// As [`OperatorKeys::parse`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        var("SEATFLOW_OPERATOR_KEYS").map_or_else(|| Ok(Self::default()), |t| Self::parse(&t))
    }

    /// These keys and one more, `name` with secret hash `hash`.
    #[must_use]
    pub fn with(mut self, name: &str, hash: &str) -> Self {
        self.0.insert(hash.to_ascii_lowercase(), name.to_owned());
        self
    }

    fn name_of(&self, secret: &str) -> Option<&str> {
        self.0.get(&ApiKeySecret::hash(secret)).map(String::as_str)
    }
}

/// The claims of a token that API Gateway's JWT authorizer verified, as the
/// gateway hands them to the function (every value a string; arrays as
/// `[a b]`). Only the Lambda entry point puts them on a request, from the
/// request context API Gateway built: a client cannot send them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayClaims(pub std::collections::HashMap<String, String>);

/// Whether `SEATFLOW_GATEWAY_JWT` (as `var` reads it) asks to trust
/// gateway-verified tokens (`true`/`1`; anything else, or unset: no).
#[must_use]
pub fn trust_gateway(var: impl Fn(&str) -> Option<String>) -> bool {
    matches!(
        var("SEATFLOW_GATEWAY_JWT").as_deref().map(str::trim),
        Some("true" | "1")
    )
}

/// Verifies bearer credentials.
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
    config: JwtConfig,
    seats: Seats,
    trust_gateway: bool,
    /// An identity provider whose RS256/ES256 tokens are accepted too.
    provider: Option<crate::oidc::OidcVerifier>,
    /// The vendor's operators.
    operators: OperatorKeys,
    /// Organisations known to exist: checked once per process, not per request.
    known: std::sync::Mutex<std::collections::HashSet<OrgId>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// An authenticator checking JWTs with `config` and API keys through `seats`.
    #[must_use]
    pub fn new(config: JwtConfig, seats: Seats) -> Self {
        let secret = config.secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Self {
            decoding: DecodingKey::from_secret(secret),
            encoding: EncodingKey::from_secret(secret),
            validation,
            config,
            seats,
            trust_gateway: false,
            provider: None,
            operators: OperatorKeys::default(),
            known: std::sync::Mutex::default(),
        }
    }

    /// Lets `actor` in, founding their organisation first when seatflow does
    /// not know it and the token carries the founder's `email` (see
    /// `Organizations::found_organization`). Then a person is taken as seatflow
    /// stores them, not as the token says: their stored role and team, so a
    /// demotion or team move takes effect at once, and a user removed (or
    /// never added) is refused however fresh the token. Machine clients are
    /// their keys.
    ///
    /// # Errors
    /// 401 for a malformed email claim or a user the organisation does not
    /// have; 403 when the organisation is unknown and the caller may not
    /// found it; 503 if the store is unavailable.
    pub async fn admit(
        &self,
        actor: Actor,
        email: Option<&str>,
        org_name: Option<&str>,
    ) -> Result<Actor, ApiError> {
        if let Some(email) = email.filter(|e| !e.is_empty())
            && !self.known_orgs().contains(&actor.org)
        {
            let email = seatflow_domain::Email::parse(email)
                .map_err(|_| ApiError::unauthenticated("invalid token: email claim"))?;
            let founded = self
                .seats
                .organizations()
                .found_organization(&actor, &email, org_name)
                .await?;
            if founded {
                tracing::info!(org = %actor.org, "organisation founded by its first admin's sign-in");
            }
            self.known_orgs().insert(actor.org.clone());
        }
        let Some(user) = actor.user_id() else {
            return Ok(actor);
        };
        self.seats
            .directory()
            .signed_in(&actor.org, user)
            .await?
            .ok_or_else(|| {
                ApiError::unauthenticated(format!(
                    "user '{user}' is not a user of organisation '{}' (removed, or never added)",
                    actor.org
                ))
            })
    }

    fn known_orgs(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<OrgId>> {
        // A set of ids cannot be left half-changed by a panic.
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Also accepts callers whose identity provider token API Gateway's JWT
    /// authorizer verified ([`GatewayClaims`]): the deployment option where an
    /// external identity provider signs people's tokens. Off unless asked for
    /// (`SEATFLOW_GATEWAY_JWT=true` in the entry points).
    #[must_use]
    pub fn trusting_gateway_claims(mut self, trust: bool) -> Self {
        self.trust_gateway = trust;
        self
    }

    /// Also accepts the RS256 and ES256 tokens of an OIDC identity provider,
    /// verified here against its published keys (see [`crate::oidc`]).
    #[must_use]
    pub fn with_identity_provider(mut self, provider: crate::oidc::OidcVerifier) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Also accepts the vendor's operators, by these keys.
    #[must_use]
    pub fn with_operator_keys(mut self, keys: OperatorKeys) -> Self {
        self.operators = keys;
        self
    }

    /// The operator behind an `Authorization` header value.
    ///
    /// # Errors
    /// 401 `unauthenticated` for a missing, unknown or invalid credential;
    /// 403 `operator_only` for an organisation's valid credential.
    pub async fn authenticate_operator(&self, authorization: Option<&str>) -> Result<Operator, ApiError> {
        let token = bearer(authorization)?;
        if !token.starts_with(OPERATOR_KEY_PREFIX) {
            // Whose credential it is decides between 401 and 403.
            self.authenticate_scoped(authorization).await?;
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "operator_only",
                "only the vendor's operators may call this, with an operator key (sfo_…)",
            ));
        }
        let name = self
            .operators
            .name_of(token)
            .ok_or_else(|| ApiError::unauthenticated("unknown or revoked operator key"))?;
        Ok(Operator {
            name: name.to_owned(),
        })
    }

    /// The caller a verified gateway token names: claims `org` and `role`
    /// (`admin`, `team_manager`, `member`), the user in `seatflow_user` or else
    /// `sub`, and for team managers `teams`.
    ///
    /// # Errors
    /// 401 `unauthenticated` when gateway claims are not trusted here, or a
    /// claim is missing or malformed.
    pub fn authenticate_gateway(&self, claims: &GatewayClaims) -> Result<Actor, ApiError> {
        let bad = |what: &str| ApiError::unauthenticated(format!("identity provider token: {what}"));
        if !self.trust_gateway {
            return Err(bad("gateway-verified tokens are not accepted here"));
        }
        let claim = |name: &str| claims.0.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let org = claim("org")
            .and_then(|o| OrgId::parse(o).ok())
            .ok_or_else(|| bad("missing or invalid org claim"))?;
        let user = claim("seatflow_user")
            .or_else(|| claim("sub"))
            .and_then(|u| UserId::parse(u).ok())
            .ok_or_else(|| bad("missing or invalid user (seatflow_user or sub) claim"))?;
        let role = claim("role")
            .and_then(|r| serde_json::from_value::<Role>(serde_json::Value::String(r.to_owned())).ok())
            .ok_or_else(|| bad("missing or invalid role claim"))?;
        let teams = claim("teams")
            .map(|t| {
                t.trim_matches(|c| c == '[' || c == ']')
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                    .map(|t| TeamId::parse(t.trim_matches('"')))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(|_| bad("invalid teams claim"))?
            .unwrap_or_default();
        Ok(Actor {
            org,
            principal: Principal::User(user),
            role,
            teams,
            grants_admin: true,
        })
    }

    /// The longest a token may live, in seconds (`SEATFLOW_JWT_MAX_LIFETIME_HOURS`).
    #[must_use]
    pub fn max_token_lifetime(&self) -> u64 {
        self.config.max_lifetime_seconds
    }

    /// Signs a token for `user` of `org` valid for `ttl_seconds` (local tokens and tests).
    ///
    /// # Errors
    /// Only if signing fails, which HS256 with a valid key does not.
    pub fn mint(
        &self,
        user: &UserId,
        org: &OrgId,
        role: Role,
        teams: &[TeamId],
        ttl_seconds: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(user, org, role, teams, ttl_seconds, None, None)
    }

    /// [`Authenticator::mint`] for an admin carrying `email` (and the
    /// organisation's name): the token of a founder, whose first use creates
    /// an organisation seatflow does not know yet.
    ///
    /// # Errors
    /// As [`Authenticator::mint`].
    pub fn mint_founder(
        &self,
        user: &UserId,
        org: &OrgId,
        email: &str,
        org_name: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(user, org, Role::Admin, &[], ttl_seconds, Some(email), org_name)
    }

    #[allow(clippy::too_many_arguments)] // every claim of a token
    fn sign(
        &self,
        user: &UserId,
        org: &OrgId,
        role: Role,
        teams: &[TeamId],
        ttl_seconds: u64,
        email: Option<&str>,
        org_name: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            org: org.to_string(),
            role,
            teams: teams.iter().map(ToString::to_string).collect(),
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            iat: now,
            exp: now + ttl_seconds,
            email: email.map(str::to_owned),
            org_name: org_name.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The caller behind an `Authorization` header value.
    ///
    /// # Errors
    /// 401 `unauthenticated` for a missing, malformed, expired, forged or
    /// revoked credential; 503 if the key store is unavailable.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Actor, ApiError> {
        self.authenticate_scoped(authorization)
            .await
            .map(|(actor, _)| actor)
    }

    /// [`Authenticator::authenticate`], with an API key's scopes (`None` for
    /// a person, whose role decides). A key's use is recorded, to the hour.
    ///
    /// # Errors
    /// As [`Authenticator::authenticate`].
    pub async fn authenticate_scoped(
        &self,
        authorization: Option<&str>,
    ) -> Result<(Actor, Option<Vec<ApiScope>>), ApiError> {
        let token = bearer(authorization)?;
        if token.starts_with(OPERATOR_KEY_PREFIX) {
            if self.operators.name_of(token).is_none() {
                return Err(ApiError::unauthenticated("unknown or revoked operator key"));
            }
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "operator_key_not_accepted",
                "an operator key acts on organisations only through the /v1/operator routes",
            ));
        }
        if token.starts_with(HAND_OFF_PREFIX) || token.starts_with(SESSION_PREFIX) {
            return Err(ApiError::unauthenticated(
                "a portal sign-in link or session is not an API credential: send a token or an API key",
            ));
        }
        if token.starts_with(API_KEY_PREFIX) {
            let caller = self
                .seats
                .integrations()
                .authenticate_api_key(&ApiKeySecret::hash(token))
                .await?
                .ok_or_else(|| ApiError::unauthenticated("unknown or revoked API key"))?;
            // Best effort: a refused write only leaves the last use older.
            if let Err(error) = self.seats.integrations().record_api_key_use(&caller).await {
                tracing::debug!(%error, "an API key's last use was not recorded");
            }
            return Ok((caller.actor, Some(caller.scopes)));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?;
        let (actor, email, org_name) = match (header.alg, &self.provider) {
            (Algorithm::HS256, _) => self.verify_own(token)?,
            (Algorithm::RS256 | Algorithm::ES256, Some(provider)) => {
                let who = provider.verify(token, &header).await?;
                let actor = Actor {
                    org: who.org,
                    principal: Principal::User(who.user),
                    role: who.role,
                    teams: who.teams,
                    grants_admin: true,
                };
                (actor, who.email, who.org_name)
            }
            (alg, _) => {
                return Err(ApiError::unauthenticated(format!(
                    "invalid token: {alg:?} tokens are not accepted here"
                )));
            }
        };
        let actor = self.admit(actor, email.as_deref(), org_name.as_deref()).await?;
        Ok((actor, None))
    }

    /// A seatflow HS256 token: the caller it names, and its email and
    /// organisation name claims.
    fn verify_own(&self, token: &str) -> Result<(Actor, Option<String>, Option<String>), ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?;
        let claims = data.claims;
        let bad = |what: &str| ApiError::unauthenticated(format!("invalid token: {what}"));
        if claims.exp.saturating_sub(claims.iat) > self.config.max_lifetime_seconds {
            return Err(bad(&format!(
                "it was issued to last longer than {} hours",
                self.config.max_lifetime_seconds / 3600
            )));
        }
        let org = OrgId::parse(&claims.org).map_err(|_| bad("org claim"))?;
        let user = UserId::parse(&claims.sub).map_err(|_| bad("sub claim"))?;
        let teams = claims
            .teams
            .iter()
            .map(TeamId::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("teams claim"))?;
        let actor = Actor {
            org,
            principal: Principal::User(user),
            role: claims.role,
            teams,
            grants_admin: true,
        };
        Ok((actor, claims.email, claims.org_name))
    }
}

/// The credential of a `Bearer` Authorization header.
fn bearer(authorization: Option<&str>) -> Result<&str, ApiError> {
    let header =
        authorization.ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer credential"))?;
    header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthenticated("the Authorization header must be 'Bearer <token>'"))
}

/// State that can authenticate requests.
pub trait HasAuthenticator {
    /// The authenticator.
    fn authenticator(&self) -> &Authenticator;
}

/// One of the vendor's operators, authenticated by their operator key.
#[derive(Debug, Clone)]
pub struct OperatorCaller(pub Operator);

impl<S> FromRequestParts<S> for OperatorCaller
where
    S: HasAuthenticator + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let operator = state.authenticator().authenticate_operator(authorization).await?;
        tracing::info!(operator = %operator.name, method = %parts.method, path = %parts.uri.path(), "operator request");
        Ok(Self(operator))
    }
}

/// The authenticated, organisation-scoped caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl<S> FromRequestParts<S> for Caller
where
    S: HasAuthenticator + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<GatewayClaims>() {
            let auth = state.authenticator();
            let actor = auth.authenticate_gateway(claims)?;
            let claim = |name: &str| claims.0.get(name).map(String::as_str);
            return auth
                .admit(actor, claim("email"), claim("org_name"))
                .await
                .map(Caller);
        }
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let (actor, scopes) = state.authenticator().authenticate_scoped(authorization).await?;
        if let Some(scopes) = scopes {
            let template = parts
                .extensions
                .get::<axum::extract::MatchedPath>()
                .map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
            match crate::scopes::required(&parts.method, &template) {
                Some(need) => {
                    let missing = need.missing(&scopes);
                    if !missing.is_empty() {
                        let names: Vec<String> = missing.iter().map(|s| format!("'{s}'")).collect();
                        let (noun, list) = if names.len() == 1 {
                            ("the scope", names.join(""))
                        } else {
                            ("the scopes", names.join(" and "))
                        };
                        return Err(ApiError::new(
                            StatusCode::FORBIDDEN,
                            "insufficient_scope",
                            format!(
                                "this API key lacks {noun} {list} that {} {template} needs",
                                parts.method
                            ),
                        ));
                    }
                }
                None => {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "insufficient_scope",
                        format!("API keys may not call {} {template}", parts.method),
                    ));
                }
            }
        }
        Ok(Caller(actor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator(trust: bool) -> Authenticator {
        let store = std::sync::Arc::new(seatflow_memory::MemoryEntitlementStore::new());
        let seats = Seats::new(
            store,
            std::sync::Arc::new(seatflow_domain::SystemClock),
            std::sync::Arc::new(seatflow_domain::Catalog::default_catalog().expect("catalog")),
        );
        Authenticator::new(
            JwtConfig::new(SecretString::from("x".repeat(MIN_SECRET_LEN))).expect("config"),
            seats,
        )
        .trusting_gateway_claims(trust)
    }

    fn claims(pairs: &[(&str, &str)]) -> GatewayClaims {
        GatewayClaims(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn gateway_claims_name_the_caller_only_where_trusted() {
        let manager = claims(&[
            ("sub", "idp|123"),
            ("seatflow_user", "usr_bob"),
            ("org", "org_acme"),
            ("role", "team_manager"),
            ("teams", "[team_red team_blue]"),
        ]);
        let actor = authenticator(true)
            .authenticate_gateway(&manager)
            .expect("trusted");
        assert_eq!(actor.org.as_str(), "org_acme");
        assert_eq!(
            actor.principal,
            Principal::User(UserId::parse("usr_bob").expect("id"))
        );
        assert_eq!((actor.role, actor.teams.len()), (Role::TeamManager, 2));
        assert!(authenticator(false).authenticate_gateway(&manager).is_err());
        for missing in [
            claims(&[("sub", "usr_a"), ("role", "admin")]),
            claims(&[("sub", "usr_a"), ("org", "org_a")]),
            claims(&[("sub", "usr_a"), ("org", "org_a"), ("role", "owner")]),
            claims(&[("sub", "not an id"), ("org", "org_a"), ("role", "admin")]),
        ] {
            assert!(
                authenticator(true).authenticate_gateway(&missing).is_err(),
                "{missing:?}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtConfig::new(SecretString::from("short")).is_err());
        assert!(JwtConfig::new(SecretString::from("x".repeat(MIN_SECRET_LEN))).is_ok());
    }

    #[test]
    fn api_keys_are_random_and_hash_stably() {
        let a = ApiKeySecret::generate();
        let b = ApiKeySecret::generate();
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(a.secret.expose_secret().starts_with(API_KEY_PREFIX));
        assert_eq!(a.hash, ApiKeySecret::hash(a.secret.expose_secret()));
        assert_eq!(a.hash.len(), 64);
    }
}
