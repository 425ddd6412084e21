//! Property tests: random sequences of seat operations never break the
//! domain's invariants.
//!
//! - assigned ≤ purchased, except after a shrink; then no assignment succeeds
//!   until assigned < purchased;
//! - team allocations sum to at most purchased (except after a shrink), and
//!   each team's usage stays within its allocation (or, set below its use,
//!   what it held then);
//! - no add-on without a base seat;
//! - exactly one audit entry per successful change, none per refused one;
//! - every counter equals a recount of the assignments.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use proptest::prelude::*;
use seatflow_domain::{Mode, NewGrant, ProductId, SeatError, SeatGrant, TeamId, User};
use seatflow_memory::MemoryEntitlementStore;
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::{Fixture, product};

const PRODUCTS: [&str; 3] = ["essential", "professional", "sso"];

#[derive(Debug, Clone)]
enum Op {
    Assign {
        user: usize,
        product: usize,
    },
    Unassign {
        user: usize,
        product: usize,
    },
    Transfer {
        product: usize,
        from: usize,
        to: usize,
    },
    Allocate {
        team: usize,
        product: usize,
        seats: Option<u32>,
    },
    Move {
        product: usize,
        from: usize,
        to: usize,
        seats: u32,
    },
    Grant {
        product: usize,
        seats: u32,
    },
    /// Ends the n-th grant that still counts (a shrink).
    EndGrant {
        nth: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..8usize, 0..3usize).prop_map(|(user, product)| Op::Assign { user, product }),
        2 => (0..8usize, 0..3usize).prop_map(|(user, product)| Op::Unassign { user, product }),
        2 => (0..3usize, 0..8usize, 0..8usize).prop_map(|(product, from, to)| Op::Transfer { product, from, to }),
        2 => (0..3usize, 0..3usize, proptest::option::of(0..6u32))
            .prop_map(|(team, product, seats)| Op::Allocate { team, product, seats }),
        1 => (0..3usize, 0..3usize, 0..3usize, 1..4u32)
            .prop_map(|(product, from, to, seats)| Op::Move { product, from, to, seats }),
        1 => (0..3usize, 1..4u32).prop_map(|(product, seats)| Op::Grant { product, seats }),
        1 => (0..6usize).prop_map(|nth| Op::EndGrant { nth }),
    ]
}

struct World {
    f: Fixture,
    users: Vec<User>,
    teams: Vec<TeamId>,
}

impl World {
    async fn new() -> Self {
        let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_prop").await;
        for p in PRODUCTS {
            f.buy(p, 4).await;
        }
        let teams = vec![f.team("A").await, f.team("B").await, f.team("C").await];
        let mut users = Vec::new();
        for i in 0..8 {
            // Users 0..6 are in teams A, B, C in turn; 6 and 7 have no team.
            let team = teams.get(i % 4).filter(|_| i < 6);
            users.push(f.user(&format!("User {i}"), team).await);
        }
        Self { f, users, teams }
    }

    async fn apply(&self, op: &Op) -> Result<(), SeatError> {
        let (s, a) = (&self.f.seats, &self.f.admin);
        let p = |i: usize| -> ProductId { product(PRODUCTS[i]) };
        match *op {
            Op::Assign { user, product } => s
                .allocations()
                .assign(a, &p(product), &self.users[user].id, Mode::Apply)
                .await
                .map(drop),
            Op::Unassign { user, product } => s
                .allocations()
                .unassign(a, &p(product), &self.users[user].id, Mode::Apply)
                .await
                .map(drop),
            Op::Transfer { product, from, to } => s
                .allocations()
                .transfer(
                    a,
                    &p(product),
                    &self.users[from].id,
                    &self.users[to].id,
                    Mode::Apply,
                )
                .await
                .map(drop),
            Op::Allocate { team, product, seats } => s
                .allocations()
                .set_allocation(a, &self.teams[team], &p(product), seats, Mode::Apply)
                .await
                .map(drop),
            Op::Move {
                product,
                from,
                to,
                seats,
            } => s
                .allocations()
                .move_allocation(
                    a,
                    &p(product),
                    &self.teams[from],
                    &self.teams[to],
                    seats,
                    Mode::Apply,
                )
                .await
                .map(drop),
            Op::Grant { product, seats } => {
                let grant = NewGrant::parse(p(product), seats, None, "property test")?;
                s.subscriptions()
                    .grant_seats(&self.f.vendor(), &grant, Mode::Apply)
                    .await
                    .map(drop)
            }
            Op::EndGrant { nth } => {
                let counting: Vec<_> = s
                    .subscriptions()
                    .grants(a)
                    .await?
                    .into_iter()
                    .filter(SeatGrant::counts)
                    .collect();
                let grant = counting.get(nth).ok_or_else(|| SeatError::NotFound {
                    what: "grant",
                    id: nth.to_string(),
                })?;
                s.subscriptions()
                    .end_grant(&self.f.vendor(), &grant.id)
                    .await
                    .map(drop)
            }
        }
    }

    async fn audit_len(&self) -> usize {
        self.f
            .store
            .audit(&self.f.admin.org, None, 10_000)
            .await
            .expect("audit")
            .len()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_every_invariant(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(async {
            let world = World::new().await;
            for op in &ops {
                let pools_before = world.f.seats.views().licenses(&world.f.admin).await.expect("licenses");
                let records_before = world.f.store.pools(&world.f.admin.org).await.expect("pools");
                let audit_before = world.audit_len().await;
                let result = world.apply(op).await;
                let audit_after = world.audit_len().await;
                match &result {
                    Ok(()) => assert_eq!(audit_after, audit_before + 1, "one entry for {op:?}"),
                    Err(e) => {
                        assert_eq!(audit_after, audit_before, "no entry for refused {op:?}: {e}");
                        assert_ne!(e.code(), "concurrent_modification");
                    }
                }
                // A pool at or over its limit takes no new seat.
                if let (Op::Assign { product, .. }, Ok(())) = (op, &result) {
                    let before = pools_before.iter().find(|p| p.product.as_str() == PRODUCTS[*product]);
                    assert!(before.is_some_and(|p| p.assigned < p.purchased), "assigned into a full pool");
                }
                let pools = world.f.seats.views().licenses(&world.f.admin).await.expect("licenses");
                for pool in &pools {
                    let was = pools_before.iter().find(|p| p.product == pool.product);
                    // Only a shrink can leave more assigned than purchased, and then
                    // nothing was added.
                    if pool.assigned > pool.purchased {
                        let shrunk = matches!(op, Op::EndGrant { .. });
                        let was_over = was.is_some_and(|w| w.assigned > w.purchased || w.assigned > pool.purchased);
                        assert!(shrunk || was_over, "{} over limit without a shrink", pool.product);
                        assert!(was.is_none_or(|w| pool.assigned <= w.assigned));
                    }
                    // Allocations beyond the seats bought only after a shrink left the
                    // pool over-committed: then an allocation may cover seats already
                    // held (it promises nothing new), but never add promises.
                    if pool.allocated > pool.purchased {
                        let record = records_before.iter().find(|r| r.product == pool.product);
                        let was_over = record.is_some_and(|r| r.committed() > pool.purchased);
                        assert!(matches!(op, Op::EndGrant { .. }) || was_over, "{} over-allocated", pool.product);
                        if let Some(before) = record.filter(|_| !matches!(op, Op::EndGrant { .. })) {
                            let now = world.f.store.pool(&world.f.admin.org, &pool.product).await.expect("read");
                            let now = now.expect("pool");
                            assert!(now.committed() <= before.committed(), "{} promised more", pool.product);
                        }
                    }
                }
                world.f.assert_counters_match_assignments().await;
            }
        });
    }
}
