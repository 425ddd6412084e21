//! Reconciliation of 1,000 organisations (one subscription each) against a
//! stand-in of Stripe's API through the real Stripe client: the first run
//! finds every subscription missing and applies it, the second finds all in
//! sync. Wall time and Stripe requests per organisation, on the in-memory
//! store; and, when `AWS_ENDPOINT_URL` is set, 100 organisations on the
//! DynamoDB store (moto).
//!
//! Run: `cargo bench -p seatflow-reconciler --bench reconcile`, and on moto
//! `scripts/with-moto.sh cargo bench -p seatflow-reconciler --bench reconcile`
//! (figures in BENCHMARKS.md).

// Benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use seatflow_domain::{
    Actor, Catalog, EntitlementStore, Mode, OrgId, PaymentGateway, RenewalIndex, Seats, SystemClock,
};
use seatflow_reconciler::{ReconcileConfig, Reconciler};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[path = "../tests/support/mod.rs"]
mod support;

const ORGS: usize = 1_000;
/// On moto: a single-threaded Python server whose transactions slow as the
/// table grows; 1,000 organisations take it well over half an hour.
const ORGS_ON_MOTO: usize = 100;

async fn measure(label: &str, orgs: usize, store: Arc<dyn EntitlementStore>, index: Arc<dyn RenewalIndex>) {
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let seats = Arc::new(Seats::new(store, Arc::new(SystemClock), catalog));
    let count = orgs;
    let orgs: Vec<String> = (0..count).map(|n| format!("org_bench_{n:04}")).collect();
    for org in &orgs {
        let actor = Actor::system(OrgId::parse(org.as_str()).expect("id"), "bench");
        seats
            .organizations()
            .create_organization(&actor, org, Mode::Apply)
            .await
            .expect("organisation");
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(support::SubscriptionPages { total: count, orgs })
        .mount(&server)
        .await;
    let stripe = seatflow_stripe::StripeGateway::new("sk_test_bench", Some(&format!("{}/", server.uri())))
        .expect("client");
    // Pacing is not what is measured: the stand-in answers at once.
    let config = ReconcileConfig {
        requests_per_second: NonZeroU32::new(1_000_000).expect("rate"),
    };
    let reconciler = Reconciler::new(seats, Arc::new(stripe) as Arc<dyn PaymentGateway>, index, config);
    for run in ["first run (all missing)", "second run (in sync)"] {
        let started = Instant::now();
        let report = reconciler.run(None).await.expect("run");
        let took = started.elapsed();
        assert_eq!(report.organisations_checked, count);
        #[allow(clippy::cast_precision_loss, reason = "small counts")]
        let per_org = report.provider_requests as f64 / count as f64;
        println!(
            "{label}, {count} organisations, {run}: {:.2} s, {} Stripe requests ({per_org:.3} per organisation), {} drift corrected",
            took.as_secs_f64(),
            report.provider_requests,
            report.drift_corrected,
        );
    }
}

#[tokio::main]
async fn main() {
    let memory = Arc::new(seatflow_memory::MemoryEntitlementStore::new());
    measure("in-memory store", ORGS, memory.clone(), memory).await;
    if seatflow_testkit::moto::configured().await {
        let config = seatflow_testkit::aws::sdk_config().await;
        let table = seatflow_testkit::aws::fresh_table(&config).await;
        let store = Arc::new(table);
        measure("DynamoDB store on moto", ORGS_ON_MOTO, store.clone(), store).await;
    }
}
