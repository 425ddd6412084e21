//! Concurrency: many requests at once never assign more than a pool holds, never over-allocate, never lose or orphan a seat.

use std::sync::Arc;

use seatflow_domain::{EntitlementStore, ImportRow, Mode, RowStatus};

use crate::fixture::{Fixture, product};

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
            tokio::spawn(async move { seats.allocations().assign(&admin, &p, &u.id, Mode::Apply).await })
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
    let pool = f.pool(&p).await;
    assert_eq!(pool.assigned, 10);
    f.assert_counters_match_assignments().await;
    let audit_after = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    assert_eq!(
        audit_after - audit_before,
        10,
        "one audit entry per successful change, none for refusals"
    );
}

/// 64 concurrent assigns and unassigns of distinct users against one pool
/// with room for all of them: none is refused (no `concurrent_modification`),
/// since seat changes count on the pool without conditioning on its version;
/// a team allocation's cap still holds for its members in the same race.
pub async fn concurrent_seat_changes_never_fail_while_the_pool_has_room(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_room").await;
    let p = product("professional");
    f.buy("professional", 60).await;
    let red = f.team("Red").await;
    f.allocate(&red, &p, Some(8)).await;
    let mut holders = Vec::new();
    for i in 0..16 {
        let u = f.user(&format!("Holder {i}"), None).await;
        f.assign(&p, &u.id).await;
        holders.push(u);
    }
    let mut newcomers = Vec::new();
    for i in 0..36 {
        newcomers.push(f.user(&format!("Newcomer {i}"), None).await);
    }
    let mut members = Vec::new();
    for i in 0..12 {
        members.push(f.user(&format!("Red {i}"), Some(&red)).await);
    }
    let mut tasks = Vec::new();
    for (u, take) in newcomers
        .iter()
        .map(|u| (u, true))
        .chain(holders.iter().map(|u| (u, false)))
    {
        let (seats, admin, p, id) = (f.seats.clone(), f.admin.clone(), p.clone(), u.id.clone());
        tasks.push(tokio::spawn(async move {
            let allocations = seats.allocations();
            let done = if take {
                allocations.assign(&admin, &p, &id, Mode::Apply).await.map(|_| ())
            } else {
                allocations
                    .unassign(&admin, &p, &id, Mode::Apply)
                    .await
                    .map(|_| ())
            };
            done.map_err(|e| format!("{} ({e})", e.code()))
        }));
    }
    let mut member_tasks = Vec::new();
    for u in &members {
        let (seats, admin, p, id) = (f.seats.clone(), f.admin.clone(), p.clone(), u.id.clone());
        member_tasks.push(tokio::spawn(async move {
            seats
                .allocations()
                .assign(&admin, &p, &id, Mode::Apply)
                .await
                .map_err(|e| e.code())
        }));
    }
    for task in tasks {
        let done = task.await.expect("task finished");
        assert!(done.is_ok(), "refused with room in the pool: {done:?}");
    }
    let mut members_won = 0;
    for task in member_tasks {
        match task.await.expect("task finished") {
            Ok(_) => members_won += 1,
            Err(code) => assert_eq!(
                code, "team_allocation_exhausted",
                "a member was refused otherwise"
            ),
        }
    }
    assert_eq!(members_won, 8, "the team's allocation, no more");
    let pool = f.pool(&p).await;
    assert_eq!(
        pool.assigned,
        36 + 8,
        "every newcomer and the team's 8 hold a seat; the holders gave theirs back"
    );
    assert_eq!(pool.assigned_in_allocations, 8);
    f.assert_counters_match_assignments().await;
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
                let _ = seats
                    .allocations()
                    .move_allocation(&admin, &p, team, to, 1, Mode::Apply)
                    .await;
            } else {
                let _ = seats
                    .allocations()
                    .set_allocation(&admin, team, &p, Some((i % 5) as u32 + 1), Mode::Apply)
                    .await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    let pool = f.pool(&p).await;
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
    f.allocate(&red, &p, Some(2)).await;
    f.allocate(&blue, &p, Some(2)).await;
    let mut users = Vec::new();
    for i in 0..8 {
        let team = if i % 2 == 0 { &red } else { &blue };
        users.push(f.user(&format!("Member {i}"), Some(team)).await);
    }
    for u in &users[..4] {
        f.assign(&p, &u.id).await;
    }
    let mut tasks = Vec::new();
    for i in 0..24usize {
        let (seats, admin, p, users) = (f.seats.clone(), f.admin.clone(), p.clone(), users.clone());
        tasks.push(tokio::spawn(async move {
            let from = &users[i % 8].id;
            let to = &users[(i * 3 + 1) % 8].id;
            let _ = seats
                .allocations()
                .transfer(&admin, &p, from, to, Mode::Apply)
                .await;
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    let pool = f.pool(&p).await;
    assert_eq!(pool.assigned, 4, "transfers neither create nor lose seats");
    f.assert_counters_match_assignments().await;
}

/// An add-on assigned while its holder's base seat is revoked never outlives
/// the base seat: both decisions read the holder, and the holder's version
/// makes one of them decide again.
pub async fn an_add_on_never_outlives_a_concurrently_revoked_base_seat(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store, "org_addon_race").await;
    let (pro, sso) = (product("professional"), product("sso"));
    f.buy("professional", 16).await;
    f.buy("sso", 16).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let user = f.user(&format!("Holder {i}"), None).await;
        f.assign(&pro, &user.id).await;
        let (seats, admin, pro, sso) = (f.seats.clone(), f.admin.clone(), pro.clone(), sso.clone());
        tasks.push(tokio::spawn(async move {
            let add = seats.allocations().assign(&admin, &sso, &user.id, Mode::Apply);
            let revoke = seats.allocations().unassign(&admin, &pro, &user.id, Mode::Apply);
            let (added, revoked) = tokio::join!(add, revoke);
            if let Err(e) = added {
                assert!(
                    matches!(e.code(), "base_seat_required" | "concurrent_modification"),
                    "unexpected refusal: {e}"
                );
            }
            revoked.expect("the base seat is revoked");
        }));
    }
    for task in tasks {
        task.await.expect("task finished");
    }
    // No add-on without a base seat, and every counter equals the holdings.
    f.assert_counters_match_assignments().await;
    assert_eq!(
        f.pool(&sso).await.assigned,
        0,
        "every add-on left with its base seat"
    );
}

/// 24 endpoints created at once by one organisation with 12: exactly 4 are
/// made, and the organisation ends with the cap of 16, never more.
pub async fn concurrent_endpoint_creations_never_pass_the_cap(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{EventType, MAX_ENDPOINTS, NewEndpoint};

    let f = Fixture::new(store.clone(), "org_hooks").await;
    let new = |i: usize| NewEndpoint {
        url: format!("https://hooks{i}.example.com/seatflow"),
        event_types: vec![EventType::SeatAssigned],
        allow_http: false,
    };
    for i in 0..12 {
        f.seats
            .integrations()
            .create_webhook_endpoint(&f.admin, &new(i), Mode::Apply)
            .await
            .expect("below the cap");
    }
    let tasks: Vec<_> = (12..36)
        .map(|i| {
            let (seats, admin, endpoint) = (f.seats.clone(), f.admin.clone(), new(i));
            tokio::spawn(async move {
                seats
                    .integrations()
                    .create_webhook_endpoint(&admin, &endpoint, Mode::Apply)
                    .await
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.expect("task finished") {
            Ok(_) => made += 1,
            Err(e) => assert!(
                matches!(e.code(), "validation_failed" | "concurrent_modification"),
                "unexpected refusal: {e}"
            ),
        }
    }
    let endpoints = store.webhook_endpoints(&f.admin.org).await.expect("read");
    assert_eq!(endpoints.len(), MAX_ENDPOINTS, "the cap, never more");
    assert_eq!(made, MAX_ENDPOINTS - 12);
}

/// 48 single assigns and 16 imports of 10 rows with a seat race for a pool
/// of 40: exactly 40 seats are held, whether by a single or by an import's
/// batch, every refusal is a full pool, and each holder has one audit entry.
pub async fn batched_imports_and_single_assigns_never_oversell_a_pool(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_batch_race").await;
    let p = product("professional");
    f.buy("professional", 40).await;
    let mut singles = Vec::new();
    for i in 0..48 {
        singles.push(f.user(&format!("Single {i}"), None).await);
    }
    let audit_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    let mut assigns = Vec::new();
    for u in singles {
        let (seats, admin, p) = (f.seats.clone(), f.admin.clone(), p.clone());
        assigns.push(tokio::spawn(async move {
            seats
                .allocations()
                .assign(&admin, &p, &u.id, Mode::Apply)
                .await
                .map_err(|e| e.code())
        }));
    }
    let mut imports = Vec::new();
    for i in 0..16 {
        let rows: Vec<ImportRow> = (0..10)
            .map(|j| ImportRow {
                name: format!("Imported {i}.{j}"),
                email: format!("imported{i}.{j}@example.com"),
                seat: Some("professional".into()),
                ..ImportRow::default()
            })
            .collect();
        let (seats, admin) = (f.seats.clone(), f.admin.clone());
        imports.push(tokio::spawn(async move {
            seats.directory().import_users(&admin, &rows, Mode::Apply).await
        }));
    }
    let mut won = 0;
    for task in assigns {
        match task.await.expect("task finished") {
            Ok(_) => won += 1,
            Err(code) => assert_eq!(code, "no_seats_available", "a single refused otherwise"),
        }
    }
    for task in imports {
        let report = task.await.expect("task finished").expect("import answered");
        won += report.created;
        for row in report.rows.iter().filter(|r| r.status == RowStatus::Failed) {
            assert_eq!(
                row.code,
                Some("no_seats_available"),
                "row {} refused otherwise",
                row.email
            );
        }
    }
    assert_eq!(won, 40, "exactly the pool's seats were taken");
    assert_eq!(f.pool(&p).await.assigned, 40);
    f.assert_counters_match_assignments().await;
    let audit_after = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    assert_eq!(
        audit_after - audit_before,
        40,
        "one entry per seat taken, none for refusals"
    );
}
