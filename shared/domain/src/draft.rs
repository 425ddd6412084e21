//! Building a [`Change`]: each record written carries the version it was
//! decided on; and the [`SeatBook`], the pools and team counters one seat
//! operation reads and changes.

use std::collections::{BTreeMap, BTreeSet};

use crate::api_key::ApiKey;
use crate::audit::AuditEntry;
use crate::directory::{Organization, Team, UserSeats};
use crate::error::SeatError;
use crate::ids::{OrgId, ProductId, TeamId};
use crate::outbound::{self, PendingEvent};
use crate::pool::{SeatPool, TeamSeats};
use crate::seat_rules::SeatSource;
use crate::store::{Change, PoolSeatsCount, Put, Snapshot, TeamSeatsCount, Write};
use crate::subscription::Subscription;

/// A stored record with an optimistic-concurrency version.
pub(crate) trait Versioned: Sized {
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
    fn into_write(put: Put<Self>) -> Write;
    /// The outbound events of writing `after` over `before` (none for most
    /// records).
    fn events(_before: Option<&Self>, _after: &Self) -> Vec<PendingEvent> {
        Vec::new()
    }
}

macro_rules! versioned {
    ($($ty:ty => $variant:ident $(, events: $events:path)?);* $(;)?) => {$(
        impl Versioned for $ty {
            fn version(&self) -> u64 { self.version }
            fn set_version(&mut self, version: u64) { self.version = version; }
            fn into_write(put: Put<Self>) -> Write { Write::$variant(put) }
            $(fn events(before: Option<&Self>, after: &Self) -> Vec<PendingEvent> { $events(before, after) })?
        }
    )*};
}

versioned!(
    Organization => Organization;
    Team => Team;
    SeatPool => Pool, events: outbound::pool_events;
    TeamSeats => TeamSeats;
    ApiKey => ApiKey;
    Subscription => Subscription, events: outbound::subscription_events;
    crate::grant::SeatGrant => Grant;
    crate::notification::NotificationPreferences => NotificationPreferences;
    crate::webhook::WebhookEndpoint => WebhookEndpoint;
);

/// A user is versioned with the seats they hold: a seat change moves the
/// user's version on, so that two decisions about one user's seats conflict.
impl Versioned for UserSeats {
    fn version(&self) -> u64 {
        self.user.version
    }
    fn set_version(&mut self, version: u64) {
        self.user.version = version;
    }
    fn into_write(put: Put<Self>) -> Write {
        Write::Holder(put)
    }
    fn events(before: Option<&Self>, after: &Self) -> Vec<PendingEvent> {
        outbound::holder_events(before, after)
    }
}

/// The writes of a change being decided.
pub(crate) struct Draft {
    org: OrgId,
    writes: Vec<Write>,
    events: Vec<PendingEvent>,
}

impl Draft {
    pub(crate) fn new(org: &OrgId) -> Self {
        Self {
            org: org.clone(),
            writes: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Writes `after` over `before` (`None`: a new record).
    pub(crate) fn put<T: Versioned>(&mut self, before: Option<&T>, mut after: T) {
        self.events.extend(T::events(before, &after));
        let expected = before.map(Versioned::version);
        after.set_version(expected.map_or(1, |v| v + 1));
        self.writes.push(T::into_write(Put {
            expected,
            value: after,
        }));
    }

    /// Claims `subscription` for `owner`, on the condition that the claim is
    /// still `expected` (see [`crate::store::SubscriptionOwner`]).
    pub(crate) fn claim_subscription(
        &mut self,
        subscription: &crate::ids::SubscriptionId,
        owner: &OrgId,
        expected: Option<OrgId>,
    ) {
        self.writes
            .push(Write::SubscriptionOwner(crate::store::SubscriptionOwner {
                subscription: subscription.clone(),
                owner: owner.clone(),
                expected,
            }));
    }

    /// Moves `user`'s email claim from `from` to `to` (none: no email).
    pub(crate) fn move_email(
        &mut self,
        user: &crate::ids::UserId,
        from: Option<&crate::directory::Email>,
        to: Option<&crate::directory::Email>,
    ) {
        self.writes.push(Write::MoveEmail(crate::store::MoveEmail {
            user: user.clone(),
            from: from.cloned(),
            to: to.cloned(),
        }));
    }

    /// Moves `user`'s directory user name claim from `from` to `to`.
    pub(crate) fn move_directory_name(
        &mut self,
        user: &crate::ids::UserId,
        from: Option<String>,
        to: Option<String>,
    ) {
        self.writes
            .push(Write::MoveDirectoryName(crate::store::MoveDirectoryName {
                user: user.clone(),
                from,
                to,
            }));
    }

    /// Moves `user`'s entry in the index of directory ids from `from` to `to`.
    pub(crate) fn move_external_id(
        &mut self,
        user: &crate::ids::UserId,
        from: Option<String>,
        to: Option<String>,
    ) {
        self.writes
            .push(Write::MoveExternalId(crate::store::MoveExternalId {
                user: user.clone(),
                from,
                to,
            }));
    }

    /// Removes `holder` (read at its version), freeing their email.
    pub(crate) fn remove_holder(&mut self, holder: &UserSeats) {
        self.events.extend(outbound::removal_events(holder));
        self.writes.push(Write::RemoveHolder(crate::store::RemoveHolder {
            user: holder.user.id.clone(),
            email: holder.user.email.clone(),
            directory_name: holder.user.directory_name(),
            external_id: holder.user.external_id(),
            expected: holder.user.version,
        }));
    }

    /// Removes a team and its counters (each read at its version).
    pub(crate) fn remove_team(&mut self, removal: crate::store::RemoveTeam) {
        self.writes.push(Write::RemoveTeam(removal));
    }

    /// Removes an endpoint (read at its version).
    pub(crate) fn remove_endpoint(&mut self, endpoint: &crate::webhook::WebhookEndpoint) {
        self.writes
            .push(Write::RemoveWebhookEndpoint(crate::store::RemoveEndpoint {
                id: endpoint.id.clone(),
                expected: endpoint.version,
            }));
    }

    pub(crate) fn record_event(&mut self, event: crate::subscription::ProcessedEvent) {
        self.writes.push(Write::ProcessedEvent(event));
    }

    /// The change of a batch, recorded by one entry per change in it:
    /// `first`, then `further`.
    pub(crate) fn finish_batch(self, first: AuditEntry, further: Vec<AuditEntry>) -> Change {
        let mut change = self.finish(first);
        change.further_audit = further;
        change
    }

    pub(crate) fn finish(self, audit: AuditEntry) -> Change {
        let events = self
            .events
            .into_iter()
            .map(|e| e.stamp(&self.org, audit.at))
            .collect();
        Change {
            org: self.org,
            writes: self.writes,
            audit,
            further_audit: Vec::new(),
            events,
        }
    }
}

/// A record as read (`None` if absent) and as the decision leaves it.
struct Tracked<T> {
    before: Option<T>,
    after: T,
    touched: bool,
}

impl<T: Clone> Tracked<T> {
    fn read(before: Option<T>, absent: impl FnOnce() -> T) -> Self {
        let after = before.clone().unwrap_or_else(absent);
        Self {
            before,
            after,
            touched: false,
        }
    }
}

/// A team counter the decision did not read: what it adds to it, and
/// whether the team has an allocation (as the pool says).
#[derive(Default)]
struct Count {
    delta: i64,
    allocated: bool,
}

/// The pools and team counters one operation reads and changes. A seat taken
/// or given back by a member of a team whose counter was not read becomes a
/// [`TeamSeatsCount`], whose allocation cap the store checks at commit; a
/// counter that was read (allocations, dry runs) is checked here and written
/// with its version. A pool whose seats were only taken and given back
/// becomes a [`PoolSeatsCount`], whose cap the store checks too, so that
/// concurrent seat changes of one pool do not make each other decide again;
/// a pool changed in any other way is written whole, with its version.
pub(crate) struct SeatBook {
    org: OrgId,
    pools: BTreeMap<ProductId, Tracked<SeatPool>>,
    teams: BTreeMap<(TeamId, ProductId), Tracked<TeamSeats>>,
    counts: BTreeMap<(TeamId, ProductId), Count>,
    pool_counts: BTreeMap<ProductId, PoolSeatsCount>,
    rewritten: BTreeSet<ProductId>,
    /// What a full pool does: buy (the organisation's automatic license
    /// management, when the snapshot read the organisation) or refuse.
    auto: Option<crate::license::AutoPurchasePolicy>,
    /// Seats bought automatically so far, per product and subscription.
    bought: BTreeMap<(ProductId, crate::ids::SubscriptionId), u32>,
}

impl SeatBook {
    /// The pools of `products` and the team counters `teams` from `snapshot`
    /// (one consistent read). A product the organisation holds none of reads
    /// as an empty pool, so every seat request against it is refused as full.
    pub(crate) fn from_snapshot(
        org: &OrgId,
        snapshot: &Snapshot,
        products: &[ProductId],
        teams: &[(TeamId, ProductId)],
    ) -> Self {
        let mut book = Self {
            org: org.clone(),
            pools: BTreeMap::new(),
            teams: BTreeMap::new(),
            counts: BTreeMap::new(),
            pool_counts: BTreeMap::new(),
            rewritten: BTreeSet::new(),
            auto: snapshot
                .organization
                .as_ref()
                .and_then(|o| o.license_management.auto_purchase()),
            bought: BTreeMap::new(),
        };
        for product in products {
            let before = snapshot.pools.iter().find(|p| &p.product == product).cloned();
            let tracked = Tracked::read(before, || SeatPool::new(org.clone(), product.clone(), 0));
            book.pools.insert(product.clone(), tracked);
        }
        for (team, product) in teams {
            let before = snapshot
                .team_seats
                .iter()
                .find(|s| &s.team == team && &s.product == product)
                .cloned();
            let tracked = Tracked::read(before, || {
                TeamSeats::new(org.clone(), team.clone(), product.clone())
            });
            book.teams.insert((team.clone(), product.clone()), tracked);
        }
        book
    }

    fn pool_mut(&mut self, product: &ProductId) -> Result<&mut SeatPool, SeatError> {
        let pool = self
            .pools
            .get_mut(product)
            .ok_or_else(|| SeatError::not_found("pool (not read)", product))?;
        pool.touched = true;
        self.rewritten.insert(product.clone());
        Ok(&mut pool.after)
    }

    /// The pool as the decision leaves it (an empty one if never read).
    pub(crate) fn pool(&self, product: &ProductId) -> SeatPool {
        self.pools.get(product).map_or_else(
            || SeatPool::new(self.org.clone(), product.clone(), 0),
            |t| t.after.clone(),
        )
    }

    /// The pool as read.
    pub(crate) fn pool_before(&self, product: &ProductId) -> SeatPool {
        self.pools
            .get(product)
            .and_then(|t| t.before.clone())
            .unwrap_or_else(|| SeatPool::new(self.org.clone(), product.clone(), 0))
    }

    /// A team counter as the decision leaves it (an empty one if never read).
    pub(crate) fn team(&self, team: &TeamId, product: &ProductId) -> TeamSeats {
        self.teams.get(&(team.clone(), product.clone())).map_or_else(
            || TeamSeats::new(self.org.clone(), team.clone(), product.clone()),
            |t| t.after.clone(),
        )
    }

    /// Takes a seat of `product` for a member of `team` (or of no team).
    pub(crate) fn take(&mut self, product: &ProductId, team: Option<&TeamId>) -> Result<(), SeatError> {
        self.change(product, team, true)
    }

    /// Gives back a seat of `product` counted against `team` (or no team).
    pub(crate) fn release(&mut self, product: &ProductId, team: Option<&TeamId>) -> Result<(), SeatError> {
        self.change(product, team, false)
    }

    fn change(&mut self, product: &ProductId, team: Option<&TeamId>, take: bool) -> Result<(), SeatError> {
        let bought = if take {
            self.buy_if_full(product, team)?
        } else {
            None
        };
        let result = self.count(product, team, take);
        // A seat bought for a take that then failed (the team's allocation
        // is used up) is not bought: the pool goes back to before.
        if result.is_err()
            && let Some((saved, subscription, seats)) = bought
        {
            if let Some(pool) = self.pools.get_mut(product) {
                pool.after = saved;
            }
            let key = (product.clone(), subscription);
            if let Some(n) = self.bought.get_mut(&key) {
                *n = n.saturating_sub(seats);
                if *n == 0 {
                    self.bought.remove(&key);
                }
            }
        }
        result
    }

    /// In automatic mode, buys the seats a take from a full pool needs:
    /// the pool as it was before, the subscription and the seats bought;
    /// `None` when nothing was bought.
    fn buy_if_full(
        &mut self,
        product: &ProductId,
        team: Option<&TeamId>,
    ) -> Result<Option<(SeatPool, crate::ids::SubscriptionId, u32)>, SeatError> {
        let Some(policy) = self.auto else { return Ok(None) };
        let pool = self
            .pools
            .get_mut(product)
            .ok_or_else(|| SeatError::not_found("pool (not read)", product))?;
        let shortfall = pool.after.shortfall(&pool.after.source_for(team));
        if shortfall == 0 {
            return Ok(None);
        }
        let saved = pool.after.clone();
        let subscription = pool.after.buy_automatically(shortfall, &policy)?;
        pool.touched = true;
        self.rewritten.insert(product.clone());
        *self
            .bought
            .entry((product.clone(), subscription.clone()))
            .or_default() += shortfall;
        Ok(Some((saved, subscription, shortfall)))
    }

    fn count(&mut self, product: &ProductId, team: Option<&TeamId>, take: bool) -> Result<(), SeatError> {
        let pool = self
            .pools
            .get_mut(product)
            .ok_or_else(|| SeatError::not_found("pool (not read)", product))?;
        pool.touched = true;
        let key = team.map(|t| (t.clone(), product.clone()));
        if let Some(read) = key.as_ref().and_then(|k| self.teams.get_mut(k)) {
            read.touched = true;
            self.rewritten.insert(product.clone());
            if take {
                return pool.after.take(Some(&mut read.after));
            }
            pool.after.release(Some(&mut read.after));
            return Ok(());
        }
        let source = pool.after.source_for(team);
        if take {
            pool.after.take_from(&source)?;
        } else {
            pool.after.release_to(&source);
        }
        let delta = if take { 1 } else { -1 };
        let count = self
            .pool_counts
            .entry(product.clone())
            .or_insert_with(|| PoolSeatsCount {
                product: product.clone(),
                unallocated: 0,
                in_allocations: 0,
            });
        match source {
            SeatSource::TeamAllocation(_) => count.in_allocations += delta,
            SeatSource::Unallocated => count.unallocated += delta,
        }
        if let Some(key) = key {
            let count = self.counts.entry(key).or_default();
            count.delta += if take { 1 } else { -1 };
            count.allocated = matches!(source, SeatSource::TeamAllocation(_));
        }
        Ok(())
    }

    /// Counts a seat of `product` carried over from another plan for a member
    /// of `team` (whose counter must have been read), whatever the room.
    pub(crate) fn carry(&mut self, product: &ProductId, team: Option<&TeamId>) -> Result<(), SeatError> {
        let pool = self
            .pools
            .get_mut(product)
            .ok_or_else(|| SeatError::not_found("pool (not read)", product))?;
        pool.touched = true;
        self.rewritten.insert(product.clone());
        match team {
            Some(team) => {
                let read = self
                    .teams
                    .get_mut(&(team.clone(), product.clone()))
                    .ok_or_else(|| SeatError::not_found("team seats (not read)", team))?;
                read.touched = true;
                pool.after.carry(Some(&mut read.after));
            }
            None => pool.after.carry(None),
        }
        Ok(())
    }

    /// Sets `team`'s allocation of `product` (its counter must have been read).
    pub(crate) fn reallocate(
        &mut self,
        product: &ProductId,
        team: &TeamId,
        allocation: Option<u32>,
    ) -> Result<(), SeatError> {
        let seats = self
            .teams
            .get_mut(&(team.clone(), product.clone()))
            .ok_or_else(|| SeatError::not_found("team seats (not read)", team))?;
        seats.touched = true;
        let pool = self
            .pools
            .get_mut(product)
            .ok_or_else(|| SeatError::not_found("pool (not read)", product))?;
        pool.touched = true;
        self.rewritten.insert(product.clone());
        pool.after.reallocate(&mut seats.after, allocation)
    }

    /// Sets what subscription `id` contributes to `product`'s pool.
    pub(crate) fn set_subscribed(
        &mut self,
        product: &ProductId,
        id: &crate::ids::SubscriptionId,
        seats: u32,
    ) -> Result<(), SeatError> {
        Ok(self.pool_mut(product)?.set_subscribed(id, seats)?)
    }

    /// Starts a new billing period's budget of automatic purchases of
    /// `product`.
    pub(crate) fn start_period(&mut self, product: &ProductId) -> Result<(), SeatError> {
        let pool = self.pool_mut(product)?;
        pool.start_period();
        Ok(())
    }

    /// Sets what grant `id` contributes to `product`'s pool.
    pub(crate) fn set_granted(
        &mut self,
        product: &ProductId,
        id: &crate::ids::GrantId,
        seats: u32,
    ) -> Result<(), SeatError> {
        Ok(self.pool_mut(product)?.set_granted(id, seats)?)
    }

    /// The seats bought automatically, per product and subscription, with
    /// what the pool then owes the subscription in all.
    pub(crate) fn auto_purchases(&self) -> Vec<(ProductId, crate::ids::SubscriptionId, u32, u32)> {
        self.bought
            .iter()
            .map(|((product, subscription), seats)| {
                let owed = self
                    .pools
                    .get(product)
                    .map_or(0, |p| p.after.owed_to(subscription));
                (product.clone(), subscription.clone(), *seats, owed)
            })
            .collect()
    }

    /// The provider holds `rise` more seats of `product` on subscription
    /// `id`: they pay off seats owed to it.
    pub(crate) fn pay_off(
        &mut self,
        product: &ProductId,
        id: &crate::ids::SubscriptionId,
        rise: u32,
    ) -> Result<(), SeatError> {
        if rise > 0 && self.pools.get(product).is_some_and(|p| p.after.owed_to(id) > 0) {
            self.pool_mut(product)?.pay_off(id, rise)?;
        }
        Ok(())
    }

    /// Adds a write for every record the operation changed.
    pub(crate) fn write_into(mut self, draft: &mut Draft) {
        for (product, t) in self.pools {
            if !t.touched || t.before.as_ref() == Some(&t.after) {
                continue;
            }
            // An over-limit pool is written whole: its entry among the
            // over-limit pools goes when a release ends it.
            let counted_only =
                !self.rewritten.contains(&product) && t.before.as_ref().is_some_and(|b| !b.over_limit());
            match self.pool_counts.remove(&product) {
                Some(count) if counted_only => draft.writes.push(Write::PoolSeatsCount(count)),
                _ => draft.put(t.before.as_ref(), t.after),
            }
        }
        for t in self.teams.into_values() {
            if t.touched && t.before.as_ref() != Some(&t.after) {
                draft.put(t.before.as_ref(), t.after);
            }
        }
        for ((team, product), count) in self.counts {
            if count.delta != 0 {
                draft.writes.push(Write::TeamSeatsCount(TeamSeatsCount {
                    team,
                    product,
                    delta: count.delta,
                    allocated: count.allocated,
                }));
            }
        }
    }
}
