//! Seats: counters kept with the assignments, add-ons and their base seats, team allocations, shrunk pools, transfers.

use std::sync::Arc;

use seatflow_domain::{EntitlementStore, Mode};

use crate::fixture::{Fixture, product};
use crate::reads::StoreReads as _;

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
        f.assign(&p, &u.id).await;
    }
    f.assert_counters_match_assignments().await;
    assert_eq!(f.refused_assign(&p, &users[0].id).await, "already_assigned");
    f.unassign(&p, &users[1].id).await;
    let err = f
        .seats
        .allocations()
        .unassign(&f.admin, &p, &users[1].id, Mode::Apply)
        .await
        .expect_err("gone");
    assert_eq!(err.code(), "not_assigned");
    f.assert_counters_match_assignments().await;
    let summary = f.seats.views().licenses(&f.admin).await.expect("licenses");
    assert_eq!((summary[0].assigned, summary[0].available), (2, 2));
    // The revoked user keeps their account.
    f.seats
        .directory()
        .user(&f.admin, &users[1].id)
        .await
        .expect("still exists");
}

/// An add-on goes only to a base seat holder; losing the last base seat takes
/// the add-ons in the same change (one audit entry).
pub async fn an_add_on_needs_a_base_seat_and_leaves_with_it(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_addons").await;
    f.buy("essential", 2).await;
    f.buy("sso", 2).await;
    f.buy("analytics", 2).await;
    let ada = f.user("Ada", None).await;
    assert_eq!(
        f.refused_assign(&product("sso"), &ada.id).await,
        "base_seat_required"
    );
    f.assign(&product("essential"), &ada.id).await;
    f.assign(&product("sso"), &ada.id).await;
    f.assign(&product("analytics"), &ada.id).await;
    let entries_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let removed = f
        .seats
        .allocations()
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
            .directory()
            .user(&f.admin, &ada.id)
            .await
            .expect("user")
            .seats
            .is_empty()
    );
    f.assert_counters_match_assignments().await;
    // Removing only an add-on leaves the base seat.
    f.assign(&product("essential"), &ada.id).await;
    f.assign(&product("sso"), &ada.id).await;
    f.unassign(&product("sso"), &ada.id).await;
    assert_eq!(
        f.seats
            .directory()
            .user(&f.admin, &ada.id)
            .await
            .expect("user")
            .seats
            .len(),
        1
    );
}

/// A team allocation caps its members and reserves seats from everyone else.
pub async fn a_team_allocation_caps_its_members(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_alloc").await;
    f.buy("essential", 3).await;
    let p = product("essential");
    let red = f.team("Red").await;
    f.allocate(&red, &p, Some(2)).await;
    let err = f
        .seats
        .allocations()
        .set_allocation(&f.admin, &red, &p, Some(4), Mode::Apply)
        .await
        .expect_err("too many");
    assert_eq!(err.code(), "allocation_exceeds_pool");
    let r1 = f.user("R1", Some(&red)).await;
    let r2 = f.user("R2", Some(&red)).await;
    let r3 = f.user("R3", Some(&red)).await;
    let loner = f.user("Loner", None).await;
    let other = f.user("Other", None).await;
    f.assign(&p, &r1.id).await;
    f.assign(&p, &r2.id).await;
    assert_eq!(f.refused_assign(&p, &r3.id).await, "team_allocation_exhausted");
    f.assign(&p, &loner.id).await;
    assert_eq!(f.refused_assign(&p, &other.id).await, "no_seats_available");
    // Below its use: allowed. Both keep their seats, the team is over its
    // limit and takes no new seat until there is room; the pool still sets
    // the seats held aside, so nothing outside the team takes them.
    let shrunk = f
        .seats
        .allocations()
        .set_allocation(&f.admin, &red, &p, Some(1), Mode::Apply)
        .await
        .expect("below usage is allowed");
    assert_eq!((shrunk.value.allocated, shrunk.value.assigned), (Some(1), 2));
    assert!(shrunk.value.over_limit());
    f.unassign(&p, &loner.id).await;
    assert_eq!(f.refused_assign(&p, &r3.id).await, "team_allocation_exhausted");
    f.assign(&p, &other.id).await;
    f.unassign(&p, &r1.id).await;
    assert_eq!(f.refused_assign(&p, &r3.id).await, "team_allocation_exhausted");
    f.unassign(&p, &r2.id).await;
    f.assign(&p, &r3.id).await;
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
        f.assign(&p, &u.id).await;
    }
    f.buy("enterprise", 1).await;
    let summary = &f.seats.views().licenses(&f.admin).await.expect("licenses")[0];
    assert!(summary.over_limit);
    assert_eq!((summary.assigned, summary.available), (3, 0));
    for u in &users[..3] {
        assert_eq!(
            f.seats
                .directory()
                .user(&f.admin, &u.id)
                .await
                .expect("user")
                .seats
                .len(),
            1,
            "kept access"
        );
    }
    assert_eq!(f.refused_assign(&p, &users[3].id).await, "no_seats_available");
    f.unassign(&p, &users[0].id).await;
    f.unassign(&p, &users[1].id).await;
    assert_eq!(f.refused_assign(&p, &users[3].id).await, "no_seats_available");
    f.unassign(&p, &users[2].id).await;
    f.assign(&p, &users[3].id).await;
    assert!(!f.seats.views().licenses(&f.admin).await.expect("licenses")[0].over_limit);
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
    f.assign(&p, &giver.id).await;
    f.assign(&product("sso"), &giver.id).await;
    // The pool is full, yet the transfer succeeds: the seat is freed in the same change.
    let moved = f
        .seats
        .allocations()
        .transfer(&f.admin, &p, &giver.id, &taker.id, Mode::Apply)
        .await
        .expect("moved");
    assert_eq!(moved.value.removed.len(), 2, "base seat and its add-on");
    assert_eq!(moved.value.assigned.user, taker.id);
    assert_eq!(moved.value.assigned.team, Some(blue.clone()));
    assert!(
        f.seats
            .directory()
            .user(&f.admin, &giver.id)
            .await
            .expect("giver")
            .seats
            .is_empty()
    );
    f.assert_counters_match_assignments().await;
    let err = f
        .seats
        .allocations()
        .transfer(&f.admin, &p, &giver.id, &taker.id, Mode::Apply)
        .await
        .expect_err("gone");
    assert_eq!(err.code(), "not_assigned");
}

/// A seat beyond a team's allocation is refused with the allocation named,
/// whether committed or only a dry run; a dry run within it writes nothing.
pub async fn a_dry_run_refuses_a_seat_beyond_the_team_allocation(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_dry_cap").await;
    let p = product("essential");
    f.buy("essential", 5).await;
    let red = f.team("Red").await;
    f.allocate(&red, &p, Some(1)).await;
    let ann = f.user("Ann", Some(&red)).await;
    let bob = f.user("Bob", Some(&red)).await;
    f.assign(&p, &ann.id).await;
    for mode in [Mode::DryRun, Mode::Apply] {
        let err = f
            .seats
            .allocations()
            .assign(&f.admin, &p, &bob.id, mode)
            .await
            .expect_err("beyond the allocation");
        assert_eq!(err.code(), "team_allocation_exhausted", "{mode:?}");
        assert!(
            err.to_string().contains("all 1 of its essential"),
            "{mode:?}: {err}"
        );
    }
    f.allocate(&red, &p, Some(2)).await;
    let preview = f
        .seats
        .allocations()
        .assign(&f.admin, &p, &bob.id, Mode::DryRun)
        .await
        .expect("within the allocation");
    assert!(preview.dry_run);
    assert!(
        f.store
            .user_assignments(&f.admin.org, &bob.id)
            .await
            .expect("read")
            .is_empty()
    );
    f.assign(&p, &bob.id).await;
    f.assert_counters_match_assignments().await;
}
