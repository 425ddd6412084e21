//! Team allocations: seats of a product set aside for a team, set and moved
//! between teams, never promising more than the pool holds.

use super::commit::{Mode, Outcome, decide_and_commit};
use super::{Allocations, Seats};
use crate::access::Actor;
use crate::audit::{AuditAction, snapshot};
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, TeamId};
use crate::pool::TeamSeats;
use crate::store::SnapshotKeys;

impl Allocations<'_> {
    /// Sets `team`'s allocation of `product` (`None`: no allocation; members
    /// draw on the unallocated pool).
    ///
    /// # Errors
    /// [`SeatError::AllocationExceedsPool`],
    /// [`SeatError::Forbidden`] for non-admins, not found.
    pub async fn set_allocation(
        self,
        actor: &Actor,
        team: &TeamId,
        product: &ProductId,
        seats: Option<u32>,
        mode: Mode,
    ) -> Result<Outcome<TeamSeats>, SeatError> {
        actor.require_admin("allocate seats to teams")?;
        self.product(product)?;
        let keys = SnapshotKeys {
            teams: vec![team.clone()],
            pools: vec![product.clone()],
            team_seats: vec![(team.clone(), product.clone())],
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "allocation", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            Seats::managed_team(actor, &read, team)?;
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &keys.team_seats);
            let before = book.team(team, product);
            let pool_before = book.pool_before(product);
            book.reallocate(product, team, seats)?;
            book.pool(product)
                .check_commitment(&pool_before, seats.unwrap_or(0))?;
            let after = book.team(team, product);
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::AllocationSet,
                format!("team/{team}/product/{product}"),
                snapshot(&before),
                snapshot(&after),
            );
            Ok((draft.finish(audit), after))
        })
    }

    /// Moves `seats` of `product` from one team's allocation to another's.
    /// Team managers may move between two teams they both manage.
    ///
    /// # Errors
    /// Validation (same team, zero seats, more than allocated),
    /// [`SeatError::Forbidden`], not found.
    pub async fn move_allocation(
        self,
        actor: &Actor,
        product: &ProductId,
        from: &TeamId,
        to: &TeamId,
        seats: u32,
        mode: Mode,
    ) -> Result<Outcome<Vec<TeamSeats>>, SeatError> {
        actor.require_admin_or_manager("move allocations")?;
        self.product_asked(product)?;
        if from == to {
            return Err(ValidationError::new("to_team", "must differ from from_team").into());
        }
        if seats == 0 {
            return Err(ValidationError::new("seats", "must be at least 1").into());
        }
        let keys = SnapshotKeys {
            teams: vec![from.clone(), to.clone()],
            pools: vec![product.clone()],
            team_seats: vec![(from.clone(), product.clone()), (to.clone(), product.clone())],
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "allocation", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            Seats::managed_team(actor, &read, from)?;
            Seats::managed_team(actor, &read, to)?;
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &keys.team_seats);
            let before = vec![book.team(from, product), book.team(to, product)];
            let from_allocated = before[0].allocated.unwrap_or(0);
            if seats > from_allocated {
                return Err(ValidationError::new(
                    "seats",
                    format!("exceeds team '{from}''s allocation of {from_allocated}"),
                )
                .into());
            }
            let pool_before = book.pool_before(product);
            book.reallocate(product, from, Some(from_allocated - seats))?;
            let to_allocated = before[1].allocated.unwrap_or(0).saturating_add(seats);
            book.reallocate(product, to, Some(to_allocated))?;
            book.pool(product).check_commitment(&pool_before, seats)?;
            let after = vec![book.team(from, product), book.team(to, product)];
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::AllocationMoved,
                format!("product/{product}/team/{from}/to/{to}"),
                snapshot(&before),
                snapshot(&after),
            );
            Ok((draft.finish(audit), after))
        })
    }

    /// Team allocations and usage of every team the caller manages.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members.
    pub async fn list(self, actor: &Actor) -> Result<Vec<TeamSeats>, SeatError> {
        actor.require_admin_or_manager("see allocations")?;
        let all = self.store.all_team_seats(&actor.org).await?;
        Ok(all.into_iter().filter(|t| actor.manages(&t.team)).collect())
    }
}
