//! Offline entitlement tokens, checked as a vendor's application would:
//! by two verifiers that share nothing with the signer (jsonwebtoken): the
//! `p256` crate's ECDSA over the JWS signing input, and Python's PyJWT
//! (installed into `.venv` by the test setup, `scripts/with-moto.sh`).

use axum::http::{Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use seatflow_http::entitlement_tokens::{EntitlementTokens, KeySetDocument};
use serde_json::Value;

use crate::harness::{TestApp, Victim};

/// The real time: PyJWT checks expiry against it, so the app's clock is set
/// to it too.
fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    seatflow_domain::Clock::now(&seatflow_domain::SystemClock)
}

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

fn tokens(keys: &KeySetDocument) -> EntitlementTokens {
    EntitlementTokens::from_key_set(&serde_json::to_string(keys).expect("json"), "seatflow", HOUR)
        .expect("keys")
}

/// The app with `keys` signing, its clock at the real time (the verifiers
/// check expiry against it).
async fn app_with(keys: &KeySetDocument) -> TestApp {
    let mut app = TestApp::new().await;
    app.fixture.clock.set(wall_clock());
    app.state = app.state.clone().with_entitlement_tokens(tokens(keys));
    app.router = seatflow_seats_api::router(app.state.clone());
    Victim::seed(&app).await;
    app
}

/// Verifies a compact JWS with the p256 crate alone: the key named by the
/// header's kid in `jwks`, the ES256 signature over `header.payload`, the
/// issuer and the expiry. The claims, or why not.
fn verify_with_p256(token: &str, jwks: &Value) -> Result<Value, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err("not a compact JWS".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == header["kid"]))
        .ok_or("unknown key")?;
    let mut point = vec![4_u8];
    point.extend(decode(jwk["x"].as_str().ok_or("x")?)?);
    point.extend(decode(jwk["y"].as_str().ok_or("y")?)?);
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|e| e.to_string())?;
    let signature = p256::ecdsa::Signature::from_slice(&decode(signature)?).map_err(|e| e.to_string())?;
    let signed = token.rsplit_once('.').map_or("", |(input, _)| input);
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| "bad signature".to_owned())?;
    let claims: Value = serde_json::from_slice(&decode(payload)?).map_err(|e| e.to_string())?;
    if claims["iss"] != "seatflow" {
        return Err("wrong issuer".into());
    }
    if claims["aud"] != "seatflow-entitlements" {
        return Err("wrong audience".into());
    }
    let exp = claims["exp"].as_i64().ok_or("no exp")?;
    if exp <= wall_clock().timestamp() {
        return Err("expired".into());
    }
    Ok(claims)
}

/// Verifies with PyJWT, as the README shows a vendor doing it.
fn verify_with_pyjwt(token: &str, jwks: &Value) -> Result<Value, String> {
    verify_with_pyjwt_for(token, jwks, "seatflow-entitlements")
}

/// Verifies with PyJWT for `audience`.
fn verify_with_pyjwt_for(token: &str, jwks: &Value, audience: &str) -> Result<Value, String> {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");
    assert!(
        std::path::Path::new(python).exists(),
        "{python} is missing: run the tests through `make test` (scripts/with-moto.sh installs PyJWT)"
    );
    let script = r#"
import json, sys, jwt
token, jwks, audience = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
header = jwt.get_unverified_header(token)
if header.get("typ") != "entitlement+jwt":
    sys.exit("not an entitlement token")
kid = header.get("kid")
keys = {k["kid"]: k for k in jwks["keys"]}
if kid not in keys:
    sys.exit("unknown key")
try:
    claims = jwt.decode(token, jwt.PyJWK(keys[kid]), algorithms=["ES256"], issuer="seatflow",
                        audience=audience, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
except jwt.ExpiredSignatureError:
    sys.exit("expired")
except jwt.InvalidSignatureError:
    sys.exit("bad signature")
except jwt.InvalidAudienceError:
    sys.exit("wrong audience")
print(json.dumps(claims))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script, token, &jwks.to_string(), audience])
        .output()
        .expect("python runs");
    if out.status.success() {
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

async fn issue(app: &TestApp, key: &str, user: &str) -> (StatusCode, Value) {
    let (status, _, body) = app
        .call(
            Method::GET,
            &format!("/v1/entitlements/token?user={user}"),
            Some(key),
            None,
        )
        .await;
    (status, body)
}

async fn jwks(app: &TestApp) -> Value {
    let (status, headers, body) = app.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "public, without a credential: {body}");
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .expect("cache")
            .contains("max-age")
    );
    body
}

#[tokio::test]
async fn a_token_verifies_offline_with_independent_verifiers_and_tampering_does_not() {
    let keys = KeySetDocument::generate();
    let app = app_with(&keys).await;
    let key = app.api_key_for("org_victim").await;
    let (status, issued) = issue(&app, &key, "usr_ann").await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let token = issued["token"].as_str().expect("token");
    let jwks = jwks(&app).await;
    assert_eq!(jwks["keys"][0]["kid"], issued["kid"]);
    assert_eq!(jwks["keys"][0]["crv"], "P-256");

    for claims in [verify_with_p256(token, &jwks), verify_with_pyjwt(token, &jwks)] {
        let claims = claims.expect("a valid token verifies");
        assert_eq!(
            (
                claims["sub"].as_str(),
                claims["org"].as_str(),
                claims["user"].as_str(),
                claims["aud"].as_str()
            ),
            (
                Some("org_victim/usr_ann"),
                Some("org_victim"),
                Some("usr_ann"),
                Some("seatflow-entitlements")
            ),
            "sub is unique across organisations; the audience is the vendor's application"
        );
        let products: Vec<&str> = claims["products"]
            .as_array()
            .expect("products")
            .iter()
            .filter_map(|p| p["product"].as_str())
            .collect();
        assert_eq!(products, ["professional", "sso"]);
        assert_eq!(
            claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
            3600,
            "the configured lifetime"
        );
    }

    assert_eq!(
        verify_with_pyjwt_for(token, &jwks, "another-application")
            .err()
            .as_deref(),
        Some("wrong audience"),
        "a token for one audience is refused by another"
    );

    // The payload altered (another user), the signature kept.
    let (head, rest) = token.split_once('.').expect("parts");
    let (payload, signature) = rest.split_once('.').expect("parts");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    claims["sub"] = "org_victim/usr_mallory".into();
    let forged = format!(
        "{head}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_eq!(
        verify_with_p256(&forged, &jwks).err().as_deref(),
        Some("bad signature")
    );
    assert_eq!(
        verify_with_pyjwt(&forged, &jwks).err().as_deref(),
        Some("bad signature")
    );

    // Signed by a key seatflow does not publish.
    let stranger = app_with(&KeySetDocument::generate()).await;
    let stranger_key = stranger.api_key_for("org_victim").await;
    let (_, foreign) = issue(&stranger, &stranger_key, "usr_ann").await;
    let foreign = foreign["token"].as_str().expect("token");
    assert_eq!(
        verify_with_p256(foreign, &jwks).err().as_deref(),
        Some("unknown key")
    );
    assert_eq!(
        verify_with_pyjwt(foreign, &jwks).err().as_deref(),
        Some("unknown key")
    );

    // Issued two hours ago: expired.
    app.fixture.clock.set(wall_clock() - chrono::Duration::hours(2));
    let (_, old) = issue(&app, &key, "usr_ann").await;
    let old = old["token"].as_str().expect("token");
    assert_eq!(verify_with_p256(old, &jwks).err().as_deref(), Some("expired"));
    assert_eq!(verify_with_pyjwt(old, &jwks).err().as_deref(), Some("expired"));
}

#[tokio::test]
async fn after_a_rotation_the_new_key_signs_and_the_old_keys_tokens_still_verify() {
    let keys = KeySetDocument::generate();
    let mut app = app_with(&keys).await;
    let key = app.api_key_for("org_victim").await;
    let (_, before) = issue(&app, &key, "usr_ann").await;
    let before = before["token"].as_str().expect("token").to_owned();

    let first_kid = keys.keys[0].kid.clone();
    let rotated = keys.rotated();
    assert_eq!(rotated.keys.len(), 2);
    app.state = app.state.clone().with_entitlement_tokens(tokens(&rotated));
    app.router = seatflow_seats_api::router(app.state.clone());
    let (_, after) = issue(&app, &key, "usr_ann").await;
    assert_eq!(after["kid"].as_str(), Some(rotated.keys[0].kid.as_str()));
    let jwks = jwks(&app).await;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2), "both published");
    for token in [before.as_str(), after["token"].as_str().expect("token")] {
        verify_with_p256(token, &jwks).expect("verifies");
        verify_with_pyjwt(token, &jwks).expect("verifies");
    }
    // A second rotation drops the first key: its tokens have expired by then.
    let twice = rotated.rotated();
    assert!(!twice.keys.iter().any(|k| k.kid == first_kid));
}

#[tokio::test]
async fn a_token_never_outlives_the_paid_period() {
    use seatflow_domain::{Actor, Mode, OrgId, SubscriptionSnapshot, SubscriptionStatus};
    let app = app_with(&KeySetDocument::generate()).await;
    // A week-long lifetime, but Professional is paid for one more hour.
    let long = EntitlementTokens::from_key_set(
        &serde_json::to_string(&KeySetDocument::generate()).expect("json"),
        "seatflow",
        std::time::Duration::from_secs(30 * 24 * 3600),
    )
    .expect("keys");
    assert_eq!(long.lifetime().as_secs(), 7 * 24 * 3600, "capped at a week");
    let mut app = app;
    // No payment grace, so that the paid period alone bounds the token.
    app.state.seats = app.state.seats.clone().with_payment_grace_days(0);
    app.state = app.state.clone().with_entitlement_tokens(long);
    app.router = seatflow_seats_api::router(app.state.clone());
    let now = wall_clock();
    let org = OrgId::parse("org_victim").expect("id");
    let snapshot = SubscriptionSnapshot {
        org: org.clone(),
        id: "sub_hour".parse().expect("id"),
        customer: "cus_v".into(),
        status: SubscriptionStatus::Active,
        items: [("professional".parse().expect("id"), 10)].into_iter().collect(),
        term: None,
        current_period_start: Some(now - chrono::Duration::days(29)),
        current_period_end: Some(now + chrono::Duration::hours(1)),
        cancel_at_period_end: false,
    };
    app.state
        .seats
        .subscriptions()
        .apply_subscription(
            &Actor::system(org, "test"),
            &snapshot,
            "evt_hour",
            now,
            Mode::Apply,
        )
        .await
        .expect("applied");
    let key = app.api_key_for("org_victim").await;
    let (status, issued) = issue(&app, &key, "usr_ann").await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let claims =
        verify_with_pyjwt(issued["token"].as_str().expect("token"), &jwks(&app).await).expect("valid");
    let paid_until = (now + chrono::Duration::hours(1)).timestamp();
    assert_eq!(claims["exp"].as_i64(), Some(paid_until), "{claims}");
    assert_eq!(
        claims["products"][0]["until"].as_i64(),
        Some(paid_until),
        "{claims}"
    );
}

#[tokio::test]
async fn tokens_need_configured_keys_and_an_admin_or_key_of_the_organisation() {
    let mut app = TestApp::new().await;
    app.state.entitlement_tokens = None;
    app.router = seatflow_seats_api::router(app.state.clone());
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let (status, problem) = issue(&app, &key, "usr_ann").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("entitlement_tokens_unavailable")
        )
    );
    let (status, _, _) = app.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let app = app_with(&KeySetDocument::generate()).await;
    let (status, _) = issue(&app, "", "usr_ann").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let member = app.token("usr_ann", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _) = issue(&app, &member, "usr_ann").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = app.api_key_for("org_other").await;
    let (status, _) = issue(&app, &other, "usr_ann").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another organisation's user is not found"
    );
}
