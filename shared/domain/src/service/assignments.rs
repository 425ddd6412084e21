//! Assignments and add-ons: taking a seat for a user, taking it away
//! (revoking), and moving it between users. What a user may take and what
//! leaves with a seat is decided by [`Holdings`]; where a seat is drawn from
//! by [`SeatSource`](crate::SeatSource). Each is one snapshot read and one
//! commit.

use serde::Serialize;

use super::commit::{Mode, Outcome, decide_and_commit};
use super::{Allocations, Seats};
use crate::access::Actor;
use crate::assignment::Assignment;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::directory::{User, UserSeats};
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, UserId};
use crate::seat_rules::Holdings;
use crate::store::SnapshotKeys;

/// A seat moved between users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    /// Seats taken from the giver (their add-ons too, for a last base seat).
    pub removed: Vec<Assignment>,
    /// The receiver's new seat.
    pub assigned: Assignment,
}

impl Allocations<'_> {
    /// Assigns a seat of `product` to `user`: from their team's allocation when
    /// the team has one, else from the unallocated pool. An add-on needs a base
    /// seat. One read (the user with their seats, and the pool) and one write.
    ///
    /// # Errors
    /// [`SeatError::NoSeatsAvailable`], [`SeatError::TeamAllocationExhausted`],
    /// [`SeatError::AlreadyAssigned`], [`SeatError::BaseSeatRequired`],
    /// [`SeatError::Forbidden`], not found.
    pub async fn assign(
        self,
        actor: &Actor,
        product: &ProductId,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Assignment>, SeatError> {
        actor.require_admin_or_manager("assign seats")?;
        let kind = self.product_asked(product)?.kind;
        let keys = SnapshotKeys {
            holders: vec![user.clone()],
            pools: vec![product.clone()],
            organization: true,
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let holder = Seats::managed(actor, &read, user)?;
            Holdings::new(&holder.user.id, &holder.seats, &self.catalog).check_can_take(product, kind)?;
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            let assignment = Seats::take_seat(actor, &mut book, &holder.user, product, now)?;
            let bought = self.auto_purchase_entries(actor, now, &book).await?;
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            draft.put(Some(holder), with_seat(holder, &assignment));
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatAssigned,
                format!("product/{product}/user/{}", holder.user.id),
                nothing(),
                snapshot(&assignment),
            );
            Ok((draft.finish_batch(audit, bought), assignment))
        })
    }

    /// Takes `user`'s seat of `product` (revoke). The user keeps their account
    /// and other seats, except that losing their last base seat removes their
    /// add-ons in the same change.
    ///
    /// # Errors
    /// [`SeatError::NotAssigned`], [`SeatError::Forbidden`], not found.
    pub async fn unassign(
        self,
        actor: &Actor,
        product: &ProductId,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Vec<Assignment>>, SeatError> {
        actor.require_admin_or_manager("unassign seats")?;
        self.product(product)?;
        let keys = SnapshotKeys {
            holders: vec![user.clone()],
            pools: self.pools_touched_by(product),
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let holder = Seats::managed(actor, &read, user)?;
            let holdings = Holdings::new(&holder.user.id, &holder.seats, &self.catalog);
            holdings.check_holds(product)?;
            let removed = holdings.removed_with(product);
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            release_all(&mut book, &removed)?;
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            draft.put(Some(holder), without_seats(holder, &removed));
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatUnassigned,
                format!("product/{product}/user/{}", holder.user.id),
                snapshot(&removed),
                nothing(),
            );
            Ok((draft.finish(audit), removed))
        })
    }

    /// Moves `from`'s seat of `product` to `to` in one change.
    ///
    /// # Errors
    /// Those of [`Allocations::unassign`] for the giver and [`Allocations::assign`] for the
    /// receiver; validation when both are the same user.
    pub async fn transfer(
        self,
        actor: &Actor,
        product: &ProductId,
        from: &UserId,
        to: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Transfer>, SeatError> {
        actor.require_admin_or_manager("transfer seats")?;
        let kind = self.product_asked(product)?.kind;
        if from == to {
            return Err(ValidationError::new("to_user", "must differ from from_user").into());
        }
        let keys = SnapshotKeys {
            holders: vec![from.clone(), to.clone()],
            pools: self.pools_touched_by(product),
            organization: true,
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let giver = Seats::managed(actor, &read, from)?;
            let receiver = Seats::managed(actor, &read, to)?;
            let giving = Holdings::new(&giver.user.id, &giver.seats, &self.catalog);
            giving.check_holds(product)?;
            Holdings::new(&receiver.user.id, &receiver.seats, &self.catalog).check_can_take(product, kind)?;
            let removed = giving.removed_with(product);
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            release_all(&mut book, &removed)?;
            let assigned = Seats::take_seat(actor, &mut book, &receiver.user, product, now)?;
            let bought = self.auto_purchase_entries(actor, now, &book).await?;
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            draft.put(Some(giver), without_seats(giver, &removed));
            draft.put(Some(receiver), with_seat(receiver, &assigned));
            let value = Transfer { removed, assigned };
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatTransferred,
                format!("product/{product}/user/{}/to/{}", giver.user.id, receiver.user.id),
                snapshot(&value.removed),
                snapshot(&value.assigned),
            );
            Ok((draft.finish_batch(audit, bought), value))
        })
    }

    /// The pools a seat change of `product` may touch: its own, and for a plan
    /// every add-on's (they leave with a holder's last base seat).
    fn pools_touched_by(self, product: &ProductId) -> Vec<ProductId> {
        let mut products = vec![product.clone()];
        if self.catalog.is_plan(product) {
            products.extend(
                self.catalog
                    .products
                    .values()
                    .filter(|p| p.kind == crate::catalog::ProductKind::AddOn)
                    .map(|p| p.id.clone()),
            );
        }
        products
    }
}

impl Seats {
    /// Takes a seat of `product` for `user` in `book`, from the source the
    /// rules name, if the caller may draw on it.
    pub(crate) fn take_seat(
        actor: &Actor,
        book: &mut SeatBook,
        user: &User,
        product: &ProductId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Assignment, SeatError> {
        if !user.active {
            return Err(SeatError::Validation(crate::ValidationError::new(
                "user",
                format!(
                    "'{}' was deactivated by the organisation's directory; reactivate them there first",
                    user.id
                ),
            )));
        }
        let team = user.team.as_ref();
        book.pool(product)
            .source_for(team)
            .check_drawable(actor.is_admin(), product)?;
        book.take(product, team)?;
        let mut seat = Assignment::of(user, product, now);
        seat.version = 1;
        Ok(seat)
    }
}

/// `holder` with `seat` added (seats kept in product order).
fn with_seat(holder: &UserSeats, seat: &Assignment) -> UserSeats {
    let mut after = holder.clone();
    after.seats.push(seat.clone());
    after.seats.sort_by(|a, b| a.product.cmp(&b.product));
    after
}

/// `holder` without the seats `removed`.
fn without_seats(holder: &UserSeats, removed: &[Assignment]) -> UserSeats {
    let mut after = holder.clone();
    after
        .seats
        .retain(|seat| !removed.iter().any(|r| r.product == seat.product));
    after
}

/// Gives back the seats `removed` in `book`.
pub(crate) fn release_all(book: &mut SeatBook, removed: &[Assignment]) -> Result<(), SeatError> {
    for seat in removed {
        book.release(&seat.product, seat.team.as_ref())?;
    }
    Ok(())
}
