//! Reads only tests need, on any store, built on the port's own reads.

use seatflow_domain::{
    Assignment, EntitlementStore, OrgId, ProductId, RenewalIndex, SeatPool, SnapshotKeys, StoreError, TeamId,
    TeamSeats, User, UserId,
};

/// A store the conformance suite runs against: the entitlements and the
/// renewal index of one adapter.
pub trait Store:
    EntitlementStore + RenewalIndex + seatflow_domain::DeliveryLog + seatflow_domain::Outbox
{
}

impl<S: EntitlementStore + RenewalIndex + seatflow_domain::DeliveryLog + seatflow_domain::Outbox + ?Sized>
    Store for S
{
}

/// Test reads over [`EntitlementStore`]: one record at a time, and every
/// assignment in (user, product) order.
#[allow(async_fn_in_trait)] // test code: never a `dyn`, never sent across threads by name
pub trait StoreReads {
    /// One pool.
    async fn pool(&self, org: &OrgId, product: &ProductId) -> Result<Option<SeatPool>, StoreError>;
    /// A team's seats of one product.
    async fn team_seats(
        &self,
        org: &OrgId,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<Option<TeamSeats>, StoreError>;
    /// One user.
    async fn user(&self, org: &OrgId, user: &UserId) -> Result<Option<User>, StoreError>;
    /// Every seat a user holds.
    async fn user_assignments(&self, org: &OrgId, user: &UserId) -> Result<Vec<Assignment>, StoreError>;
    /// Assignments by (user, product) after `after`, at most `limit`.
    async fn assignments(
        &self,
        org: &OrgId,
        after: Option<&(UserId, ProductId)>,
        limit: usize,
    ) -> Result<Vec<Assignment>, StoreError>;
}

impl<S: EntitlementStore + ?Sized> StoreReads for S {
    async fn pool(&self, org: &OrgId, product: &ProductId) -> Result<Option<SeatPool>, StoreError> {
        let keys = SnapshotKeys {
            pools: vec![product.clone()],
            ..SnapshotKeys::default()
        };
        Ok(self.snapshot(org, &keys).await?.pools.pop())
    }

    async fn team_seats(
        &self,
        org: &OrgId,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<Option<TeamSeats>, StoreError> {
        let keys = SnapshotKeys {
            team_seats: vec![(team.clone(), product.clone())],
            ..SnapshotKeys::default()
        };
        Ok(self.snapshot(org, &keys).await?.team_seats.pop())
    }

    async fn user(&self, org: &OrgId, user: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.holder(org, user).await?.map(|h| h.user))
    }

    async fn user_assignments(&self, org: &OrgId, user: &UserId) -> Result<Vec<Assignment>, StoreError> {
        Ok(self.holder(org, user).await?.map(|h| h.seats).unwrap_or_default())
    }

    async fn assignments(
        &self,
        org: &OrgId,
        after: Option<&(UserId, ProductId)>,
        limit: usize,
    ) -> Result<Vec<Assignment>, StoreError> {
        // Every holder from the first (tests hold few): simple and plainly right.
        let mut found = Vec::new();
        let mut from: Option<UserId> = None;
        loop {
            let page = self.holders(org, from.as_ref(), 100).await?;
            let Some(last) = page.last().map(|h| h.user.id.clone()) else {
                return Ok(found);
            };
            for seat in page.into_iter().flat_map(|h| h.seats) {
                let key = (seat.user.clone(), seat.product.clone());
                if after.is_none_or(|a| &key > a) {
                    found.push(seat);
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
            from = Some(last);
        }
    }
}
