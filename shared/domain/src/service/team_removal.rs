//! Removing a team. Its allocations go back to the unallocated part of the
//! pool and its members stay, with every seat they hold, in no team; then
//! the team and its counters go. Members leave in batches, each one commit
//! of what one consistent read named (a DynamoDB transaction holds at most
//! 100 items, 25 on moto), so a team of any size can be removed; a removal
//! cut short leaves a smaller team, and asking again finishes it.

use serde::Serialize;

use super::Directory;
use super::commit::{Mode, Outcome, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{self, AuditAction};
use crate::directory::Team;
use crate::draft::{Draft, SeatBook};
use crate::error::SeatError;
use crate::ids::{ProductId, TeamId, UserId};
use crate::pool::TeamSeats;
use crate::store::{RemoveTeam, SnapshotKeys};

/// Records one batch reads at once (and so writes, with its audit entry):
/// DynamoDB's transactions take 100, moto's and older accounts' 25.
const SNAPSHOT_KEYS: usize = 25;

/// What removing a team did, or (a dry run) would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamRemoval {
    /// The team, as it was.
    pub team: Team,
    /// How many members left it (they keep their seats, in no team).
    pub members: u32,
    /// Its allocations, as they were, now back in the pool.
    pub allocations: Vec<TeamSeats>,
}

impl Directory<'_> {
    /// Removes a team (admins): its allocations return to the pool, its
    /// members keep their seats and belong to no team, then the team goes.
    /// A dry run says what would happen and writes nothing.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found;
    /// [`SeatError::ConcurrentModification`] when members keep joining it.
    pub async fn remove_team(
        self,
        actor: &Actor,
        id: &TeamId,
        mode: Mode,
    ) -> Result<Outcome<TeamRemoval>, SeatError> {
        actor.require_admin("remove teams")?;
        if self.store.team(&actor.org, id).await?.is_none() {
            return Err(SeatError::not_found("team", id));
        }
        let allocations: Vec<TeamSeats> = self
            .store
            .all_team_seats(&actor.org)
            .await?
            .into_iter()
            .filter(|t| &t.team == id && t.allocated.is_some())
            .collect();
        let products: Vec<ProductId> = self.catalog.products.keys().cloned().collect();
        let keys = SnapshotKeys {
            teams: vec![id.clone()],
            team_seats: products.iter().map(|p| (id.clone(), p.clone())).collect(),
            ..SnapshotKeys::default()
        };
        let mut members = 0;
        for _ in 0..super::commit::MAX_ATTEMPTS {
            members += if mode == Mode::Apply {
                self.empty_team(actor, id).await?
            } else {
                self.count_members(actor, id).await?
            };
            let settled = decide_and_commit!(answer: self, "team", mode, {
                let read = self.store.snapshot(&actor.org, &keys).await?;
                let team = read.team(id).ok_or_else(|| SeatError::not_found("team", id))?;
                let held = read.team_seats.iter().any(|t| t.assigned > 0 || t.allocated.is_some());
                if held && mode == Mode::Apply {
                    // Someone joined it, or it was given an allocation, since
                    // the batches: empty it again.
                    return Ok(Decision::Answer(()));
                }
                let mut draft = Draft::new(&actor.org);
                draft.remove_team(RemoveTeam {
                    team: id.clone(),
                    expected: team.version,
                    counters: read.team_seats.iter().map(|t| (t.product.clone(), t.version)).collect(),
                });
                let removal = TeamRemoval {
                    team: team.clone(),
                    members,
                    allocations: allocations.clone(),
                };
                let entry = self.entry(
                    actor,
                    self.clock.now(),
                    AuditAction::TeamRemoved,
                    format!("team/{id}"),
                    audit::snapshot(&removal),
                    audit::nothing(),
                );
                Ok(Decision::Commit(draft.finish(entry), removal))
            })?;
            if let Settled::Committed(outcome) = settled {
                return Ok(outcome);
            }
        }
        Err(SeatError::ConcurrentModification("team"))
    }

    /// Moves every member out of the team, batch by batch; how many moved.
    async fn empty_team(self, actor: &Actor, id: &TeamId) -> Result<u32, SeatError> {
        let mut members = 0;
        loop {
            let moved = self.empty_team_batch(actor, id).await?;
            if moved == 0 {
                return Ok(members);
            }
            members += moved;
        }
    }

    /// How many members the team has.
    async fn count_members(self, actor: &Actor, id: &TeamId) -> Result<u32, SeatError> {
        let mut members = 0;
        let mut after: Option<UserId> = None;
        loop {
            let page = self
                .store
                .users(&actor.org, Some(id), after.as_ref(), super::MAX_PAGE)
                .await?;
            members += u32::try_from(page.len()).unwrap_or(u32::MAX);
            match page.last() {
                Some(last) if page.len() == super::MAX_PAGE => after = Some(last.id.clone()),
                _ => return Ok(members),
            }
        }
    }

    /// One batch: the team's allocations back to the pool, and as many of
    /// its members as one read may name moved to no team with their seats;
    /// how many members moved.
    async fn empty_team_batch(self, actor: &Actor, id: &TeamId) -> Result<u32, SeatError> {
        let org = &actor.org;
        let products: Vec<ProductId> = self.catalog.products.keys().cloned().collect();
        let settled = decide_and_commit!(answer: self, "team", Mode::Apply, {
            let budget = SNAPSHOT_KEYS.saturating_sub(2 * products.len() + 1).max(1);
            let members: Vec<UserId> = self
                .store
                .users(org, Some(id), None, budget)
                .await?
                .into_iter()
                .map(|u| u.id)
                .collect();
            let team_keys: Vec<(TeamId, ProductId)> = products.iter().map(|p| (id.clone(), p.clone())).collect();
            let read = self
                .store
                .snapshot(
                    org,
                    &SnapshotKeys {
                        holders: members,
                        pools: products.clone(),
                        team_seats: team_keys.clone(),
                        ..SnapshotKeys::default()
                    },
                )
                .await?;
            let mut book = SeatBook::from_snapshot(org, &read, &products, &team_keys);
            let mut released = Vec::new();
            for product in &products {
                if book.team(id, product).allocated.is_some() {
                    book.reallocate(product, id, None)?;
                    released.push(product.clone());
                }
            }
            let mut draft = Draft::new(org);
            let mut moved = Vec::new();
            for before in read.holders.iter().filter(|h| h.user.team.as_ref() == Some(id)) {
                let mut after = before.clone();
                for seat in after.seats.iter_mut().filter(|s| s.team.as_ref() == Some(id)) {
                    book.release(&seat.product, Some(id))?;
                    book.carry(&seat.product, None)?;
                    seat.team = None;
                }
                after.user.team = None;
                moved.push(before.user.id.clone());
                draft.put(Some(before), after);
            }
            if moved.is_empty() && released.is_empty() {
                return Ok(Decision::Answer(0));
            }
            book.write_into(&mut draft);
            let entry = self.entry(
                actor,
                self.clock.now(),
                AuditAction::TeamEmptied,
                format!("team/{id}"),
                audit::snapshot(&serde_json::json!({ "team": id, "users": moved, "allocations": released })),
                audit::snapshot(&serde_json::json!({ "team": null, "users": moved })),
            );
            let count = u32::try_from(moved.len()).unwrap_or(u32::MAX);
            // Allocations released with no member moved still count as work
            // done, so the caller looks again.
            Ok(Decision::Commit(draft.finish(entry), count.max(1)))
        })?;
        Ok(match settled {
            Settled::Committed(outcome) => outcome.value,
            Settled::Answered(count) => count,
        })
    }
}
