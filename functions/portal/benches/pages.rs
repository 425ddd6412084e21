//! Portal pages rendered in process on the in-memory store, through the
//! router: Users (its first page of 50, and a search that reads one call's
//! most, 2,500 users, finds nobody and offers to search on) for an
//! organisation of 10,000 users (`PORTAL_BENCH_USERS` to choose another),
//! each with a seat, and Licenses; per page, the server's time to the whole
//! answer (median and worst of the runs) and its bytes with the stylesheet
//! and the script. See BENCHMARKS.md.
//!
//! Run: `cargo bench -p seatflow-portal --bench pages`

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use seatflow_domain::{Actor, Catalog, DisplayName, Email, Mode, NewUser, OrgId, Role, SystemClock, UserId};
use seatflow_http::{AppState, JwtConfig};
use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use secrecy::SecretString;
use tower::ServiceExt as _;

const RUNS: usize = 50;

async fn get(router: &axum::Router, path: &str, cookie: &str) -> (Duration, usize, String) {
    let request = Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let started = Instant::now();
    let response = router.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        started.elapsed(),
        bytes.len(),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Users of the organisation: `PORTAL_BENCH_USERS`, else 10,000.
fn users() -> usize {
    seatflow_config::env::var("PORTAL_BENCH_USERS")
        .map_or(10_000, |n| n.parse().expect("PORTAL_BENCH_USERS: a number"))
}

#[tokio::main]
async fn main() {
    let users = users();
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let jwt = JwtConfig::new(SecretString::from("portal-bench-secret-of-at-least-32-bytes")).expect("jwt");
    let state = AppState::new(
        Arc::new(MemoryEntitlementStore::new()),
        Arc::new(SystemClock),
        catalog.clone(),
        jwt,
    );
    let org = OrgId::parse("org_portal_bench").expect("org");
    let system = Actor::system(org.clone(), "bench");
    let seats = &state.seats;
    seats
        .organizations()
        .create_organization(&system, "Bench Inc", Mode::Apply)
        .await
        .expect("org");
    let pro = seatflow_domain::ProductId::parse("professional").expect("product");
    let grant =
        seatflow_domain::NewGrant::parse(pro.clone(), u32::try_from(users).expect("fits"), None, "bench")
            .expect("grant");
    seats
        .subscriptions()
        .grant_seats(&system, &grant, Mode::Apply)
        .await
        .expect("seats");
    for i in 0..users {
        let new = NewUser {
            id: Some(UserId::parse(format!("usr_{i:06}")).expect("id")),
            name: DisplayName::parse(&format!("Holder Number {i}")).expect("name"),
            email: Some(Email::parse(&format!("holder{i}@bench.example")).expect("email")),
            directory: None,
            role: if i == 0 { Role::Admin } else { Role::Member },
            team: None,
        };
        seats
            .directory()
            .create_user(&system, new, Some(&pro), Mode::Apply)
            .await
            .expect("user");
    }
    let gateway = OfflinePaymentGateway::new(catalog, Arc::new(SystemClock), "http://pay.local/checkout/");
    let router = seatflow_portal::router(seatflow_portal::PortalState {
        app: state.clone(),
        payments: Arc::new(gateway),
        secure_cookies: false,
        proration: seatflow_domain::ProrationBehavior::default(),
        sign_in: None,
    });
    let code = seatflow_http::auth::ApiKeySecret::generate_with(seatflow_http::auth::HAND_OFF_PREFIX);
    let person = seatflow_domain::Actor {
        org: org.clone(),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_000000").expect("id")),
        role: Role::Admin,
        teams: Vec::new(),
        grants_admin: true,
    };
    state
        .seats
        .sign_ins()
        .hand_off(&person, &code.hash, Mode::Apply)
        .await
        .expect("handed off");
    let handoff = Request::get(format!(
        "/portal/session?code={}",
        secrecy::ExposeSecret::expose_secret(&code.secret)
    ))
    .body(Body::empty())
    .unwrap();
    let answer = router.clone().oneshot(handoff).await.unwrap();
    let cookie = answer.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let (_, _, home) = get(&router, "/", &cookie).await;
    let linked = |before: &str| {
        home.split(before)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("an asset link")
            .to_owned()
    };
    let (_, css_bytes, _) = get(&router, &linked(r#"rel="stylesheet" href=""#), &cookie).await;
    let (_, js_bytes, _) = get(&router, &linked(r#"<script src=""#), &cookie).await;
    println!(
        "users: {users}, runs per page: {RUNS}, stylesheet: {css_bytes} bytes, script: {js_bytes} bytes"
    );
    for (name, path) in [
        ("Users (first 50)", "/users"),
        (
            "Users, a search matching nobody in one call's 2,500 users",
            "/users?q=holder9999%40",
        ),
        ("Licenses", "/"),
    ] {
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for _ in 0..RUNS {
            let (took, size, _) = get(&router, path, &cookie).await;
            times.push(took);
            bytes = size;
        }
        times.sort();
        println!(
            "{name}: median {:.2} ms, worst {:.2} ms, HTML {bytes} bytes, with the stylesheet and script {} bytes",
            times[RUNS / 2].as_secs_f64() * 1000.0,
            times[RUNS - 1].as_secs_f64() * 1000.0,
            bytes + css_bytes + js_bytes
        );
    }
}
