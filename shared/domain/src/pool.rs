//! Seat pools (per product per organisation) and team allocations, and the
//! counter arithmetic that keeps them honest. Counters are kept in the same
//! change as the assignments they count, so reading usage never counts items.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::SeatError;
use crate::error::ValidationError;
use crate::ids::{GrantId, OrgId, ProductId, SubscriptionId, TeamId};
use crate::seat_rules::SeatSource;

/// The seats of one product an organisation holds.
///
/// `assigned_in_allocations` counts the assigned seats that draw on a team
/// allocation; the rest draw on the unallocated part of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatPool {
    /// Owning organisation.
    pub org: OrgId,
    /// The product.
    pub product: ProductId,
    /// Seats bought: the sum of `subscribed` and `granted`.
    pub purchased: u32,
    /// Each entitling subscription's seats of this product. Each subscription
    /// changes only its own entry, so the sum is computed from this one
    /// record, and committing on its version conditions the sum on
    /// everything it was computed from.
    #[serde(default)]
    pub subscribed: BTreeMap<SubscriptionId, u32>,
    /// Each manual grant's seats of this product (see `SeatGrant`).
    #[serde(default)]
    pub granted: BTreeMap<GrantId, u32>,
    /// Seats bought automatically on each subscription that the payment
    /// provider does not hold yet. They count as purchased at once; the
    /// quantity sync asks the provider for what it holds plus what is owed,
    /// and the provider's higher quantity, once applied, pays them off.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub owed: BTreeMap<SubscriptionId, u32>,
    /// Seats bought automatically in the current billing period (what the
    /// organisation's budget counts); back to 0 when a subscription renews.
    #[serde(default)]
    pub auto_bought: u32,
    /// Which billing period `auto_bought` counts (it moves on at each
    /// renewal): one period's digest of automatic purchases is not the
    /// next's.
    #[serde(default)]
    pub auto_period: u32,
    /// Sum of the team allocations of this product.
    pub allocated: u32,
    /// Seats held by users.
    pub assigned: u32,
    /// Of `assigned`, the seats that draw on a team allocation.
    pub assigned_in_allocations: u32,
    /// The teams with an allocation of this product. Kept on the pool so that
    /// a seat decision knows where a member's seat comes from without reading
    /// the team's counter (whose cap the store checks at commit).
    #[serde(default)]
    pub allocated_teams: BTreeSet<TeamId>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl SeatPool {
    /// An empty pool of `purchased` seats.
    #[must_use]
    pub fn new(org: OrgId, product: ProductId, purchased: u32) -> Self {
        Self {
            org,
            product,
            purchased,
            subscribed: BTreeMap::new(),
            granted: BTreeMap::new(),
            owed: BTreeMap::new(),
            auto_bought: 0,
            auto_period: 0,
            allocated: 0,
            assigned: 0,
            assigned_in_allocations: 0,
            allocated_teams: BTreeSet::new(),
            version: 0,
        }
    }

    /// Sets what subscription `id` contributes (0 removes it) and recounts.
    /// A subscription that stops counting takes the seats owed to it with
    /// it (nothing is left to bill them on).
    ///
    /// # Errors
    /// [`ValidationError`] when the sum would pass `u32::MAX` seats.
    pub fn set_subscribed(&mut self, id: &SubscriptionId, seats: u32) -> Result<(), ValidationError> {
        if seats == 0 {
            self.subscribed.remove(id);
            self.owed.remove(id);
        } else {
            self.subscribed.insert(id.clone(), seats);
        }
        self.recount()
    }

    /// The provider now holds `rise` more seats of this product on
    /// subscription `id`: they pay off as many seats owed to it.
    ///
    /// # Errors
    /// [`ValidationError`] never in practice (the sum only falls).
    pub fn pay_off(&mut self, id: &SubscriptionId, rise: u32) -> Result<(), ValidationError> {
        if let Some(owed) = self.owed.get_mut(id) {
            *owed = owed.saturating_sub(rise);
            if *owed == 0 {
                self.owed.remove(id);
            }
        }
        self.recount()
    }

    /// Seats bought automatically on subscription `id` that the provider
    /// does not hold yet.
    #[must_use]
    pub fn owed_to(&self, id: &SubscriptionId) -> u32 {
        self.owed.get(id).copied().unwrap_or(0)
    }

    /// Seats to buy so that one seat can be taken from `source`: 0 when one
    /// is free.
    #[must_use]
    pub fn shortfall(&self, source: &SeatSource) -> u32 {
        let pool = self.assigned.saturating_add(1).saturating_sub(self.purchased);
        match source {
            SeatSource::TeamAllocation(_) => pool,
            SeatSource::Unallocated => {
                pool.max(self.committed().saturating_add(1).saturating_sub(self.purchased))
            }
        }
    }

    /// Buys `seats` automatically on the organisation's subscription for
    /// this product (the first that counts), within `policy`'s budget: they
    /// count as purchased now and are owed to the subscription.
    ///
    /// # Errors
    /// [`SeatError::NoSubscriptionToBuyOn`] when no subscription of the
    /// product counts; [`SeatError::AutoSeatBudgetExhausted`] past the
    /// period's budget; [`SeatError::Validation`] on an overflow.
    pub fn buy_automatically(
        &mut self,
        seats: u32,
        policy: &crate::license::AutoPurchasePolicy,
    ) -> Result<SubscriptionId, SeatError> {
        let Some(subscription) = self.subscribed.keys().next().cloned() else {
            return Err(SeatError::NoSubscriptionToBuyOn {
                product: self.product.to_string(),
            });
        };
        if let Some(max) = policy.max_per_period
            && self.auto_bought.saturating_add(seats) > max
        {
            return Err(SeatError::AutoSeatBudgetExhausted {
                product: self.product.to_string(),
                max,
            });
        }
        let owed = self.owed.entry(subscription.clone()).or_insert(0);
        *owed = owed.saturating_add(seats);
        self.auto_bought = self.auto_bought.saturating_add(seats);
        self.recount()?;
        Ok(subscription)
    }

    /// A subscription renewed: the budget starts again.
    pub fn start_period(&mut self) {
        self.auto_bought = 0;
        self.auto_period = self.auto_period.wrapping_add(1);
    }

    /// Sets what grant `id` contributes (0 removes it) and recounts.
    ///
    /// # Errors
    /// [`ValidationError`] when the sum would pass `u32::MAX` seats.
    pub fn set_granted(&mut self, id: &GrantId, seats: u32) -> Result<(), ValidationError> {
        if seats == 0 {
            self.granted.remove(id);
        } else {
            self.granted.insert(id.clone(), seats);
        }
        self.recount()
    }

    /// `purchased` from its sources; an overflow is an error, never a wrap.
    fn recount(&mut self) -> Result<(), ValidationError> {
        self.purchased = self
            .subscribed
            .values()
            .chain(self.granted.values())
            .chain(self.owed.values())
            .try_fold(0u32, |sum, n| sum.checked_add(*n))
            .ok_or_else(|| {
                ValidationError::new(
                    "quantity",
                    format!("{} would exceed {} seats", self.product, u32::MAX),
                )
            })?;
        Ok(())
    }

    /// Where a member of `team` draws a seat of this product from.
    #[must_use]
    pub fn source_for(&self, team: Option<&TeamId>) -> SeatSource {
        SeatSource::for_member(team, team.is_some_and(|t| self.allocated_teams.contains(t)))
    }

    /// Takes one seat from `source`, on the pool's side only: the team's own
    /// cap is checked against its counter, by [`SeatPool::take`] or by the
    /// store at commit.
    ///
    /// # Errors
    /// [`SeatError::NoSeatsAvailable`] when the pool (or, for an unallocated
    /// seat, its unallocated part) is full or over-limit.
    pub fn take_from(&mut self, source: &SeatSource) -> Result<(), SeatError> {
        if self.assigned >= self.purchased {
            return Err(self.no_seats());
        }
        match source {
            SeatSource::TeamAllocation(_) => {
                self.assigned_in_allocations = self.assigned_in_allocations.saturating_add(1);
            }
            SeatSource::Unallocated if self.unallocated_free() == 0 => return Err(self.no_seats()),
            SeatSource::Unallocated => {}
        }
        self.assigned = self.assigned.saturating_add(1);
        Ok(())
    }

    /// Gives back one seat taken from `source`, on the pool's side only.
    pub fn release_to(&mut self, source: &SeatSource) {
        if matches!(source, SeatSource::TeamAllocation(_)) {
            self.assigned_in_allocations = self.assigned_in_allocations.saturating_sub(1);
        }
        self.assigned = self.assigned.saturating_sub(1);
    }

    /// Seats not held by anyone (0 when over-limit).
    #[must_use]
    pub fn available(&self) -> u32 {
        self.purchased.saturating_sub(self.assigned)
    }

    /// More seats held than bought (after a shrink): current holders keep
    /// access, new assignments are refused until there is room.
    #[must_use]
    pub fn over_limit(&self) -> bool {
        self.assigned > self.purchased
    }

    /// Seats held outside any team allocation.
    #[must_use]
    pub fn unallocated_assigned(&self) -> u32 {
        self.assigned.saturating_sub(self.assigned_in_allocations)
    }

    /// Seats promised: allocations plus seats held outside allocations.
    #[must_use]
    pub fn committed(&self) -> u32 {
        self.allocated.saturating_add(self.unallocated_assigned())
    }

    /// Seats still free outside every team allocation.
    #[must_use]
    pub fn unallocated_free(&self) -> u32 {
        self.purchased.saturating_sub(self.committed())
    }

    /// The refusal of a seat this pool has not got: what was bought and taken.
    pub(crate) fn no_seats(&self) -> SeatError {
        SeatError::NoSeatsAvailable {
            product: self.product.to_string(),
            purchased: self.purchased,
            assigned: self.assigned,
        }
    }

    /// Takes one seat for a user, from their team's allocation when the team
    /// has one for this product, else from the unallocated part of the pool.
    ///
    /// # Errors
    /// [`SeatError::NoSeatsAvailable`] when the pool (or its unallocated part)
    /// is full or over-limit; [`SeatError::TeamAllocationExhausted`] when the
    /// team's allocation is used up.
    pub fn take(&mut self, team: Option<&mut TeamSeats>) -> Result<(), SeatError> {
        if self.assigned >= self.purchased {
            return Err(self.no_seats());
        }
        match team {
            Some(team) if team.allocated.is_some() => {
                let allocated = team.allocated.unwrap_or(0);
                if team.assigned >= allocated {
                    return Err(SeatError::TeamAllocationExhausted {
                        team: team.team.to_string(),
                        product: self.product.to_string(),
                        allocated,
                    });
                }
                team.assigned = team.assigned.saturating_add(1);
                self.assigned_in_allocations = self.assigned_in_allocations.saturating_add(1);
            }
            team => {
                if self.unallocated_free() == 0 {
                    return Err(self.no_seats());
                }
                if let Some(team) = team {
                    team.assigned = team.assigned.saturating_add(1);
                }
            }
        }
        self.assigned = self.assigned.saturating_add(1);
        Ok(())
    }

    /// Gives back one seat taken with [`SeatPool::take`] with the same team.
    pub fn release(&mut self, team: Option<&mut TeamSeats>) {
        if let Some(team) = team {
            if team.allocated.is_some() {
                self.assigned_in_allocations = self.assigned_in_allocations.saturating_sub(1);
            }
            team.assigned = team.assigned.saturating_sub(1);
        }
        self.assigned = self.assigned.saturating_sub(1);
    }

    /// Counts a seat carried over from another plan (a plan change): taken
    /// whatever the room, as a seat its holder already had; the pool or the
    /// team shows over its limit if it lacks room.
    pub fn carry(&mut self, team: Option<&mut TeamSeats>) {
        if let Some(team) = team {
            if team.allocated.is_some() {
                self.assigned_in_allocations = self.assigned_in_allocations.saturating_add(1);
            }
            team.assigned = team.assigned.saturating_add(1);
        }
        self.assigned = self.assigned.saturating_add(1);
    }

    /// Sets a team's allocation of this product (`None`: the team draws on the
    /// unallocated part of the pool). An allocation below what the team's
    /// members hold is allowed: they keep their seats, the team is over its
    /// limit ([`TeamSeats::over_limit`]) and takes no new seat until there is
    /// room, and until its allocation is set again the pool counts the seats
    /// held as set aside for it. Callers check the pool afterwards with
    /// [`SeatPool::check_commitment`], so that a move can be applied as a whole.
    ///
    /// # Errors
    /// None today; a `Result` so that a move applies its two halves alike.
    pub fn reallocate(&mut self, team: &mut TeamSeats, allocation: Option<u32>) -> Result<(), SeatError> {
        // Saturating: counters read on either side of a concurrent change may
        // disagree; such a decision is refused at commit (stale version), but
        // computing it must not panic.
        if let Some(old) = team.allocated {
            self.allocated = self.allocated.saturating_sub(team.pool_share.unwrap_or(old));
            self.assigned_in_allocations = self.assigned_in_allocations.saturating_sub(team.assigned);
        }
        let share = allocation.map(|n| n.max(team.assigned));
        if let Some(share) = share {
            self.allocated = self.allocated.saturating_add(share);
            self.assigned_in_allocations = self.assigned_in_allocations.saturating_add(team.assigned);
        }
        team.allocated = allocation;
        team.pool_share = share;
        if allocation.is_some() {
            self.allocated_teams.insert(team.team.clone());
        } else {
            self.allocated_teams.remove(&team.team);
        }
        Ok(())
    }

    /// Refuses a change that raised the seats promised above the seats bought.
    /// A change that lowers them is always accepted, so an over-limit pool can
    /// be brought back under its limit step by step.
    ///
    /// # Errors
    /// [`SeatError::AllocationExceedsPool`].
    pub fn check_commitment(&self, before: &SeatPool, requested: u32) -> Result<(), SeatError> {
        if self.committed() > before.committed() && self.committed() > self.purchased {
            return Err(SeatError::AllocationExceedsPool {
                product: self.product.to_string(),
                requested,
                purchased: self.purchased,
                committed: before.committed(),
            });
        }
        Ok(())
    }
}

/// A team's use of one product: its allocation (if it has one) and how many
/// of its members hold a seat of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamSeats {
    /// Owning organisation.
    pub org: OrgId,
    /// The team.
    pub team: TeamId,
    /// The product.
    pub product: ProductId,
    /// Seats set aside for the team; `None`: members draw on the unallocated pool.
    pub allocated: Option<u32>,
    /// Seats held by members of the team.
    pub assigned: u32,
    /// What the team adds to its pool's `allocated`: its allocation, or the
    /// seats its members held when the allocation was set below that (so the
    /// unallocated part never promises seats a team over its limit holds).
    /// `None` on records from before: the allocation.
    #[serde(default)]
    pub pool_share: Option<u32>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl TeamSeats {
    /// A team with no allocation and no seats of `product`.
    #[must_use]
    pub fn new(org: OrgId, team: TeamId, product: ProductId) -> Self {
        Self {
            org,
            team,
            product,
            allocated: None,
            assigned: 0,
            pool_share: None,
            version: 0,
        }
    }

    /// Whether its members hold more seats than its allocation (after the
    /// allocation was set below their use): no new seat until there is room.
    #[must_use]
    pub fn over_limit(&self) -> bool {
        self.allocated.is_some_and(|allocated| self.assigned > allocated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(purchased: u32) -> SeatPool {
        SeatPool::new(
            OrgId::parse("org").expect("id"),
            ProductId::parse("essential").expect("id"),
            purchased,
        )
    }

    fn team(name: &str) -> TeamSeats {
        TeamSeats::new(
            OrgId::parse("org").expect("id"),
            TeamId::parse(name).expect("id"),
            ProductId::parse("essential").expect("id"),
        )
    }

    #[test]
    fn unallocated_seats_cannot_take_from_team_allocations() {
        let mut pool = pool(3);
        let mut a = team("a");
        pool.reallocate(&mut a, Some(2)).expect("fits");
        pool.take(None).expect("one unallocated seat");
        assert_eq!(
            pool.take(None).expect_err("only allocations left").code(),
            "no_seats_available"
        );
        pool.take(Some(&mut a)).expect("from allocation");
        assert_eq!(pool.assigned, 2);
        assert_eq!(pool.available(), 1);
    }

    #[test]
    fn a_team_allocation_caps_its_members() {
        let mut pool = pool(10);
        let mut a = team("a");
        pool.reallocate(&mut a, Some(1)).expect("fits");
        pool.take(Some(&mut a)).expect("first");
        assert_eq!(
            pool.take(Some(&mut a)).expect_err("cap").code(),
            "team_allocation_exhausted"
        );
    }

    #[test]
    fn allocating_a_team_that_already_uses_seats_moves_its_usage_into_the_allocation() {
        let mut pool = pool(4);
        let mut a = team("a");
        pool.take(Some(&mut a)).expect("unallocated");
        let before = pool.clone();
        pool.reallocate(&mut a, Some(3)).expect("at least usage");
        pool.check_commitment(&before, 3).expect("3 of 4");
        assert_eq!(pool.committed(), 3);
        assert_eq!(pool.unallocated_free(), 1);
        // Below its use: allowed; the team is over its limit, and the pool
        // still sets aside the seat it holds.
        let mut below = a.clone();
        let mut shrunk = pool.clone();
        shrunk
            .reallocate(&mut below, Some(0))
            .expect("below usage is allowed");
        assert!(below.over_limit());
        assert_eq!((shrunk.allocated, shrunk.unallocated_free()), (1, 3));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever takes and releases happen, the pool never hands out more
        /// seats than it holds, nor a team more than its allocation.
        #[test]
        fn takes_never_exceed_the_pool_or_the_allocation(
            purchased in 0..20u32,
            allocation in proptest::option::of(0..20u32),
            steps in proptest::collection::vec((any::<bool>(), any::<bool>()), 0..60),
        ) {
            let org = OrgId::parse("org").expect("id");
            let product = ProductId::parse("p").expect("id");
            let mut pool = SeatPool::new(org.clone(), product.clone(), purchased);
            let mut team = TeamSeats::new(org, TeamId::parse("t").expect("id"), product);
            let before = pool.clone();
            if pool.reallocate(&mut team, allocation).is_err()
                || pool.check_commitment(&before, allocation.unwrap_or(0)).is_err()
            {
                pool = before;
                team.allocated = None;
            }
            let (mut in_team, mut outside) = (0u32, 0u32);
            for (take, via_team) in steps {
                match (take, via_team) {
                    (true, true) => in_team += u32::from(pool.take(Some(&mut team)).is_ok()),
                    (true, false) => outside += u32::from(pool.take(None).is_ok()),
                    (false, true) if in_team > 0 => { pool.release(Some(&mut team)); in_team -= 1 },
                    (false, false) if outside > 0 => { pool.release(None); outside -= 1 },
                    _ => {}
                }
                prop_assert_eq!(pool.assigned, in_team + outside);
                prop_assert!(pool.assigned <= pool.purchased);
                prop_assert!(pool.committed() <= pool.purchased);
                if let Some(a) = team.allocated {
                    prop_assert!(team.assigned <= a);
                }
            }
        }
    }
}
