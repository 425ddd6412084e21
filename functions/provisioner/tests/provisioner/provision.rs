//! Provisioning jobs built from Stripe's own subscription fixture, applied to
//! a seeded organisation on the in-memory store.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::DateTime;
use seatflow_domain::{
    AddOnRequest, CheckoutSession, Clock as _, Mode, NewCheckout, PaymentGateway as _, ProviderSubscription,
    ProvisioningJob, QuoteRequest, Seats, Term,
};
use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use seatflow_provisioner::{Outcome, ProvisionError, Provisioner};
use seatflow_stripe::wire;
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::{Fixture, product};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/stripe/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// Stripe's subscription fixture with our org, prices and quantities.
fn subscription(id: &str, org: Option<&str>, status: &str, items: &[(&str, u32)]) -> Value {
    let mut sub = fixture("subscription");
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

/// The job the webhook makes of event `event` of `kind` about `object`.
fn job(event: &str, kind: &str, at: i64, object: &Value) -> ProvisioningJob {
    seatflow_stripe::event::job_for(
        event,
        kind,
        DateTime::from_timestamp(at, 0).expect("time"),
        &object.to_string(),
    )
}

async fn setup() -> (Fixture, Provisioner, Arc<OfflinePaymentGateway>) {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_customer").await;
    let gateway = offline(&f);
    let provisioner = Provisioner::new(f.seats.clone(), gateway.clone());
    (f, provisioner, gateway)
}

/// The provider now holds `sub` (as Stripe sends it) as that subscription's
/// state: what the provisioner reads, whatever an event's payload says.
fn stripe_holds(gateway: &OfflinePaymentGateway, sub: &Value) {
    match wire::subscription_of("customer.subscription.updated", &sub.to_string()) {
        Ok(wire::SubscriptionRef::Embedded(state)) => gateway.put_subscription(*state),
        other => panic!("not a subscription: {other:?}"),
    }
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
    let (f, provisioner, stripe) = setup().await;
    let sub = subscription(
        "sub_1",
        Some("org_customer"),
        "active",
        &[("seatflow_professional_annual", 25), ("seatflow_sso_annual", 10)],
    );
    stripe_holds(&stripe, &sub);
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
        .subscriptions()
        .subscription(&f.admin, &"sub_1".parse().expect("id"))
        .await
        .expect("stored");
    assert_eq!(
        stored.current_period_end,
        DateTime::from_timestamp(1_795_000_000, 0)
    );
    assert!(stored.cancel_at_period_end, "read from the fixture");
}

/// Stripe creates and activates a subscription in the same second, and may
/// deliver `created` (incomplete) after `updated` (active): applied from the
/// payloads, that left a paid subscription with no seats. Every event reads
/// the provider's state instead, so the seats stay.
#[tokio::test]
async fn events_apply_the_providers_state_not_their_payload() {
    let (f, provisioner, stripe) = setup().await;
    let active = subscription(
        "sub_2",
        Some("org_customer"),
        "active",
        &[("seatflow_essential_monthly", 8)],
    );
    let incomplete = subscription(
        "sub_2",
        Some("org_customer"),
        "incomplete",
        &[("seatflow_essential_monthly", 8)],
    );
    stripe_holds(&stripe, &active);
    let second = 1_790_000_100;
    let updated = job("evt_updated", "customer.subscription.updated", second, &active);
    let created = job(
        "evt_created",
        "customer.subscription.created",
        second,
        &incomplete,
    );
    for event in [&updated, &created] {
        assert_eq!(provisioner.apply(event).await.expect("applied"), Outcome::Applied);
        assert_eq!(purchased(&f, "essential").await, 8, "{}", event.event_id);
    }
    // A payload that lies (or a replay of an old event) changes nothing either.
    let mut forged = active.clone();
    forged["items"]["data"][0]["quantity"] = json!(500);
    let replay = job("evt_replayed", "customer.subscription.updated", second, &forged);
    assert_eq!(
        provisioner.apply(&replay).await.expect("applied"),
        Outcome::Applied
    );
    assert_eq!(purchased(&f, "essential").await, 8);
    // When the provider's state changes, the next event brings it.
    let mut grown = active.clone();
    grown["items"]["data"][0]["quantity"] = json!(11);
    stripe_holds(&stripe, &grown);
    let later = job("evt_grown", "invoice.paid", second + 60, &invoice_of("sub_2"));
    assert_eq!(
        provisioner.apply(&later).await.expect("applied"),
        Outcome::Applied
    );
    assert_eq!(purchased(&f, "essential").await, 11);
}

/// Stripe's invoice fixture, naming `subscription`.
fn invoice_of(subscription: &str) -> Value {
    let mut invoice = fixture("invoice");
    invoice["parent"]["subscription_details"]["subscription"] = json!(subscription);
    invoice
}

#[tokio::test]
async fn events_naming_no_known_organisation_or_price_are_refused_not_dropped() {
    let (_f, provisioner, stripe) = setup().await;
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
        stripe_holds(&stripe, sub);
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
    stripe_holds(&stripe, &odd_price);
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
    stripe_holds(&stripe, &odd_status);
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

/// An organisation's purchase paid through the offline gateway: the gateway
/// holds the subscription the events name.
async fn paid_checkout(
    f: &Fixture,
    gateway: &OfflinePaymentGateway,
) -> (CheckoutSession, ProviderSubscription) {
    let quote = f
        .seats
        .catalog()
        .quote(&QuoteRequest {
            plan: "professional".into(),
            term: Term::Annual,
            quantity: 12,
            add_ons: vec![AddOnRequest {
                product: "sso".into(),
                quantity: 4,
            }],
        })
        .expect("quote");
    let checkout = NewCheckout::of_quote(
        f.admin.org.clone(),
        &quote,
        "https://x/ok".into(),
        "https://x/no".into(),
    );
    let session = gateway.create_checkout(&checkout).await.expect("session");
    gateway.pay(&session.id, "cus_buyer").expect("paid")
}

fn raw(value: &Value) -> Value {
    value.clone()
}

#[tokio::test]
async fn checkout_and_invoice_events_re_fetch_the_subscription_and_take_effect_once() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_customer").await;
    let gateway = offline(&f);
    let provisioner = Provisioner::new(f.seats.clone(), gateway.clone());
    let (session, sub) = paid_checkout(&f, &gateway).await;
    let at = f.clock.now();
    let events = [
        job(
            "evt_cs",
            "checkout.session.completed",
            at.timestamp(),
            &raw(&wire::checkout_session_object(&session, "cus_buyer")),
        ),
        job(
            "evt_sub",
            "customer.subscription.created",
            at.timestamp(),
            &raw(&wire::subscription_object(&sub, at)),
        ),
        job(
            "evt_inv",
            "invoice.paid",
            at.timestamp(),
            &raw(&wire::invoice_object("in_1", &sub, 100, "usd")),
        ),
    ];
    // Fulfilment runs several times, concurrently: every delivery of each of
    // the three events of one purchase at once.
    let runs = events
        .iter()
        .cycle()
        .take(9)
        .map(|job| {
            let provisioner = provisioner.clone();
            let job = job.clone();
            tokio::spawn(async move { provisioner.apply(&job).await })
        })
        .collect::<Vec<_>>();
    let mut applied = 0;
    for run in runs {
        match run.await.expect("joined").expect("applied") {
            Outcome::Applied => applied += 1,
            Outcome::Duplicate | Outcome::Stale => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        (1..=3).contains(&applied),
        "each event applies at most once: {applied}"
    );
    assert_eq!(
        (purchased(&f, "professional").await, purchased(&f, "sso").await),
        (12, 4),
        "seats bought once, whatever the number of deliveries"
    );
    for job in &events {
        assert_eq!(provisioner.apply(job).await.expect("again"), Outcome::Duplicate);
    }
}

#[tokio::test]
async fn an_event_naming_a_subscription_the_provider_lacks_is_kept_for_retry() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_customer").await;
    let provisioner = Provisioner::new(f.seats.clone(), offline(&f));
    let err = provisioner
        .apply(&job("evt_ghost", "invoice.paid", 1, &invoice_of("sub_nowhere")))
        .await;
    assert!(
        matches!(&err, Err(ProvisionError::SubscriptionMissing { subscription, .. }) if subscription == "sub_nowhere"),
        "{err:?}"
    );
    let mut one_off = fixture("checkout_session");
    one_off["mode"] = json!("payment");
    one_off["subscription"] = Value::Null;
    assert_eq!(
        provisioner
            .apply(&job("evt_once", "checkout.session.completed", 1, &one_off))
            .await
            .expect("ok"),
        Outcome::NoSubscription
    );
}

#[tokio::test]
async fn a_failed_payment_keeps_seats_usable_for_the_grace_period_only() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_customer").await;
    let seats = f.seats.clone().with_payment_grace_days(3);
    let stripe = offline(&f);
    let provisioner = Provisioner::new(seats.clone(), stripe.clone());
    let mut sub = subscription(
        "sub_g",
        Some("org_customer"),
        "active",
        &[("seatflow_essential_monthly", 2)],
    );
    let now = f.clock.now().timestamp();
    sub["items"]["data"][0]["current_period_start"] = json!(now);
    sub["items"]["data"][0]["current_period_end"] = json!(now + 30 * 86_400);
    stripe_holds(&stripe, &sub);
    provisioner
        .apply(&job("evt_g1", "customer.subscription.created", now, &sub))
        .await
        .expect("applied");
    let user = f.user("Grace Hopper", None).await;
    seats
        .allocations()
        .assign(&f.admin, &product("essential"), &user.id, Mode::Apply)
        .await
        .expect("assigned");
    let usable = |seats: Seats| {
        let admin = f.admin.clone();
        let id = user.id.to_string();
        async move {
            seats
                .views()
                .entitlements(&admin, &id)
                .await
                .expect("entitlements")
                .products
                .len()
        }
    };
    sub["status"] = json!("past_due");
    stripe_holds(&stripe, &sub);
    provisioner
        .apply(&job("evt_g2", "customer.subscription.updated", now + 60, &sub))
        .await
        .expect("applied");
    f.clock.advance(chrono::Duration::days(2));
    assert_eq!(usable(seats.clone()).await, 1, "inside the grace period");
    let until = seats
        .views()
        .entitlements(&f.admin, user.id.as_str())
        .await
        .expect("entitlements")
        .products[0]
        .until
        .expect("until");
    assert_eq!(
        until.timestamp(),
        now + 3 * 86_400,
        "access ends when the grace ends, counted from the period's start"
    );
    // A second failure notice does not restart the grace period.
    provisioner
        .apply(&job(
            "evt_g3",
            "customer.subscription.updated",
            now + 86_400,
            &sub,
        ))
        .await
        .expect("applied");
    f.clock.advance(chrono::Duration::days(2));
    assert_eq!(
        usable(seats.clone()).await,
        0,
        "past the grace period: access off"
    );
    assert_eq!(
        purchased(&f, "essential").await,
        2,
        "the pool and its assignment are kept"
    );
    sub["status"] = json!("active");
    stripe_holds(&stripe, &sub);
    provisioner
        .apply(&job(
            "evt_g4",
            "customer.subscription.updated",
            now + 5 * 86_400,
            &sub,
        ))
        .await
        .expect("applied");
    assert_eq!(usable(seats).await, 1, "paid again: access restored");
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

#[tokio::test]
async fn a_paused_subscription_turns_access_off_and_resuming_restores_it() {
    let (f, provisioner, stripe) = setup().await;
    let mut sub = subscription(
        "sub_p",
        Some("org_customer"),
        "active",
        &[("seatflow_essential_monthly", 1)],
    );
    let now = f.clock.now().timestamp();
    sub["items"]["data"][0]["current_period_end"] = json!(now + 30 * 86_400);
    stripe_holds(&stripe, &sub);
    provisioner
        .apply(&job("evt_p1", "customer.subscription.created", now, &sub))
        .await
        .expect("applied");
    let user = f.user("Paula Pause", None).await;
    f.seats
        .allocations()
        .assign(&f.admin, &product("essential"), &user.id, Mode::Apply)
        .await
        .expect("assigned");
    let products = async |f: &Fixture| {
        f.seats
            .views()
            .entitlements(&f.admin, user.id.as_str())
            .await
            .expect("entitlements")
            .products
            .len()
    };
    assert_eq!(products(&f).await, 1);
    sub["status"] = json!("paused");
    stripe_holds(&stripe, &sub);
    provisioner
        .apply(&job("evt_p2", "customer.subscription.paused", now + 10, &sub))
        .await
        .expect("applied");
    assert_eq!(products(&f).await, 0, "paused: access off");
    let kept = f.seats.directory().user(&f.admin, &user.id).await.expect("user");
    assert_eq!(kept.seats.len(), 1, "the seat stays assigned: {kept:?}");
    sub["status"] = json!("active");
    stripe_holds(&stripe, &sub);
    provisioner
        .apply(&job("evt_p3", "customer.subscription.resumed", now + 20, &sub))
        .await
        .expect("applied");
    assert_eq!(products(&f).await, 1, "resumed: access back");
}

/// A job that fails is recorded for the vendor's operators, attempt by
/// attempt, with the organisation it named and why; once it succeeds, the
/// record goes.
#[tokio::test]
async fn a_failing_job_is_recorded_for_operators_until_it_succeeds() {
    use seatflow_provisioner::batch::QueuedMessage;
    let (f, provisioner, stripe) = setup().await;
    let sub = subscription(
        "sub_late",
        Some("org_newcomer"),
        "active",
        &[("seatflow_professional_annual", 7)],
    );
    stripe_holds(&stripe, &sub);
    let queued = QueuedMessage {
        id: "msg_1".into(),
        group: "sub_late".into(),
        body: serde_json::to_string(&job("evt_late", "customer.subscription.created", 1, &sub))
            .expect("JSON"),
    };
    let olga = seatflow_domain::Operator { name: "olga".into() };
    for attempt in 1..=2 {
        assert_eq!(
            provisioner
                .apply_batch(std::slice::from_ref(&queued))
                .await
                .failures,
            ["msg_1"]
        );
        let failures = f
            .seats
            .integrations()
            .failed_jobs(&olga, None)
            .await
            .expect("failures");
        assert_eq!(failures.len(), 1);
        assert_eq!(
            (
                failures[0].event_id.as_str(),
                failures[0].org.as_deref(),
                failures[0].code.as_str()
            ),
            ("evt_late", Some("org_newcomer"), "unknown_organization")
        );
        assert_eq!(failures[0].attempts, attempt);
    }
    let newcomer = seatflow_domain::OrgId::parse("org_newcomer").expect("id");
    assert_eq!(
        f.seats
            .integrations()
            .failed_jobs(&olga, Some(&newcomer))
            .await
            .expect("failures")
            .len(),
        1
    );
    assert!(
        f.seats
            .integrations()
            .failed_jobs(&olga, Some(&f.admin.org))
            .await
            .expect("failures")
            .is_empty()
    );

    f.seats
        .organizations()
        .create_organization(
            &seatflow_domain::Actor::system(newcomer.clone(), "test"),
            "Newcomer",
            Mode::Apply,
        )
        .await
        .expect("org");
    assert!(
        provisioner
            .apply_batch(std::slice::from_ref(&queued))
            .await
            .failures
            .is_empty()
    );
    assert!(
        f.seats
            .integrations()
            .failed_jobs(&olga, None)
            .await
            .expect("failures")
            .is_empty(),
        "a success clears the record"
    );
}
