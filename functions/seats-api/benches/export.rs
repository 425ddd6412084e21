//! The assignment export, in process on the in-memory store: an organisation
//! of N users, each holding one Professional seat, exported as CSV through the
//! seats API's router, page after page (`Link: rel="next"`) to the end. For
//! each size: the whole export's time, the largest page (Lambda's buffered
//! response limit is 6 MB), and the heap's peak above where it stood before
//! the export (the counting allocator `peak_alloc`). See BENCHMARKS.md.
//!
//! Run: `cargo bench -p seatflow-seats-api --bench export`

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use peak_alloc::PeakAlloc;
use seatflow_domain::{Actor, Catalog, DisplayName, Email, Mode, NewUser, OrgId, Role, SystemClock, UserId};
use seatflow_http::{AppState, JwtConfig};
use seatflow_memory::MemoryEntitlementStore;
use secrecy::SecretString;
use tower::ServiceExt as _;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

async fn seeded(users: usize) -> (axum::Router, String) {
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let jwt = JwtConfig::new(SecretString::from("export-bench-secret-of-at-least-32-bytes")).expect("jwt");
    let state = AppState::new(
        Arc::new(MemoryEntitlementStore::new()),
        Arc::new(SystemClock),
        catalog,
        jwt,
    );
    let org = OrgId::parse("org_export").expect("org");
    let admin = Actor::system(org.clone(), "bench");
    let seats = &state.seats;
    seats
        .organizations()
        .create_organization(&admin, "Export Inc", Mode::Apply)
        .await
        .expect("org");
    let pro = seatflow_domain::ProductId::parse("professional").expect("product");
    let grant =
        seatflow_domain::NewGrant::parse(pro.clone(), u32::try_from(users).expect("fits"), None, "bench")
            .expect("grant");
    seats
        .subscriptions()
        .grant_seats(&admin, &grant, Mode::Apply)
        .await
        .expect("seats");
    for i in 0..users {
        let new = NewUser {
            id: Some(UserId::parse(format!("usr_{i:06}")).expect("id")),
            name: DisplayName::parse(&format!("Holder Number {i}")).expect("name"),
            email: Some(Email::parse(&format!("holder{i}@export.example")).expect("email")),
            directory: None,
            // The first holder is the admin who exports.
            role: if i == 0 { Role::Admin } else { Role::Member },
            team: None,
        };
        seats
            .directory()
            .create_user(&admin, new, Some(&pro), Mode::Apply)
            .await
            .expect("user");
    }
    let token = state
        .auth
        .mint(
            &UserId::parse("usr_000000").expect("id"),
            &org,
            Role::Admin,
            &[],
            3600,
        )
        .expect("token");
    (seatflow_seats_api::router(state), token)
}

/// Exports every page; (pages, total bytes, largest page bytes, rows).
async fn export(router: &axum::Router, token: &str) -> (usize, usize, usize, usize) {
    let mut uri = "/v1/assignments?format=csv".to_owned();
    let (mut pages, mut total, mut largest, mut rows) = (0, 0, 0, 0);
    loop {
        let request = Request::get(&uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("answered");
        assert!(response.status().is_success(), "{}", response.status());
        let next = response
            .headers()
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once('<').and_then(|(_, rest)| rest.split_once('>')))
            .map(|(target, _)| target.to_owned());
        let body = response.into_body().collect().await.expect("body").to_bytes();
        pages += 1;
        total += body.len();
        largest = largest.max(body.len());
        rows += body.iter().filter(|b| **b == b'\n').count().saturating_sub(1);
        match next {
            Some(target) => uri = target,
            None => return (pages, total, largest, rows),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    #[allow(clippy::print_stdout)] // the report is the output
    {
        println!("| users | pages | CSV bytes | largest page | export time | heap peak during export |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for users in [1_000, 100_000] {
        let (router, token) = seeded(users).await;
        let before = HEAP.current_usage();
        HEAP.reset_peak_usage();
        let start = Instant::now();
        let (pages, total, largest, rows) = export(&router, &token).await;
        let took = start.elapsed();
        let peak = HEAP.peak_usage().saturating_sub(before);
        assert_eq!(rows, users, "every seat exported once");
        #[allow(clippy::print_stdout)]
        {
            println!(
                "| {users} | {pages} | {:.1} MB | {:.2} MB | {:.0} ms | {:.1} MB |",
                total as f64 / 1e6,
                largest as f64 / 1e6,
                took.as_secs_f64() * 1000.0,
                peak as f64 / 1e6,
            );
        }
    }
}
