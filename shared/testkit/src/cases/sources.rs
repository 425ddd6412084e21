//! Where purchased seats come from: manual grants beside subscriptions,
//! subscriptions of one organisation applied at once, a subscription moved
//! to another organisation, and reconciliation with the provider.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::SubscriptionStatus::{Active, Canceled};
use seatflow_domain::{
    Applied, AuditAction, Clock as _, EntitlementStore, Mode, NewGrant, OrgId, SubscriptionSnapshot,
};

use crate::fixture::{Fixture, org, product};

use super::subscriptions::{at, purchased, subscription_state as state};

async fn actions(store: &Arc<dyn EntitlementStore>, org: &OrgId) -> Vec<AuditAction> {
    store
        .audit(org, None, 500)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// A manual grant counts beside subscriptions; no subscription overwrites
/// it; only the vendor grants; ending it (or its running out) stops it
/// counting, once.
pub async fn a_subscription_never_overwrites_a_grant(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_grants").await;
    let grant = f.grant("sso", 5).await;
    assert_eq!(purchased(&f, "sso").await, 5);
    let sub = |n| {
        state(
            &f.admin.org,
            "sub_grants",
            Active,
            &[("sso", n), ("professional", 10)],
        )
    };
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &sub(3), "evt_g1", at(10), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "sso").await, 8, "grant + subscription");
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &sub(1), "evt_g2", at(20), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "sso").await, 6, "the decrease leaves the grant");

    // An organisation's own admin cannot grant itself seats.
    let free = NewGrant::parse(product("sso"), 100, None, "free seats").expect("grant");
    let refused = f
        .seats
        .subscriptions()
        .grant_seats(&f.admin, &free, Mode::Apply)
        .await;
    assert_eq!(refused.expect_err("not the vendor").code(), "forbidden");
    let refused = f.seats.subscriptions().end_grant(&f.admin, &grant.id).await;
    assert_eq!(refused.expect_err("not the vendor").code(), "forbidden");

    let ended = f
        .seats
        .subscriptions()
        .end_grant(&f.vendor(), &grant.id)
        .await
        .expect("ended");
    assert!(!ended.counts());
    assert_eq!(purchased(&f, "sso").await, 1);
    let audit_len = actions(&store, &f.admin.org).await.len();
    let again = f
        .seats
        .subscriptions()
        .end_grant(&f.vendor(), &grant.id)
        .await
        .expect("ended once");
    assert_eq!(again, ended, "ending an ended grant changes nothing");
    assert_eq!(actions(&store, &f.admin.org).await.len(), audit_len);

    // A grant with an end runs out when its time has passed.
    let until = f.clock.now() + Duration::days(30);
    let contract = NewGrant::parse(product("sso"), 4, Some(until), "contract 7").expect("grant");
    f.seats
        .subscriptions()
        .grant_seats(&f.vendor(), &contract, Mode::Apply)
        .await
        .expect("granted");
    assert_eq!(purchased(&f, "sso").await, 5);
    assert!(
        f.seats
            .subscriptions()
            .end_expired_grants(&f.vendor())
            .await
            .expect("none yet")
            .is_empty()
    );
    f.clock.advance(Duration::days(31));
    let expired = f
        .seats
        .subscriptions()
        .end_expired_grants(&f.vendor())
        .await
        .expect("expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(purchased(&f, "sso").await, 1);
    assert_eq!(
        actions(&store, &f.admin.org).await.first(),
        Some(&AuditAction::GrantEnded)
    );
    let grants = f.seats.subscriptions().grants(&f.admin).await.expect("grants");
    assert_eq!(grants.len(), 2);
    assert!(grants.iter().all(|g| !g.counts()));
}

/// Two subscriptions of one organisation applied at once, round after
/// round: the pool always ends as their sum, never one of them stale.
pub async fn concurrent_subscriptions_of_one_organisation_leave_no_stale_sum(
    store: Arc<dyn EntitlementStore>,
) {
    let f = Fixture::new(store.clone(), "org_two_subs").await;
    f.grant("professional", 1).await;
    for round in 1..=8u32 {
        let a = state(&f.admin.org, "sub_left", Active, &[("professional", round)]);
        let b = state(&f.admin.org, "sub_right", Active, &[("professional", 10 * round)]);
        let t = i64::from(round) * 10;
        let (left_event, right_event) = (format!("evt_l{round}"), format!("evt_r{round}"));
        let (left, right) = tokio::join!(
            f.seats
                .subscriptions()
                .apply_subscription(&f.admin, &a, &left_event, at(t), Mode::Apply),
            f.seats
                .subscriptions()
                .apply_subscription(&f.admin, &b, &right_event, at(t), Mode::Apply),
        );
        assert!(matches!(left.expect("left"), Applied::Changed(_)));
        assert!(matches!(right.expect("right"), Applied::Changed(_)));
        assert_eq!(
            purchased(&f, "professional").await,
            1 + round + 10 * round,
            "round {round}"
        );
    }
}

/// When the provider's metadata moves a subscription to another
/// organisation, the old one stops counting it, in its audit log; an older
/// read naming the old organisation changes nothing.
pub async fn a_subscription_moved_to_another_organisation_stops_counting_in_the_old_one(
    store: Arc<dyn EntitlementStore>,
) {
    let old = Fixture::new(store.clone(), "org_move_from").await;
    let new = Fixture::new(store.clone(), "org_move_to").await;
    old.grant("sso", 2).await;
    let items = [("sso", 5), ("professional", 7)];
    let before = state(&old.admin.org, "sub_moving", Active, &items);
    old.seats
        .subscriptions()
        .apply_subscription(&old.admin, &before, "evt_m1", at(10), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&old, "sso").await, 7);
    let after = state(&new.admin.org, "sub_moving", Active, &items);
    let moved = new
        .seats
        .subscriptions()
        .apply_subscription(&new.admin, &after, "evt_m2", at(20), Mode::Apply)
        .await
        .expect("applied");
    assert!(matches!(moved, Applied::Changed(_)));
    assert_eq!(
        (
            purchased(&old, "sso").await,
            purchased(&old, "professional").await
        ),
        (2, 0),
        "only the old organisation's grant is left"
    );
    assert_eq!(
        (
            purchased(&new, "sso").await,
            purchased(&new, "professional").await
        ),
        (5, 7)
    );
    assert!(
        actions(&store, &old.admin.org)
            .await
            .contains(&AuditAction::SubscriptionMoved)
    );
    let kept = old
        .seats
        .subscriptions()
        .subscription(&old.admin, &before.id)
        .await
        .expect("kept for the record");
    assert_eq!(kept.moved_to.as_ref(), Some(&new.admin.org));
    assert_eq!(
        store.subscription_owner(&before.id).await.expect("read"),
        Some(new.admin.org.clone())
    );

    // A late delivery of the old state, read before the move, is stale.
    let late = old
        .seats
        .subscriptions()
        .apply_subscription(&old.admin, &before, "evt_m0", at(5), Mode::Apply)
        .await
        .expect("answered");
    assert_eq!(late, Applied::Stale);
    assert_eq!(
        (
            purchased(&old, "professional").await,
            purchased(&new, "professional").await
        ),
        (0, 7)
    );

    // Moved back by a newer read: the first organisation counts it again.
    let back = state(
        &org("org_move_from"),
        "sub_moving",
        Active,
        &[("professional", 3)],
    );
    old.seats
        .subscriptions()
        .apply_subscription(&old.admin, &back, "evt_m3", at(30), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(
        (
            purchased(&old, "professional").await,
            purchased(&new, "professional").await
        ),
        (3, 0)
    );
    let listed = new
        .seats
        .subscriptions()
        .subscription(&new.admin, &before.id)
        .await
        .expect("kept");
    assert_eq!(listed.moved_to.as_ref(), Some(&old.admin.org));
}

/// Reconciliation writes only where the stored state drifted from the
/// provider's, and audits each correction as `reconciled` with before and
/// after: a missing subscription, a wrong quantity, a wrong status, an
/// expired period.
pub async fn reconciliation_corrects_each_kind_of_drift_and_nothing_else(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_reconcile").await;
    let reconcile = |s: SubscriptionSnapshot, t: i64| {
        let f = f.clone();
        async move {
            // Audit entries of one instant have no order; each step gets its own.
            f.clock.advance(Duration::seconds(1));
            f.seats
                .subscriptions()
                .reconcile_subscription(&f.admin, &s, at(t))
                .await
                .expect("reconciled")
        }
    };
    // A subscription whose events never arrived.
    let mut live = state(&f.admin.org, "sub_recon", Active, &[("professional", 5)]);
    live.current_period_end = Some(at(86_400));
    assert!(matches!(reconcile(live.clone(), 10).await, Applied::Changed(_)));
    assert_eq!(purchased(&f, "professional").await, 5);
    assert_eq!(
        actions(&store, &f.admin.org).await.first(),
        Some(&AuditAction::Reconciled)
    );
    // Nothing drifted: nothing written.
    let audit_len = actions(&store, &f.admin.org).await.len();
    assert_eq!(reconcile(live.clone(), 20).await, Applied::InSync);
    assert_eq!(actions(&store, &f.admin.org).await.len(), audit_len);
    // A wrong quantity.
    live.items.insert(product("professional"), 8);
    assert!(matches!(reconcile(live.clone(), 30).await, Applied::Changed(_)));
    assert_eq!(purchased(&f, "professional").await, 8);
    let entry = store.audit(&f.admin.org, None, 1).await.expect("audit").remove(0);
    assert_eq!(entry.action, AuditAction::Reconciled);
    let before: serde_json::Value = serde_json::from_str(entry.before.get()).expect("json");
    let after: serde_json::Value = serde_json::from_str(entry.after.get()).expect("json");
    assert_eq!(before["pools"][0]["purchased"], 5, "{before}");
    assert_eq!(after["pools"][0]["purchased"], 8);
    assert_eq!(after["subscription"]["items"]["professional"], 8);
    // An expired period, renewed at the provider.
    live.current_period_end = Some(at(2 * 86_400));
    assert!(matches!(reconcile(live.clone(), 40).await, Applied::Changed(_)));
    let stored = f
        .seats
        .subscriptions()
        .subscription(&f.admin, &live.id)
        .await
        .expect("stored");
    assert_eq!(stored.current_period_end, Some(at(2 * 86_400)));
    // A wrong status: cancelled at the provider.
    live.status = Canceled;
    assert!(matches!(reconcile(live.clone(), 50).await, Applied::Changed(_)));
    assert_eq!(purchased(&f, "professional").await, 0);
    // Reactivated by an event.
    live.status = Active;
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &live, "evt_recon", at(60), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "professional").await, 8);
    // A reconciliation read older than the stored state changes nothing.
    live.items.insert(product("professional"), 1);
    assert_eq!(reconcile(live, 55).await, Applied::Stale);
    assert_eq!(purchased(&f, "professional").await, 8);
}

/// Grants that ran out are found across organisations through the store's
/// index, and drop out of it once ended; grants without an end never do.
pub async fn grants_that_ran_out_are_found_across_organisations(store: Arc<dyn crate::Store>) {
    let f = Fixture::new(store.clone(), "org_runout_a").await;
    let g = Fixture::new(store.clone(), "org_runout_b").await;
    let now = f.clock.now();
    let grant = |fixture: &Fixture, days: Option<i64>, reference: &'static str| {
        let fixture = fixture.clone();
        async move {
            let until = days.map(|d| now + Duration::days(d));
            let new = NewGrant::parse(product("sso"), 2, until, reference).expect("grant");
            fixture
                .seats
                .subscriptions()
                .grant_seats(&fixture.vendor(), &new, Mode::Apply)
                .await
                .expect("granted")
                .value
        }
    };
    let soon = grant(&f, Some(5), "soon").await;
    let later = grant(&g, Some(10), "later").await;
    grant(&g, None, "for good").await;
    let found = |days: i64| {
        let store = store.clone();
        async move {
            let mut ids: Vec<String> = store
                .grants_run_out_by(now + Duration::days(days))
                .await
                .expect("index")
                .into_iter()
                .map(|g| g.reference)
                .collect();
            ids.sort();
            ids
        }
    };
    assert!(found(1).await.is_empty());
    assert_eq!(found(5).await, ["soon"]);
    assert_eq!(found(30).await, ["later", "soon"]);
    f.seats
        .subscriptions()
        .end_grant(&f.vendor(), &soon.id)
        .await
        .expect("ended");
    assert_eq!(found(30).await, ["later"]);
    assert_eq!(later.org, g.admin.org);
}
