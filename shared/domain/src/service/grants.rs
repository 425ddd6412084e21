//! Manual grants: seats the vendor gives outside the payment provider,
//! counted in their product's pool beside the subscriptions (see
//! [`crate::SeatGrant`]). Ending a grant never unassigns anyone: a pool that
//! shrinks below its holders goes over-limit.

use super::Subscriptions;
use super::commit::{Mode, Outcome, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::draft::{Draft, SeatBook};
use crate::error::SeatError;
use crate::grant::{NewGrant, SeatGrant};
use crate::ids::GrantId;
use crate::store::SnapshotKeys;

impl Subscriptions<'_> {
    /// Grants seats of a product to the actor's organisation, counted in its
    /// pool until the grant ends.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless the vendor asks; not found for an
    /// unknown organisation or a product outside the catalog; a validation
    /// error when the pool would pass `u32::MAX` seats.
    pub async fn grant_seats(
        self,
        actor: &Actor,
        grant: &NewGrant,
        mode: Mode,
    ) -> Result<Outcome<SeatGrant>, SeatError> {
        actor.require_vendor("grant seats")?;
        self.product_asked(&grant.product)?;
        if self.store.organization(&actor.org).await?.is_none() {
            return Err(SeatError::not_found("organisation", &actor.org));
        }
        let id = GrantId::generate();
        decide_and_commit!(self, "grant", mode, {
            let now = self.clock.now();
            let record = SeatGrant {
                org: actor.org.clone(),
                id: id.clone(),
                product: grant.product.clone(),
                quantity: grant.quantity,
                until: grant.until,
                reference: grant.reference.clone(),
                granted_at: now,
                ended_at: None,
                version: 1,
            };
            let mut draft = Draft::new(&actor.org);
            self.resize_for_grant(&mut draft, &record, record.quantity)
                .await?;
            draft.put(None, record.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatsGranted,
                format!("grant/{id}"),
                nothing(),
                snapshot(&record),
            );
            Ok((draft.finish(audit), record))
        })
    }

    /// Ends a grant now: its seats stop counting. Ending an ended grant
    /// changes nothing and returns it as it is.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless the vendor asks; not found.
    pub async fn end_grant(self, actor: &Actor, id: &GrantId) -> Result<SeatGrant, SeatError> {
        actor.require_vendor("revoke granted seats")?;
        let settled = decide_and_commit!(answer: self, "grant", Mode::Apply, {
            let stored = self
                .store
                .grant(&actor.org, id)
                .await?
                .ok_or_else(|| SeatError::not_found("grant", id))?;
            if !stored.counts() {
                return Ok(Decision::Answer(stored));
            }
            let now = self.clock.now();
            let mut ended = stored.clone();
            ended.ended_at = Some(now);
            ended.version = stored.version + 1;
            let mut draft = Draft::new(&actor.org);
            self.resize_for_grant(&mut draft, &stored, 0).await?;
            draft.put(Some(&stored), ended.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::GrantEnded,
                format!("grant/{id}"),
                snapshot(&stored),
                snapshot(&ended),
            );
            Ok(Decision::Commit(draft.finish(audit), ended))
        })?;
        Ok(match settled {
            Settled::Committed(outcome) => outcome.value,
            Settled::Answered(grant) => grant,
        })
    }

    /// Ends every grant of the organisation whose `until` has passed.
    /// Returns those ended.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless the vendor asks; the store's errors.
    pub async fn end_expired_grants(self, actor: &Actor) -> Result<Vec<SeatGrant>, SeatError> {
        actor.require_vendor("end expired grants")?;
        let now = self.clock.now();
        let mut ended = Vec::new();
        for expired in self
            .store
            .grants(&actor.org)
            .await?
            .into_iter()
            .filter(|g| g.expired_at(now))
        {
            ended.push(self.end_grant(actor, &expired.id).await?);
        }
        Ok(ended)
    }

    /// The organisation's grants, ended ones included.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn grants(self, actor: &Actor) -> Result<Vec<SeatGrant>, SeatError> {
        actor.require_admin("see granted seats")?;
        Ok(self.store.grants(&actor.org).await?)
    }

    /// Writes the grant's product pool with the grant contributing `seats`.
    async fn resize_for_grant(
        self,
        draft: &mut Draft,
        grant: &SeatGrant,
        seats: u32,
    ) -> Result<(), SeatError> {
        let keys = SnapshotKeys {
            pools: vec![grant.product.clone()],
            ..SnapshotKeys::default()
        };
        let read = self.store.snapshot(&grant.org, &keys).await?;
        let mut book = SeatBook::from_snapshot(&grant.org, &read, &keys.pools, &[]);
        book.set_granted(&grant.product, &grant.id, seats)?;
        book.write_into(draft);
        Ok(())
    }
}
