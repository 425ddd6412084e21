//! What one page costs as the organisation grows: SCIM `GET /Users` (the
//! first page of 100, a page from the middle by `startIndex`, and a lookup
//! by `userName`) and the API's `GET /v1/users` (first page of 100), in
//! process on the in-memory store, for organisations of 1,000 and 100,000
//! users (`PAGES_USERS=1000,100000`); per request, the median and worst time
//! of the runs, and the ratio of the largest size's median to the
//! smallest's. See BENCHMARKS.md.
//!
//! Run: `cargo bench -p seatflow-seats-api --bench pages`

// Benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(clippy::cast_precision_loss, reason = "durations far below 2^52 ns")]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use seatflow_domain::{Catalog, SystemClock};
use seatflow_http::{AppState, JwtConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

mod common;

const RUNS: usize = 50;
/// Rows per import request (the API's most).
const IMPORT_ROWS: usize = 1_000;

/// Organisation sizes: `PAGES_USERS` (`1000,100000`), else these.
fn sizes() -> Vec<usize> {
    seatflow_config::env::var("PAGES_USERS").map_or_else(
        || vec![1_000, 100_000],
        |list| {
            list.split(',')
                .map(|n| n.trim().parse().expect("PAGES_USERS: numbers"))
                .collect()
        },
    )
}

/// The median and worst of `RUNS` requests to `uri`, whose answer `check` accepts.
async fn timed(router: &Router, uri: &str, token: &str, check: impl Fn(&Value)) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let (took, body) = common::send(router, "GET", uri, token, None).await;
        check(&body);
        times.push(took);
    }
    times.sort();
    (times[RUNS / 2], times[RUNS - 1])
}

/// An organisation of `users` users (the admin and the rest by import),
/// and the median of each page.
async fn organisation_of(users: usize) -> Vec<(&'static str, Duration, Duration)> {
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let jwt = JwtConfig::new(SecretString::from("pages-bench-secret-of-at-least-32-bytes")).expect("jwt");
    let store = Arc::new(seatflow_memory::MemoryEntitlementStore::new());
    let state = AppState::new(store, Arc::new(SystemClock), catalog, jwt);
    let router = seatflow_seats_api::router(state.clone());
    let token = common::organisation_with_admin(&state, "org_pages", 10).await;
    let (_, key) = common::send(
        &router,
        "POST",
        "/v1/api-keys",
        &token,
        Some(json!({"name": "directory", "scopes": ["scim"]})),
    )
    .await;
    let scim = key["result"]["secret"].as_str().expect("secret").to_owned();
    let mut made = 1;
    while made < users {
        let rows: Vec<Value> = (made..users.min(made + IMPORT_ROWS))
            .map(|i| json!({"name": format!("Person {i}"), "email": format!("person{i}@pages.example")}))
            .collect();
        let (_, report) = common::send(
            &router,
            "POST",
            "/v1/users/import",
            &token,
            Some(json!({ "users": rows })),
        )
        .await;
        assert_eq!(report["failed"], 0, "{report}");
        made += rows.len();
    }
    let middle = users / 2;
    let total = move |body: &Value| assert_eq!(body["totalResults"], users, "every user counted");
    vec![
        {
            let (p50, worst) = timed(&router, "/scim/v2/Users?startIndex=1&count=100", &scim, total).await;
            ("SCIM Users, first page of 100", p50, worst)
        },
        {
            let uri = format!("/scim/v2/Users?startIndex={middle}&count=100");
            let (p50, worst) = timed(&router, &uri, &scim, total).await;
            ("SCIM Users, a page of 100 from the middle", p50, worst)
        },
        {
            let uri = format!("/scim/v2/Users?filter=userName%20eq%20%22person{middle}@pages.example%22");
            let (p50, worst) = timed(&router, &uri, &scim, |body| assert_eq!(body["totalResults"], 1)).await;
            ("SCIM Users, one by userName", p50, worst)
        },
        {
            let (p50, worst) = timed(&router, "/v1/users?limit=100", &token, |body| {
                assert_eq!(body["users"].as_array().map(Vec::len), Some(100), "{body}");
            })
            .await;
            ("API users, first page of 100", p50, worst)
        },
    ]
}

#[tokio::main]
async fn main() {
    let sizes = sizes();
    let mut results = Vec::new();
    for users in &sizes {
        results.push((*users, organisation_of(*users).await));
    }
    println!("in-memory store, {RUNS} runs per page");
    println!("| request | users | median µs | worst µs |");
    println!("| --- | ---: | ---: | ---: |");
    for (users, pages) in &results {
        for (name, p50, worst) in pages {
            println!(
                "| {name} | {users} | {} | {} |",
                p50.as_micros(),
                worst.as_micros()
            );
        }
    }
    if let (Some((small, first)), Some((large, last))) = (results.first(), results.last()) {
        println!();
        println!("| request | median at {large} ÷ median at {small} |");
        println!("| --- | ---: |");
        for ((name, a, _), (_, b, _)) in first.iter().zip(last) {
            println!("| {name} | {:.2} |", b.as_secs_f64() / a.as_secs_f64());
        }
    }
}
