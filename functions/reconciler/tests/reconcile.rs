//! The reconciler against the offline provider (the state Stripe would
//! hold) and, for listing and paging, the real Stripe client against a local
//! stand-in of Stripe's API: each kind of drift is repaired, audited and
//! counted; nothing in sync is written; every page is read.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use seatflow_domain::store_ports::*;
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use chrono::{DateTime, Duration};
use seatflow_domain::{
    AuditAction, Catalog, Clock as _, Mode, NewGrant, ORG_METADATA_KEY, PaymentGateway, ProviderItem,
    ProviderSubscription, RenewalIndex, SubscriptionId,
};
use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use seatflow_reconciler::{ReconcileConfig, ReconcileReport, Reconciler};
use seatflow_testkit::{Fixture, StoreReads as _, product};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

mod support;
use support::SubscriptionPages;

fn provider(
    id: &str,
    org: &str,
    status: &str,
    items: &[(&str, u32)],
    period_end: i64,
) -> ProviderSubscription {
    ProviderSubscription {
        id: id.into(),
        customer: format!("cus_{org}"),
        status: status.into(),
        metadata: BTreeMap::from([(ORG_METADATA_KEY.to_owned(), org.to_owned())]),
        cancel_at_period_end: false,
        items: items
            .iter()
            .enumerate()
            .map(|(i, (key, quantity))| ProviderItem {
                id: format!("si_{id}_{i}"),
                lookup_key: Some((*key).to_owned()),
                quantity: *quantity,
                current_period_start: DateTime::from_timestamp(period_end - 30 * 86_400, 0),
                current_period_end: DateTime::from_timestamp(period_end, 0),
            })
            .collect(),
    }
}

fn fast() -> ReconcileConfig {
    ReconcileConfig {
        requests_per_second: NonZeroU32::new(1_000).expect("rate"),
    }
}

struct World {
    f: Fixture,
    /// The store the test seeds and reads through.
    store: Arc<dyn EntitlementStore>,
    stripe: Arc<OfflinePaymentGateway>,
    reconciler: Reconciler,
}

async fn world(org: &str) -> World {
    let store = Arc::new(MemoryEntitlementStore::new());
    world_on(store.clone(), store.clone(), store, org).await
}

/// A world whose reconciler uses `store` and `index` (the permission test's
/// recorded DynamoDB), seeded and read through `seeding`.
async fn world_on(
    seeding: Arc<dyn EntitlementStore>,
    store: Arc<dyn EntitlementStore>,
    index: Arc<dyn RenewalIndex>,
    org: &str,
) -> World {
    let f = Fixture::new(seeding.clone(), org).await;
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let stripe = Arc::new(OfflinePaymentGateway::new(
        catalog.clone(),
        f.clock.clone(),
        "http://offline/",
    ));
    let reconciler = Reconciler::new(
        Arc::new(seatflow_domain::Seats::new(store, f.clock.clone(), catalog)),
        stripe.clone(),
        index,
        fast(),
    );
    World {
        f,
        store: seeding,
        stripe,
        reconciler,
    }
}

async fn purchased(f: &Fixture, p: &str) -> u32 {
    f.store
        .pool(&f.admin.org, &product(p))
        .await
        .expect("read")
        .map_or(0, |pool| pool.purchased)
}

/// Applies `sub` as a delivered event would have, then lets the clock move on.
async fn delivered(w: &World, sub: &ProviderSubscription, event: &str) {
    let snapshot = sub.snapshot(w.f.seats.catalog()).expect("snapshot");
    w.f.seats
        .subscriptions()
        .apply_subscription(&w.f.admin, &snapshot, event, w.f.clock.now(), Mode::Apply)
        .await
        .expect("applied");
    w.f.clock.advance(Duration::seconds(1));
}

#[tokio::test]
async fn each_kind_of_drift_is_corrected_audited_and_counted() {
    each_kind_of_drift_on(world("org_drift").await).await;
}

/// The reconciler's AWS calls, recorded on the wire as it corrects each kind
/// of drift on moto, are every one allowed by its role in the template as
/// SAM deploys it (`seatflow_testkit::iam`; moto enforces no IAM), and every
/// grant is used.
#[tokio::test]
async fn every_aws_call_of_the_reconciler_is_allowed_by_its_role() {
    use seatflow_testkit::aws;
    use seatflow_testkit::aws_calls::CallLog;
    use seatflow_testkit::iam::{Evaluation, Stack, Template};

    const FUNCTION: &str = "ReconcilerFunction";
    let config = aws::sdk_config().await;
    let seeding = aws::fresh_table(&config).await;
    let table = seeding.table().to_owned();
    let calls = CallLog::new();
    let store = Arc::new(seatflow_dynamodb::DynamoEntitlementStore::new(
        calls.dynamodb(&config, FUNCTION),
        &table,
    ));
    let seeding: Arc<dyn EntitlementStore> = Arc::new(seeding);
    each_kind_of_drift_on(world_on(seeding.clone(), store.clone(), store.clone(), "org_drift").await).await;
    a_missed_plan_change_moves_team_members_on(&world_on(seeding, store.clone(), store, "org_moves").await)
        .await;

    let stack = Stack::new(Template::transformed()).with_table(&table);
    let mut recorded = calls.calls();
    recorded.extend(stack.template().secret_reads(FUNCTION));
    let evaluation = Evaluation::of(&stack, &recorded);
    evaluation.assert_allowed();
    evaluation.assert_unused_are(&stack, &[]);
}

/// A plan change whose event was lost: the reconciler moves the team's
/// member to the new plan's seats, and the team's counts with her.
async fn a_missed_plan_change_moves_team_members_on(w: &World) {
    use seatflow_domain::{DisplayName, NewUser, TeamId};
    let now = w.f.clock.now().timestamp();
    let mut plan = provider(
        "sub_plan",
        "org_moves",
        "active",
        &[("seatflow_professional_monthly", 3)],
        now + 86_400,
    );
    w.stripe.put_subscription(plan.clone());
    delivered(w, &plan, "evt_plan").await;
    let directory = w.f.seats.directory();
    let team = TeamId::parse("team_movers").expect("id");
    directory
        .create_team(&w.f.admin, Some(&team), "Movers", Mode::Apply)
        .await
        .expect("team");
    w.f.seats
        .allocations()
        .set_allocation(&w.f.admin, &team, &product("professional"), Some(2), Mode::Apply)
        .await
        .expect("allocation");
    directory
        .create_user(
            &w.f.admin,
            NewUser {
                id: None,
                name: DisplayName::parse("Mia Mover").expect("name"),
                email: None,
                directory: None,
                role: seatflow_domain::Role::Member,
                team: Some(team),
            },
            Some(&product("professional")),
            Mode::Apply,
        )
        .await
        .expect("member with a seat");
    plan.items[0].lookup_key = Some("seatflow_enterprise_monthly".into());
    w.stripe.put_subscription(plan);
    let report = w.reconciler.run(None).await.expect("run");
    assert_eq!((report.drift_corrected, report.failed), (1, 0), "{report:?}");
    assert_eq!(purchased(&w.f, "enterprise").await, 3);
    let enterprise =
        w.f.store
            .pool(&w.f.admin.org, &product("enterprise"))
            .await
            .expect("read")
            .expect("pool");
    assert_eq!(enterprise.assigned, 1, "Mia's seat moved with the plan");
}

async fn each_kind_of_drift_on(w: World) {
    let org = "org_drift";
    let now = w.f.clock.now().timestamp();
    // In sync: delivered, unchanged since.
    let in_sync = provider(
        "sub_in_sync",
        org,
        "active",
        &[("seatflow_sso_annual", 4)],
        now + 86_400,
    );
    delivered(&w, &in_sync, "evt_1").await;
    // A wrong quantity: the increase's event died in the dead-letter queue.
    let mut quantity = provider(
        "sub_quantity",
        org,
        "active",
        &[("seatflow_professional_annual", 10)],
        now + 86_400,
    );
    delivered(&w, &quantity, "evt_2").await;
    quantity.items[0].quantity = 25;
    // A wrong status: the cancellation was never delivered.
    let mut status = provider(
        "sub_status",
        org,
        "active",
        &[("seatflow_essential_monthly", 3)],
        now + 86_400,
    );
    delivered(&w, &status, "evt_3").await;
    status.status = "canceled".into();
    // An expired period: the renewal's event never came.
    let mut period = provider(
        "sub_period",
        org,
        "active",
        &[("seatflow_analytics_annual", 2)],
        now - 86_400,
    );
    delivered(&w, &period, "evt_4").await;
    period.items[0].current_period_end = DateTime::from_timestamp(now + 364 * 86_400, 0);
    // Missing: no event at all.
    let missing = provider(
        "sub_missing",
        org,
        "active",
        &[("seatflow_enterprise_annual", 7)],
        now + 86_400,
    );
    // Names an organisation seatflow does not know.
    let stranger = provider(
        "sub_stranger",
        "org_unknown",
        "active",
        &[("seatflow_sso_annual", 1)],
        now + 86_400,
    );
    for sub in [&in_sync, &quantity, &status, &period, &missing, &stranger] {
        w.stripe.put_subscription(sub.clone());
    }
    // A grant that ran out yesterday.
    let until = w.f.clock.now() + Duration::hours(1);
    let grant = NewGrant::parse(product("sso"), 6, Some(until), "pilot").expect("grant");
    w.f.seats
        .subscriptions()
        .grant_seats(&w.f.vendor(), &grant, Mode::Apply)
        .await
        .expect("granted");
    w.f.clock.advance(Duration::days(1));
    let audit_before = w
        .store
        .audit(&w.f.admin.org, None, 500)
        .await
        .expect("audit")
        .len();

    let report = w.reconciler.on_schedule(None).await.expect("run");
    assert_eq!(
        report,
        ReconcileReport {
            organisations_checked: 1,
            subscriptions_fetched: 6,
            drift_corrected: 4,
            skipped: 1,
            failed: 0,
            grants_ended: 1,
            renewals_at_usage: 0,
            provider_requests: 1,
            complete: true,
        }
    );
    assert_eq!(purchased(&w.f, "sso").await, 4, "in sync, and the grant ended");
    assert_eq!(purchased(&w.f, "professional").await, 25);
    assert_eq!(purchased(&w.f, "essential").await, 0);
    assert_eq!(purchased(&w.f, "enterprise").await, 7);
    let renewed =
        w.f.seats
            .subscriptions()
            .subscription(&w.f.admin, &SubscriptionId::parse("sub_period").expect("id"))
            .await
            .expect("stored");
    assert_eq!(
        renewed.current_period_end,
        DateTime::from_timestamp(now + 364 * 86_400, 0)
    );
    let audit = w.store.audit(&w.f.admin.org, None, 500).await.expect("audit");
    let reconciled: Vec<String> = audit
        .iter()
        .filter(|e| e.action == AuditAction::Reconciled)
        .map(|e| e.target.clone())
        .collect();
    assert_eq!(reconciled.len(), 4, "{reconciled:?}");
    assert!(!reconciled.contains(&"subscription/sub_in_sync".to_owned()));
    assert_eq!(audit.len(), audit_before + 5, "four corrections and the grant");

    // A second run finds nothing to correct and writes nothing.
    let again = w.reconciler.run(None).await.expect("run");
    assert_eq!((again.drift_corrected, again.grants_ended), (0, 0));
    assert_eq!(
        w.store
            .audit(&w.f.admin.org, None, 500)
            .await
            .expect("audit")
            .len(),
        audit.len()
    );
}

/// An organisation that manages licenses automatically renews each
/// subscription at the seats in use, never below the plan's minimum, once
/// the period's last days come; until then, and in manual mode, nothing
/// changes. Seats paid for stay until the period ends.
#[tokio::test]
async fn an_automatic_organisation_renews_at_the_seats_in_use() {
    let w = world("org_usage").await;
    let now = w.f.clock.now().timestamp();
    let soon = provider(
        "sub_soon",
        "org_usage",
        "active",
        &[("seatflow_professional_monthly", 10)],
        now + 2 * 86_400,
    );
    let empty = provider(
        "sub_empty",
        "org_usage",
        "active",
        &[("seatflow_enterprise_monthly", 3)],
        now + 2 * 86_400,
    );
    let later = provider(
        "sub_later",
        "org_usage",
        "active",
        &[("seatflow_essential_monthly", 5)],
        now + 20 * 86_400,
    );
    for (sub, event) in [(&soon, "evt_soon"), (&empty, "evt_empty"), (&later, "evt_later")] {
        w.stripe.put_subscription(sub.clone());
        delivered(&w, sub, event).await;
    }
    for i in 0..4 {
        let user = w.f.user(&format!("User{i}"), None).await;
        w.f.assign(&product("professional"), &user.id).await;
    }
    let quantity = |id: &'static str| {
        let stripe = w.stripe.clone();
        async move { stripe.subscription(id).await.expect("read").expect("there").items[0].quantity }
    };
    let report = w.reconciler.run(None).await.expect("run");
    assert_eq!(report.renewals_at_usage, 0, "manual mode renews as bought");
    assert_eq!(quantity("sub_soon").await, 10);

    w.f.buy_automatically(None, true).await;
    let report = w.reconciler.run(None).await.expect("run");
    assert_eq!(report.renewals_at_usage, 2, "{report:?}");
    assert_eq!(quantity("sub_soon").await, 4, "the 4 seats in use");
    assert_eq!(quantity("sub_empty").await, 1, "never below the plan's minimum");
    assert_eq!(quantity("sub_later").await, 5, "not in its last days yet");
    assert_eq!(
        purchased(&w.f, "professional").await,
        10,
        "paid for until the period ends"
    );
    let audit = w.store.audit(&w.f.admin.org, None, 50).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == AuditAction::RenewalSeatsReduced)
            .count(),
        2
    );
    // Another run changes nothing more.
    let report = w.reconciler.run(None).await.expect("run");
    assert_eq!(report.renewals_at_usage, 0);
    assert_eq!(quantity("sub_soon").await, 4);
}

#[tokio::test]
async fn every_page_is_read_and_a_deadline_stops_the_run_cleanly() {
    let w = world("org_pages").await;
    let now = w.f.clock.now().timestamp();
    for n in 0..250 {
        w.stripe.put_subscription(provider(
            &format!("sub_{n:04}"),
            "org_pages",
            "active",
            &[("seatflow_sso_monthly", 1)],
            now + 86_400,
        ));
    }
    let report = w.reconciler.run(None).await.expect("run");
    assert_eq!(
        (
            report.provider_requests,
            report.subscriptions_fetched,
            report.drift_corrected
        ),
        (3, 250, 250)
    );
    assert_eq!(purchased(&w.f, "sso").await, 250);
    // A deadline already passed: nothing read, reported incomplete.
    let stopped = w
        .reconciler
        .run(Some(tokio::time::Instant::now()))
        .await
        .expect("run");
    assert_eq!((stopped.provider_requests, stopped.complete), (0, false));
}

#[tokio::test]
async fn the_stripe_client_lists_every_status_page_by_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(SubscriptionPages {
            total: 230,
            orgs: vec!["org_standin".into()],
        })
        .mount(&server)
        .await;
    let stripe = seatflow_stripe::StripeGateway::new("sk_test_standin", Some(&format!("{}/", server.uri())))
        .expect("client");
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_standin").await;
    let reconciler = Reconciler::new(
        Arc::new(f.seats.clone()),
        Arc::new(stripe) as Arc<dyn PaymentGateway>,
        store as Arc<dyn RenewalIndex>,
        fast(),
    );
    let report = reconciler.run(None).await.expect("run");
    assert_eq!(
        (
            report.provider_requests,
            report.subscriptions_fetched,
            report.organisations_checked
        ),
        (3, 230, 1)
    );
    assert_eq!(purchased(&f, "sso").await, 460);
    let requests = server.received_requests().await.expect("recorded");
    let queries: Vec<BTreeMap<String, String>> = requests
        .iter()
        .map(|r| r.url.query_pairs().into_owned().collect())
        .collect();
    assert!(
        queries
            .iter()
            .all(|q| q["status"] == "all" && q["limit"] == "100")
    );
    assert_eq!(queries[0].get("starting_after"), None);
    assert_eq!(queries[1]["starting_after"], "sub_00099");
    assert_eq!(queries[2]["starting_after"], "sub_00199");
}

#[tokio::test]
async fn a_provider_failure_fails_the_run_with_what_it_did() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"type": "invalid_request_error", "code": "api_key_invalid", "message": "Invalid API Key"}
        })))
        .mount(&server)
        .await;
    let stripe = seatflow_stripe::StripeGateway::new("sk_test_wrong", Some(&format!("{}/", server.uri())))
        .expect("client");
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_refused").await;
    let reconciler = Reconciler::new(
        Arc::new(f.seats.clone()),
        Arc::new(stripe) as Arc<dyn PaymentGateway>,
        store as Arc<dyn RenewalIndex>,
        fast(),
    );
    let error = reconciler.on_schedule(None).await.expect_err("refused");
    let seatflow_reconciler::ReconcileError::Provider { report, .. } = error else {
        panic!("a provider error: {error}");
    };
    assert_eq!((report.provider_requests, report.complete), (1, false));
}
