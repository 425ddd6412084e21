//! Production sign-in: an OIDC identity provider's RS256 and ES256 tokens,
//! verified by the functions against keys the test generates and serves from
//! a local JWKS endpoint (found through a discovery document).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use seatflow_domain::{Catalog, Role, Seats, SystemClock};
use seatflow_http::oidc::{ClaimNames, OidcConfig, OidcVerifier};
use seatflow_http::{ApiError, Authenticator, JwtConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AUDIENCE: &str = "https://api.vendor.example";

/// A signing key the provider holds, and its public half as a JWK.
struct ProviderKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    public: Jwk,
}

impl ProviderKey {
    fn rsa(kid: &str) -> Self {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
        let der = private.to_pkcs1_der().expect("PKCS#1");
        Self::from(kid, Algorithm::RS256, EncodingKey::from_rsa_der(der.as_bytes()))
    }

    fn ec(kid: &str) -> Self {
        let private = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let der = private.to_pkcs8_der().expect("PKCS#8");
        Self::from(kid, Algorithm::ES256, EncodingKey::from_ec_der(der.as_bytes()))
    }

    fn from(kid: &str, alg: Algorithm, encoding: EncodingKey) -> Self {
        let mut public = Jwk::from_encoding_key(&encoding, alg).expect("public JWK");
        public.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            alg,
            encoding,
            public,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signed")
    }
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// A provider's claims for Ann, the first admin of org_acme.
fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer, "aud": AUDIENCE, "sub": "usr_ann", "iat": now(), "exp": now() + 600,
        "org": "org_acme", "role": "admin", "email": "ann@acme.example", "org_name": "Acme"
    })
}

/// The provider: a discovery document and a key set publishing `keys`.
async fn provider(keys: &[&ProviderKey]) -> MockServer {
    let server = MockServer::start().await;
    publish(&server, keys).await;
    server
}

async fn publish(server: &MockServer, keys: &[&ProviderKey]) {
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer, "jwks_uri": format!("{issuer}/keys")
        })))
        .mount(server)
        .await;
    let set = JwkSet {
        keys: keys.iter().map(|k| k.public.clone()).collect(),
    };
    Mock::given(method("GET"))
        .and(path("/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set))
        .mount(server)
        .await;
}

async fn key_fetches(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/keys")
        .count()
}

fn authenticator(config: OidcConfig) -> Authenticator {
    let seats = Seats::new(
        Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
        Arc::new(SystemClock),
        Arc::new(Catalog::default_catalog().expect("catalog")),
    );
    let own = JwtConfig::new(SecretString::from("x".repeat(32))).expect("own tokens");
    Authenticator::new(own, seats).with_identity_provider(OidcVerifier::new(config).expect("verifier"))
}

async fn sign_in(auth: &Authenticator, token: &str) -> Result<seatflow_domain::Actor, ApiError> {
    auth.authenticate(Some(&format!("Bearer {token}"))).await
}

fn refused(result: Result<seatflow_domain::Actor, ApiError>, status: StatusCode, says: &str) {
    let error = result.expect_err("refused");
    assert_eq!(error.status(), status, "{}", error.problem().detail);
    assert!(
        error.problem().detail.contains(says),
        "'{}' should mention '{says}'",
        error.problem().detail
    );
}

#[tokio::test]
async fn rs256_and_es256_tokens_sign_in_with_keys_from_the_providers_key_set() {
    let (rsa, ec) = (ProviderKey::rsa("rsa-1"), ProviderKey::ec("ec-1"));
    let server = provider(&[&rsa, &ec]).await;
    let auth = authenticator(OidcConfig::new(server.uri(), AUDIENCE));

    // The first admin's first sign-in founds the organisation.
    let ann = sign_in(&auth, &rsa.sign(&claims(&server.uri())))
        .await
        .expect("RS256");
    assert_eq!((ann.org.as_str(), ann.role), ("org_acme", Role::Admin));
    let again = sign_in(&auth, &ec.sign(&claims(&server.uri())))
        .await
        .expect("ES256");
    assert_eq!(
        again.user_id().map(|u| u.as_str().to_owned()).as_deref(),
        Some("usr_ann")
    );
    // Both keys came from one fetch of the set: the cache serves the rest.
    assert_eq!(key_fetches(&server).await, 1);

    // A user the organisation does not have is refused, whatever the token says.
    let mut stranger = claims(&server.uri());
    stranger["sub"] = json!("usr_mallory");
    refused(
        sign_in(&auth, &rsa.sign(&stranger)).await,
        StatusCode::UNAUTHORIZED,
        "usr_mallory",
    );
}

#[tokio::test]
async fn issuer_audience_expiry_lifetime_and_signature_are_checked() {
    let rsa = ProviderKey::rsa("rsa-1");
    let server = provider(&[&rsa]).await;
    let auth = authenticator(OidcConfig::new(server.uri(), AUDIENCE));
    let issuer = server.uri();
    let with = |field: &str, value: Value| {
        let mut c = claims(&issuer);
        c[field] = value;
        rsa.sign(&c)
    };
    refused(
        sign_in(&auth, &with("iss", json!("https://other.example"))).await,
        StatusCode::UNAUTHORIZED,
        "Issuer",
    );
    refused(
        sign_in(&auth, &with("aud", json!("someone-else"))).await,
        StatusCode::UNAUTHORIZED,
        "Audience",
    );
    refused(
        sign_in(&auth, &with("exp", json!(now() - 3600))).await,
        StatusCode::UNAUTHORIZED,
        "Expired",
    );
    refused(
        sign_in(&auth, &with("exp", json!(now() + 30 * 24 * 3600))).await,
        StatusCode::UNAUTHORIZED,
        "longer than",
    );
    refused(
        sign_in(&auth, &with("role", json!("owner"))).await,
        StatusCode::UNAUTHORIZED,
        "'role' claim",
    );

    // Signed by a key the provider never published, under a published key's id.
    let impostor = ProviderKey::rsa("rsa-1");
    refused(
        sign_in(&auth, &impostor.sign(&claims(&issuer))).await,
        StatusCode::UNAUTHORIZED,
        "Signature",
    );
    // Another algorithm under the same key id is not that key.
    let ec_claiming_rsa_id = ProviderKey::ec("rsa-1");
    refused(
        sign_in(&auth, &ec_claiming_rsa_id.sign(&claims(&issuer))).await,
        StatusCode::UNAUTHORIZED,
        "no ES256 key",
    );
    // `alg: none` is nothing.
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims(&issuer).to_string())
    });
    refused(
        sign_in(&auth, &unsigned).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_when_a_token_first_names_it_but_not_more_often_than_allowed() {
    let (old, new) = (ProviderKey::rsa("2026-11"), ProviderKey::ec("2026-12"));
    let server = provider(&[&old]).await;
    let mut config = OidcConfig::new(server.uri(), AUDIENCE);
    config.unknown_key_refetch = Duration::ZERO;
    let auth = authenticator(config);
    sign_in(&auth, &old.sign(&claims(&server.uri())))
        .await
        .expect("old key");

    server.reset().await;
    publish(&server, &[&old, &new]).await;
    sign_in(&auth, &new.sign(&claims(&server.uri())))
        .await
        .expect("rotated key, fetched on first sight");
    assert_eq!(key_fetches(&server).await, 1);
    sign_in(&auth, &old.sign(&claims(&server.uri())))
        .await
        .expect("old key still published");
    assert_eq!(key_fetches(&server).await, 1);

    // Forged key ids do not make seatflow fetch on every request.
    let server = provider(&[&old]).await;
    let auth = authenticator(OidcConfig::new(server.uri(), AUDIENCE));
    sign_in(&auth, &old.sign(&claims(&server.uri())))
        .await
        .expect("old key");
    for attempt in 0..3 {
        let forged = ProviderKey::ec(&format!("forged-{attempt}"));
        refused(
            sign_in(&auth, &forged.sign(&claims(&server.uri()))).await,
            StatusCode::UNAUTHORIZED,
            "no ES256 key",
        );
    }
    assert_eq!(key_fetches(&server).await, 1);
}

#[tokio::test]
async fn configured_claim_names_and_an_unreachable_provider() {
    let ec = ProviderKey::ec("ec-1");
    let server = provider(&[&ec]).await;
    let mut config = OidcConfig::new(server.uri(), AUDIENCE);
    config.claims = ClaimNames::parse(
        "org=https://vendor.example/tenant,user=seatflow_user,role=https://vendor.example/role",
    )
    .expect("names");
    config.jwks_url = Some(format!("{}/keys", server.uri()));
    let auth = authenticator(config);
    let token = ec.sign(&json!({
        "iss": server.uri(), "aud": [AUDIENCE, "another"], "sub": "auth0|5f3c", "iat": now(), "exp": now() + 600,
        "https://vendor.example/tenant": "org_globex", "seatflow_user": "usr_gus",
        "https://vendor.example/role": "admin", "email": "gus@globex.example"
    }));
    let gus = sign_in(&auth, &token).await.expect("mapped claims");
    assert_eq!((gus.org.as_str(), gus.role), ("org_globex", Role::Admin));

    // No keys ever fetched and the provider down: a retryable 503, not a 401.
    let down = MockServer::start().await;
    let issuer = down.uri();
    drop(down);
    let auth = authenticator(OidcConfig::new(issuer.clone(), AUDIENCE));
    refused(
        sign_in(&auth, &ec.sign(&claims(&issuer))).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "identity provider",
    );

    // Without a provider configured, RS256 tokens are simply not accepted.
    let own_only = Authenticator::new(
        JwtConfig::new(SecretString::from("x".repeat(32))).expect("own"),
        Seats::new(
            Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
            Arc::new(SystemClock),
            Arc::new(Catalog::default_catalog().expect("catalog")),
        ),
    );
    refused(
        sign_in(&own_only, &ec.sign(&claims(&issuer))).await,
        StatusCode::UNAUTHORIZED,
        "not accepted here",
    );
}

#[test]
fn keys_must_come_over_https() {
    let mut config = OidcConfig::new("http://idp.example", AUDIENCE);
    assert!(OidcVerifier::new(config.clone()).is_err());
    config.issuer = "https://idp.example".into();
    config.jwks_url = Some("http://idp.example/keys".into());
    assert!(OidcVerifier::new(config.clone()).is_err());
    config.jwks_url = None;
    assert!(OidcVerifier::new(config).is_ok());
}
