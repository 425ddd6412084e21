//! After a plan change, the old plan's holders move to the new plan: each
//! keeps a seat, in the same team, now of the new plan; the teams'
//! allocations of the old plan become allocations of the new one. It runs
//! whenever a subscription is applied whose plan has seats while another
//! plan's pool counts none but still has holders, whoever changed the plan
//! (an admin here, the Customer Portal, a support agent in Stripe), so a
//! move cut short is finished by the next event or reconciliation.
//!
//! Holders move in batches, each one commit of what one consistent read
//! named (a DynamoDB transaction holds at most 100 items, 25 on moto): each
//! holder is one. Between batches the not yet moved keep their old plan's
//! seat (its pool over its limit; nobody is unassigned).

use super::MAX_PAGE;
use std::collections::BTreeSet;

use super::Subscriptions;
use super::commit::{Mode, decide_and_commit};
use crate::access::Actor;
use crate::audit::{self, AuditAction};
use crate::directory::UserSeats;
use crate::draft::{Draft, SeatBook};
use crate::error::SeatError;
use crate::ids::{ProductId, TeamId, UserId};
use crate::store::SnapshotKeys;

/// Holders looked at per batch.
pub const PLAN_MOVE_BATCH: usize = 40;
/// Records one batch reads at once (and so writes, with its audit entry):
/// DynamoDB's transactions take 100, moto's and older accounts' 25.
const SNAPSHOT_KEYS: usize = 25;

impl Subscriptions<'_> {
    /// Moves the holders of every plan whose pool counts no seat to `to`
    /// (the organisation's plan now), batch by batch; how many moved.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`]; [`SeatError::ConcurrentModification`].
    pub(crate) async fn move_stranded_plan_holders(
        self,
        actor: &Actor,
        to: &ProductId,
    ) -> Result<u32, SeatError> {
        let mut moved = 0;
        loop {
            let pools = self.store.pools(&actor.org).await?;
            let stranded = pools
                .iter()
                .find(|p| {
                    &p.product != to && self.catalog.is_plan(&p.product) && p.purchased == 0 && p.assigned > 0
                })
                .map(|p| p.product.clone());
            let Some(from) = stranded else {
                return Ok(moved);
            };
            let batch = self.move_plan_batch(actor, &from, to).await?;
            if batch == 0 {
                // The counter says holders remain but none holds the plan: a
                // counter to repair, not a reason to loop.
                return Ok(moved);
            }
            moved += batch;
        }
    }

    /// Moves holders of `from` to `to` in one commit, as many as one
    /// consistent read may name, with the teams' allocations of `from` first;
    /// how many holders and allocations moved.
    async fn move_plan_batch(
        self,
        actor: &Actor,
        from: &ProductId,
        to: &ProductId,
    ) -> Result<u32, SeatError> {
        let org = &actor.org;
        let settled = decide_and_commit!(answer: self, "plan seats", Mode::Apply, {
            let holders = self.holders_of(org, from).await?;
            let allocated_teams: Vec<TeamId> = self
                .store
                .pools(org)
                .await?
                .into_iter()
                .find(|p| &p.product == from)
                .map(|p| p.allocated_teams.into_iter().collect())
                .unwrap_or_default();
            if holders.is_empty() && allocated_teams.is_empty() {
                return Ok(Decision::Answer(0));
            }
            // What one consistent read may name: the two pools, each team's
            // two counters, and the holders, first the teams to re-allocate.
            let mut budget = SNAPSHOT_KEYS - 2;
            let mut teams: BTreeSet<TeamId> = BTreeSet::new();
            for team in &allocated_teams {
                if budget < 2 {
                    break;
                }
                teams.insert(team.clone());
                budget -= 2;
            }
            let moving_allocations: Vec<TeamId> = teams.iter().cloned().collect();
            let mut batch = Vec::new();
            for holder in holders {
                let new_teams: BTreeSet<TeamId> = holder
                    .seats
                    .iter()
                    .filter_map(|s| s.team.clone())
                    .filter(|t| !teams.contains(t))
                    .collect();
                let needed = 1 + 2 * new_teams.len();
                if needed > budget {
                    break;
                }
                budget -= needed;
                teams.extend(new_teams);
                batch.push(holder.user.id);
            }
            let team_keys: Vec<(TeamId, ProductId)> = teams
                .iter()
                .flat_map(|t| [(t.clone(), from.clone()), (t.clone(), to.clone())])
                .collect();
            // One consistent read of what the batch changes; the commit is
            // conditioned on it, so a seat assigned meanwhile makes it retry.
            let read = self
                .store
                .snapshot(
                    org,
                    &SnapshotKeys {
                        holders: batch,
                        pools: vec![from.clone(), to.clone()],
                        team_seats: team_keys.clone(),
                        ..SnapshotKeys::default()
                    },
                )
                .await?;
            let mut book = SeatBook::from_snapshot(org, &read, &[from.clone(), to.clone()], &team_keys);
            for team in &moving_allocations {
                let allocation = book.team(team, from).allocated;
                if book.team(team, to).allocated.is_none() {
                    book.reallocate(to, team, allocation)?;
                }
                book.reallocate(from, team, None)?;
            }
            let mut draft = Draft::new(org);
            let mut moved = Vec::new();
            for before in &read.holders {
                let mut after = before.clone();
                for seat in after.seats.iter_mut().filter(|s| &s.product == from) {
                    book.release(from, seat.team.as_ref())?;
                    book.carry(to, seat.team.as_ref())?;
                    seat.product = to.clone();
                }
                if after.seats != before.seats {
                    moved.push(before.user.id.clone());
                    draft.put(Some(before), after);
                }
            }
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                self.clock.now(),
                AuditAction::PlanSeatsMoved,
                format!("pool/{to}"),
                audit::snapshot(&serde_json::json!({ "plan": from, "users": moved, "teams": moving_allocations })),
                audit::snapshot(&serde_json::json!({ "plan": to, "users": moved, "teams": moving_allocations })),
            );
            if moved.is_empty() && moving_allocations.is_empty() {
                return Ok(Decision::Answer(0));
            }
            let count = u32::try_from(moved.len() + moving_allocations.len()).unwrap_or(u32::MAX);
            Ok(Decision::Commit(draft.finish(audit), count))
        })?;
        Ok(match settled {
            super::commit::Settled::Committed(outcome) => outcome.value,
            super::commit::Settled::Answered(count) => count,
        })
    }

    /// Up to [`PLAN_MOVE_BATCH`] users holding a seat of `product`.
    async fn holders_of(
        self,
        org: &crate::ids::OrgId,
        product: &ProductId,
    ) -> Result<Vec<UserSeats>, SeatError> {
        let mut found = Vec::new();
        let mut after: Option<UserId> = None;
        loop {
            let page = self.store.holders(org, after.as_ref(), MAX_PAGE).await?;
            let full = page.len() == MAX_PAGE;
            after = page.last().map(|h| h.user.id.clone());
            found.extend(
                page.into_iter()
                    .filter(|h| h.seats.iter().any(|s| &s.product == product)),
            );
            if found.len() >= PLAN_MOVE_BATCH || !full {
                found.truncate(PLAN_MOVE_BATCH);
                return Ok(found);
            }
        }
    }
}
