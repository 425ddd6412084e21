//! Records and the store itself: versions, atomic commits, unique emails, organisations kept apart, the audit log, dry runs, API keys, paging, preferences.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::Clock as _;
use seatflow_domain::{
    Actor, AuditAction, Change, DisplayName, Email, EntitlementStore, Mode, NewUser, Organization, Put, Role,
    StoreError, UserChanges, Write,
};

use crate::fixture::{Fixture, product};
use crate::reads::StoreReads as _;

/// A store refuses a change decided on a version that is no longer current.
pub async fn commit_refuses_a_stale_version(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_stale").await;
    let before = store
        .organization(&f.admin.org)
        .await
        .expect("read")
        .expect("exists");
    let renamed = |name: &str, expected: u64| {
        let mut value = before.clone();
        value.name = seatflow_domain::DisplayName::parse(name).expect("name");
        value.version = expected + 1;
        Change {
            org: f.admin.org.clone(),
            writes: vec![Write::Organization(Put {
                expected: Some(expected),
                value,
            })],
            audit: audit_for(&f.admin, f.clock.now()),
            further_audit: Vec::new(),
            events: Vec::new(),
        }
    };
    store
        .commit(renamed("First", before.version))
        .await
        .expect("fresh version commits");
    f.clock.advance(Duration::seconds(1));
    let stale = store.commit(renamed("Second", before.version)).await;
    assert_eq!(stale, Err(StoreError::Conflict));
    let now: Organization = store
        .organization(&f.admin.org)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(now.name.as_str(), "First");
}

fn audit_for(actor: &Actor, at: chrono::DateTime<chrono::Utc>) -> seatflow_domain::AuditEntry {
    seatflow_domain::AuditEntry {
        id: seatflow_domain::AuditId::new(at),
        org: actor.org.clone(),
        actor: seatflow_domain::AuditActor {
            principal: actor.principal.clone(),
            role: actor.role,
        },
        at,
        action: AuditAction::OrganizationCreated,
        target: "test".into(),
        before: serde_json::value::RawValue::from_string("null".to_owned()).expect("null is JSON"),
        after: serde_json::value::RawValue::from_string("null".to_owned()).expect("null is JSON"),
        correlation_id: None,
    }
}

/// One stale write among fresh ones: nothing of the change is written, not
/// even its audit entry.
pub async fn commit_is_all_or_nothing(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_atomic").await;
    f.buy("essential", 5).await;
    let pool = store
        .pool(&f.admin.org, &product("essential"))
        .await
        .expect("read")
        .expect("pool");
    let audit_before = store.audit(&f.admin.org, None, 100).await.expect("audit").len();
    let mut bigger = pool.clone();
    bigger.purchased = 50;
    bigger.version = pool.version + 1;
    let org_record = store
        .organization(&f.admin.org)
        .await
        .expect("read")
        .expect("org");
    let mut stale_org = org_record.clone();
    stale_org.version = org_record.version + 100;
    let change = Change {
        org: f.admin.org.clone(),
        writes: vec![
            Write::Pool(Put {
                expected: Some(pool.version),
                value: bigger,
            }),
            Write::Organization(Put {
                expected: Some(org_record.version + 99),
                value: stale_org,
            }),
        ],
        audit: audit_for(&f.admin, f.clock.now()),
        further_audit: Vec::new(),
        events: Vec::new(),
    };
    assert_eq!(store.commit(change).await, Err(StoreError::Conflict));
    let after = store
        .pool(&f.admin.org, &product("essential"))
        .await
        .expect("read")
        .expect("pool");
    assert_eq!(after, pool, "the fresh write was not applied");
    assert_eq!(
        store.audit(&f.admin.org, None, 100).await.expect("audit").len(),
        audit_before
    );
}

/// Email is unique per organisation, and the second creation is refused.
pub async fn a_second_user_with_the_same_email_conflicts(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_email").await;
    f.user("Ada", None).await;
    let again = seatflow_domain::NewUser {
        id: None,
        name: seatflow_domain::DisplayName::parse("Ada Again").expect("name"),
        email: Some(seatflow_domain::Email::parse("ADA@example.com").expect("email")),
        directory: None,
        role: seatflow_domain::Role::Member,
        team: None,
    };
    let err = f
        .seats
        .directory()
        .create_user(&f.admin, again, None, Mode::Apply)
        .await
        .expect_err("duplicate");
    assert_eq!(err.code(), "email_taken");
    // Another organisation may use the same address.
    let other = Fixture::new(f.store.clone(), "org_email_other").await;
    other.user("Ada", None).await;
}

/// Records of one organisation are invisible to another.
pub async fn organisations_never_see_each_other(store: Arc<dyn EntitlementStore>) {
    let a = Fixture::new(store.clone(), "org_a").await;
    let b = Fixture::new(store.clone(), "org_b").await;
    a.buy("essential", 3).await;
    let team = a.team("Red").await;
    let ada = a.user("Ada", Some(&team)).await;
    a.assign(&product("essential"), &ada.id).await;
    assert!(
        b.seats
            .views()
            .licenses(&b.admin)
            .await
            .expect("licenses")
            .is_empty()
    );
    assert!(
        b.seats
            .directory()
            .teams(&b.admin)
            .await
            .expect("teams")
            .is_empty()
    );
    assert!(
        b.seats
            .directory()
            .users(&b.admin, None, None, 100)
            .await
            .expect("users")
            .is_empty()
    );
    assert_eq!(
        b.seats
            .directory()
            .user(&b.admin, &ada.id)
            .await
            .expect_err("hidden")
            .code(),
        "not_found"
    );
    assert_eq!(
        b.seats
            .directory()
            .team(&b.admin, &team)
            .await
            .expect_err("hidden")
            .code(),
        "not_found"
    );
    let err = b
        .seats
        .allocations()
        .assign(&b.admin, &product("essential"), &ada.id, Mode::Apply)
        .await;
    assert_eq!(err.expect_err("hidden").code(), "not_found");
    assert!(
        b.seats
            .views()
            .assignment_rows(&b.admin)
            .await
            .expect("rows")
            .is_empty()
    );
    let b_audit = b.seats.views().audit(&b.admin, None, 100).await.expect("audit");
    assert!(b_audit.entries.iter().all(|e| e.org == b.admin.org));
}

/// Operators page through every tenant's organisations by id, find them by
/// part of the id or name, and open one with its first admin exactly once.
pub async fn operators_find_and_open_organisations_across_tenants(store: Arc<dyn EntitlementStore>) {
    let beta = Fixture::named(store.clone(), "org_b", "Beta Ltd").await;
    Fixture::named(store.clone(), "org_a", "Alpha").await;
    Fixture::named(store.clone(), "org_c", "Gamma GmbH").await;
    let olga = seatflow_domain::Operator { name: "olga".into() };
    let admin = seatflow_domain::FirstAdmin {
        id: None,
        name: "Dora".into(),
        email: "dora@delta.example".into(),
    };
    let opened = beta
        .seats
        .organizations()
        .open_organization(&olga, &crate::org("org_d"), "Delta", &admin)
        .await
        .expect("opened");
    assert_eq!(opened.admin.role, seatflow_domain::Role::Admin);
    let again = beta
        .seats
        .organizations()
        .open_organization(&olga, &crate::org("org_d"), "Delta", &admin)
        .await;
    assert_eq!(again.expect_err("exists").code(), "already_exists");

    let ids = |page: &seatflow_domain::OrganizationPage| -> Vec<String> {
        page.organizations.iter().map(|o| o.id.to_string()).collect()
    };
    let all = beta
        .seats
        .organizations()
        .find_organizations(&olga, None, None, 50)
        .await
        .expect("all");
    assert_eq!(ids(&all), ["org_a", "org_b", "org_c", "org_d"]);
    assert_eq!(all.next_after, None);
    let first = beta
        .seats
        .organizations()
        .find_organizations(&olga, None, None, 2)
        .await
        .expect("page");
    assert_eq!(ids(&first), ["org_a", "org_b"]);
    let rest = beta
        .seats
        .organizations()
        .find_organizations(&olga, None, first.next_after.as_ref(), 2)
        .await
        .expect("next page");
    assert_eq!(ids(&rest), ["org_c", "org_d"]);
    let found = beta
        .seats
        .organizations()
        .find_organizations(&olga, Some("gmbh"), None, 50)
        .await
        .expect("by name");
    assert_eq!(ids(&found), ["org_c"]);

    let triage = beta
        .seats
        .organizations()
        .triage(&olga, &crate::org("org_d"))
        .await
        .expect("triage");
    assert_eq!(triage.admins.len(), 1);
    assert_eq!(triage.recent_audit.entries.len(), 1);
    assert_eq!(
        triage.recent_audit.entries[0].actor.principal,
        seatflow_domain::Principal::Operator("olga".into())
    );
}

/// Failed jobs are kept across organisations, replaced by a later failure
/// of the same event, listed by event id, and forgotten on success.
pub async fn failed_jobs_are_recorded_listed_and_forgotten(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_jobs").await;
    let olga = seatflow_domain::Operator { name: "olga".into() };
    for (event, org) in [
        ("evt_b", Some("org_jobs")),
        ("evt_a", None),
        ("evt_b", Some("org_jobs")),
    ] {
        f.seats
            .integrations()
            .record_job_failure(seatflow_domain::FailedJob {
                event_id: event,
                event_type: "customer.subscription.updated",
                org,
                code: "seats",
                message: "the store was unavailable",
            })
            .await
            .expect("recorded");
    }
    let all = f
        .seats
        .integrations()
        .failed_jobs(&olga, None)
        .await
        .expect("listed");
    let listed: Vec<(&str, u32)> = all.iter().map(|j| (j.event_id.as_str(), j.attempts)).collect();
    assert_eq!(listed, [("evt_a", 1), ("evt_b", 2)]);
    let ours = f
        .seats
        .integrations()
        .failed_jobs(&olga, Some(&f.admin.org))
        .await
        .expect("listed");
    assert_eq!(ours.len(), 1);
    f.seats
        .integrations()
        .job_succeeded("evt_b")
        .await
        .expect("forgotten");
    f.seats
        .integrations()
        .job_succeeded("evt_never_failed")
        .await
        .expect("nothing to forget");
    let left = f
        .seats
        .integrations()
        .failed_jobs(&olga, None)
        .await
        .expect("listed");
    assert_eq!(
        left.iter().map(|j| j.event_id.as_str()).collect::<Vec<_>>(),
        ["evt_a"]
    );
}

/// The audit log has one entry per change, newest first, paged by cursor.
pub async fn the_audit_log_pages_newest_first(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_audit").await;
    for i in 0..5 {
        f.clock.advance(Duration::seconds(1));
        f.team(&format!("Team {i}")).await;
    }
    let first = f.seats.views().audit(&f.admin, None, 2).await.expect("page");
    assert_eq!(first.entries.len(), 2);
    assert!(first.entries[0].at > first.entries[1].at, "newest first");
    assert_eq!(after_of(&first.entries[0])["name"], "Team 4");
    let cursor = first.next_cursor.expect("more pages");
    let second = f
        .seats
        .views()
        .audit(&f.admin, Some(&cursor), 2)
        .await
        .expect("page");
    assert_eq!(after_of(&second.entries[0])["name"], "Team 2");
    let third = f
        .seats
        .views()
        .audit(&f.admin, second.next_cursor.as_ref(), 10)
        .await
        .expect("page");
    // Team 0, then the organisation's creation.
    assert_eq!(third.entries.len(), 2);
    assert!(third.next_cursor.is_none());
    assert_eq!(after_of(&third.entries[0])["name"], "Team 0");
    assert_eq!(third.entries[1].action, AuditAction::OrganizationCreated);
}

fn after_of(entry: &seatflow_domain::AuditEntry) -> serde_json::Value {
    serde_json::from_str(entry.after.get()).expect("audit JSON")
}

/// A dry run returns the decision and its audit entry and writes nothing.
pub async fn a_dry_run_writes_nothing(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_dry").await;
    let p = product("essential");
    f.buy("essential", 1).await;
    let ada = f.user("Ada", None).await;
    let audit_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let preview = f
        .seats
        .allocations()
        .assign(&f.admin, &p, &ada.id, Mode::DryRun)
        .await
        .expect("would assign");
    assert!(preview.dry_run);
    assert_eq!(preview.audit.action, AuditAction::SeatAssigned);
    assert_eq!(
        f.seats.views().licenses(&f.admin).await.expect("licenses")[0].assigned,
        0
    );
    assert_eq!(
        store.audit(&f.admin.org, None, 500).await.expect("audit").len(),
        audit_before
    );
    // A dry run refuses what the real call would refuse.
    f.assign(&p, &ada.id).await;
    let other = f.user("Bob", None).await;
    let err = f
        .seats
        .allocations()
        .assign(&f.admin, &p, &other.id, Mode::DryRun)
        .await
        .expect_err("full");
    assert_eq!(err.code(), "no_seats_available");
}

/// API keys resolve by hash to their organisation, with their scopes (the
/// narrowest by default), until revoked; their last use is recorded, to the
/// hour, without a version or an audit entry.
pub async fn api_keys_are_found_by_hash_until_revoked(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::ApiScope;
    let f = Fixture::new(store.clone(), "org_keys").await;
    let key = f
        .seats
        .integrations()
        .create_api_key(&f.admin, "shop", "sfk_abcd", "hash-1", &[], Mode::Apply)
        .await
        .expect("key");
    assert_eq!(
        key.value.scopes,
        ApiScope::DEFAULT.to_vec(),
        "the narrowest by default"
    );
    let scoped = f
        .seats
        .integrations()
        .create_api_key(
            &f.admin,
            "sync",
            "sfk_efgh",
            "hash-3",
            &[ApiScope::UsersWrite, ApiScope::SeatsRead, ApiScope::UsersWrite],
            Mode::Apply,
        )
        .await
        .expect("key");
    assert_eq!(
        scoped.value.scopes,
        vec![ApiScope::UsersWrite, ApiScope::SeatsRead]
    );
    let caller = f
        .seats
        .integrations()
        .authenticate_api_key("hash-1")
        .await
        .expect("lookup")
        .expect("known key");
    assert_eq!(caller.actor.org, f.admin.org);
    assert_eq!(caller.scopes, vec![ApiScope::EntitlementsRead]);
    assert_eq!(caller.last_used_at, None);
    let audit_len = store.audit(&f.admin.org, None, 100).await.expect("audit").len();
    let version =
        |keys: &[seatflow_domain::ApiKey]| keys.iter().find(|k| k.id == key.value.id).map(|k| k.version);
    let version_before = version(&f.seats.integrations().api_keys(&f.admin).await.expect("keys"));
    f.seats
        .integrations()
        .record_api_key_use(&caller)
        .await
        .expect("recorded");
    let used = f.seats.integrations().api_keys(&f.admin).await.expect("keys");
    let used = used.iter().find(|k| k.id == key.value.id).expect("listed");
    assert_eq!(used.last_used_at, Some(f.clock.now()));
    assert_eq!(Some(used.version), version_before, "no version moves");
    assert_eq!(
        store.audit(&f.admin.org, None, 100).await.expect("audit").len(),
        audit_len
    );
    assert!(
        f.seats
            .integrations()
            .authenticate_api_key("hash-2")
            .await
            .expect("lookup")
            .is_none()
    );
    f.seats
        .integrations()
        .revoke_api_key(&f.admin, &key.value.id, Mode::Apply)
        .await
        .expect("revoked");
    assert!(
        f.seats
            .integrations()
            .authenticate_api_key("hash-1")
            .await
            .expect("lookup")
            .is_none()
    );
    // A machine client cannot manage keys.
    let err = f
        .seats
        .integrations()
        .api_keys(&caller.actor)
        .await
        .expect_err("machine");
    assert_eq!(err.code(), "forbidden");
}

/// Users list in id order across pages, and by team.
pub async fn users_page_by_id_and_filter_by_team(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_users").await;
    let red = f.team("Red").await;
    for i in 0..5 {
        f.user(&format!("Red {i}"), Some(&red)).await;
        f.user(&format!("Solo {i}"), None).await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .seats
            .directory()
            .users(&f.admin, None, after.as_ref(), 3)
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(seen.len(), 10);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "id order, no repeats");
    let reds = f
        .seats
        .directory()
        .users(&f.admin, Some(&red), None, 100)
        .await
        .expect("team");
    assert_eq!(reds.len(), 5);
    let manager = f.manager(std::slice::from_ref(&red));
    assert_eq!(
        f.seats
            .directory()
            .users(&manager, None, None, 100)
            .await
            .expect("own teams")
            .len(),
        5
    );
}

/// Notification preferences are stored per organisation, versioned, audited.
pub async fn notification_preferences_are_kept_per_organisation(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Email, NoticeKind};
    let f = Fixture::new(store.clone(), "org_prefs_a").await;
    let g = Fixture::new(store.clone(), "org_prefs_b").await;
    let defaults = f
        .seats
        .directory()
        .notification_preferences(&f.admin)
        .await
        .expect("read");
    assert_eq!(
        (
            defaults.billing_contacts.len(),
            defaults.opted_out.len(),
            defaults.version
        ),
        (0, 0, 0)
    );
    let billing = Email::parse("billing@a.example").expect("email");
    let set = f
        .seats
        .directory()
        .set_notification_preferences(
            &f.admin,
            vec![billing.clone()],
            [NoticeKind::OverLimit].into(),
            Mode::Apply,
        )
        .await
        .expect("set");
    assert_eq!(set.value.version, 1);
    assert_eq!(set.audit.action, AuditAction::NotificationPreferencesSet);
    let again = f
        .seats
        .directory()
        .set_notification_preferences(&f.admin, vec![], [NoticeKind::Renewal].into(), Mode::Apply)
        .await
        .expect("set again");
    assert_eq!(again.value.version, 2);
    let stored = store
        .notification_preferences(&f.admin.org)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored, again.value);
    assert!(!stored.wants(NoticeKind::Renewal) && stored.wants(NoticeKind::OverLimit));
    assert_eq!(
        store.notification_preferences(&g.admin.org).await.expect("read"),
        None
    );
}

/// Removing a user gives back every seat and add-on they hold, to the pool
/// and to their team's count, in one change; their email is free again; the
/// audit keeps who they were; an admin cannot remove themselves.
pub async fn removing_a_user_gives_back_every_seat_and_frees_the_email(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{AuditAction, Mode};
    let f = Fixture::new(store.clone(), "org_remove").await;
    f.buy("professional", 5).await;
    f.buy("sso", 5).await;
    let team = f.team("Red").await;
    f.allocate(&team, &product("professional"), Some(3)).await;
    let leaver = f.user("Leaver", Some(&team)).await;
    let stayer = f.user("Stayer", Some(&team)).await;
    for user in [&leaver, &stayer] {
        f.assign(&product("professional"), &user.id).await;
    }
    f.assign(&product("sso"), &leaver.id).await;
    let removed = f
        .seats
        .directory()
        .remove_user(&f.admin, &leaver.id, Mode::Apply)
        .await
        .expect("removed");
    assert_eq!(
        removed.value.seats.len(),
        2,
        "the user as they were, seats and all"
    );
    assert_eq!(removed.audit.action, AuditAction::UserRemoved);
    assert!(
        store
            .holder(&f.admin.org, &leaver.id)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(f.pool(&product("professional")).await.assigned, 1);
    assert_eq!(f.pool(&product("sso")).await.assigned, 0);
    let counted = store
        .team_seats(&f.admin.org, &team, &product("professional"))
        .await
        .expect("read")
        .expect("counter");
    assert_eq!(counted.assigned, 1);
    f.assert_counters_match_assignments().await;
    // The email is free for someone new.
    let again = f.user("Leaver", None).await;
    assert_eq!(again.email, leaver.email);
    let missing = f
        .seats
        .directory()
        .remove_user(&f.admin, &leaver.id, Mode::Apply)
        .await;
    assert_eq!(missing.expect_err("gone").code(), "not_found");
    let admin_id = f.admin.user_id().expect("a person").clone();
    let myself = f
        .seats
        .directory()
        .remove_user(&f.admin, &admin_id, Mode::Apply)
        .await;
    assert_eq!(myself.expect_err("not oneself").code(), "forbidden");
}

/// A team move carries a user's seats to the new team's counts in one
/// change, or is refused with a specific code and changes nothing; an email
/// change moves the claim; nobody changes their own role.
pub async fn a_team_move_carries_seats_and_an_email_change_moves_the_claim(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Email, Mode, Role, UserChanges};
    let f = Fixture::new(store.clone(), "org_moves").await;
    f.buy("professional", 4).await;
    f.buy("sso", 4).await;
    let red = f.team("Red").await;
    let blue = f.team("Blue").await;
    f.allocate(&red, &product("professional"), Some(2)).await;
    f.allocate(&blue, &product("professional"), Some(1)).await;
    let mover = f.user("Mover", Some(&red)).await;
    let blocker = f.user("Blocker", Some(&blue)).await;
    f.assign(&product("professional"), &mover.id).await;
    f.assign(&product("sso"), &mover.id).await;
    f.assign(&product("professional"), &blocker.id).await;
    let to = |team: Option<&seatflow_domain::TeamId>| UserChanges {
        team: Some(team.cloned()),
        ..UserChanges::default()
    };
    // Blue's one allocated seat is taken: refused, nothing changes.
    let full = f
        .seats
        .directory()
        .update_user(&f.admin, &mover.id, &to(Some(&blue)), Mode::Apply)
        .await;
    assert_eq!(
        full.expect_err("blue is full").code(),
        "team_allocation_exhausted"
    );
    let still = store
        .holder(&f.admin.org, &mover.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(still.user.team.as_ref(), Some(&red));
    f.assert_counters_match_assignments().await;
    // Out of any team: the seats now draw on the unallocated part (4 − 3 = 1 free).
    let moved = f
        .seats
        .directory()
        .update_user(&f.admin, &mover.id, &to(None), Mode::Apply)
        .await
        .expect("moved");
    assert_eq!(moved.value.user.team, None);
    assert!(moved.value.seats.iter().all(|s| s.team.is_none()));
    let red_count = store
        .team_seats(&f.admin.org, &red, &product("professional"))
        .await
        .expect("read")
        .map_or(0, |t| t.assigned);
    assert_eq!(red_count, 0);
    f.assert_counters_match_assignments().await;
    // Back into Red, which has room.
    f.seats
        .directory()
        .update_user(&f.admin, &mover.id, &to(Some(&red)), Mode::Apply)
        .await
        .expect("moved back");
    f.assert_counters_match_assignments().await;

    // An email change moves the claim: the old address is free, a taken one is refused.
    let renamed = Email::parse("mover.new@example.com").expect("email");
    let changes = UserChanges {
        email: Some(Some(renamed.clone())),
        role: Some(Role::TeamManager),
        ..UserChanges::default()
    };
    let changed = f
        .seats
        .directory()
        .update_user(&f.admin, &mover.id, &changes, Mode::Apply)
        .await
        .expect("changed");
    assert_eq!(
        (changed.value.user.email.as_ref(), changed.value.user.role),
        (Some(&renamed), Role::TeamManager)
    );
    assert_eq!(
        store
            .holder_by_email(&f.admin.org, &renamed)
            .await
            .expect("read")
            .map(|h| h.user.id),
        Some(mover.id.clone())
    );
    let reused = f.user("Mover", None).await;
    assert_eq!(reused.email, mover.email, "the old address is free again");
    let taken = UserChanges {
        email: Some(blocker.email.clone()),
        ..UserChanges::default()
    };
    let refused = f
        .seats
        .directory()
        .update_user(&f.admin, &mover.id, &taken, Mode::Apply)
        .await;
    assert_eq!(refused.expect_err("taken").code(), "email_taken");
    let own = UserChanges {
        role: Some(Role::Member),
        ..UserChanges::default()
    };
    let admin_id = f.admin.user_id().expect("a person").clone();
    let myself = f
        .seats
        .directory()
        .update_user(&f.admin, &admin_id, &own, Mode::Apply)
        .await;
    assert_eq!(myself.expect_err("not one's own role").code(), "forbidden");
}

/// The organisation's directory deactivates a user: every seat and add-on
/// goes back in one change, the account stays (inactive: no sign-in, no new
/// seat); reactivation keeps it seatless until a seat is assigned again.
/// The organisation's directory seat policy is stored with it.
pub async fn a_deactivated_user_gives_back_their_seats_and_keeps_the_account(
    store: Arc<dyn EntitlementStore>,
) {
    use seatflow_domain::{AuditAction, Mode, SeatError};
    let f = Fixture::new(store.clone(), "org_deactivate").await;
    f.buy("professional", 5).await;
    f.buy("sso", 5).await;
    let team = f.team("Red").await;
    f.allocate(&team, &product("professional"), Some(3)).await;
    let leaver = f.user("Leaver", Some(&team)).await;
    f.assign(&product("professional"), &leaver.id).await;
    f.assign(&product("sso"), &leaver.id).await;

    let off = f
        .seats
        .directory()
        .set_user_active(&f.admin, &leaver.id, false, Mode::Apply)
        .await
        .expect("deactivated");
    assert_eq!(off.audit.action, AuditAction::UserDeactivated);
    let stored = store
        .holder(&f.admin.org, &leaver.id)
        .await
        .expect("read")
        .expect("the account stays");
    assert!(!stored.user.active && stored.seats.is_empty());
    assert_eq!(f.pool(&product("professional")).await.assigned, 0);
    assert_eq!(f.pool(&product("sso")).await.assigned, 0);
    let counted = store
        .team_seats(&f.admin.org, &team, &product("professional"))
        .await
        .expect("read")
        .map_or(0, |t| t.assigned);
    assert_eq!(counted, 0, "the team's count too");
    assert!(
        f.seats
            .directory()
            .signed_in(&f.admin.org, &leaver.id)
            .await
            .expect("read")
            .is_none(),
        "no sign-in while deactivated"
    );
    let refused = f
        .seats
        .allocations()
        .assign(&f.admin, &product("professional"), &leaver.id, Mode::Apply)
        .await
        .expect_err("no seat for a deactivated user");
    assert!(matches!(refused, SeatError::Validation(_)), "{refused:?}");

    let on = f
        .seats
        .directory()
        .set_user_active(&f.admin, &leaver.id, true, Mode::Apply)
        .await
        .expect("reactivated");
    assert_eq!(on.audit.action, AuditAction::UserReactivated);
    assert!(on.value.user.active && on.value.seats.is_empty());
    f.assign(&product("professional"), &leaver.id).await;
    assert_eq!(f.pool(&product("professional")).await.assigned, 1);

    let set = f
        .seats
        .directory()
        .set_directory_seat(&f.admin, Some(&product("professional")), Mode::Apply)
        .await
        .expect("set");
    assert_eq!(set.audit.action, AuditAction::DirectorySeatSet);
    let org = store
        .organization(&f.admin.org)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(org.directory_seat, Some(product("professional")));
    f.seats
        .directory()
        .set_directory_seat(&f.admin, None, Mode::Apply)
        .await
        .expect("cleared");
    let org = store
        .organization(&f.admin.org)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(org.directory_seat, None);
    assert!(
        f.seats
            .directory()
            .set_directory_seat(&f.admin, Some(&product("sso")), Mode::Apply)
            .await
            .is_err(),
        "an add-on is no seat to start with"
    );
}

/// The directory's seat policy is one decision in one commit: a user it
/// creates takes the policy's seat while one is free, else none; one it
/// creates inactive takes none; one it reactivates takes the seat again when
/// one is free. Each is one audit entry.
pub async fn a_directory_user_takes_the_policy_seat_when_free_in_one_commit(
    store: Arc<dyn EntitlementStore>,
) {
    use seatflow_domain::{AuditAction, DisplayName, Email, Mode, NewUser, Role};
    let f = Fixture::new(store.clone(), "org_directory").await;
    f.buy("professional", 1).await;
    f.seats
        .directory()
        .set_directory_seat(&f.admin, Some(&product("professional")), Mode::Apply)
        .await
        .expect("policy");
    let new = |name: &str| NewUser {
        id: None,
        name: DisplayName::parse(name).expect("name"),
        email: Some(Email::parse(&format!("{}@directory.example", name.to_lowercase())).expect("email")),
        directory: None,
        role: Role::Member,
        team: None,
    };
    let audit = || async { store.audit(&f.admin.org, None, 100).await.expect("audit").len() };
    let before = audit().await;
    let (first, policy) = f
        .seats
        .directory()
        .create_directory_user(&f.admin, new("First"), true, Mode::Apply)
        .await
        .expect("created");
    assert_eq!(policy, Some(product("professional")));
    assert_eq!(first.audit.action, AuditAction::UserCreated);
    assert_eq!(first.value.seats.len(), 1, "the policy's seat, free");
    let (second, _) = f
        .seats
        .directory()
        .create_directory_user(&f.admin, new("Second"), true, Mode::Apply)
        .await
        .expect("created without a seat, not refused");
    assert!(second.value.seats.is_empty() && second.value.user.active);
    let (asleep, _) = f
        .seats
        .directory()
        .create_directory_user(&f.admin, new("Asleep"), false, Mode::Apply)
        .await
        .expect("created inactive");
    assert!(!asleep.value.user.active && asleep.value.seats.is_empty());
    assert_eq!(audit().await, before + 3, "one commit each");
    assert_eq!(f.pool(&product("professional")).await.assigned, 1);

    // The seat comes free; a reactivated user takes it in the same change.
    f.seats
        .directory()
        .set_directory_user_active(&f.admin, &first.value.user.id, false, Mode::Apply)
        .await
        .expect("deactivated");
    let awake = f
        .seats
        .directory()
        .set_directory_user_active(&f.admin, &asleep.value.user.id, true, Mode::Apply)
        .await
        .expect("reactivated");
    assert_eq!(awake.audit.action, AuditAction::UserReactivated);
    assert_eq!(awake.value.seats.len(), 1, "the freed seat");
    assert_eq!(audit().await, before + 5);
    let stored = store
        .holder(&f.admin.org, &asleep.value.user.id)
        .await
        .expect("read")
        .expect("there");
    assert!(stored.user.active && stored.seats.len() == 1);
    assert_eq!(f.pool(&product("professional")).await.assigned, 1);
}

/// Only a person admin (or a key with `admins:write`) makes, unmakes or
/// removes an admin; and the organisation always keeps an active admin:
/// the last one can be neither removed, demoted nor deactivated.
pub async fn admins_are_made_by_admins_and_the_last_one_stays(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_admins").await;
    let first = f.user_with_role("First Admin", None, Role::Admin).await;
    let member = f.user("Member", None).await;
    let key = Actor {
        principal: seatflow_domain::Principal::ApiKey(
            seatflow_domain::ApiKeyId::parse("key_users").expect("id"),
        ),
        grants_admin: false,
        ..f.admin.clone()
    };
    let directory = f.seats.directory();
    let promote = UserChanges {
        role: Some(Role::Admin),
        ..UserChanges::default()
    };
    let refused = directory
        .update_user(&key, &member.id, &promote, Mode::Apply)
        .await
        .expect_err("a users:write key makes no admin");
    assert_eq!(refused.code(), "forbidden", "{refused}");
    let new_admin = NewUser {
        id: None,
        name: DisplayName::parse("Made By Key").expect("name"),
        email: Some(Email::parse("made@admins.example").expect("email")),
        directory: None,
        role: Role::Admin,
        team: None,
    };
    let refused = directory
        .create_user(&key, new_admin, None, Mode::Apply)
        .await
        .expect_err("nor creates one");
    assert_eq!(refused.code(), "forbidden");
    let refused = directory
        .remove_user(&key, &first.id, Mode::Apply)
        .await
        .expect_err("nor removes one");
    assert_eq!(refused.code(), "forbidden");
    assert_eq!(
        directory
            .user(&f.admin, &member.id)
            .await
            .expect("member")
            .user
            .role,
        Role::Member
    );

    // The only admin stays, whoever asks (the vendor included).
    for refused in [
        directory.remove_user(&f.vendor(), &first.id, Mode::Apply).await,
        directory
            .set_user_active(&f.vendor(), &first.id, false, Mode::Apply)
            .await,
        directory
            .update_user(
                &f.vendor(),
                &first.id,
                &UserChanges {
                    role: Some(Role::Member),
                    ..UserChanges::default()
                },
                Mode::Apply,
            )
            .await,
    ] {
        assert_eq!(refused.expect_err("the last admin").code(), "last_admin");
    }

    // With a second admin (made by a person, or a key that may), the first may go.
    let granting = Actor {
        grants_admin: true,
        ..key.clone()
    };
    directory
        .update_user(&granting, &member.id, &promote, Mode::Apply)
        .await
        .expect("admins:write makes an admin");
    directory
        .remove_user(&granting, &first.id, Mode::Apply)
        .await
        .expect("another admin remains");
    let refused = directory
        .remove_user(&granting, &member.id, Mode::Apply)
        .await
        .expect_err("now the last");
    assert_eq!(refused.code(), "last_admin");
}

/// A team renamed keeps its id, members and allocation, and says so in the
/// audit; a second rename from the same read conflicts on its version.
pub async fn a_renamed_team_keeps_its_members_and_allocation(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_rename").await;
    f.buy("professional", 3).await;
    let team = f.team("Blue").await;
    let member = f.user("Member", Some(&team)).await;
    let directory = f.seats.directory();
    f.seats
        .allocations()
        .set_allocation(&f.admin, &team, &product("professional"), Some(2), Mode::Apply)
        .await
        .expect("allocated");
    let renamed = directory
        .rename_team(&f.admin, &team, "Navy", Mode::Apply)
        .await
        .expect("renamed");
    assert_eq!(renamed.audit.action, AuditAction::TeamRenamed);
    assert_eq!(renamed.value.name.as_str(), "Navy");
    let read = directory.team(&f.admin, &team).await.expect("team");
    assert_eq!((read.id.clone(), read.name.as_str()), (team.clone(), "Navy"));
    assert_eq!(
        directory
            .user(&f.admin, &member.id)
            .await
            .expect("member")
            .user
            .team,
        Some(team.clone())
    );
    let allocations = f.seats.allocations().list(&f.admin).await.expect("allocations");
    assert!(
        allocations
            .iter()
            .any(|t| t.team == team && t.allocated == Some(2)),
        "{allocations:?}"
    );
    let refused = directory
        .rename_team(
            &f.admin,
            &seatflow_domain::TeamId::parse("team_gone").expect("id"),
            "X",
            Mode::Apply,
        )
        .await
        .expect_err("no such team");
    assert_eq!(refused.code(), "not_found");
    let refused = directory
        .rename_team(&f.member(&member.id), &team, "Mine", Mode::Apply)
        .await
        .expect_err("members rename nothing");
    assert_eq!(refused.code(), "forbidden");
    directory
        .rename_team(&f.admin, &team, "Teal", Mode::DryRun)
        .await
        .expect("a dry run");
    assert_eq!(
        directory.team(&f.admin, &team).await.expect("team").name.as_str(),
        "Navy"
    );
}

/// A team removed gives its allocation back to the pool; its members, more
/// than one batch of them, stay with every seat they hold, in no team; a
/// dry run says so and changes nothing; only admins remove teams.
pub async fn a_removed_team_returns_its_allocation_and_its_members_keep_their_seats(
    store: Arc<dyn EntitlementStore>,
) {
    let f = Fixture::new(store, "org_team_removal").await;
    let pro = product("professional");
    f.buy("professional", 10).await;
    let team = f.team("Doomed").await;
    let directory = f.seats.directory();
    f.seats
        .allocations()
        .set_allocation(&f.admin, &team, &pro, Some(4), Mode::Apply)
        .await
        .expect("allocated");
    let mut members = Vec::new();
    for n in 0..30 {
        members.push(f.user(&format!("Member {n}"), Some(&team)).await);
    }
    for member in members.iter().take(4) {
        f.assign(&pro, &member.id).await;
    }
    let outsider = f.user("Outsider", None).await;
    f.assign(&pro, &outsider.id).await;

    let refused = directory
        .remove_team(&f.member(&members[0].id), &team, Mode::Apply)
        .await
        .expect_err("members remove nothing");
    assert_eq!(refused.code(), "forbidden");
    let preview = directory
        .remove_team(&f.admin, &team, Mode::DryRun)
        .await
        .expect("a dry run");
    assert!(preview.dry_run);
    assert_eq!(preview.value.members, 30);
    assert_eq!(preview.value.allocations.len(), 1);
    assert_eq!(
        directory.team(&f.admin, &team).await.expect("still there").id,
        team
    );

    let removed = directory
        .remove_team(&f.admin, &team, Mode::Apply)
        .await
        .expect("removed");
    assert_eq!(removed.audit.action, AuditAction::TeamRemoved);
    assert_eq!(removed.value.members, 30);
    assert_eq!(
        directory.team(&f.admin, &team).await.expect_err("gone").code(),
        "not_found"
    );
    for member in &members {
        let holder = directory.user(&f.admin, &member.id).await.expect("member stays");
        assert_eq!(holder.user.team, None, "{}", member.id);
    }
    for member in members.iter().take(4) {
        let holder = directory.user(&f.admin, &member.id).await.expect("member");
        assert_eq!(holder.seats.len(), 1, "{} keeps their seat", member.id);
        assert_eq!(holder.seats[0].team, None);
    }
    let pool = f.pool(&pro).await;
    assert_eq!(
        (pool.allocated, pool.assigned, pool.assigned_in_allocations),
        (0, 5, 0)
    );
    assert!(pool.allocated_teams.is_empty());
    let allocations = f.seats.allocations().list(&f.admin).await.expect("allocations");
    assert!(allocations.iter().all(|t| t.team != team), "{allocations:?}");
    f.assert_counters_match_assignments().await;
    // The five seats held leave five free, outside any team.
    for n in 0..5 {
        let user = f.user(&format!("Newcomer {n}"), None).await;
        f.assign(&pro, &user.id).await;
    }
    assert_eq!(
        directory
            .remove_team(&f.admin, &team, Mode::Apply)
            .await
            .expect_err("already gone")
            .code(),
        "not_found"
    );
}

/// A hand-off opens one session, once, within its minute, for a person only;
/// of many browsers using the same hand-off at once exactly one is signed
/// in; a session is found by its digest until it expires or is ended.
pub async fn a_hand_off_opens_one_session_once(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{HAND_OFF_SECONDS, PassKind, Principal, SESSION_SECONDS};

    let f = Fixture::new(store.clone(), "org_sign_in").await;
    let sign_ins = f.seats.sign_ins();
    let machine = Actor {
        principal: Principal::ApiKey(seatflow_domain::ApiKeyId::generate()),
        ..f.admin.clone()
    };
    let refused = sign_ins.hand_off(&machine, "digest-machine", Mode::Apply).await;
    assert_eq!(refused.expect_err("a key is nobody").code(), "forbidden");

    let dry = sign_ins
        .hand_off(&f.admin, "digest-h1", Mode::DryRun)
        .await
        .expect("a dry run");
    assert_eq!(
        sign_ins
            .redeem("digest-h1", "digest-dry", 3600)
            .await
            .expect("read"),
        None,
        "a dry run keeps nothing"
    );
    let handed = sign_ins
        .hand_off(&f.admin, "digest-h1", Mode::Apply)
        .await
        .expect("handed off");
    assert_eq!(handed, dry);
    assert_eq!(handed.kind, PassKind::HandOff);
    assert_eq!(
        handed.expires_at,
        f.clock.now() + Duration::seconds(HAND_OFF_SECONDS)
    );
    assert!(
        sign_ins
            .hand_off(&f.admin, "digest-h1", Mode::Apply)
            .await
            .is_err(),
        "a digest is never kept twice"
    );
    // A hand-off is not a session, and a session digest is not a hand-off.
    assert_eq!(sign_ins.session("digest-h1").await.expect("read"), None);

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let seats = f.seats.clone();
            tokio::spawn(async move {
                seats
                    .sign_ins()
                    .redeem("digest-h1", &format!("digest-s{i}"), 3600)
                    .await
                    .expect("redeemed or not")
            })
        })
        .collect();
    let mut opened = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if let Some(session) = task.await.expect("task finished") {
            opened.push((i, session));
        }
    }
    assert_eq!(
        opened.len(),
        1,
        "one browser signed in by one hand-off: {opened:?}"
    );
    let (winner, session) = opened.remove(0);
    assert_eq!(session.kind, PassKind::Session);
    assert_eq!(session.org, f.admin.org);
    assert_eq!(Some(&session.user), f.admin.user_id());
    assert_eq!(session.expires_at, f.clock.now() + Duration::seconds(3600));
    let digest = format!("digest-s{winner}");
    assert_eq!(sign_ins.session(&digest).await.expect("read"), Some(session));
    assert_eq!(
        sign_ins
            .redeem("digest-h1", "digest-again", 3600)
            .await
            .expect("read"),
        None,
        "used once"
    );

    // A late hand-off opens nothing; a session lasts at most its life.
    sign_ins
        .hand_off(&f.admin, "digest-h2", Mode::Apply)
        .await
        .expect("handed off");
    f.clock.advance(Duration::seconds(HAND_OFF_SECONDS));
    assert_eq!(
        sign_ins
            .redeem("digest-h2", "digest-late", 3600)
            .await
            .expect("read"),
        None
    );
    let long = sign_ins
        .open_session(
            &f.admin.org,
            f.admin.user_id().expect("a person"),
            "digest-long",
            10 * 24 * 3600,
        )
        .await
        .expect("opened");
    assert_eq!(
        long.expires_at,
        f.clock.now() + Duration::seconds(SESSION_SECONDS)
    );

    // Ended, or expired, a session signs nobody in.
    sign_ins.end_session(&digest).await.expect("ended");
    assert_eq!(sign_ins.session(&digest).await.expect("read"), None);
    f.clock.advance(Duration::seconds(SESSION_SECONDS));
    assert_eq!(sign_ins.session("digest-long").await.expect("read"), None);
}
