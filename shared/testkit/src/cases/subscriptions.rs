//! Subscriptions: events applied once, newest state wins, pools sized by the sum of entitling subscriptions, and the renewal index.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::Clock as _;
use seatflow_domain::{EntitlementStore, Mode};

use crate::fixture::{Fixture, product};
use crate::reads::StoreReads as _;

pub(super) fn subscription_state(
    org: &seatflow_domain::OrgId,
    id: &str,
    status: seatflow_domain::SubscriptionStatus,
    items: &[(&str, u32)],
) -> seatflow_domain::SubscriptionSnapshot {
    seatflow_domain::SubscriptionSnapshot {
        org: org.clone(),
        id: seatflow_domain::SubscriptionId::parse(id).expect("id"),
        customer: "cus_fixture".into(),
        status,
        items: items.iter().map(|(p, q)| (product(p), *q)).collect(),
        term: None,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
    }
}

pub(super) fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    crate::fixture::start_time() + Duration::seconds(seconds)
}

pub(super) async fn purchased(f: &Fixture, p: &str) -> u32 {
    f.store
        .pool(&f.admin.org, &product(p))
        .await
        .expect("read")
        .map_or(0, |pool| pool.purchased)
}

/// A subscription event sizes its pools; the same event again changes nothing.
pub async fn a_subscription_event_sizes_its_pools_exactly_once(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Applied, SubscriptionStatus::Active};
    let f = Fixture::new(store.clone(), "org_sub_once").await;
    let state = subscription_state(
        &f.admin.org,
        "sub_once",
        Active,
        &[("professional", 10), ("sso", 5)],
    );
    let audit_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let first = f
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, "evt_once", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert!(matches!(first, Applied::Changed(_)));
    assert_eq!(
        (purchased(&f, "professional").await, purchased(&f, "sso").await),
        (10, 5)
    );
    assert!(store.event_processed("evt_once").await.expect("read"));
    let again = f
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, "evt_once", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(again, Applied::Duplicate);
    let entries = store.audit(&f.admin.org, None, 500).await.expect("audit");
    assert_eq!(entries.len(), audit_before + 1);
    let applied = entries
        .iter()
        .find(|e| e.action == seatflow_domain::AuditAction::SubscriptionApplied)
        .expect("the change's entry");
    assert_eq!(
        applied.correlation_id.as_deref(),
        Some("evt_once"),
        "the event's id ties the entry to the webhook's and provisioner's logs"
    );
    // A dry run of a new event writes nothing, not even the event.
    let more = subscription_state(&f.admin.org, "sub_once", Active, &[("professional", 12)]);
    let dry = f
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &more, "evt_dry", at(200), Mode::DryRun)
        .await
        .expect("dry");
    assert!(matches!(dry, Applied::Changed(ref o) if o.dry_run));
    assert!(!store.event_processed("evt_dry").await.expect("read"));
    assert_eq!(purchased(&f, "professional").await, 10);
}

/// Events delivered out of order converge to the newest state.
pub async fn an_older_event_never_overwrites_a_newer_state(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Applied, SubscriptionStatus::Active};
    let f = Fixture::new(store, "org_sub_order").await;
    let newer = subscription_state(&f.admin.org, "sub_order", Active, &[("essential", 7)]);
    let older = subscription_state(&f.admin.org, "sub_order", Active, &[("essential", 3)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &newer, "evt_new", at(200), Mode::Apply)
        .await
        .expect("applied");
    let stale = f
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &older, "evt_old", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(stale, Applied::Stale);
    assert_eq!(purchased(&f, "essential").await, 7);
    let sub = f
        .seats
        .subscriptions()
        .subscription(&f.admin, &newer.id)
        .await
        .expect("stored");
    assert_eq!((sub.items[&product("essential")], sub.state_at), (7, at(200)));
}

/// A stored subscription keeps every field the provider reported: term,
/// billing period, cancellation at period end, status.
pub async fn a_subscription_is_stored_whole(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::SubscriptionStatus::PastDue;
    let f = Fixture::new(store, "org_sub_whole").await;
    let mut state = subscription_state(
        &f.admin.org,
        "sub_whole",
        PastDue,
        &[("enterprise", 4), ("analytics", 2)],
    );
    state.term = Some(seatflow_domain::Term::Annual);
    state.current_period_start = Some(at(10));
    state.current_period_end = Some(at(10 + 365 * 86_400));
    state.cancel_at_period_end = true;
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, "evt_whole", at(50), Mode::Apply)
        .await
        .expect("applied");
    let sub = f
        .seats
        .subscriptions()
        .subscription(&f.admin, &state.id)
        .await
        .expect("stored");
    assert_eq!(
        (
            sub.status,
            sub.items.clone(),
            sub.term,
            sub.current_period_start,
            sub.current_period_end,
            sub.cancel_at_period_end,
            sub.customer.as_str(),
            sub.state_at,
        ),
        (
            PastDue,
            state.items.clone(),
            state.term,
            state.current_period_start,
            state.current_period_end,
            true,
            "cus_fixture",
            at(50),
        )
    );
}

/// A decrease, then a cancellation, leave every holder their seat and mark
/// the pool over-limit.
pub async fn a_decrease_or_cancellation_keeps_holders_and_marks_the_pool_over_limit(
    store: Arc<dyn EntitlementStore>,
) {
    use seatflow_domain::SubscriptionStatus::{Active, Canceled};
    let f = Fixture::new(store, "org_sub_down").await;
    let p = product("professional");
    let three = subscription_state(&f.admin.org, "sub_down", Active, &[("professional", 3)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &three, "evt_d1", at(100), Mode::Apply)
        .await
        .expect("applied");
    let mut holders = Vec::new();
    for i in 0..3 {
        let user = f.user(&format!("Holder {i}"), None).await;
        f.assign(&p, &user.id).await;
        holders.push(user);
    }
    let one = subscription_state(&f.admin.org, "sub_down", Active, &[("professional", 1)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &one, "evt_d2", at(200), Mode::Apply)
        .await
        .expect("applied");
    let summary = &f.seats.views().licenses(&f.admin).await.expect("licenses")[0];
    assert_eq!(
        (summary.purchased, summary.assigned, summary.over_limit),
        (1, 3, true)
    );
    let canceled = subscription_state(&f.admin.org, "sub_down", Canceled, &[("professional", 1)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &canceled, "evt_d3", at(300), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "professional").await, 0);
    for holder in &holders {
        assert_eq!(
            f.seats
                .directory()
                .user(&f.admin, &holder.id)
                .await
                .expect("user")
                .seats
                .len(),
            1,
            "assignment kept"
        );
    }
    f.assert_counters_match_assignments().await;
}

/// Seats bought are the sum of the organisation's entitling subscriptions.
pub async fn an_organisations_subscriptions_add_up(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::SubscriptionStatus::{Active, PastDue, Unpaid};
    let f = Fixture::new(store, "org_sub_sum").await;
    let a = subscription_state(&f.admin.org, "sub_a", Active, &[("professional", 3)]);
    let b = subscription_state(&f.admin.org, "sub_b", PastDue, &[("professional", 2), ("sso", 2)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &a, "evt_a", at(100), Mode::Apply)
        .await
        .expect("applied");
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &b, "evt_b", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(
        (purchased(&f, "professional").await, purchased(&f, "sso").await),
        (5, 2)
    );
    let b_unpaid = subscription_state(&f.admin.org, "sub_b", Unpaid, &[("professional", 2), ("sso", 2)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &b_unpaid, "evt_b2", at(200), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(
        (purchased(&f, "professional").await, purchased(&f, "sso").await),
        (3, 0)
    );
    // Another organisation's subscription cannot be applied with this admin.
    let foreign = subscription_state(
        &crate::fixture::org("org_elsewhere"),
        "sub_x",
        Active,
        &[("sso", 1)],
    );
    let err = f
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &foreign, "evt_x", at(300), Mode::Apply)
        .await;
    assert_eq!(err.expect_err("other org").code(), "forbidden");
}

/// Stripe may deliver one event several times at once: it applies once.
pub async fn concurrent_deliveries_of_one_event_apply_once(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Applied, SubscriptionStatus::Active};
    let f = Fixture::new(store.clone(), "org_sub_race").await;
    let state = subscription_state(&f.admin.org, "sub_race", Active, &[("enterprise", 4)]);
    let audit_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (seats, admin, state) = (f.seats.clone(), f.admin.clone(), state.clone());
            tokio::spawn(async move {
                seats
                    .subscriptions()
                    .apply_subscription(&admin, &state, "evt_race", at(100), Mode::Apply)
                    .await
            })
        })
        .collect();
    let mut changed = 0;
    for task in tasks {
        match task.await.expect("finished").expect("no error") {
            Applied::Changed(_) => changed += 1,
            Applied::Duplicate => {}
            other => panic!("neither stale nor in sync: the same event, {other:?}"),
        }
    }
    assert_eq!(changed, 1, "applied exactly once");
    assert_eq!(purchased(&f, "enterprise").await, 4);
    assert_eq!(
        store.audit(&f.admin.org, None, 500).await.expect("audit").len(),
        audit_before + 1
    );
}

async fn apply(f: &Fixture, state: seatflow_domain::SubscriptionSnapshot, event: &str, t: i64) {
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, event, at(t), Mode::Apply)
        .await
        .expect("applied");
}

/// The scheduled notices find their subscriptions and pools through the
/// store's indexes, across organisations, and lose them when the state that
/// put them there changes.
pub async fn notices_find_renewals_failing_payments_and_over_limit_pools(store: Arc<dyn crate::Store>) {
    use seatflow_domain::SubscriptionStatus::{Active, PastDue};
    let f = Fixture::new(store.clone(), "org_notice_a").await;
    let g = Fixture::new(store.clone(), "org_notice_b").await;
    let now = f.clock.now();
    let period = |state: &mut seatflow_domain::SubscriptionSnapshot, days: i64| {
        state.current_period_start = Some(now + Duration::days(days) - Duration::days(30));
        state.current_period_end = Some(now + Duration::days(days));
    };
    let mut soon = subscription_state(&f.admin.org, "sub_soon", Active, &[("professional", 3)]);
    period(&mut soon, 10);
    apply(&f, soon.clone(), "evt_soon", 1).await;
    let mut later = subscription_state(&g.admin.org, "sub_later", Active, &[("essential", 2)]);
    period(&mut later, 25);
    apply(&g, later, "evt_later", 1).await;
    let mut far = subscription_state(&f.admin.org, "sub_far", Active, &[("essential", 2)]);
    period(&mut far, 45);
    apply(&f, far, "evt_far", 1).await;
    let mut ending = subscription_state(&g.admin.org, "sub_ending", Active, &[("essential", 1)]);
    period(&mut ending, 5);
    ending.cancel_at_period_end = true;
    apply(&g, ending, "evt_ending", 1).await;
    let mut failing = subscription_state(&g.admin.org, "sub_failing", PastDue, &[("enterprise", 1)]);
    period(&mut failing, 28);
    apply(&g, failing, "evt_failing", 1).await;

    let ids = |subs: Vec<seatflow_domain::Subscription>| {
        subs.into_iter().map(|s| s.id.to_string()).collect::<Vec<_>>()
    };
    let renewing = store
        .renewing_between(now, now + Duration::days(30))
        .await
        .expect("renewals");
    assert_eq!(
        ids(renewing),
        ["sub_soon", "sub_later"],
        "soonest first, within the window only"
    );
    assert_eq!(
        ids(store.payment_failing_subscriptions().await.expect("failing")),
        ["sub_failing"]
    );
    assert!(store.over_limit_pools().await.expect("pools").is_empty());

    // Set to cancel: no longer renewing.
    soon.cancel_at_period_end = true;
    apply(&f, soon, "evt_soon_cancel", 2).await;
    let renewing = store
        .renewing_between(now, now + Duration::days(30))
        .await
        .expect("renewals");
    assert_eq!(ids(renewing), ["sub_later"]);

    // A pool shrunk below its holders is over its limit until it grows again.
    f.buy("sso", 2).await;
    f.buy("enterprise", 2).await;
    for name in ["A", "B"] {
        let user = f.user(name, None).await;
        f.assign(&product("enterprise"), &user.id).await;
    }
    f.buy("enterprise", 1).await;
    let over = store.over_limit_pools().await.expect("pools");
    assert_eq!(
        over.iter()
            .map(|p| (p.org.to_string(), p.product.to_string(), p.purchased, p.assigned))
            .collect::<Vec<_>>(),
        [("org_notice_a".to_owned(), "enterprise".to_owned(), 1, 2)]
    );
    f.buy("enterprise", 2).await;
    assert!(store.over_limit_pools().await.expect("pools").is_empty());
}

/// A plan change moves every holder of the old plan to the new one, in
/// batches that fit a transaction, with the teams' allocations; add-ons
/// stay; the counters match the seats afterwards; applying the same state
/// again moves nothing.
pub async fn a_plan_change_moves_every_holder_with_the_teams_allocations(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::SubscriptionStatus::Active;
    let f = Fixture::new(store.clone(), "org_plan_move").await;
    let essential = product("essential");
    let professional = product("professional");
    let before = subscription_state(&f.admin.org, "sub_plan", Active, &[("essential", 60), ("sso", 5)]);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &before, "evt_plan_1", at(10), Mode::Apply)
        .await
        .expect("applied");
    let red = f.team("Red").await;
    f.allocate(&red, &essential, Some(10)).await;
    let mut holders = Vec::new();
    // More holders than one batch moves, some in a team with an allocation.
    for n in 0..45 {
        let team = (n < 8).then_some(&red);
        let user = f.user(&format!("Holder {n}"), team).await;
        f.assign(&essential, &user.id).await;
        holders.push(user.id);
    }
    f.assign(&product("sso"), &holders[0]).await;

    let after = subscription_state(
        &f.admin.org,
        "sub_plan",
        Active,
        &[("professional", 60), ("sso", 5)],
    );
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &after, "evt_plan_2", at(20), Mode::Apply)
        .await
        .expect("applied");
    let old = f.pool(&essential).await;
    let new = f.pool(&professional).await;
    assert_eq!((old.purchased, old.assigned, old.allocated), (0, 0, 0));
    assert_eq!((new.purchased, new.assigned, new.allocated), (60, 45, 10));
    assert!(new.allocated_teams.contains(&red));
    for user in &holders {
        let seats = f
            .seats
            .directory()
            .user(&f.admin, user)
            .await
            .expect("user")
            .seats;
        assert!(seats.iter().any(|s| s.product == professional), "{user} moved");
        assert!(
            seats.iter().all(|s| s.product != essential),
            "{user} holds no old seat"
        );
    }
    let first = f
        .seats
        .directory()
        .user(&f.admin, &holders[0])
        .await
        .expect("user");
    assert!(
        first.seats.iter().any(|s| s.product == product("sso")),
        "add-ons stay"
    );
    let red_seats = f
        .seats
        .allocations()
        .list(&f.admin)
        .await
        .expect("allocations")
        .into_iter()
        .find(|t| t.team == red && t.product == professional)
        .expect("red's professional allocation");
    assert_eq!((red_seats.allocated, red_seats.assigned), (Some(10), 8));
    f.assert_counters_match_assignments().await;
    let moves = store
        .audit(&f.admin.org, None, 500)
        .await
        .expect("audit")
        .iter()
        .filter(|e| e.action == seatflow_domain::AuditAction::PlanSeatsMoved)
        .count();
    assert!(
        moves >= 2,
        "45 holders move in batches, each its own commit: {moves}"
    );

    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &after, "evt_plan_3", at(30), Mode::Apply)
        .await
        .expect("applied again");
    assert_eq!(f.pool(&professional).await.assigned, 45);
}

/// Seats paid for this period outlast a decrease at renewal until the
/// period ends, whatever applies the state meanwhile, and are stored whole.
pub async fn a_decrease_at_renewal_keeps_the_paid_seats_until_the_period_ends(
    store: Arc<dyn EntitlementStore>,
) {
    use seatflow_domain::{AuditAction, SubscriptionStatus::Active};
    let f = Fixture::new(store.clone(), "org_renewal_seats").await;
    let period = |start: i64| {
        let mut state = subscription_state(&f.admin.org, "sub_renew", Active, &[("professional", 20)]);
        state.current_period_start = Some(at(start));
        state.current_period_end = Some(at(start + 1000));
        state
    };
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &period(0), "evt_r1", at(10), Mode::Apply)
        .await
        .expect("applied");
    let mut fewer = period(0);
    fewer.items.insert(product("professional"), 12);
    let keep = std::collections::BTreeMap::from([(product("professional"), 20)]);
    f.seats
        .subscriptions()
        .apply_requested_change(
            &f.admin,
            &fewer,
            AuditAction::RenewalSeatsReduced,
            &keep,
            at(20),
            Mode::Apply,
        )
        .await
        .expect("reduced");
    assert_eq!(purchased(&f, "professional").await, 20, "paid seats stay");
    let stored = store
        .subscription(&f.admin.org, &"sub_renew".parse().expect("id"))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.kept_until_period_end.get(&product("professional")),
        Some(&20)
    );
    // The provider's event for the same change, later in the same period.
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &fewer, "evt_r2", at(30), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "professional").await, 20);
    // The renewal: a new period with 12.
    let mut renewed = period(1000);
    renewed.items.insert(product("professional"), 12);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &renewed, "evt_r3", at(1001), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "professional").await, 12);
}
