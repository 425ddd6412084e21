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
use seatflow_domain::{Actor, AuditAction, Mode, OrgId, QuantitySync, SubscriptionId};

use super::{Billing, BillingError, RenewalSeatsChange, SetRenewalSeats};

/// How long before its period ends a subscription of an organisation in
/// automatic mode is set to renew at the seats in use: the daily
/// reconciliation sees it at least twice in that time, and the provider
/// makes the renewal invoice only when the period ends.
pub const RENEW_AT_USAGE_DAYS: i64 = 3;

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
    /// Renews subscription `id` of `org` at the seats in use when the
    /// organisation manages licenses automatically (see
    /// `Subscriptions::renewal_at_usage`), each as a decrease at renewal
    /// (nothing is credited; the seats paid for stay until the period
    /// ends). The changes made.
    ///
    /// # Errors
    /// The renewal change's errors (the provider's, the store's).
    pub async fn renew_at_usage(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
    ) -> Result<Vec<RenewalSeatsChange>, BillingError> {
        let actor = Actor::system(org.clone(), "renewal-at-usage");
        let Some(wanted) = self.seats.subscriptions().renewal_at_usage(&actor, id).await? else {
            return Ok(Vec::new());
        };
        let mut changes = Vec::new();
        for (product, quantity) in wanted {
            let request = SetRenewalSeats {
                product: product.to_string(),
                quantity: i64::from(quantity),
                accept_over_limit: false,
            };
            let change = self
                .set_renewal_seats(&actor, id.as_str(), &request, Mode::Apply, None)
                .await?;
            if change.changed {
                tracing::info!(%org, subscription = %id, %product, quantity, "renews at the seats in use");
                changes.push(change);
            }
        }
        Ok(changes)
    }

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
