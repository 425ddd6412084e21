//! Sign-in with an OIDC identity provider's own tokens (RS256 and ES256),
//! verified by the functions themselves: the provider's public keys come
//! from its JWKS (found through its discovery document unless configured),
//! are cached, and are fetched again when they age or when a token names a
//! key not seen yet (the provider rotated). Issuer and audience are checked;
//! the claims naming organisation, user, role and teams are configurable,
//! because providers put custom claims under their own names.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use seatflow_domain::{OrgId, Role, TeamId, UserId};
use serde_json::{Map, Value};

use crate::auth::{AuthConfigError, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS};
use crate::problem::ApiError;

/// How long fetched keys are trusted before they are fetched again, unless
/// configured (`SEATFLOW_OIDC_JWKS_TTL_SECONDS`).
pub const DEFAULT_KEYS_TTL: Duration = Duration::from_secs(600);
/// A token naming an unknown key fetches the keys again at most this often,
/// so forged key ids cannot turn seatflow into a flood against the provider.
pub const UNKNOWN_KEY_REFETCH: Duration = Duration::from_secs(30);
/// The longest a key set or discovery document may be.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Which claim carries what. Providers name custom claims their own way
/// (Auth0 wants a namespace such as `https://vendor.example/org`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    /// The organisation (the vendor's tenant id). Default `org`.
    pub org: String,
    /// The seatflow user id. Default `sub`.
    pub user: String,
    /// `admin`, `team_manager` or `member`. Default `role`.
    pub role: String,
    /// A team manager's teams: an array, or one string separated by spaces
    /// or commas. Default `teams`.
    pub teams: String,
    /// The person's email: with it, an admin's first sign-in founds an
    /// organisation seatflow does not know. Default `email`.
    pub email: String,
    /// The organisation's display name when founding it. Default `org_name`.
    pub org_name: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            org: "org".into(),
            user: "sub".into(),
            role: "role".into(),
            teams: "teams".into(),
            email: "email".into(),
            org_name: "org_name".into(),
        }
    }
}

impl ClaimNames {
    /// The defaults with some renamed: `org=https://x/org,role=x_role`.
    ///
    /// # Errors
    /// [`AuthConfigError::ClaimNames`] for an unknown field or a pair without `=`.
    pub fn parse(text: &str) -> Result<Self, AuthConfigError> {
        let mut names = Self::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, claim) = pair
                .split_once('=')
                .map(|(f, c)| (f.trim(), c.trim()))
                .filter(|(_, c)| !c.is_empty())
                .ok_or(AuthConfigError::ClaimNames)?;
            let slot = match field {
                "org" => &mut names.org,
                "user" => &mut names.user,
                "role" => &mut names.role,
                "teams" => &mut names.teams,
                "email" => &mut names.email,
                "org_name" => &mut names.org_name,
                _ => return Err(AuthConfigError::ClaimNames),
            };
            claim.clone_into(slot);
        }
        Ok(names)
    }
}

/// An identity provider whose tokens are accepted.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Its issuer URL, exactly as tokens carry it in `iss`.
    pub issuer: String,
    /// The audience tokens must be for (`aud`).
    pub audience: String,
    /// Where its keys are; `None`: from its discovery document
    /// (`{issuer}/.well-known/openid-configuration`).
    pub jwks_url: Option<String>,
    /// Which claim carries what.
    pub claims: ClaimNames,
    /// How long fetched keys are trusted.
    pub keys_ttl: Duration,
    /// How soon after a fetch a token naming an unknown key may fetch again.
    pub unknown_key_refetch: Duration,
    /// Longest lifetime (`exp - iat`) a token may have, in seconds.
    pub max_lifetime_seconds: u64,
}

impl OidcConfig {
    /// A provider at `issuer` issuing tokens for `audience`, with the default
    /// claim names and cache lifetime.
    #[must_use]
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: None,
            claims: ClaimNames::default(),
            keys_ttl: DEFAULT_KEYS_TTL,
            unknown_key_refetch: UNKNOWN_KEY_REFETCH,
            max_lifetime_seconds: DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
        }
    }

    /// From its settings (`var`; `seatflow-config` reads the environment):
    /// `SEATFLOW_OIDC_ISSUER` (none set: `None`, no provider),
    /// `SEATFLOW_OIDC_AUDIENCE` (required with it), and optionally
    /// `SEATFLOW_OIDC_JWKS_URL`, `SEATFLOW_OIDC_CLAIMS` (see
    /// [`ClaimNames::parse`]), `SEATFLOW_OIDC_JWKS_TTL_SECONDS` and
    /// `SEATFLOW_JWT_MAX_LIFETIME_HOURS`.
    ///
    /// # Errors
    /// [`AuthConfigError`] for a missing audience or a malformed value.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, AuthConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let Some(issuer) = var("SEATFLOW_OIDC_ISSUER") else {
            return Ok(None);
        };
        let audience = var("SEATFLOW_OIDC_AUDIENCE").ok_or(AuthConfigError::OidcAudience)?;
        let mut config = Self::new(issuer.trim(), audience.trim());
        config.jwks_url = var("SEATFLOW_OIDC_JWKS_URL").map(|u| u.trim().to_owned());
        if let Some(claims) = var("SEATFLOW_OIDC_CLAIMS") {
            config.claims = ClaimNames::parse(&claims)?;
        }
        if let Some(ttl) = var("SEATFLOW_OIDC_JWKS_TTL_SECONDS") {
            let seconds = ttl
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (60..=86_400).contains(s))
                .ok_or(AuthConfigError::KeysTtl)?;
            config.keys_ttl = Duration::from_secs(seconds);
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
        Ok(Some(config))
    }
}

/// Who a verified provider token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderIdentity {
    /// The organisation.
    pub org: OrgId,
    /// The user.
    pub user: UserId,
    /// The role the token claims (the stored user's role wins once admitted).
    pub role: Role,
    /// A team manager's teams.
    pub teams: Vec<TeamId>,
    /// The email claim, if any.
    pub email: Option<String>,
    /// The organisation's display name claim, if any.
    pub org_name: Option<String>,
}

#[derive(Default)]
struct KeyCache {
    /// Keys by id (`""` for a key without one).
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    fetched_at: Option<Instant>,
    jwks_url: Option<String>,
}

/// Verifies an identity provider's tokens against its published keys.
pub struct OidcVerifier {
    config: OidcConfig,
    http: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    cache: tokio::sync::RwLock<KeyCache>,
    /// One fetch at a time; the others wait for its keys.
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

/// A URL seatflow may fetch keys from: HTTPS, or plain HTTP to this machine
/// (a provider run locally, or a test's).
pub(crate) fn fetchable(url: &str) -> bool {
    url.starts_with("https://")
        || ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|local| {
                url.strip_prefix(local)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            })
}

/// The connector seatflow reaches a provider with: HTTPS by the system's
/// trust roots (plain HTTP only where [`fetchable`] allows it).
pub(crate) fn https_connector() -> Result<HttpsConnector<HttpConnector>, AuthConfigError> {
    Ok(HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| AuthConfigError::TrustRoots(e.to_string()))?
        .https_or_http()
        .enable_http1()
        .build())
}

impl OidcVerifier {
    /// A verifier for `config`.
    ///
    /// # Errors
    /// [`AuthConfigError::InsecureUrl`] for a key or issuer URL that is not
    /// HTTPS (plain HTTP only to this machine); [`AuthConfigError::TrustRoots`]
    /// when the system has no trust roots.
    pub fn new(config: OidcConfig) -> Result<Self, AuthConfigError> {
        let url = config.jwks_url.as_deref().unwrap_or(&config.issuer);
        if !fetchable(url) {
            return Err(AuthConfigError::InsecureUrl(url.to_owned()));
        }
        let connector = https_connector()?;
        Ok(Self {
            cache: tokio::sync::RwLock::new(KeyCache {
                jwks_url: config.jwks_url.clone(),
                ..KeyCache::default()
            }),
            config,
            http: Client::builder(TokioExecutor::new()).build(connector),
            refreshing: tokio::sync::Mutex::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Verifies `token` (whose `header` was read already): signature by a
    /// key of the provider, issuer, audience, expiry, lifetime; then reads
    /// who it names.
    ///
    /// # Errors
    /// 401 `unauthenticated` for a token that fails any check or lacks a
    /// claim; 503 `identity_provider_unavailable` when no keys could be
    /// fetched at all.
    pub async fn verify(&self, token: &str, header: &Header) -> Result<ProviderIdentity, ApiError> {
        let claims = self.verified_claims(token, header).await?;
        identity(&claims, &self.config.claims)
            .map_err(|what| ApiError::unauthenticated(format!("identity provider token: {what}")))
    }

    /// `token`'s claims, once its signature, issuer, audience, expiry and
    /// lifetime are checked.
    pub(crate) async fn verified_claims(
        &self,
        token: &str,
        header: &Header,
    ) -> Result<Map<String, Value>, ApiError> {
        let bad = |what: String| ApiError::unauthenticated(format!("identity provider token: {what}"));
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(bad(format!("{:?} is not accepted (RS256 or ES256)", header.alg)));
        }
        let key = self.key_for(header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| bad(e.to_string()))?
            .claims;
        let number = |name: &str| claims.get(name).and_then(Value::as_u64).unwrap_or(0);
        if number("exp").saturating_sub(number("iat")) > self.config.max_lifetime_seconds {
            return Err(bad(format!(
                "it was issued to last longer than {} hours",
                self.config.max_lifetime_seconds / 3600
            )));
        }
        Ok(claims)
    }

    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, ApiError> {
        let kid = kid.unwrap_or_default();
        let ttl = self.config.keys_ttl;
        {
            let cache = self.cache.read().await;
            if cache.fetched_at.is_some_and(|at| at.elapsed() < ttl)
                && let Some(key) = pick(&cache.keys, kid, alg)
            {
                return Ok(key);
            }
        }
        let _one_fetch = self.refreshing.lock().await;
        // Another request may have fetched while this one waited.
        let due = {
            let cache = self.cache.read().await;
            match cache.fetched_at {
                None => true,
                Some(at) if at.elapsed() >= ttl => true,
                Some(at) => {
                    pick(&cache.keys, kid, alg).is_none() && at.elapsed() >= self.config.unknown_key_refetch
                }
            }
        };
        if due {
            match self.fetch_keys().await {
                Ok((keys, jwks_url)) => {
                    let mut cache = self.cache.write().await;
                    cache.keys = keys;
                    cache.jwks_url = Some(jwks_url);
                    cache.fetched_at = Some(Instant::now());
                }
                Err(error) => {
                    let cache = self.cache.read().await;
                    if cache.keys.is_empty() {
                        return Err(ApiError::upstream("identity_provider_unavailable", &error));
                    }
                    // Keys the provider published are still its keys: a
                    // failed refresh keeps them rather than locking everyone out.
                    tracing::warn!(%error, "the identity provider's keys could not be refreshed; using the cached ones");
                }
            }
        }
        let cache = self.cache.read().await;
        pick(&cache.keys, kid, alg).ok_or_else(|| {
            ApiError::unauthenticated(format!(
                "identity provider token: no {alg:?} key '{kid}' in the provider's published keys"
            ))
        })
    }

    async fn fetch_keys(&self) -> Result<(HashMap<String, (Algorithm, DecodingKey)>, String), String> {
        let known = self.cache.read().await.jwks_url.clone();
        let jwks_url = match known {
            Some(url) => url,
            None => self.discover().await?,
        };
        let set: JwkSet = serde_json::from_slice(&self.get(&jwks_url).await?)
            .map_err(|e| format!("{jwks_url} is not a JSON Web Key Set: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            if jwk
                .common
                .public_key_use
                .as_ref()
                .is_some_and(|u| *u != PublicKeyUse::Signature)
            {
                continue;
            }
            let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            keys.insert(jwk.common.key_id.clone().unwrap_or_default(), (alg, key));
        }
        if keys.is_empty() {
            return Err(format!("{jwks_url} publishes no RS256 or ES256 signing key"));
        }
        Ok((keys, jwks_url))
    }

    /// The key set's URL from the provider's discovery document.
    async fn discover(&self) -> Result<String, String> {
        let document = self.discovery_document().await?;
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or("the discovery document has no jwks_uri")?;
        if !fetchable(jwks_uri) {
            return Err("the discovery document points to keys that are not served over HTTPS".into());
        }
        Ok(jwks_uri.to_owned())
    }

    /// The provider's discovery document, whose issuer must be the
    /// configured one (OpenID Connect Discovery §4.3).
    pub(crate) async fn discovery_document(&self) -> Result<Value, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let document: Value =
            serde_json::from_slice(&self.get(&url).await?).map_err(|e| format!("{url} is not JSON: {e}"))?;
        if document.get("issuer").and_then(Value::as_str) != Some(self.config.issuer.as_str()) {
            return Err(format!("{url} names another issuer"));
        }
        Ok(document)
    }

    async fn get(&self, url: &str) -> Result<Bytes, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.http.get(uri))
            .await
            .map_err(|_| format!("{url} did not answer within {FETCH_TIMEOUT:?}"))?
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let body = tokio::time::timeout(
            FETCH_TIMEOUT,
            Limited::new(response.into_body(), MAX_DOCUMENT_BYTES).collect(),
        )
        .await
        .map_err(|_| format!("{url} did not finish its answer within {FETCH_TIMEOUT:?}"))?
        .map_err(|e| format!("{url}: {e}"))?;
        Ok(body.to_bytes())
    }
}

/// The key `kid` for `alg`; a token without a key id may use the provider's
/// only key of that algorithm.
fn pick(keys: &HashMap<String, (Algorithm, DecodingKey)>, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
    if let Some((key_alg, key)) = keys.get(kid) {
        return (*key_alg == alg).then(|| key.clone());
    }
    if !kid.is_empty() {
        return None;
    }
    let mut matching = keys.values().filter(|(key_alg, _)| *key_alg == alg);
    match (matching.next(), matching.next()) {
        (Some((_, key)), None) => Some(key.clone()),
        _ => None,
    }
}

/// Who verified claims name, read under the configured claim names.
pub(crate) fn identity(claims: &Map<String, Value>, names: &ClaimNames) -> Result<ProviderIdentity, String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
    let org = text(&names.org)
        .and_then(|o| OrgId::parse(o).ok())
        .ok_or_else(|| format!("missing or invalid '{}' claim (the organisation)", names.org))?;
    let user = text(&names.user)
        .and_then(|u| UserId::parse(u).ok())
        .ok_or_else(|| format!("missing or invalid '{}' claim (the user id)", names.user))?;
    let role = text(&names.role)
        .and_then(|r| serde_json::from_value::<Role>(Value::String(r.to_owned())).ok())
        .ok_or_else(|| {
            format!(
                "missing or invalid '{}' claim (admin, team_manager or member)",
                names.role
            )
        })?;
    let team_names: Vec<&str> = match claims.get(&names.teams) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str()
                    .ok_or_else(|| format!("'{}' must hold strings", names.teams))
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(list)) => list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect(),
        Some(_) => return Err(format!("'{}' must be an array or a string", names.teams)),
    };
    let teams = team_names
        .into_iter()
        .map(TeamId::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("invalid team id in '{}'", names.teams))?;
    Ok(ProviderIdentity {
        org,
        user,
        role,
        teams,
        email: text(&names.email).map(str::to_owned),
        org_name: text(&names.org_name).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_names_rename_some_and_refuse_unknown_fields() {
        let names = ClaimNames::parse("org=https://vendor.example/org, user = seatflow_user").expect("names");
        assert_eq!(names.org, "https://vendor.example/org");
        assert_eq!(names.user, "seatflow_user");
        assert_eq!(names.role, "role");
        assert!(ClaimNames::parse("tenant=x").is_err());
        assert!(ClaimNames::parse("org").is_err());
        assert!(ClaimNames::parse("org=").is_err());
    }

    #[test]
    fn keys_are_fetched_over_https_or_from_this_machine_only() {
        assert!(fetchable("https://idp.example/keys"));
        assert!(fetchable("http://127.0.0.1:8080/jwks"));
        assert!(fetchable("http://localhost/jwks"));
        assert!(!fetchable("http://idp.example/keys"));
        assert!(!fetchable("http://localhost.evil.example/keys"));
        assert!(!fetchable("http://127.0.0.1.evil.example/keys"));
    }

    #[test]
    fn identity_reads_configured_claims() {
        let claims: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "sub": "idp|123", "https://v.example/org": "org_acme", "uid": "usr_ann",
            "role": "team_manager", "teams": "team_red team_blue", "email": "ann@acme.example"
        }))
        .expect("claims");
        let names = ClaimNames::parse("org=https://v.example/org,user=uid").expect("names");
        let who = identity(&claims, &names).expect("identity");
        assert_eq!((who.org.as_str(), who.user.as_str()), ("org_acme", "usr_ann"));
        assert_eq!((who.role, who.teams.len()), (Role::TeamManager, 2));
        assert_eq!(who.email.as_deref(), Some("ann@acme.example"));
        // The provider's own `sub` is no seatflow user id.
        assert!(identity(&claims, &ClaimNames::default()).is_err());
    }
}
