//! Seat operations on the in-memory store with 10, 1,000 and 100,000 users in
//! one organisation, every one of them holding a seat: assign and unassign
//! (timed separately) and the licenses summary, whose cost must not grow with
//! the number of users (it reads counters, not assignments). At 1,000 users,
//! the entitlement check twice: once the day's use is recorded (no write:
//! the check's own read says so), and recording it (each check a new day,
//! one write per product): what recording last-active dates costs.
//!
//! Run: `cargo bench -p seatflow-memory --bench seats` (figures in BENCHMARKS.md).

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use seatflow_domain::{DisplayName, Email, Mode, NewUser, ProductId, Role, UserId};
use seatflow_memory::MemoryEntitlementStore;
use seatflow_testkit::{Fixture, product};

const SIZES: [u32; 3] = [10, 1_000, 100_000];

/// An organisation of `users` seat holders plus one spare user without a seat,
/// and one free seat for the spare to take.
async fn organisation(users: u32) -> (Fixture, UserId, ProductId) {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_bench").await;
    let pro = product("professional");
    f.buy("professional", users + 1).await;
    let team = f.team("Everyone").await;
    for i in 0..=users {
        let spare = i == users;
        let new = NewUser {
            id: spare.then(|| UserId::parse("usr_spare").expect("id")),
            name: DisplayName::parse(&format!("User {i}")).expect("name"),
            email: Some(Email::parse(&format!("user{i}@bench.example")).expect("email")),
            directory: None,
            role: Role::Member,
            team: Some(team.clone()),
        };
        let seat = (!spare).then_some(&pro);
        f.seats
            .directory()
            .create_user(&f.admin, new, seat, Mode::Apply)
            .await
            .expect("user");
    }
    (f, UserId::parse("usr_spare").expect("id"), pro)
}

/// The entitlement check of the first seat holder.
async fn check_entitlements(f: &Fixture) {
    black_box(
        f.seats
            .views()
            .entitlements(&f.admin, "user0@bench.example")
            .await
            .expect("entitled"),
    );
}

fn seats(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("memory_store");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for users in SIZES {
        let (f, spare, pro) = runtime.block_on(organisation(users));
        group.bench_with_input(BenchmarkId::new("assign", users), &users, |b, _| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (f, spare, pro) = (f.clone(), spare.clone(), pro.clone());
                async move {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        black_box(
                            f.seats
                                .allocations()
                                .assign(&f.admin, &pro, &spare, Mode::Apply)
                                .await
                                .expect("assign"),
                        );
                        timed += start.elapsed();
                        f.seats
                            .allocations()
                            .unassign(&f.admin, &pro, &spare, Mode::Apply)
                            .await
                            .expect("unassign");
                    }
                    timed
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("unassign", users), &users, |b, _| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (f, spare, pro) = (f.clone(), spare.clone(), pro.clone());
                async move {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        f.seats
                            .allocations()
                            .assign(&f.admin, &pro, &spare, Mode::Apply)
                            .await
                            .expect("assign");
                        let start = Instant::now();
                        black_box(
                            f.seats
                                .allocations()
                                .unassign(&f.admin, &pro, &spare, Mode::Apply)
                                .await
                                .expect("unassign"),
                        );
                        timed += start.elapsed();
                    }
                    timed
                }
            });
        });
        group.bench_with_input(BenchmarkId::new("licenses_summary", users), &users, |b, _| {
            b.to_async(&runtime)
                .iter(|| async { black_box(f.seats.views().licenses(&f.admin).await.expect("summary")) });
        });
        if users == 1_000 {
            runtime.block_on(check_entitlements(&f));
            group.bench_function("entitlement_check_recorded_today", |b| {
                b.to_async(&runtime).iter(|| check_entitlements(&f));
            });
            group.bench_function("entitlement_check_recording", |b| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let f = f.clone();
                    async move {
                        let mut timed = Duration::ZERO;
                        for _ in 0..iters {
                            f.clock.advance(chrono::Duration::days(1));
                            let start = Instant::now();
                            check_entitlements(&f).await;
                            timed += start.elapsed();
                        }
                        timed
                    }
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, seats);
criterion_main!(benches);
