//! Building a [`Change`]: each record written carries the version it was
//! decided on, and the working set of counters a seat operation touches.

use std::collections::BTreeMap;

use crate::api_key::ApiKey;
use crate::assignment::Assignment;
use crate::audit::AuditEntry;
use crate::directory::{Organization, Team, User};
use crate::error::SeatError;
use crate::ids::{OrgId, ProductId, TeamId};
use crate::pool::{SeatPool, TeamSeats};
use crate::store::{Change, EntitlementStore, Put, Write};
use crate::subscription::Subscription;

/// A stored record with an optimistic-concurrency version.
pub(crate) trait Versioned: Sized {
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
    fn into_write(put: Put<Self>) -> Write;
}

macro_rules! versioned {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl Versioned for $ty {
            fn version(&self) -> u64 { self.version }
            fn set_version(&mut self, version: u64) { self.version = version; }
            fn into_write(put: Put<Self>) -> Write { Write::$variant(put) }
        }
    )*};
}

versioned!(
    Organization => Organization,
    Team => Team,
    User => User,
    SeatPool => Pool,
    TeamSeats => TeamSeats,
    Assignment => Assignment,
    ApiKey => ApiKey,
    Subscription => Subscription,
    crate::notification::NotificationPreferences => NotificationPreferences,
);

/// The writes of a change being decided.
pub(crate) struct Draft {
    org: OrgId,
    writes: Vec<Write>,
}

impl Draft {
    pub(crate) fn new(org: &OrgId) -> Self {
        Self {
            org: org.clone(),
            writes: Vec::new(),
        }
    }

    /// Writes `after` over `before` (`None`: a new record).
    pub(crate) fn put<T: Versioned>(&mut self, before: Option<&T>, mut after: T) {
        let expected = before.map(Versioned::version);
        after.set_version(expected.map_or(1, |v| v + 1));
        self.writes.push(T::into_write(Put {
            expected,
            value: after,
        }));
    }

    pub(crate) fn delete_assignment(&mut self, assignment: &Assignment) {
        self.writes.push(Write::DeleteAssignment {
            user: assignment.user.clone(),
            product: assignment.product.clone(),
            expected: assignment.version,
        });
    }

    pub(crate) fn record_event(&mut self, event: crate::subscription::ProcessedEvent) {
        self.writes.push(Write::ProcessedEvent(event));
    }

    pub(crate) fn finish(self, audit: AuditEntry) -> Change {
        Change {
            org: self.org,
            writes: self.writes,
            audit,
        }
    }
}

/// A record as read (`None` if absent) and as the decision leaves it.
struct Tracked<T> {
    before: Option<T>,
    after: T,
    touched: bool,
}

/// The pools and team counters one operation reads and changes.
pub(crate) struct SeatBook {
    org: OrgId,
    pools: BTreeMap<ProductId, Tracked<SeatPool>>,
    teams: BTreeMap<(TeamId, ProductId), Tracked<TeamSeats>>,
}

impl SeatBook {
    pub(crate) fn new(org: &OrgId) -> Self {
        Self {
            org: org.clone(),
            pools: BTreeMap::new(),
            teams: BTreeMap::new(),
        }
    }

    /// Reads, in one consistent snapshot, the pool and team counters of every
    /// `(product, team)` the operation will take or release a seat for. Call
    /// once per decision. A product the organisation holds none of reads as an
    /// empty pool, so every seat request against it is refused as full.
    pub(crate) async fn load(
        &mut self,
        store: &dyn EntitlementStore,
        needs: &[(ProductId, Option<TeamId>)],
    ) -> Result<(), SeatError> {
        let mut products: Vec<ProductId> = needs.iter().map(|(p, _)| p.clone()).collect();
        products.sort();
        products.dedup();
        let mut teams: Vec<(TeamId, ProductId)> = needs
            .iter()
            .filter_map(|(p, t)| t.clone().map(|t| (t, p.clone())))
            .collect();
        teams.sort();
        teams.dedup();
        let (pools, seats) = store.seat_counters(&self.org, &products, &teams).await?;
        for product in products {
            let before = pools.iter().find(|p| p.product == product).cloned();
            let after = before
                .clone()
                .unwrap_or_else(|| SeatPool::new(self.org.clone(), product.clone(), 0));
            self.pools.insert(
                product,
                Tracked {
                    before,
                    after,
                    touched: false,
                },
            );
        }
        for (team, product) in teams {
            let before = seats
                .iter()
                .find(|s| s.team == team && s.product == product)
                .cloned();
            let after = before
                .clone()
                .unwrap_or_else(|| TeamSeats::new(self.org.clone(), team.clone(), product.clone()));
            self.teams.insert(
                (team, product),
                Tracked {
                    before,
                    after,
                    touched: false,
                },
            );
        }
        Ok(())
    }

    fn parts(
        &mut self,
        product: &ProductId,
        team: Option<&TeamId>,
    ) -> (&mut SeatPool, Option<&mut TeamSeats>) {
        let pool = self.pools.get_mut(product).expect("pool loaded before use");
        pool.touched = true;
        let team = team.map(|t| {
            let seats = self
                .teams
                .get_mut(&(t.clone(), product.clone()))
                .expect("team seats loaded before use");
            seats.touched = true;
            &mut seats.after
        });
        (&mut pool.after, team)
    }

    pub(crate) fn pool(&self, product: &ProductId) -> &SeatPool {
        &self.pools[product].after
    }

    pub(crate) fn pool_before(&self, product: &ProductId) -> SeatPool {
        let t = &self.pools[product];
        t.before
            .clone()
            .unwrap_or_else(|| SeatPool::new(self.org.clone(), product.clone(), 0))
    }

    pub(crate) fn team(&self, team: &TeamId, product: &ProductId) -> &TeamSeats {
        &self.teams[&(team.clone(), product.clone())].after
    }

    pub(crate) fn take(&mut self, product: &ProductId, team: Option<&TeamId>) -> Result<(), SeatError> {
        let (pool, team) = self.parts(product, team);
        pool.take(team)
    }

    pub(crate) fn release(&mut self, product: &ProductId, team: Option<&TeamId>) {
        let (pool, team) = self.parts(product, team);
        pool.release(team);
    }

    pub(crate) fn reallocate(
        &mut self,
        product: &ProductId,
        team: &TeamId,
        allocation: Option<u32>,
    ) -> Result<(), SeatError> {
        let (pool, seats) = self.parts(product, Some(team));
        pool.reallocate(seats.expect("team requested"), allocation)
    }

    pub(crate) fn set_purchased(&mut self, product: &ProductId, purchased: u32) {
        self.parts(product, None).0.purchased = purchased;
    }

    /// Adds a write for every record the operation changed.
    pub(crate) fn write_into(self, draft: &mut Draft) {
        for t in self.pools.into_values() {
            if t.touched && t.before.as_ref() != Some(&t.after) {
                draft.put(t.before.as_ref(), t.after);
            }
        }
        for t in self.teams.into_values() {
            if t.touched && t.before.as_ref() != Some(&t.after) {
                draft.put(t.before.as_ref(), t.after);
            }
        }
    }
}
