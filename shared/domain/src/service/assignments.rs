//! Assignments and add-ons: taking a seat for a user, taking it away
//! (revoking), and moving it between users. What a user may take and what
//! leaves with a seat is decided by [`Holdings`]; where a seat is drawn from
//! by [`SeatSource`].

use serde::Serialize;

use super::Seats;
use super::commit::{Mode, Outcome, decide_and_commit};
use crate::access::Actor;
use crate::assignment::Assignment;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::directory::User;
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, TeamId, UserId};
use crate::seat_rules::{Holdings, SeatSource};

/// A seat moved between users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    /// Seats taken from the giver (their add-ons too, for a last base seat).
    pub removed: Vec<Assignment>,
    /// The receiver's new seat.
    pub assigned: Assignment,
}

impl Seats {
    /// Assigns a seat of `product` to `user`: from their team's allocation when
    /// the team has one, else from the unallocated pool. An add-on needs a base
    /// seat.
    ///
    /// # Errors
    /// [`SeatError::NoSeatsAvailable`], [`SeatError::TeamAllocationExhausted`],
    /// [`SeatError::AlreadyAssigned`], [`SeatError::BaseSeatRequired`],
    /// [`SeatError::Forbidden`], not found.
    pub async fn assign(
        &self,
        actor: &Actor,
        product: &ProductId,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Assignment>, SeatError> {
        actor.require_admin_or_manager("assign seats")?;
        let kind = self.product(product)?.kind;
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let user = self.managed_user(actor, user).await?;
            let held = self.store.user_assignments(&actor.org, &user.id).await?;
            Holdings::new(&user.id, &held, &self.catalog).check_can_take(product, kind)?;
            let mut book = SeatBook::new(&actor.org);
            book.load(self.store(), &[(product.clone(), user.team.clone())])
                .await?;
            let mut draft = Draft::new(&actor.org);
            let assignment = Self::take_seat(actor, &mut book, &user, product, now)?;
            book.write_into(&mut draft);
            draft.put(None, assignment.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatAssigned,
                format!("product/{product}/user/{}", user.id),
                nothing(),
                snapshot(&assignment),
            );
            Ok((draft.finish(audit), assignment))
        })
    }

    /// Takes `user`'s seat of `product` (revoke). The user keeps their account
    /// and other seats, except that losing their last base seat removes their
    /// add-ons in the same change.
    ///
    /// # Errors
    /// [`SeatError::NotAssigned`], [`SeatError::Forbidden`], not found.
    pub async fn unassign(
        &self,
        actor: &Actor,
        product: &ProductId,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Vec<Assignment>>, SeatError> {
        actor.require_admin_or_manager("unassign seats")?;
        self.product(product)?;
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let user = self.managed_user(actor, user).await?;
            let held = self.store.user_assignments(&actor.org, &user.id).await?;
            let holdings = Holdings::new(&user.id, &held, &self.catalog);
            holdings.check_holds(product)?;
            let removed = holdings.removed_with(product);
            let mut book = SeatBook::new(&actor.org);
            let mut draft = Draft::new(&actor.org);
            book.load(self.store(), &needs_of(&removed)).await?;
            release_all(&mut book, &mut draft, &removed);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatUnassigned,
                format!("product/{product}/user/{}", user.id),
                snapshot(&removed),
                nothing(),
            );
            Ok((draft.finish(audit), removed))
        })
    }

    /// Moves `from`'s seat of `product` to `to` in one change.
    ///
    /// # Errors
    /// Those of [`Seats::unassign`] for the giver and [`Seats::assign`] for the
    /// receiver; validation when both are the same user.
    pub async fn transfer(
        &self,
        actor: &Actor,
        product: &ProductId,
        from: &UserId,
        to: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Transfer>, SeatError> {
        actor.require_admin_or_manager("transfer seats")?;
        let kind = self.product(product)?.kind;
        if from == to {
            return Err(ValidationError::new("to_user", "must differ from from_user").into());
        }
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let giver = self.managed_user(actor, from).await?;
            let receiver = self.managed_user(actor, to).await?;
            let given = self.store.user_assignments(&actor.org, &giver.id).await?;
            let held = self.store.user_assignments(&actor.org, &receiver.id).await?;
            let giving = Holdings::new(&giver.id, &given, &self.catalog);
            giving.check_holds(product)?;
            Holdings::new(&receiver.id, &held, &self.catalog).check_can_take(product, kind)?;
            let removed = giving.removed_with(product);
            let mut book = SeatBook::new(&actor.org);
            let mut draft = Draft::new(&actor.org);
            let mut needs = needs_of(&removed);
            needs.push((product.clone(), receiver.team.clone()));
            book.load(self.store(), &needs).await?;
            release_all(&mut book, &mut draft, &removed);
            let assigned = Self::take_seat(actor, &mut book, &receiver, product, now)?;
            book.write_into(&mut draft);
            draft.put(None, assigned.clone());
            let value = Transfer { removed, assigned };
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatTransferred,
                format!("product/{product}/user/{}/to/{}", giver.id, receiver.id),
                snapshot(&value.removed),
                snapshot(&value.assigned),
            );
            Ok((draft.finish(audit), value))
        })
    }

    /// Takes a seat of `product` for `user` in `book` (loaded with the user's
    /// team), from the source the rules name, if the caller may draw on it.
    pub(crate) fn take_seat(
        actor: &Actor,
        book: &mut SeatBook,
        user: &User,
        product: &ProductId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Assignment, SeatError> {
        let team = user.team.as_ref();
        let allocated = team.is_some_and(|t| book.team(t, product).allocated.is_some());
        SeatSource::for_member(team, allocated).check_drawable(actor.is_admin(), product)?;
        book.take(product, team)?;
        Ok(Assignment::of(user, product, now))
    }
}

/// What releasing `removed` touches.
fn needs_of(removed: &[Assignment]) -> Vec<(ProductId, Option<TeamId>)> {
    removed
        .iter()
        .map(|a| (a.product.clone(), a.team.clone()))
        .collect()
}

/// Writes the release of `removed` (already loaded) into `book` and `draft`.
fn release_all(book: &mut SeatBook, draft: &mut Draft, removed: &[Assignment]) {
    for seat in removed {
        book.release(&seat.product, seat.team.as_ref());
        draft.delete_assignment(seat);
    }
}
