//! The quantity sync of automatic license management: seats bought
//! automatically count at once and are owed to their subscription; this
//! brings the provider's quantity up to cover them. One claim per window
//! (the subscription's record says when it was last asked), so a burst of
//! a thousand adds costs one provider write per window, and Stripe's limit
//! of 200 quantity updates an hour per subscription is never near.
//!
//! Never billed twice: the quantity asked for is absolute (what the pool
//! owes on top of what the provider holds, read from the provider now), the
//! provider's idempotency key is derived from that quantity, and the
//! provider's answer, applied at once, pays the owed seats off. A crash
//! after the provider's change leaves the seats owed until the provider's
//! event (or the next sync) applies the higher quantity, which then asks
//! for nothing more.

use chrono::{DateTime, Duration, Utc};
use seatflow_domain::{Actor, AuditAction, OrgId, QuantitySync, SubscriptionId};

use super::{Billing, BillingError};

/// How long the quantity sync waits between two provider writes for one
/// subscription, unless configured.
pub const DEFAULT_SYNC_WINDOW_SECONDS: i64 = 60;

/// What one quantity sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantitySynced {
    /// Nothing was owed.
    Nothing,
    /// Seats are owed, but the provider was asked within the window: the
    /// sync is due again at this time.
    NotBefore(DateTime<Utc>),
    /// The provider holds what was owed, after this many writes (0 when it
    /// held it already).
    Synced {
        /// Provider writes made.
        writes: usize,
    },
}

impl Billing {
    /// Brings subscription `id`'s quantities at the provider up to the seats
    /// `org` bought automatically on it, at most once per `window`, and
    /// applies the provider's answer (which pays the owed seats off).
    ///
    /// # Errors
    /// [`BillingError::SubscriptionNotFound`] when the provider does not
    /// know it; the catalog's refusals; the provider's and the store's
    /// failures (the sync is then tried again after the window).
    pub async fn sync_owed_seats(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
        window: Duration,
    ) -> Result<QuantitySynced, BillingError> {
        let actor = Actor::system(org.clone(), "quantity-sync");
        let due = match self
            .seats
            .subscriptions()
            .claim_quantity_sync(&actor, id, window)
            .await?
        {
            QuantitySync::Nothing => return Ok(QuantitySynced::Nothing),
            QuantitySync::NotBefore(at) => return Ok(QuantitySynced::NotBefore(at)),
            QuantitySync::Due(due) => due,
        };
        let read_at = self.seats.clock().now();
        let mut current = self
            .payments
            .subscription(id.as_str())
            .await?
            .filter(|s| s.org() == Some(org.as_str()))
            .ok_or_else(|| BillingError::SubscriptionNotFound(id.to_string()))?;
        let mut writes = 0;
        for (product, wanted) in due {
            let holds = current
                .snapshot(self.seats.catalog())?
                .items
                .get(&product)
                .copied()
                .unwrap_or(0);
            if holds >= wanted {
                continue;
            }
            let increase = self.seats.catalog().plan_seat_increase(
                &current,
                product.as_str(),
                i64::from(wanted - holds),
                self.proration,
                read_at,
            )?;
            let Some(change) = increase.change() else { continue };
            let key = format!("seatflow:{org}:auto-seats:{id}:{product}:{wanted}");
            current = self
                .payments
                .set_quantity(id.as_str(), change, self.proration, Some(&key))
                .await?;
            writes += 1;
            tracing::info!(%org, subscription = %id, %product, from = holds, to = wanted, "seats bought automatically billed");
        }
        self.apply_answer(
            &actor,
            &current,
            AuditAction::SubscriptionApplied,
            &std::collections::BTreeMap::new(),
            read_at,
        )
        .await?;
        Ok(QuantitySynced::Synced { writes })
    }
}
