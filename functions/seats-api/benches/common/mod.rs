//! What the seats API's benchmarks share: an organisation with seats and an
//! admin, as the vendor's operator would set it up, and a call through the
//! router.

// Each bench compiles this module and uses what it needs of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use seatflow_domain::{Actor, DisplayName, Email, Mode, NewGrant, NewUser, OrgId, ProductId, Role, UserId};
use seatflow_http::AppState;
use serde_json::Value;
use tower::ServiceExt as _;

/// Creates organisation `org` with `seats` Professional seats (a grant) and
/// an admin, `usr_admin`; answers the admin's bearer token (an hour).
pub async fn organisation_with_admin(state: &AppState, org: &str, seats: u32) -> String {
    let org = OrgId::parse(org).expect("org");
    let system = Actor::system(org.clone(), "bench");
    let service = &state.seats;
    service
        .organizations()
        .create_organization(&system, "Bench Inc", Mode::Apply)
        .await
        .expect("org");
    let grant = NewGrant::parse(
        ProductId::parse("professional").expect("id"),
        seats,
        None,
        "bench",
    )
    .expect("grant");
    service
        .subscriptions()
        .grant_seats(&system, &grant, Mode::Apply)
        .await
        .expect("seats");
    let admin = UserId::parse("usr_admin").expect("id");
    let new = NewUser {
        id: Some(admin.clone()),
        name: DisplayName::parse("Admin").expect("name"),
        email: Some(Email::parse(&format!("admin@{org}.example")).expect("email")),
        directory: None,
        role: Role::Admin,
        team: None,
    };
    service
        .directory()
        .create_user(&system, new, None, Mode::Apply)
        .await
        .expect("admin");
    state
        .auth
        .mint(&admin, &org, Role::Admin, &[], 3600)
        .expect("token")
}

/// One call through `router` as `token` (a JSON body when given), which
/// must succeed: how long the whole answer took, and its body.
pub async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (Duration, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let started = Instant::now();
    let response = router
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let took = started.elapsed();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{uri}: {status} {value}");
    (took, value)
}
