//! The conformance cases. Each takes a fresh store and panics on a violation.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::Clock as _;
use seatflow_domain::{
    Actor, AuditAction, Change, EntitlementStore, Mode, Organization, Put, StoreError, Write,
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
        email: seatflow_domain::Email::parse("ADA@example.com").expect("email"),
        role: seatflow_domain::Role::Member,
        team: None,
    };
    let err = f
        .seats
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
    a.seats
        .assign(&a.admin, &product("essential"), &ada.id, Mode::Apply)
        .await
        .expect("assigned");
    assert!(b.seats.licenses(&b.admin).await.expect("licenses").is_empty());
    assert!(b.seats.teams(&b.admin).await.expect("teams").is_empty());
    assert!(
        b.seats
            .users(&b.admin, None, None, 100)
            .await
            .expect("users")
            .is_empty()
    );
    assert_eq!(
        b.seats.user(&b.admin, &ada.id).await.expect_err("hidden").code(),
        "not_found"
    );
    assert_eq!(
        b.seats.team(&b.admin, &team).await.expect_err("hidden").code(),
        "not_found"
    );
    let err = b
        .seats
        .assign(&b.admin, &product("essential"), &ada.id, Mode::Apply)
        .await;
    assert_eq!(err.expect_err("hidden").code(), "not_found");
    assert!(b.seats.assignment_rows(&b.admin).await.expect("rows").is_empty());
    let b_audit = b.seats.audit(&b.admin, None, 100).await.expect("audit");
    assert!(b_audit.entries.iter().all(|e| e.org == b.admin.org));
}

/// Pool and team counters always equal the assignments they count.
pub async fn counters_match_assignments_after_assign_and_unassign(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_counters").await;
    f.buy("professional", 4).await;
    let team = f.team("Blue").await;
    let users = [
        f.user("U1", Some(&team)).await,
        f.user("U2", None).await,
        f.user("U3", Some(&team)).await,
    ];
    let p = product("professional");
    for u in &users {
        f.seats
            .assign(&f.admin, &p, &u.id, Mode::Apply)
            .await
            .expect("assigned");
    }
    f.assert_counters_match_assignments().await;
    let err = f
        .seats
        .assign(&f.admin, &p, &users[0].id, Mode::Apply)
        .await
        .expect_err("twice");
    assert_eq!(err.code(), "already_assigned");
    f.seats
        .unassign(&f.admin, &p, &users[1].id, Mode::Apply)
        .await
        .expect("unassigned");
    let err = f
        .seats
        .unassign(&f.admin, &p, &users[1].id, Mode::Apply)
        .await
        .expect_err("gone");
    assert_eq!(err.code(), "not_assigned");
    f.assert_counters_match_assignments().await;
    let summary = f.seats.licenses(&f.admin).await.expect("licenses");
    assert_eq!((summary[0].assigned, summary[0].available), (2, 2));
    // The revoked user keeps their account.
    f.seats.user(&f.admin, &users[1].id).await.expect("still exists");
}

/// An add-on goes only to a base seat holder; losing the last base seat takes
/// the add-ons in the same change (one audit entry).
pub async fn an_add_on_needs_a_base_seat_and_leaves_with_it(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_addons").await;
    f.buy("essential", 2).await;
    f.buy("sso", 2).await;
    f.buy("analytics", 2).await;
    let ada = f.user("Ada", None).await;
    let err = f
        .seats
        .assign(&f.admin, &product("sso"), &ada.id, Mode::Apply)
        .await
        .expect_err("no base");
    assert_eq!(err.code(), "base_seat_required");
    f.seats
        .assign(&f.admin, &product("essential"), &ada.id, Mode::Apply)
        .await
        .expect("base");
    f.seats
        .assign(&f.admin, &product("sso"), &ada.id, Mode::Apply)
        .await
        .expect("add-on");
    f.seats
        .assign(&f.admin, &product("analytics"), &ada.id, Mode::Apply)
        .await
        .expect("add-on");
    let entries_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let removed = f
        .seats
        .unassign(&f.admin, &product("essential"), &ada.id, Mode::Apply)
        .await
        .expect("removed");
    assert_eq!(removed.value.len(), 3, "base seat and both add-ons");
    assert_eq!(
        store.audit(&f.admin.org, None, 500).await.expect("audit").len(),
        entries_before + 1
    );
    assert!(
        f.seats
            .user(&f.admin, &ada.id)
            .await
            .expect("user")
            .seats
            .is_empty()
    );
    f.assert_counters_match_assignments().await;
    // Removing only an add-on leaves the base seat.
    f.seats
        .assign(&f.admin, &product("essential"), &ada.id, Mode::Apply)
        .await
        .expect("base");
    f.seats
        .assign(&f.admin, &product("sso"), &ada.id, Mode::Apply)
        .await
        .expect("add-on");
    f.seats
        .unassign(&f.admin, &product("sso"), &ada.id, Mode::Apply)
        .await
        .expect("add-on removed");
    assert_eq!(
        f.seats.user(&f.admin, &ada.id).await.expect("user").seats.len(),
        1
    );
}

/// A team allocation caps its members and reserves seats from everyone else.
pub async fn a_team_allocation_caps_its_members(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_alloc").await;
    f.buy("essential", 3).await;
    let p = product("essential");
    let red = f.team("Red").await;
    f.seats
        .set_allocation(&f.admin, &red, &p, Some(2), Mode::Apply)
        .await
        .expect("allocated");
    let err = f
        .seats
        .set_allocation(&f.admin, &red, &p, Some(4), Mode::Apply)
        .await
        .expect_err("too many");
    assert_eq!(err.code(), "allocation_exceeds_pool");
    let r1 = f.user("R1", Some(&red)).await;
    let r2 = f.user("R2", Some(&red)).await;
    let r3 = f.user("R3", Some(&red)).await;
    let loner = f.user("Loner", None).await;
    let other = f.user("Other", None).await;
    f.seats
        .assign(&f.admin, &p, &r1.id, Mode::Apply)
        .await
        .expect("in allocation");
    f.seats
        .assign(&f.admin, &p, &r2.id, Mode::Apply)
        .await
        .expect("in allocation");
    let err = f
        .seats
        .assign(&f.admin, &p, &r3.id, Mode::Apply)
        .await
        .expect_err("team full");
    assert_eq!(err.code(), "team_allocation_exhausted");
    f.seats
        .assign(&f.admin, &p, &loner.id, Mode::Apply)
        .await
        .expect("unallocated seat");
    let err = f
        .seats
        .assign(&f.admin, &p, &other.id, Mode::Apply)
        .await
        .expect_err("pool full");
    assert_eq!(err.code(), "no_seats_available");
    let err = f
        .seats
        .set_allocation(&f.admin, &red, &p, Some(1), Mode::Apply)
        .await
        .expect_err("below usage");
    assert_eq!(err.code(), "allocation_below_usage");
    f.assert_counters_match_assignments().await;
}

/// After a shrink below what is assigned, every holder keeps their seat, the
/// pool shows over-limit, and no new assignment succeeds until there is room.
pub async fn shrinking_a_pool_keeps_holders_and_refuses_new_assignments(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_shrink").await;
    let p = product("enterprise");
    f.buy("enterprise", 3).await;
    let users = [
        f.user("A", None).await,
        f.user("B", None).await,
        f.user("C", None).await,
        f.user("D", None).await,
    ];
    for u in &users[..3] {
        f.seats
            .assign(&f.admin, &p, &u.id, Mode::Apply)
            .await
            .expect("assigned");
    }
    f.buy("enterprise", 1).await;
    let summary = &f.seats.licenses(&f.admin).await.expect("licenses")[0];
    assert!(summary.over_limit);
    assert_eq!((summary.assigned, summary.available), (3, 0));
    for u in &users[..3] {
        assert_eq!(
            f.seats.user(&f.admin, &u.id).await.expect("user").seats.len(),
            1,
            "kept access"
        );
    }
    let err = f
        .seats
        .assign(&f.admin, &p, &users[3].id, Mode::Apply)
        .await
        .expect_err("over limit");
    assert_eq!(err.code(), "no_seats_available");
    f.seats
        .unassign(&f.admin, &p, &users[0].id, Mode::Apply)
        .await
        .expect("freed");
    f.seats
        .unassign(&f.admin, &p, &users[1].id, Mode::Apply)
        .await
        .expect("freed");
    let err = f
        .seats
        .assign(&f.admin, &p, &users[3].id, Mode::Apply)
        .await
        .expect_err("at limit");
    assert_eq!(err.code(), "no_seats_available");
    f.seats
        .unassign(&f.admin, &p, &users[2].id, Mode::Apply)
        .await
        .expect("freed");
    f.seats
        .assign(&f.admin, &p, &users[3].id, Mode::Apply)
        .await
        .expect("room again");
    assert!(!f.seats.licenses(&f.admin).await.expect("licenses")[0].over_limit);
}

/// A transfer takes the seat from one user and gives it to another at once.
pub async fn a_transfer_moves_the_seat_in_one_change(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_transfer").await;
    let p = product("essential");
    f.buy("essential", 1).await;
    f.buy("sso", 1).await;
    let red = f.team("Red").await;
    let blue = f.team("Blue").await;
    let giver = f.user("Giver", Some(&red)).await;
    let taker = f.user("Taker", Some(&blue)).await;
    f.seats
        .assign(&f.admin, &p, &giver.id, Mode::Apply)
        .await
        .expect("assigned");
    f.seats
        .assign(&f.admin, &product("sso"), &giver.id, Mode::Apply)
        .await
        .expect("add-on");
    // The pool is full, yet the transfer succeeds: the seat is freed in the same change.
    let moved = f
        .seats
        .transfer(&f.admin, &p, &giver.id, &taker.id, Mode::Apply)
        .await
        .expect("moved");
    assert_eq!(moved.value.removed.len(), 2, "base seat and its add-on");
    assert_eq!(moved.value.assigned.user, taker.id);
    assert_eq!(moved.value.assigned.team, Some(blue.clone()));
    assert!(
        f.seats
            .user(&f.admin, &giver.id)
            .await
            .expect("giver")
            .seats
            .is_empty()
    );
    f.assert_counters_match_assignments().await;
    let err = f
        .seats
        .transfer(&f.admin, &p, &giver.id, &taker.id, Mode::Apply)
        .await
        .expect_err("gone");
    assert_eq!(err.code(), "not_assigned");
}

/// The audit log has one entry per change, newest first, paged by cursor.
pub async fn the_audit_log_pages_newest_first(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_audit").await;
    for i in 0..5 {
        f.clock.advance(Duration::seconds(1));
        f.team(&format!("Team {i}")).await;
    }
    let first = f.seats.audit(&f.admin, None, 2).await.expect("page");
    assert_eq!(first.entries.len(), 2);
    assert!(first.entries[0].at > first.entries[1].at, "newest first");
    assert_eq!(after_of(&first.entries[0])["name"], "Team 4");
    let cursor = first.next_cursor.expect("more pages");
    let second = f.seats.audit(&f.admin, Some(&cursor), 2).await.expect("page");
    assert_eq!(after_of(&second.entries[0])["name"], "Team 2");
    let third = f
        .seats
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
        .assign(&f.admin, &p, &ada.id, Mode::DryRun)
        .await
        .expect("would assign");
    assert!(preview.dry_run);
    assert_eq!(preview.audit.action, AuditAction::SeatAssigned);
    assert_eq!(f.seats.licenses(&f.admin).await.expect("licenses")[0].assigned, 0);
    assert_eq!(
        store.audit(&f.admin.org, None, 500).await.expect("audit").len(),
        audit_before
    );
    // A dry run refuses what the real call would refuse.
    f.seats
        .assign(&f.admin, &p, &ada.id, Mode::Apply)
        .await
        .expect("assigned");
    let other = f.user("Bob", None).await;
    let err = f
        .seats
        .assign(&f.admin, &p, &other.id, Mode::DryRun)
        .await
        .expect_err("full");
    assert_eq!(err.code(), "no_seats_available");
}

/// API keys resolve by hash to their organisation until revoked.
pub async fn api_keys_are_found_by_hash_until_revoked(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_keys").await;
    let key = f
        .seats
        .create_api_key(&f.admin, "shop", "sfk_abcd", "hash-1", Mode::Apply)
        .await
        .expect("key");
    let actor = f
        .seats
        .authenticate_api_key("hash-1")
        .await
        .expect("lookup")
        .expect("known key");
    assert_eq!(actor.org, f.admin.org);
    assert!(
        f.seats
            .authenticate_api_key("hash-2")
            .await
            .expect("lookup")
            .is_none()
    );
    f.seats
        .revoke_api_key(&f.admin, &key.value.id, Mode::Apply)
        .await
        .expect("revoked");
    assert!(
        f.seats
            .authenticate_api_key("hash-1")
            .await
            .expect("lookup")
            .is_none()
    );
    // A machine client cannot manage keys.
    let err = f.seats.api_keys(&actor).await.expect_err("machine");
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
        .users(&f.admin, Some(&red), None, 100)
        .await
        .expect("team");
    assert_eq!(reds.len(), 5);
    let manager = f.manager(std::slice::from_ref(&red));
    assert_eq!(
        f.seats
            .users(&manager, None, None, 100)
            .await
            .expect("own teams")
            .len(),
        5
    );
}

/// 64 concurrent assigns of distinct users against a pool of 10: exactly 10
/// succeed, the rest are refused, and the counter equals the assignments.
pub async fn concurrent_assigns_never_oversell_a_pool(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_race").await;
    let p = product("professional");
    f.buy("professional", 10).await;
    let mut users = Vec::new();
    for i in 0..64 {
        users.push(f.user(&format!("Racer {i}"), None).await);
    }
    let audit_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let tasks: Vec<_> = users
        .into_iter()
        .map(|u| {
            let (seats, admin, p) = (f.seats.clone(), f.admin.clone(), p.clone());
            tokio::spawn(async move { seats.assign(&admin, &p, &u.id, Mode::Apply).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task finished") {
            Ok(_) => won += 1,
            Err(e) => assert!(
                matches!(e.code(), "no_seats_available" | "concurrent_modification"),
                "unexpected refusal: {e}"
            ),
        }
    }
    assert_eq!(won, 10, "exactly the pool's seats were assigned");
    let pool = store.pool(&f.admin.org, &p).await.expect("read").expect("pool");
    assert_eq!(pool.assigned, 10);
    f.assert_counters_match_assignments().await;
    let audit_after = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    assert_eq!(
        audit_after - audit_before,
        10,
        "one audit entry per successful change, none for refusals"
    );
}

/// Concurrent allocation changes and moves never promise more than the pool.
pub async fn concurrent_allocation_moves_never_over_allocate(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_alloc_race").await;
    let p = product("essential");
    f.buy("essential", 10).await;
    let teams = [
        f.team("T0").await,
        f.team("T1").await,
        f.team("T2").await,
        f.team("T3").await,
    ];
    let mut tasks = Vec::new();
    for i in 0..32usize {
        let (seats, admin, p, teams) = (f.seats.clone(), f.admin.clone(), p.clone(), teams.clone());
        tasks.push(tokio::spawn(async move {
            let team = &teams[i % 4];
            if i % 3 == 0 {
                let to = &teams[(i + 1) % 4];
                let _ = seats.move_allocation(&admin, &p, team, to, 1, Mode::Apply).await;
            } else {
                let _ = seats
                    .set_allocation(&admin, team, &p, Some((i % 5) as u32 + 1), Mode::Apply)
                    .await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    let pool = store.pool(&f.admin.org, &p).await.expect("read").expect("pool");
    let seats = store.all_team_seats(&f.admin.org).await.expect("team seats");
    let sum: u32 = seats.iter().filter_map(|s| s.allocated).sum();
    assert_eq!(pool.allocated, sum, "pool counter equals the team allocations");
    assert!(sum <= pool.purchased, "allocated {sum} of {}", pool.purchased);
}

/// Concurrent transfers and assigns between team members keep every counter
/// equal to the assignments.
pub async fn concurrent_transfers_keep_counts_consistent(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_transfer_race").await;
    let p = product("essential");
    f.buy("essential", 4).await;
    let red = f.team("Red").await;
    let blue = f.team("Blue").await;
    f.seats
        .set_allocation(&f.admin, &red, &p, Some(2), Mode::Apply)
        .await
        .expect("allocated");
    f.seats
        .set_allocation(&f.admin, &blue, &p, Some(2), Mode::Apply)
        .await
        .expect("allocated");
    let mut users = Vec::new();
    for i in 0..8 {
        let team = if i % 2 == 0 { &red } else { &blue };
        users.push(f.user(&format!("Member {i}"), Some(team)).await);
    }
    for u in &users[..4] {
        f.seats
            .assign(&f.admin, &p, &u.id, Mode::Apply)
            .await
            .expect("assigned");
    }
    let mut tasks = Vec::new();
    for i in 0..24usize {
        let (seats, admin, p, users) = (f.seats.clone(), f.admin.clone(), p.clone(), users.clone());
        tasks.push(tokio::spawn(async move {
            let from = &users[i % 8].id;
            let to = &users[(i * 3 + 1) % 8].id;
            let _ = seats.transfer(&admin, &p, from, to, Mode::Apply).await;
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    let pool = store.pool(&f.admin.org, &p).await.expect("read").expect("pool");
    assert_eq!(pool.assigned, 4, "transfers neither create nor lose seats");
    f.assert_counters_match_assignments().await;
}

fn subscription_state(
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

fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    crate::fixture::start_time() + Duration::seconds(seconds)
}

async fn purchased(f: &Fixture, p: &str) -> u32 {
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
        .apply_subscription(&f.admin, &state, "evt_once", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(again, Applied::Duplicate);
    assert_eq!(
        store.audit(&f.admin.org, None, 500).await.expect("audit").len(),
        audit_before + 1
    );
    // A dry run of a new event writes nothing, not even the event.
    let more = subscription_state(&f.admin.org, "sub_once", Active, &[("professional", 12)]);
    let dry = f
        .seats
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
        .apply_subscription(&f.admin, &newer, "evt_new", at(200), Mode::Apply)
        .await
        .expect("applied");
    let stale = f
        .seats
        .apply_subscription(&f.admin, &older, "evt_old", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(stale, Applied::Stale);
    assert_eq!(purchased(&f, "essential").await, 7);
    let sub = f.seats.subscription(&f.admin, &newer.id).await.expect("stored");
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
        .apply_subscription(&f.admin, &state, "evt_whole", at(50), Mode::Apply)
        .await
        .expect("applied");
    let sub = f.seats.subscription(&f.admin, &state.id).await.expect("stored");
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
        .apply_subscription(&f.admin, &three, "evt_d1", at(100), Mode::Apply)
        .await
        .expect("applied");
    let mut holders = Vec::new();
    for i in 0..3 {
        let user = f.user(&format!("Holder {i}"), None).await;
        f.seats
            .assign(&f.admin, &p, &user.id, Mode::Apply)
            .await
            .expect("assigned");
        holders.push(user);
    }
    let one = subscription_state(&f.admin.org, "sub_down", Active, &[("professional", 1)]);
    f.seats
        .apply_subscription(&f.admin, &one, "evt_d2", at(200), Mode::Apply)
        .await
        .expect("applied");
    let summary = &f.seats.licenses(&f.admin).await.expect("licenses")[0];
    assert_eq!(
        (summary.purchased, summary.assigned, summary.over_limit),
        (1, 3, true)
    );
    let canceled = subscription_state(&f.admin.org, "sub_down", Canceled, &[("professional", 1)]);
    f.seats
        .apply_subscription(&f.admin, &canceled, "evt_d3", at(300), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(purchased(&f, "professional").await, 0);
    for holder in &holders {
        assert_eq!(
            f.seats
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
        .apply_subscription(&f.admin, &a, "evt_a", at(100), Mode::Apply)
        .await
        .expect("applied");
    f.seats
        .apply_subscription(&f.admin, &b, "evt_b", at(100), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(
        (purchased(&f, "professional").await, purchased(&f, "sso").await),
        (5, 2)
    );
    let b_unpaid = subscription_state(&f.admin.org, "sub_b", Unpaid, &[("professional", 2), ("sso", 2)]);
    f.seats
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
            Applied::Stale => panic!("not stale: same event"),
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
        f.seats
            .assign(&f.admin, &product("enterprise"), &user.id, Mode::Apply)
            .await
            .expect("assigned");
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

/// Notification preferences are stored per organisation, versioned, audited.
pub async fn notification_preferences_are_kept_per_organisation(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Email, NoticeKind};
    let f = Fixture::new(store.clone(), "org_prefs_a").await;
    let g = Fixture::new(store.clone(), "org_prefs_b").await;
    let defaults = f.seats.notification_preferences(&f.admin).await.expect("read");
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
