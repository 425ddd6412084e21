//! Applying what the payment provider says a subscription is now: on a
//! payment event (a trigger to read it), and on reconciliation (a daily
//! comparison that repairs missed or dead-lettered events).
//!
//! Which state is newer: each state is stamped with `read_at`, a time taken
//! before the provider was asked, so the state is at least that new. A state
//! stamped earlier than the stored one never overwrites it. The provider's
//! own `created` times have one-second resolution and two states of one
//! second are common; the read time orders reads, whatever order the events
//! that triggered them came in.
//!
//! A pool's purchased seats are its sources' sum: each entitling
//! subscription's quantity and each manual grant's (see [`SeatPool`]). A
//! subscription changes only its own entry, on the pool's version, so two
//! subscriptions of one organisation applied at once never leave a stale sum.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Subscriptions;
use super::commit::{Mode, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{self, AuditAction, nothing};
use crate::draft::{Draft, SeatBook};
use crate::error::SeatError;
use crate::ids::{OrgId, ProductId};
use crate::pool::SeatPool;
use crate::store::SnapshotKeys;
use crate::subscription::{
    Applied, ProcessedEvent, REMEMBER_EVENTS_DAYS, Subscription, SubscriptionSnapshot,
};

/// Why a subscription's state is being applied.
#[derive(Debug, Clone, Copy)]
enum Trigger<'a> {
    /// A payment event, applied once per event id.
    Event(&'a str),
    /// Reconciliation: written only where the stored state drifted.
    Reconciliation,
    /// A change an admin asked the provider for, audited as this action,
    /// keeping these seats until the period ends (a decrease at renewal).
    Request(AuditAction, &'a BTreeMap<ProductId, u32>),
}

impl Subscriptions<'_> {
    /// Applies a subscription's state as read from the payment provider at
    /// `read_at` (taken before the read: the state is at least that new),
    /// once per triggering event id (recorded in the same change as its
    /// effect), and only if no later read is stored: an older read never
    /// overwrites a newer one, so duplicated, reordered and concurrent
    /// deliveries end in the provider's latest state. Each product's pool
    /// counts the subscription's entitled seats beside the others' and the
    /// grants; a decrease never unassigns anyone (the pool goes over-limit).
    /// When the provider's metadata names another organisation than the one
    /// counting it, that one stops counting it first.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found for a product outside
    /// the catalog; [`SeatError::ConcurrentModification`] after too many races.
    pub async fn apply_subscription(
        self,
        actor: &Actor,
        snapshot: &SubscriptionSnapshot,
        event_id: &str,
        read_at: DateTime<Utc>,
        mode: Mode,
    ) -> Result<Applied, SeatError> {
        self.apply_state(actor, snapshot, Trigger::Event(event_id), read_at, mode)
            .await
    }

    /// Reconciles a subscription with its state read from the provider at
    /// `read_at`: where the stored subscription or the pools counting it
    /// differ (a missed or dead-lettered event), it is corrected and audited
    /// as `reconciled` with before and after; [`Applied::InSync`] otherwise.
    ///
    /// # Errors
    /// As [`Subscriptions::apply_subscription`].
    pub async fn reconcile_subscription(
        self,
        actor: &Actor,
        snapshot: &SubscriptionSnapshot,
        read_at: DateTime<Utc>,
    ) -> Result<Applied, SeatError> {
        self.apply_state(actor, snapshot, Trigger::Reconciliation, read_at, Mode::Apply)
            .await
    }

    /// Applies the state the provider answered a change an admin asked for
    /// with (a cancellation at the period's end, its undoing, a decrease at
    /// renewal), read at `read_at`, audited under the admin as `action`.
    /// `keep` holds, per product, the seats paid for this period that count
    /// until it ends although fewer renew. A dry run shows the audit entry
    /// the change would write. The provider's event for the same change
    /// arrives later and finds the state in place.
    ///
    /// # Errors
    /// As [`Subscriptions::apply_subscription`].
    pub async fn apply_requested_change(
        self,
        actor: &Actor,
        snapshot: &SubscriptionSnapshot,
        action: AuditAction,
        keep: &BTreeMap<ProductId, u32>,
        read_at: DateTime<Utc>,
        mode: Mode,
    ) -> Result<Applied, SeatError> {
        self.apply_state(actor, snapshot, Trigger::Request(action, keep), read_at, mode)
            .await
    }

    async fn apply_state(
        self,
        actor: &Actor,
        snapshot: &SubscriptionSnapshot,
        trigger: Trigger<'_>,
        read_at: DateTime<Utc>,
        mode: Mode,
    ) -> Result<Applied, SeatError> {
        actor.require_admin("apply subscriptions")?;
        if actor.org != snapshot.org {
            return Err(SeatError::Forbidden(
                "a subscription of another organisation".into(),
            ));
        }
        for product in snapshot.items.keys() {
            self.product(product)?;
        }
        let org = &snapshot.org;
        if let Trigger::Event(event_id) = trigger
            && self.store.event_processed(event_id).await?
        {
            return Ok(Applied::Duplicate);
        }
        if mode == Mode::Apply
            && let Some(previous) = self.store.subscription_owner(&snapshot.id).await?
            && &previous != org
            && self.detach(&previous, snapshot, read_at).await? == Applied::Stale
        {
            return Ok(Applied::Stale);
        }
        let settled = decide_and_commit!(answer: self, "subscription", mode, {
            // Checked on every attempt: a concurrent delivery of the same event
            // makes our commit conflict, and the retry must see it as a duplicate.
            if let Trigger::Event(event_id) = trigger
                && self.store.event_processed(event_id).await?
            {
                return Ok(Decision::Answer(Applied::Duplicate));
            }
            let owner = self.store.subscription_owner(&snapshot.id).await?;
            if mode == Mode::Apply && owner.as_ref().is_some_and(|o| o != org) {
                // Moved again while we detached it: the next delivery sorts it out.
                return Err(SeatError::ConcurrentModification("subscription"));
            }
            let stored = self.store.subscription(org, &snapshot.id).await?;
            if stored.as_ref().is_some_and(|s| s.state_at > read_at) {
                return Ok(Decision::Answer(Applied::Stale));
            }
            let updated = Subscription {
                org: org.clone(),
                id: snapshot.id.clone(),
                customer: snapshot.customer.clone(),
                status: snapshot.status,
                items: snapshot.items.clone(),
                term: snapshot.term,
                current_period_end: snapshot.current_period_end,
                cancel_at_period_end: snapshot.cancel_at_period_end,
                current_period_start: snapshot.current_period_start,
                state_at: read_at,
                moved_to: None,
                kept_until_period_end: kept_until_period_end(stored.as_ref(), snapshot, trigger),
                quantity_synced_at: stored.as_ref().and_then(|s| s.quantity_synced_at),
                version: stored.as_ref().map_or(0, |s| s.version),
            };
            let products = products_of(stored.as_ref(), &updated);
            let keys = SnapshotKeys {
                pools: products.clone(),
                ..SnapshotKeys::default()
            };
            let read = self.store.snapshot(org, &keys).await?;
            if matches!(trigger, Trigger::Reconciliation)
                && owner.as_ref() == Some(org)
                && stored.as_ref().is_some_and(|s| same_state(s, &updated))
                && counted_as(&read.pools, &products, &updated)
            {
                return Ok(Decision::Answer(Applied::InSync));
            }
            let mut book = SeatBook::from_snapshot(org, &read, &products, &[]);
            // A new period starts the automatic purchases' budget again.
            let renewed = stored.as_ref().is_some_and(|s| {
                s.current_period_start
                    .zip(updated.current_period_start)
                    .is_some_and(|(was, now)| now > was)
            });
            for product in &products {
                if renewed {
                    book.start_period(product)?;
                }
                // The provider's quantity rose: seats bought automatically on
                // it are paid off (what it holds, not what counts this
                // period: seats kept until a decrease takes effect are no
                // purchase).
                let held = |s: &Subscription| s.items.get(product).copied().unwrap_or(0);
                let rise = held(&updated).saturating_sub(stored.as_ref().map_or(0, held));
                book.pay_off(product, &updated.id, rise)?;
                book.set_subscribed(product, &updated.id, updated.entitled(product))?;
            }
            let pools_after: Vec<SeatPool> = products.iter().map(|p| book.pool(p)).collect();
            let mut draft = Draft::new(org);
            book.write_into(&mut draft);
            draft.put(stored.as_ref(), updated.clone());
            draft.claim_subscription(&updated.id, org, owner);
            let now = self.clock.now();
            let action = match trigger {
                Trigger::Event(event_id) => {
                    draft.record_event(ProcessedEvent {
                        id: event_id.to_owned(),
                        processed_at: now,
                        expires_at: now + chrono::Duration::days(REMEMBER_EVENTS_DAYS),
                    });
                    AuditAction::SubscriptionApplied
                }
                Trigger::Reconciliation => AuditAction::Reconciled,
                Trigger::Request(action, _) => action,
            };
            let before = match (&trigger, stored.as_ref()) {
                // What drifted: the pools as they were, beside the subscription.
                (Trigger::Reconciliation, stored) => audit::snapshot(&serde_json::json!({
                    "subscription": stored,
                    "pools": read.pools,
                })),
                (Trigger::Event(_) | Trigger::Request(..), Some(stored)) => audit::snapshot(stored),
                (Trigger::Event(_) | Trigger::Request(..), None) => nothing(),
            };
            let after = match trigger {
                Trigger::Reconciliation => audit::snapshot(&serde_json::json!({
                    "subscription": updated,
                    "pools": pools_after,
                })),
                Trigger::Event(_) | Trigger::Request(..) => audit::snapshot(&updated),
            };
            let mut audit = self.entry(
                actor,
                now,
                action,
                format!("subscription/{}", snapshot.id),
                before,
                after,
            );
            if let Trigger::Event(event_id) = trigger {
                audit.correlation_id = Some(event_id.to_owned());
            }
            Ok(Decision::Commit(draft.finish(audit), updated))
        })?;
        let applied = match settled {
            Settled::Committed(outcome) => Applied::Changed(Box::new(outcome)),
            Settled::Answered(answer) => answer,
        };
        // A plan change leaves the old plan's pool without seats: its holders
        // move to the plan the subscription has now.
        if mode == Mode::Apply
            && applied != Applied::Duplicate
            && snapshot.status.entitles()
            && let Some(plan) = snapshot.items.keys().find(|p| self.catalog.is_plan(p))
        {
            self.move_stranded_plan_holders(actor, plan).await?;
        }
        Ok(applied)
    }

    /// Stops `previous` counting a subscription the provider's metadata now
    /// gives to `snapshot.org`, and hands the claim over, in one change of
    /// `previous`. [`Applied::Stale`] when `previous` holds a newer state.
    async fn detach(
        self,
        previous: &OrgId,
        snapshot: &SubscriptionSnapshot,
        read_at: DateTime<Utc>,
    ) -> Result<Applied, SeatError> {
        let system = Actor::system(previous.clone(), "provisioner");
        let settled = decide_and_commit!(answer: self, "subscription", Mode::Apply, {
            let owner = self.store.subscription_owner(&snapshot.id).await?;
            if owner.as_ref() != Some(previous) {
                return Ok(Decision::Answer(Applied::InSync));
            }
            let stored = self.store.subscription(previous, &snapshot.id).await?;
            if stored.as_ref().is_some_and(|s| s.state_at > read_at) {
                return Ok(Decision::Answer(Applied::Stale));
            }
            let mut draft = Draft::new(previous);
            let moved = stored.as_ref().map(|s| Subscription {
                moved_to: Some(snapshot.org.clone()),
                state_at: read_at,
                ..s.clone()
            });
            if let (Some(stored), Some(moved)) = (stored.as_ref(), moved.as_ref()) {
                let products = products_of(Some(stored), moved);
                let keys = SnapshotKeys {
                    pools: products.clone(),
                    ..SnapshotKeys::default()
                };
                let read = self.store.snapshot(previous, &keys).await?;
                let mut book = SeatBook::from_snapshot(previous, &read, &products, &[]);
                for product in &products {
                    book.set_subscribed(product, &moved.id, 0)?;
                }
                book.write_into(&mut draft);
                draft.put(Some(stored), moved.clone());
            }
            draft.claim_subscription(&snapshot.id, &snapshot.org, owner);
            let audit = self.entry(
                &system,
                self.clock.now(),
                AuditAction::SubscriptionMoved,
                format!("subscription/{}", snapshot.id),
                stored.as_ref().map_or_else(nothing, audit::snapshot),
                moved.as_ref().map_or_else(nothing, audit::snapshot),
            );
            Ok(Decision::Commit(draft.finish(audit), ()))
        })?;
        Ok(match settled {
            Settled::Committed(_) => Applied::InSync,
            Settled::Answered(answer) => answer,
        })
    }
}

/// The products a change of subscription touches: those it had and has.
fn products_of(stored: Option<&Subscription>, updated: &Subscription) -> Vec<ProductId> {
    let mut products: Vec<ProductId> = updated
        .items
        .keys()
        .chain(stored.iter().flat_map(|s| s.items.keys()))
        .cloned()
        .collect();
    products.sort();
    products.dedup();
    products
}

/// Seats paid for the current period that outlast a decrease until it ends:
/// the stored ones while the period is the same, and what a requested
/// decrease keeps; only where more than renews.
fn kept_until_period_end(
    stored: Option<&Subscription>,
    snapshot: &SubscriptionSnapshot,
    trigger: Trigger<'_>,
) -> BTreeMap<ProductId, u32> {
    let same_period = stored.filter(|s| {
        s.current_period_start.is_some() && s.current_period_start == snapshot.current_period_start
    });
    let mut kept = same_period
        .map(|s| s.kept_until_period_end.clone())
        .unwrap_or_default();
    // Seats added after a decrease (bought automatically, or by an admin)
    // are paid for this period on top of what was kept.
    if let Some(stored) = same_period {
        for (product, seats) in &mut kept {
            let held = |items: &BTreeMap<ProductId, u32>| items.get(product).copied().unwrap_or(0);
            *seats = seats.saturating_add(held(&snapshot.items).saturating_sub(held(&stored.items)));
        }
    }
    if let Trigger::Request(_, keep) = trigger {
        for (product, &seats) in keep {
            let entry = kept.entry(product.clone()).or_insert(0);
            *entry = (*entry).max(seats);
        }
    }
    kept.retain(|product, seats| *seats > snapshot.items.get(product).copied().unwrap_or(0));
    kept
}

/// The same provider state, whenever it was read.
fn same_state(stored: &Subscription, fetched: &Subscription) -> bool {
    stored.moved_to.is_none()
        && stored.customer == fetched.customer
        && stored.status == fetched.status
        && stored.items == fetched.items
        && stored.term == fetched.term
        && stored.current_period_start == fetched.current_period_start
        && stored.current_period_end == fetched.current_period_end
        && stored.cancel_at_period_end == fetched.cancel_at_period_end
        && stored.kept_until_period_end == fetched.kept_until_period_end
}

/// Whether every pool of `products` counts the subscription as it is.
fn counted_as(pools: &[SeatPool], products: &[ProductId], subscription: &Subscription) -> bool {
    products.iter().all(|product| {
        let counted = pools
            .iter()
            .find(|p| &p.product == product)
            .and_then(|p| p.subscribed.get(&subscription.id).copied())
            .unwrap_or(0);
        counted == subscription.entitled(product)
    })
}
