//! Stripe delivers at least once, in no order: duplicates and shuffles must
//! end in the state in-order delivery reaches. On the in-memory store and on
//! DynamoDB (moto, started by `make test`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::DateTime;
use rand::seq::SliceRandom as _;
use seatflow_domain::{EntitlementStore, ProvisioningJob, SeatPool, Subscription};
use seatflow_memory::MemoryEntitlementStore;
use seatflow_provisioner::{Outcome, Provisioner};
use seatflow_testkit::{Fixture, aws};
use serde_json::json;

const PRICES: [&str; 3] = [
    "seatflow_essential_monthly",
    "seatflow_sso_monthly",
    "seatflow_analytics_monthly",
];
const STATUSES: [&str; 4] = ["active", "past_due", "active", "canceled"];

/// Event `n` (0-based) of subscription `s`: a state that differs from the one before.
fn event(s: usize, n: usize) -> ProvisioningJob {
    let id = format!("sub_conv_{s}");
    let items: Vec<_> = PRICES
        .iter()
        .enumerate()
        .map(|(i, price)| json!({ "quantity": 1 + (s * 7 + n * 3 + i) % 20, "current_period_end": 1_795_000_000 + n, "price": { "lookup_key": price } }))
        .collect();
    let object = json!({
        "id": id, "object": "subscription", "customer": format!("cus_{s}"),
        "status": STATUSES[(s + n) % STATUSES.len()], "cancel_at_period_end": n.is_multiple_of(2),
        "metadata": { "org": "org_converge" }, "items": { "data": items }
    });
    ProvisioningJob {
        event_id: format!("evt_{s}_{n}"),
        event_type: if n == 0 {
            "customer.subscription.created"
        } else {
            "customer.subscription.updated"
        }
        .into(),
        occurred_at: DateTime::from_timestamp(1_790_000_000 + i64::try_from(n).unwrap_or(0) * 60, 0)
            .expect("time"),
        group: id,
        object: serde_json::value::RawValue::from_string(object.to_string()).expect("JSON"),
    }
}

/// The entitlement state that matters: subscriptions (without versions) and pools' counts.
async fn state(store: &dyn EntitlementStore, f: &Fixture) -> (Vec<Subscription>, BTreeMap<String, u32>) {
    let mut subs = store.subscriptions(&f.admin.org).await.expect("subscriptions");
    for sub in &mut subs {
        sub.version = 0;
    }
    subs.sort_by(|a, b| a.id.cmp(&b.id));
    let pools: Vec<SeatPool> = store.pools(&f.admin.org).await.expect("pools");
    (
        subs,
        pools
            .into_iter()
            .map(|p| (p.product.to_string(), p.purchased))
            .collect(),
    )
}

async fn converges(make: impl AsyncFn() -> Arc<dyn EntitlementStore>) {
    // In order, each event once.
    let ordered = make().await;
    let f1 = Fixture::new(ordered.clone(), "org_converge").await;
    let p1 = Provisioner::new(f1.seats.clone(), offline(&f1));
    for n in 0..10 {
        for s in 0..5 {
            assert_eq!(p1.apply(&event(s, n)).await.expect("applied"), Outcome::Applied);
        }
    }
    let expected = state(ordered.as_ref(), &f1).await;
    assert_eq!(expected.0.len(), 5);

    // Shuffled, with every fifth event delivered again, and one event five times.
    let shuffled = make().await;
    let f2 = Fixture::new(shuffled.clone(), "org_converge").await;
    let p2 = Provisioner::new(f2.seats.clone(), offline(&f2));
    let mut deliveries: Vec<ProvisioningJob> =
        (0..5).flat_map(|s| (0..10).map(move |n| event(s, n))).collect();
    let again: Vec<_> = deliveries.iter().step_by(5).cloned().collect();
    deliveries.extend(again);
    deliveries.extend(std::iter::repeat_n(event(2, 9), 4));
    deliveries.shuffle(&mut rand::rng());
    // A redelivery is a duplicate, or stale when a newer state landed since
    // (stale events are not recorded): either way it has no second effect.
    let mut without_effect = 0;
    for job in &deliveries {
        if matches!(
            p2.apply(job).await.expect("applied"),
            Outcome::Duplicate | Outcome::Stale
        ) {
            without_effect += 1;
        }
    }
    assert!(
        without_effect >= 10 + 4,
        "every redelivery had no second effect ({without_effect})"
    );
    assert_eq!(
        state(shuffled.as_ref(), &f2).await,
        expected,
        "shuffled delivery converged"
    );
}

#[tokio::test]
async fn shuffled_and_duplicated_events_converge_on_the_memory_store() {
    converges(async || Arc::new(MemoryEntitlementStore::new()) as Arc<dyn EntitlementStore>).await;
}

#[tokio::test]
async fn shuffled_and_duplicated_events_converge_on_dynamodb() {
    let config = aws::sdk_config().await;
    converges(async || Arc::new(aws::fresh_table(&config).await) as Arc<dyn EntitlementStore>).await;
}

/// The offline payment gateway on the fixture's clock.
fn offline(f: &Fixture) -> std::sync::Arc<seatflow_memory::OfflinePaymentGateway> {
    let catalog = std::sync::Arc::new(seatflow_domain::Catalog::default_catalog().expect("catalog"));
    std::sync::Arc::new(seatflow_memory::OfflinePaymentGateway::new(
        catalog,
        f.clock.clone(),
        "http://local/checkout/",
    ))
}
