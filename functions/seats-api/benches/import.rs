//! Bulk import of 1,000 users (CSV, each with a Professional seat) through
//! the seats API's router: the whole import's time, on the in-memory store;
//! and, when `AWS_ENDPOINT_URL` is set, on the DynamoDB store (moto) with the
//! DynamoDB requests per row. See BENCHMARKS.md.
//!
//! Run: `cargo bench -p seatflow-seats-api --bench import`, and on moto
//! `scripts/with-moto.sh cargo bench -p seatflow-seats-api --bench import`

// Benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use seatflow_domain::{Catalog, EntitlementStore, SystemClock};
use seatflow_http::{AppState, JwtConfig};
use secrecy::SecretString;
use tower::ServiceExt as _;

mod common;

const ROWS: usize = 1_000;

async fn import(label: &str, store: Arc<dyn EntitlementStore>, requests: impl Fn() -> Option<u64>) {
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let jwt = JwtConfig::new(SecretString::from("import-bench-secret-of-at-least-32-bytes")).expect("jwt");
    let state = AppState::new(store, Arc::new(SystemClock), catalog, jwt);
    let token = common::organisation_with_admin(&state, "org_import", 5_000).await;
    let mut csv = String::from("name,email,role,team,seat\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "Imported Person {i},person{i}@import.example,member,,professional\n"
        ));
    }
    let router = seatflow_seats_api::router(state);
    let before = requests();
    let started = Instant::now();
    let request = Request::post("/v1/users/import")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv))
        .expect("request");
    let response = router.oneshot(request).await.expect("infallible");
    let took = started.elapsed();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let report: serde_json::Value = serde_json::from_slice(&body).expect("report");
    assert_eq!(report["created"], ROWS, "{report}");
    let per_row = match (before, requests()) {
        #[allow(clippy::cast_precision_loss, reason = "small counts")]
        (Some(before), Some(after)) => format!(
            ", {:.2} DynamoDB requests per row",
            (after - before) as f64 / ROWS as f64
        ),
        _ => String::new(),
    };
    println!(
        "{label}: {ROWS} rows imported in {:.2} s ({:.2} ms per row){per_row}",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / ROWS as f64
    );
}

#[tokio::main]
async fn main() {
    import(
        "in-memory store",
        Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
        || None,
    )
    .await;
    if seatflow_testkit::moto::configured().await {
        let config = seatflow_testkit::aws::sdk_config().await;
        let meter = Arc::new(seatflow_dynamodb::CapacityMeter::default());
        let store = seatflow_testkit::aws::fresh_table(&config)
            .await
            .with_meter(meter.clone());
        import("DynamoDB store on moto", Arc::new(store), || {
            Some(meter.snapshot().requests)
        })
        .await;
    }
}
