//! Automatic license management: a full pool buys the seat on the
//! organisation's subscription, within the period's budget, in every entry
//! path; the provider's higher quantity pays off what is owed; a renewal
//! starts the budget again; concurrent purchases never oversell.

use std::sync::Arc;

use seatflow_domain::{
    Applied, AuditAction, DisplayName, Email, EntitlementStore, ImportRow, LicenseManagement, LicenseMode,
    Mode, NewUser, Role, SubscriptionId, SubscriptionStatus, Term,
};

use super::subscriptions::{at, subscription_state};
use crate::fixture::{Fixture, product};

/// Subscription `sub` of `seats` professional seats, monthly, in the period
/// starting `period_start` seconds after the fixture's start.
async fn subscribe(f: &Fixture, sub: &str, seats: u32, period_start: i64, event: &str) {
    let mut state = subscription_state(
        &f.admin.org,
        sub,
        SubscriptionStatus::Active,
        &[("professional", seats)],
    );
    state.term = Some(Term::Monthly);
    state.current_period_start = Some(at(period_start));
    state.current_period_end = Some(at(period_start + 30 * 86_400));
    let applied = f
        .seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, event, at(period_start + 1), Mode::Apply)
        .await
        .expect("applied");
    assert!(matches!(applied, Applied::Changed(_)), "{event}: {applied:?}");
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        id: None,
        name: DisplayName::parse(name).expect("name"),
        email: Some(Email::parse(&format!("{}@auto.example", name.to_lowercase())).expect("email")),
        directory: None,
        role: Role::Member,
        team: None,
    }
}

/// In automatic mode a full pool buys the seat, in each entry path (an
/// assignment, a user created with a seat, an import, the directory), each
/// purchase audited with its price; past the budget the add is refused with
/// its own code (the directory's user is created pending); the provider's
/// higher quantity pays off what is owed, and a renewal starts the budget
/// again.
pub async fn a_full_pool_buys_seats_in_automatic_mode_within_its_budget(store: Arc<dyn crate::Store>) {
    let f = Fixture::new(store.clone(), "org_auto_buy").await;
    let p = product("professional");
    let sub = SubscriptionId::parse("sub_auto").expect("id");
    subscribe(&f, "sub_auto", 1, 0, "evt_auto_1").await;
    let first = f.user("First", None).await;
    let second = f.user("Second", None).await;
    f.assign(&p, &first.id).await;
    assert_eq!(
        f.refused_assign(&p, &second.id).await,
        "no_seats_available",
        "manual mode is a hard cap"
    );
    // A dry run of the settings changes nothing.
    let preview = f
        .seats
        .subscriptions()
        .set_license_management(
            &f.admin,
            &LicenseManagement {
                mode: LicenseMode::Automatic,
                max_auto_seats_per_period: Some(3),
                notify: true,
            },
            Mode::DryRun,
        )
        .await
        .expect("preview");
    assert!(preview.dry_run);
    assert_eq!(preview.audit.action, AuditAction::LicenseManagementSet);
    assert_eq!(
        f.seats
            .subscriptions()
            .license_management(&f.admin)
            .await
            .expect("read")
            .mode,
        LicenseMode::Manual
    );
    f.buy_automatically(Some(3), true).await;

    // 1. An assignment.
    let assigned = f
        .seats
        .allocations()
        .assign(&f.admin, &p, &second.id, Mode::Apply)
        .await
        .expect("bought and assigned");
    assert_eq!(assigned.audit.action, AuditAction::SeatAssigned);
    let pool = f.pool(&p).await;
    assert_eq!((pool.purchased, pool.assigned, pool.auto_bought), (2, 2, 1));
    assert_eq!(pool.owed.get(&sub), Some(&1));
    assert_eq!(pool.owed_to(&sub), 1);
    let entries = store.audit(&f.admin.org, None, 100).await.expect("audit");
    let bought: Vec<_> = entries
        .iter()
        .filter(|e| e.action == AuditAction::SeatsAutoPurchased)
        .collect();
    assert_eq!(bought.len(), 1);
    let purchase: serde_json::Value = serde_json::from_str(bought[0].after.get()).expect("json");
    assert_eq!(purchase["subscription"], "sub_auto");
    assert_eq!(
        (purchase["seats"].as_u64(), purchase["quantity_after"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        purchase["unit_price"]["minor"].as_i64().is_some_and(|m| m > 0),
        "the price it will cost: {purchase}"
    );

    // 2. A user created with a seat.
    let created = f
        .seats
        .directory()
        .create_user(&f.admin, new_user("Third"), Some(&p), Mode::Apply)
        .await
        .expect("created with a bought seat");
    assert_eq!(created.value.seats.len(), 1);

    // 3. An import.
    let report = f
        .import(&[ImportRow {
            name: "Fourth".into(),
            email: "fourth@auto.example".into(),
            role: None,
            team: None,
            seat: Some("professional".into()),
            id: None,
        }])
        .await;
    assert_eq!(report.created, 1, "{report:?}");
    let pool = f.pool(&p).await;
    assert_eq!((pool.purchased, pool.assigned, pool.auto_bought), (4, 4, 3));
    // The daily digest finds the pool across organisations.
    let buying = store.auto_buying_pools().await.expect("index");
    assert!(
        buying
            .iter()
            .any(|b| b.org == f.admin.org && b.product == p && b.auto_bought == 3),
        "{buying:?}"
    );

    // The budget is spent: refused with its own code, and the directory's
    // user is created pending a seat.
    let fifth = f.user("Fifth", None).await;
    assert_eq!(
        f.refused_assign(&p, &fifth.id).await,
        "auto_seat_budget_exhausted"
    );
    f.seats
        .directory()
        .set_directory_seat(&f.admin, Some(&p), Mode::Apply)
        .await
        .expect("policy");
    let (pending, _) = f
        .seats
        .directory()
        .create_directory_user(&f.admin, new_user("Sixth"), true, Mode::Apply)
        .await
        .expect("created");
    assert!(pending.value.seats.is_empty(), "pending a seat");
    assert_eq!(f.pool(&p).await.purchased, 4, "nothing bought past the budget");

    // The provider now holds the owed seats: they are paid off, nothing
    // counts twice.
    subscribe(&f, "sub_auto", 4, 0, "evt_auto_2").await;
    let pool = f.pool(&p).await;
    assert_eq!((pool.purchased, pool.assigned), (4, 4));
    assert!(pool.owed.is_empty(), "{:?}", pool.owed);
    assert_eq!(pool.auto_bought, 3, "the budget is the period's");
    assert_eq!(
        f.refused_assign(&p, &fifth.id).await,
        "auto_seat_budget_exhausted"
    );

    // A renewal starts the budget again (the directory's reactivation is an
    // entry path too).
    subscribe(&f, "sub_auto", 4, 30 * 86_400, "evt_auto_3").await;
    let renewed = f.pool(&p).await;
    assert_eq!((renewed.auto_bought, renewed.auto_period), (0, 1));
    assert!(
        !store
            .auto_buying_pools()
            .await
            .expect("index")
            .iter()
            .any(|b| b.org == f.admin.org),
        "nothing bought this period yet"
    );
    f.assign(&p, &fifth.id).await;
    let pool = f.pool(&p).await;
    assert_eq!((pool.purchased, pool.assigned, pool.auto_bought), (5, 5, 1));
    f.assert_counters_match_assignments().await;
}

/// Automatic mode buys only on a subscription of the product: seats granted
/// by the vendor are no subscription to add to, and the refusal says so.
pub async fn automatic_mode_needs_a_subscription_to_buy_on(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_auto_none").await;
    let p = product("professional");
    f.buy("professional", 1).await;
    f.buy_automatically(None, true).await;
    let first = f.user("First", None).await;
    let second = f.user("Second", None).await;
    f.assign(&p, &first.id).await;
    assert_eq!(
        f.refused_assign(&p, &second.id).await,
        "no_subscription_for_product"
    );
    assert_eq!(f.pool(&p).await.purchased, 1);
}

/// Many users added at once to a full pool in automatic mode: each bought
/// seat is bought once, none is assigned without being bought, and the
/// budget holds exactly.
pub async fn concurrent_automatic_purchases_buy_each_seat_once(store: Arc<dyn EntitlementStore>) {
    let f = Arc::new(Fixture::new(store, "org_auto_race").await);
    let p = product("professional");
    subscribe(&f, "sub_race", 1, 0, "evt_race").await;
    f.buy_automatically(Some(5), true).await;
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(f.user(&format!("Racer{i}"), None).await);
    }
    let racers = users.into_iter().map(|user| {
        let f = f.clone();
        let p = p.clone();
        tokio::spawn(async move {
            f.seats
                .allocations()
                .assign(&f.admin, &p, &user.id, Mode::Apply)
                .await
                .map(|_| ())
                .map_err(|e| e.code())
        })
    });
    let mut assigned = 0;
    let mut gave_up = 0;
    for racer in racers {
        match racer.await.expect("racer") {
            Ok(()) => assigned += 1,
            Err("concurrent_modification") => gave_up += 1,
            Err(code) => assert_eq!(code, "auto_seat_budget_exhausted"),
        }
    }
    if gave_up == 0 {
        assert_eq!(assigned, 1 + 5, "the free seat and the whole budget");
    }
    let pool = f.pool(&p).await;
    assert_eq!(pool.assigned, assigned);
    assert!(pool.assigned <= pool.purchased, "never oversold: {pool:?}");
    assert_eq!(pool.purchased, 1 + pool.auto_bought, "each seat bought once");
    assert!(pool.auto_bought <= 5, "within the budget: {pool:?}");
    assert_eq!(
        pool.owed.values().sum::<u32>(),
        pool.auto_bought,
        "owed to the subscription"
    );
    f.assert_counters_match_assignments().await;
}

/// After a decrease at renewal (the provider holds fewer seats than this
/// period paid for), a seat bought automatically is asked of the provider on
/// top of what it holds, not of what this period keeps; once it holds it,
/// the seat counts this period beside the kept ones.
pub async fn a_seat_bought_after_a_decrease_at_renewal_is_billed_on_top_of_what_the_provider_holds(
    store: Arc<dyn EntitlementStore>,
) {
    use seatflow_domain::QuantitySync;
    let f = Fixture::new(store, "org_auto_kept").await;
    let p = product("professional");
    let sub = SubscriptionId::parse("sub_kept").expect("id");
    subscribe(&f, "sub_kept", 3, 0, "evt_kept_1").await;
    // Renew with 2: the provider holds 2 now, the period keeps 3.
    let mut lower = subscription_state(
        &f.admin.org,
        "sub_kept",
        SubscriptionStatus::Active,
        &[("professional", 2)],
    );
    lower.term = Some(Term::Monthly);
    lower.current_period_start = Some(at(0));
    lower.current_period_end = Some(at(30 * 86_400));
    f.seats
        .subscriptions()
        .apply_requested_change(
            &f.admin,
            &lower,
            AuditAction::RenewalSeatsReduced,
            &[(p.clone(), 3)].into(),
            at(10),
            Mode::Apply,
        )
        .await
        .expect("decreased at renewal");
    assert_eq!(f.pool(&p).await.purchased, 3, "paid for this period");
    for i in 0..3 {
        let user = f.user(&format!("Kept{i}"), None).await;
        f.assign(&p, &user.id).await;
    }
    f.buy_automatically(None, true).await;
    let fourth = f.user("Fourth", None).await;
    f.assign(&p, &fourth.id).await;
    assert_eq!(f.pool(&p).await.purchased, 4);
    let claim = f
        .seats
        .subscriptions()
        .claim_quantity_sync(&f.admin, &sub, chrono::Duration::seconds(60))
        .await
        .expect("claimed");
    assert_eq!(
        claim,
        QuantitySync::Due([(p.clone(), 3)].into()),
        "the 2 the provider holds and the 1 bought, not the 3 kept and the 1"
    );
    // The provider holds 3 now: the bought seat is paid off and counts
    // beside the 3 this period paid for.
    let mut raised = lower.clone();
    raised.items.insert(p.clone(), 3);
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &raised, "evt_kept_2", at(20), Mode::Apply)
        .await
        .expect("applied");
    let pool = f.pool(&p).await;
    assert!(pool.owed.is_empty(), "{pool:?}");
    assert_eq!(
        (pool.purchased, pool.assigned),
        (4, 4),
        "not over its limit: {pool:?}"
    );
    assert_eq!(
        f.seats
            .subscriptions()
            .claim_quantity_sync(&f.admin, &sub, chrono::Duration::seconds(60))
            .await
            .expect("nothing owed"),
        QuantitySync::Nothing
    );
}

/// A store that counts the seat uses it is asked to record.
#[derive(Debug)]
struct CountingUses {
    inner: Arc<dyn EntitlementStore>,
    recorded: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl seatflow_domain::store_ports::CommitPort for CountingUses {
    async fn snapshot(
        &self,
        org: &seatflow_domain::OrgId,
        keys: &seatflow_domain::SnapshotKeys,
    ) -> Result<seatflow_domain::Snapshot, seatflow_domain::StoreError> {
        self.inner.snapshot(org, keys).await
    }

    async fn commit(&self, change: seatflow_domain::Change) -> Result<(), seatflow_domain::StoreError> {
        self.inner.commit(change).await
    }

    async fn record(&self, record: seatflow_domain::Record) -> Result<(), seatflow_domain::StoreError> {
        if matches!(record, seatflow_domain::Record::SeatUsed { .. }) {
            self.recorded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.inner.record(record).await
    }
}

crate::forward_store_reads!(CountingUses => inner; OrganizationReads, DirectoryReads, ApiKeyReads, BillingReads, JobFailures, PassStore);

/// The entitlement check records the day each held product was used, at
/// most once a day per user and product (the check's own read says whether
/// today is recorded), without moving the seat's version; the user's seats
/// show it, and a seat change keeps it.
pub async fn a_seat_in_use_is_recorded_at_most_once_a_day(store: Arc<dyn EntitlementStore>) {
    let counting = Arc::new(CountingUses {
        inner: store,
        recorded: std::sync::atomic::AtomicUsize::new(0),
    });
    let f = Fixture::new(counting.clone(), "org_active").await;
    let recorded = || counting.recorded.load(std::sync::atomic::Ordering::SeqCst);
    let p = product("professional");
    let sso = product("sso");
    f.buy("professional", 2).await;
    f.buy("sso", 2).await;
    let ada = f.user("Ada", None).await;
    f.assign(&p, &ada.id).await;
    f.assign(&sso, &ada.id).await;
    let holder = || async { f.seats.directory().user(&f.admin, &ada.id).await.expect("user") };
    assert!(
        holder().await.seats.iter().all(|s| s.last_active_at.is_none()),
        "never used"
    );
    let version = holder().await.user.version;
    let check = || async {
        f.seats
            .views()
            .entitlements(&f.admin, ada.id.as_str())
            .await
            .expect("entitled")
    };
    check().await;
    let today = seatflow_domain::Clock::now(&*f.clock).date_naive();
    assert_eq!(recorded(), 2, "each product once");
    assert!(
        holder()
            .await
            .seats
            .iter()
            .all(|s| s.last_active_at == Some(today))
    );
    for _ in 0..5 {
        check().await;
    }
    assert_eq!(recorded(), 2, "no write again the same day");
    assert_eq!(holder().await.user.version, version, "no version moved");
    f.clock.advance(chrono::Duration::days(1));
    check().await;
    assert_eq!(recorded(), 4, "once more the next day");
    // A seat change keeps what was recorded.
    f.unassign(&sso, &ada.id).await;
    assert_eq!(
        holder()
            .await
            .seats
            .iter()
            .map(|s| s.last_active_at)
            .collect::<Vec<_>>(),
        [Some(today + chrono::Duration::days(1))]
    );
}

/// Seats by activity: active within the idle threshold, idle past it,
/// never used; per product and team; a manager sees their teams only.
pub async fn seats_are_counted_active_idle_and_never_used(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::ActivityCounts;
    let f = Fixture::new(store, "org_activity").await;
    let p = product("professional");
    f.buy("professional", 4).await;
    let red = f.team("Red").await;
    let ada = f.user("Ada", Some(&red)).await;
    let bo = f.user("Bo", Some(&red)).await;
    let cy = f.user("Cy", None).await;
    let di = f.user("Di", None).await;
    for user in [&ada, &bo, &cy, &di] {
        f.assign(&p, &user.id).await;
    }
    let check = |user: &seatflow_domain::User| {
        let id = user.id.to_string();
        let f = &f;
        async move {
            f.seats
                .views()
                .entitlements(&f.admin, &id)
                .await
                .expect("entitled");
        }
    };
    check(&bo).await;
    check(&cy).await;
    f.clock.advance(chrono::Duration::days(20));
    check(&ada).await;
    let report = f.seats.views().activity(&f.admin, 14).await.expect("activity");
    assert_eq!(report.idle_days, 14);
    assert_eq!(report.products.len(), 1);
    let pro = &report.products[0];
    assert_eq!(
        pro.seats,
        ActivityCounts {
            active: 1,
            idle: 2,
            never_used: 1
        },
        "Ada today; Bo and Cy 20 days ago; Di never"
    );
    let in_red = pro
        .teams
        .iter()
        .find(|t| t.team.as_ref() == Some(&red))
        .expect("Red");
    assert_eq!(
        (in_red.seats.active, in_red.seats.idle, in_red.seats.never_used),
        (1, 1, 0)
    );
    let wider = f.seats.views().activity(&f.admin, 30).await.expect("activity");
    assert_eq!(wider.products[0].seats.active, 3, "20 days ago is within 30");
    let manager = f.manager(std::slice::from_ref(&red));
    let theirs = f.seats.views().activity(&manager, 30).await.expect("activity");
    assert_eq!(
        theirs.products[0].seats.active + theirs.products[0].seats.idle + theirs.products[0].seats.never_used,
        2,
        "their team's seats only"
    );
    let refused = f.seats.views().activity(&f.admin, 0).await.expect_err("0 days");
    assert_eq!(refused.code(), "validation_failed");
}
