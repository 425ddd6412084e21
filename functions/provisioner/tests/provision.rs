//! Provisioning jobs built from Stripe's own subscription fixture, applied to
//! a seeded organisation on the in-memory store.

use std::sync::Arc;

use chrono::DateTime;
use seatflow_domain::ProvisioningJob;
use seatflow_memory::MemoryEntitlementStore;
use seatflow_provisioner::{Outcome, ProvisionError, Provisioner};
use seatflow_testkit::{Fixture, product};
use serde_json::{Value, json};

/// Stripe's subscription fixture with our org, prices and quantities.
fn subscription(id: &str, org: Option<&str>, status: &str, items: &[(&str, u32)]) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../stripe-webhook/tests/fixtures/subscription.json"
    );
    let mut sub: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let template = sub["items"]["data"][0].clone();
    sub["id"] = json!(id);
    sub["status"] = json!(status);
    sub["metadata"] = org.map_or(json!({}), |o| json!({ "org": o }));
    sub["items"]["data"] = items
        .iter()
        .map(|(lookup_key, quantity)| {
            let mut item = template.clone();
            item["price"]["lookup_key"] = json!(lookup_key);
            item["quantity"] = json!(quantity);
            item["current_period_end"] = json!(1_795_000_000);
            item
        })
        .collect();
    sub
}

fn job(event: &str, kind: &str, at: i64, object: &Value) -> ProvisioningJob {
    ProvisioningJob {
        event_id: event.into(),
        event_type: kind.into(),
        occurred_at: DateTime::from_timestamp(at, 0).expect("time"),
        group: object["id"].as_str().unwrap_or("none").into(),
        object: serde_json::value::RawValue::from_string(object.to_string()).expect("JSON"),
    }
}

async fn setup() -> (Fixture, Provisioner) {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_customer").await;
    let provisioner = Provisioner::new(f.seats.clone());
    (f, provisioner)
}

async fn purchased(f: &Fixture, p: &str) -> u32 {
    f.store
        .pool(&f.admin.org, &product(p))
        .await
        .expect("read")
        .map_or(0, |pool| pool.purchased)
}

#[tokio::test]
async fn a_subscription_event_provisions_its_seats_once() {
    let (f, provisioner) = setup().await;
    let sub = subscription(
        "sub_1",
        Some("org_customer"),
        "active",
        &[("seatflow_professional_annual", 25), ("seatflow_sso_annual", 10)],
    );
    let created = job("evt_1", "customer.subscription.created", 1_790_000_000, &sub);
    assert_eq!(
        provisioner.apply(&created).await.expect("applied"),
        Outcome::Applied
    );
    assert_eq!(
        (purchased(&f, "professional").await, purchased(&f, "sso").await),
        (25, 10)
    );
    assert_eq!(
        provisioner.apply(&created).await.expect("applied"),
        Outcome::Duplicate
    );
    let stored = f
        .seats
        .subscription(&f.admin, &"sub_1".parse().expect("id"))
        .await
        .expect("stored");
    assert_eq!(
        stored.current_period_end,
        DateTime::from_timestamp(1_795_000_000, 0)
    );
    assert!(stored.cancel_at_period_end, "read from the fixture");
}

#[tokio::test]
async fn reordered_updates_converge_to_the_newest() {
    let (f, provisioner) = setup().await;
    let older = subscription(
        "sub_2",
        Some("org_customer"),
        "active",
        &[("seatflow_essential_monthly", 5)],
    );
    let newer = subscription(
        "sub_2",
        Some("org_customer"),
        "active",
        &[("seatflow_essential_monthly", 8)],
    );
    let updated = job("evt_new", "customer.subscription.updated", 1_790_000_200, &newer);
    let created = job("evt_old", "customer.subscription.created", 1_790_000_100, &older);
    assert_eq!(
        provisioner.apply(&updated).await.expect("applied"),
        Outcome::Applied
    );
    assert_eq!(
        provisioner.apply(&created).await.expect("applied"),
        Outcome::Stale
    );
    assert_eq!(purchased(&f, "essential").await, 8);
}

#[tokio::test]
async fn events_naming_no_known_organisation_or_price_are_refused_not_dropped() {
    let (_f, provisioner) = setup().await;
    let cases = [
        subscription("sub_3", None, "active", &[("seatflow_essential_monthly", 1)]),
        subscription(
            "sub_3",
            Some("org_nobody"),
            "active",
            &[("seatflow_essential_monthly", 1)],
        ),
    ];
    for sub in &cases {
        let err = provisioner
            .apply(&job("evt_org", "customer.subscription.created", 1, sub))
            .await;
        assert!(
            matches!(err, Err(ProvisionError::UnknownOrganization { .. })),
            "{err:?}"
        );
    }
    let odd_price = subscription(
        "sub_4",
        Some("org_customer"),
        "active",
        &[("someone_elses_price", 1)],
    );
    let err = provisioner
        .apply(&job("evt_price", "customer.subscription.created", 1, &odd_price))
        .await;
    assert!(matches!(err, Err(ProvisionError::UnknownPrice { .. })), "{err:?}");
    let mut odd_status = subscription(
        "sub_5",
        Some("org_customer"),
        "active",
        &[("seatflow_sso_monthly", 1)],
    );
    odd_status["status"] = json!("levitating");
    let err = provisioner
        .apply(&job(
            "evt_status",
            "customer.subscription.updated",
            1,
            &odd_status,
        ))
        .await;
    assert!(matches!(err, Err(ProvisionError::Malformed { .. })), "{err:?}");
}

#[tokio::test]
async fn checkout_and_invoice_events_are_deferred_with_a_reason() {
    let (_f, provisioner) = setup().await;
    for kind in [
        "checkout.session.completed",
        "invoice.paid",
        "invoice.payment_failed",
    ] {
        let outcome = provisioner
            .apply(&job("evt_d", kind, 1, &json!({ "id": "cs_1" })))
            .await
            .expect("ok");
        assert!(matches!(outcome, Outcome::Deferred(_)), "{kind}");
    }
}
