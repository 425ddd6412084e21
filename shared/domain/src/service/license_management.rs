//! The organisation's license management settings (manual or automatic),
//! and the audit of the seats a decision bought automatically.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::Subscriptions;
use super::commit::{Mode, Outcome, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{AuditAction, AuditEntry, nothing, snapshot};
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, SubscriptionId};
use crate::license::{AUTO_PURCHASE_BILLED, AutoPurchase, LicenseManagement};
use crate::store::SnapshotKeys;

/// What the quantity sync of one subscription has to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantitySync {
    /// No seat is owed to it (or it is not the organisation's).
    Nothing,
    /// Seats are owed, but the provider was asked within the window: not
    /// before this time.
    NotBefore(DateTime<Utc>),
    /// Claimed for now (the window starts again): the quantity each product
    /// must reach on the subscription.
    Due(BTreeMap<ProductId, u32>),
}

/// The largest `max_auto_seats_per_period` accepted: the catalog's largest
/// purchase is the bound of what one period may add.
const MAX_AUTO_SEATS: u32 = 1_000_000;

impl Subscriptions<'_> {
    /// The organisation's license management settings (admins).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found for an
    /// organisation seatflow does not know.
    pub async fn license_management(self, actor: &Actor) -> Result<LicenseManagement, SeatError> {
        actor.require_admin("see the license management settings")?;
        Ok(self.known_organization(&actor.org).await?.license_management)
    }

    /// Sets the organisation's license management settings (admins),
    /// audited as `license_management_set`; a dry run shows the entry.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; validation of the budget;
    /// not found for an organisation seatflow does not know.
    pub async fn set_license_management(
        self,
        actor: &Actor,
        settings: &LicenseManagement,
        mode: Mode,
    ) -> Result<Outcome<LicenseManagement>, SeatError> {
        actor.require_admin("change the license management settings")?;
        if settings
            .max_auto_seats_per_period
            .is_some_and(|n| n > MAX_AUTO_SEATS)
        {
            return Err(ValidationError::new(
                "max_auto_seats_per_period",
                format!("must be at most {MAX_AUTO_SEATS}, or null for no limit"),
            )
            .into());
        }
        let outcome = self
            .change_organization(
                actor,
                mode,
                (
                    AuditAction::LicenseManagementSet,
                    format!("organization/{}/license-management", actor.org),
                ),
                |org| org.license_management.clone(),
                |org| org.license_management = settings.clone(),
            )
            .await?;
        Ok(Outcome {
            value: outcome.value.license_management,
            dry_run: outcome.dry_run,
            audit: outcome.audit,
        })
    }

    /// Claims subscription `id`'s quantity sync for now: what quantity
    /// each product must reach to pay for the seats bought automatically,
    /// unless the provider was asked within `window` (at most one write per
    /// window, whoever syncs and however often). The claim is a change of
    /// the subscription's record, audited as `seat_quantity_synced`; two
    /// syncs racing for it make one claim.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; the store's failures.
    pub async fn claim_quantity_sync(
        self,
        actor: &Actor,
        id: &SubscriptionId,
        window: Duration,
    ) -> Result<QuantitySync, SeatError> {
        actor.require_admin("sync subscription quantities")?;
        let settled = decide_and_commit!(answer: self, "subscription", Mode::Apply, {
            let now = self.clock.now();
            let Some(stored) = self.store.subscription(&actor.org, id).await? else {
                return Ok(Decision::Answer(QuantitySync::Nothing));
            };
            let keys = SnapshotKeys {
                pools: stored.items.keys().cloned().collect(),
                ..SnapshotKeys::default()
            };
            let read = self.store.snapshot(&actor.org, &keys).await?;
            // What the provider holds (as last applied) and what is owed on
            // top: an absolute quantity, the same for every retry.
            let due: BTreeMap<ProductId, u32> = read
                .pools
                .iter()
                .filter(|pool| pool.owed_to(id) > 0)
                .map(|pool| {
                    let holds = stored.items.get(&pool.product).copied().unwrap_or(0);
                    (pool.product.clone(), holds.saturating_add(pool.owed_to(id)))
                })
                .collect();
            if due.is_empty() || stored.moved_to.is_some() {
                return Ok(Decision::Answer(QuantitySync::Nothing));
            }
            if let Some(last) = stored.quantity_synced_at
                && now < last + window
            {
                return Ok(Decision::Answer(QuantitySync::NotBefore(last + window)));
            }
            let mut after = stored.clone();
            after.quantity_synced_at = Some(now);
            let mut draft = Draft::new(&actor.org);
            draft.put(Some(&stored), after);
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatQuantitySynced,
                format!("subscription/{id}"),
                snapshot(&serde_json::json!({ "synced_at": stored.quantity_synced_at })),
                snapshot(&serde_json::json!({ "synced_at": now, "quantities": due })),
            );
            Ok(Decision::Commit(draft.finish(audit), QuantitySync::Due(due)))
        })?;
        Ok(match settled {
            Settled::Committed(outcome) => outcome.value,
            Settled::Answered(answer) => answer,
        })
    }

    /// What subscription `id` should renew with when its organisation
    /// manages licenses automatically: each product whose seats in use
    /// (what its holders use beyond the pool's other sources, grants and
    /// other subscriptions; never below the product's minimum) are fewer
    /// than the subscription holds, with that many. Only decreases: more
    /// seats are bought as they are needed. `None` in manual mode, or for a
    /// subscription that is not the organisation's.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; the store's failures.
    pub async fn renewal_at_usage(
        self,
        actor: &Actor,
        id: &SubscriptionId,
    ) -> Result<Option<BTreeMap<ProductId, u32>>, SeatError> {
        actor.require_admin("renew subscriptions at the seats in use")?;
        let automatic = self
            .store
            .organization(&actor.org)
            .await?
            .is_some_and(|o| o.license_management.mode == crate::license::LicenseMode::Automatic);
        let Some(stored) = self
            .store
            .subscription(&actor.org, id)
            .await?
            .filter(|_| automatic)
        else {
            return Ok(None);
        };
        let keys = SnapshotKeys {
            pools: stored.items.keys().cloned().collect(),
            ..SnapshotKeys::default()
        };
        let read = self.store.snapshot(&actor.org, &keys).await?;
        let mut wanted = BTreeMap::new();
        for (product, &holds) in &stored.items {
            let pool = read.pools.iter().find(|p| &p.product == product);
            let elsewhere = pool.map_or(0, |pool| {
                let others = |map: &BTreeMap<SubscriptionId, u32>| {
                    map.iter()
                        .filter(|(sub, _)| *sub != id)
                        .fold(0u32, |sum, (_, n)| sum.saturating_add(*n))
                };
                others(&pool.subscribed)
                    .saturating_add(others(&pool.owed))
                    .saturating_add(pool.granted.values().fold(0u32, |sum, n| sum.saturating_add(*n)))
            });
            let in_use = pool.map_or(0, |p| p.assigned).saturating_sub(elsewhere);
            let minimum = self.catalog.product(product).map_or(1, |p| p.min_seats);
            let at_renewal = in_use.max(minimum);
            if at_renewal < holds {
                wanted.insert(product.clone(), at_renewal);
            }
        }
        Ok(Some(wanted))
    }
}

impl super::Seats {
    /// One audit entry per subscription a decision bought seats on, with
    /// what one seat costs at the quantity it will hold (the catalog's price
    /// for the subscription's term).
    ///
    /// # Errors
    /// The store's failures.
    pub(crate) async fn auto_purchase_entries(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        book: &SeatBook,
    ) -> Result<Vec<AuditEntry>, SeatError> {
        let mut entries = Vec::new();
        for (product, subscription, seats, owed) in book.auto_purchases() {
            let stored = self.store.subscription(&actor.org, &subscription).await?;
            let term = stored.as_ref().and_then(|s| s.term);
            let holds = stored
                .as_ref()
                .and_then(|s| s.items.get(&product).copied())
                .unwrap_or(0);
            let quantity_after = holds.saturating_add(owed);
            let unit_price = term
                .zip(self.catalog.product(&product))
                .map(|(term, p)| p.price(term).unit_amount_for(quantity_after).clone());
            let purchase = AutoPurchase {
                product: product.clone(),
                subscription: subscription.clone(),
                seats,
                quantity_after,
                unit_price,
                billed: AUTO_PURCHASE_BILLED,
            };
            entries.push(self.entry(
                actor,
                at,
                AuditAction::SeatsAutoPurchased,
                format!("subscription/{subscription}/product/{product}"),
                nothing(),
                snapshot(&purchase),
            ));
        }
        Ok(entries)
    }
}
