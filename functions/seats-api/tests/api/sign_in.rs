//! Production sign-in through the router: an OIDC identity provider's ES256
//! token, verified against keys served from a local JWKS endpoint, founds
//! the organisation of its first admin and reaches the routes; a token for
//! another audience is refused with a problem.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey as _;
use seatflow_domain::{Catalog, Seats, SystemClock};
use seatflow_http::oidc::{OidcConfig, OidcVerifier};
use seatflow_http::{AppState, Authenticator, JwtConfig};
use serde_json::json;

/// `method path` through `router` with a bearer token: status, headers, JSON.
async fn call(
    router: &axum::Router,
    method: Method,
    path: &str,
    token: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).expect("JSON"),
    )
}

#[tokio::test]
async fn an_identity_providers_token_signs_in_through_the_router() {
    let private = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let encoding = EncodingKey::from_ec_der(private.to_pkcs8_der().expect("PKCS#8").as_bytes());
    let mut public = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("JWK");
    public.common.key_id = Some("idp-1".into());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")});
    let keys = JwkSet { keys: vec![public] };
    let provider = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route("/keys", get(move || async move { axum::Json(keys) }));
    tokio::spawn(async move { axum::serve(listener, provider).await });

    let seats = Seats::new(
        Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
        Arc::new(SystemClock),
        Arc::new(Catalog::default_catalog().expect("catalog")),
    );
    let own = JwtConfig::new(secrecy::SecretString::from("z".repeat(32))).expect("own tokens");
    let verifier = OidcVerifier::new(OidcConfig::new(issuer.clone(), "seatflow-api")).expect("verifier");
    let auth = Authenticator::new(own, seats.clone()).with_identity_provider(verifier);
    let router = seatflow_seats_api::router(AppState::with_auth(seats, auth));

    let now = jsonwebtoken::get_current_timestamp();
    let sign = |audience: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("idp-1".into());
        let claims = json!({
            "iss": issuer, "aud": audience, "sub": "usr_grace", "iat": now, "exp": now + 600,
            "org": "org_hopper", "role": "admin", "email": "grace@hopper.example", "org_name": "Hopper"
        });
        jsonwebtoken::encode(&header, &claims, &encoding).expect("signed")
    };
    let token = sign("seatflow-api");
    let (status, _, me) = call(&router, Method::GET, "/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "grace@hopper.example");
    let (status, _, _) = call(&router, Method::GET, "/v1/licenses", &token).await;
    assert_eq!(status, StatusCode::OK);

    let (status, headers, problem) = call(&router, Method::GET, "/v1/me", &sign("another-api")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(problem["code"], "unauthenticated");
}
