//! What the organisation's own directory (an identity provider speaking
//! SCIM) may do beyond creating, changing and removing users: deactivate a
//! user (every seat back, the account kept for a return and the audit) and
//! reactivate them; and the organisation's policy for users it creates,
//! the product they get a seat of when one is free.

use super::assignments::release_all;
use super::commit::{Mode, Outcome, decide_and_commit};
use super::directory::SeatWanted;
use super::{Directory, Seats};
use crate::access::Actor;
use crate::audit::{AuditAction, snapshot};
use crate::directory::{NewUser, Organization, UserSeats};
use crate::draft::{Draft, SeatBook};
use crate::error::SeatError;
use crate::ids::{ProductId, UserId};

impl Directory<'_> {
    /// Deactivates (`active: false`) or reactivates a user. Deactivation
    /// gives every seat and add-on they hold back in the same change; they
    /// can no longer sign in or be given a seat. Reactivation gives nothing
    /// back: seats are assigned again as for anyone. The same state again
    /// changes nothing and writes no audit entry.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins and for deactivating oneself;
    /// not found.
    pub async fn set_user_active(
        self,
        actor: &Actor,
        user: &UserId,
        active: bool,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        self.set_active_with(actor, user, active, None, mode).await
    }

    /// [`Self::set_user_active`]; a reactivated user also takes a seat of
    /// `policy` when one is free, in the same change.
    async fn set_active_with(
        self,
        actor: &Actor,
        user: &UserId,
        active: bool,
        policy: Option<&ProductId>,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        actor.require_admin("deactivate or reactivate users")?;
        if !active && actor.user_id() == Some(user) {
            return Err(SeatError::Forbidden(
                "you cannot deactivate yourself; another admin can".into(),
            ));
        }
        let mut keys = self.holder_and_every_pool(user);
        keys.organization = active && policy.is_some();
        decide_and_commit!(self, "user", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let holder = read
                .holder(user)
                .ok_or_else(|| SeatError::not_found("user", user))?;
            if !active {
                self.keep_an_admin(&actor.org, &holder.user).await?;
            }
            let mut draft = Draft::new(&actor.org);
            let mut after = holder.clone();
            after.user.active = active;
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            let mut bought = Vec::new();
            if !active {
                release_all(&mut book, &holder.seats)?;
                book.write_into(&mut draft);
                after.seats.clear();
            } else if let Some(product) = policy
                && !holder.user.active
                && !holder.seats.iter().any(|s| &s.product == product)
            {
                match Seats::take_seat(actor, &mut book, &after.user, product, now) {
                    Ok(taken) => {
                        after.seats.push(taken);
                        bought = self.auto_purchase_entries(actor, now, &book).await?;
                        book.write_into(&mut draft);
                    }
                    Err(full) if full.means_no_seat_free() => {}
                    Err(error) => return Err(error),
                }
            }
            draft.put(Some(holder), after.clone());
            let audit = self.entry(
                actor,
                now,
                if active {
                    AuditAction::UserReactivated
                } else {
                    AuditAction::UserDeactivated
                },
                format!("user/{user}"),
                snapshot(holder),
                snapshot(&after),
            );
            Ok((draft.finish_batch(audit, bought), after))
        })
    }

    /// Creates a user the organisation's directory pushed: `new`, active or
    /// not, with a seat of the organisation's directory-seat product when
    /// one is free and the user is active, else without. The seat policy and
    /// the user are one decision, in one commit. Also returns the policy's
    /// product: a user without a seat of it is pending one.
    ///
    /// # Errors
    /// As [`Self::create_user`], except that a full pool or team allocation
    /// is no refusal.
    pub async fn create_directory_user(
        self,
        actor: &Actor,
        new: NewUser,
        active: bool,
        mode: Mode,
    ) -> Result<(Outcome<UserSeats>, Option<ProductId>), SeatError> {
        let policy = self.directory_seat(actor).await?;
        let seat = policy.as_ref().filter(|_| active).map(SeatWanted::IfFree);
        let created = self.create_user_with(actor, new, seat, active, mode).await?;
        Ok((created, policy))
    }

    /// Deactivates or reactivates a user for the organisation's directory:
    /// as [`Self::set_user_active`], and a reactivated user takes a seat of
    /// the directory-seat product again when one is free, in the same commit.
    ///
    /// # Errors
    /// As [`Self::set_user_active`].
    pub async fn set_directory_user_active(
        self,
        actor: &Actor,
        user: &UserId,
        active: bool,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        let policy = if active {
            self.directory_seat(actor).await?
        } else {
            None
        };
        self.set_active_with(actor, user, active, policy.as_ref(), mode)
            .await
    }

    /// The product the organisation's directory users get a seat of, if any.
    ///
    /// # Errors
    /// Not found; the store's failures.
    pub async fn directory_seat(self, actor: &Actor) -> Result<Option<ProductId>, SeatError> {
        Ok(self.known_organization(&actor.org).await?.directory_seat)
    }

    /// Sets the product users created by the organisation's directory get a
    /// seat of (none: no seat).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; an unknown product; not
    /// found for an organisation seatflow does not know.
    pub async fn set_directory_seat(
        self,
        actor: &Actor,
        product: Option<&ProductId>,
        mode: Mode,
    ) -> Result<Outcome<Organization>, SeatError> {
        actor.require_admin("set the directory's seat policy")?;
        if let Some(product) = product
            && !self.catalog.is_plan(product)
        {
            return Err(SeatError::Validation(crate::ValidationError::new(
                "default_product",
                format!("'{product}' is not a plan of the catalog"),
            )));
        }
        self.change_organization(
            actor,
            mode,
            (
                AuditAction::DirectorySeatSet,
                format!("organization/{}", actor.org),
            ),
            |org| org.directory_seat.clone(),
            |org| org.directory_seat = product.cloned(),
        )
        .await
    }
}

impl Directory<'_> {
    /// The user whose email is `email` (any case), with their seats; `None`
    /// when the organisation has none (how a directory finds its users).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; the store's failures.
    pub async fn user_by_email(
        self,
        actor: &Actor,
        email: &crate::directory::Email,
    ) -> Result<Option<UserSeats>, SeatError> {
        actor.require_admin("find users by email")?;
        Ok(self.store.holder_by_email(&actor.org, email).await?)
    }

    /// The user the organisation's directory knows by the user name `name`
    /// (compared without case; see [`crate::User::directory_name`]), if any:
    /// one read, whatever the number of users.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; the store's failures.
    pub async fn user_by_directory_name(
        self,
        actor: &Actor,
        name: &str,
    ) -> Result<Option<UserSeats>, SeatError> {
        actor.require_admin("find users by user name")?;
        let Some(name) = crate::directory::normalized_directory_name(name) else {
            return Ok(None);
        };
        Ok(self.store.holder_by_directory_name(&actor.org, &name).await?)
    }

    /// The users the organisation's directory gave the id `external_id`
    /// (compared exactly; see [`crate::User::external_id`]), by id: read
    /// through the index, whatever the number of users.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; the store's failures.
    pub async fn users_by_external_id(
        self,
        actor: &Actor,
        external_id: &str,
    ) -> Result<Vec<UserSeats>, SeatError> {
        actor.require_admin("find users by directory id")?;
        Ok(self.store.holders_by_external_id(&actor.org, external_id).await?)
    }
}
