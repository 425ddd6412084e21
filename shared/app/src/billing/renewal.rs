//! What a subscription renews with:
//! - fewer seats from the next renewal on ("licenses at next renewal"): the
//!   provider holds the lower quantity at once, without proration, so the
//!   next invoice bills it; seatflow keeps counting the seats paid for this
//!   period until it ends. Never below what is assigned unless the admin
//!   accepts the pool going over its limit at renewal.
//! - not at all (cancellation at the period's end), and that taken back.
//!   Seats stay until the period ends; nothing is billed or credited.
//!
//! Requests name the state wanted, so a retry asks for the same thing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use seatflow_domain::{
    Actor, AuditAction, AuditEntry, IdempotencyKey, Mode, ProrationBehavior, RenewalSeats, SubscriptionId,
    SubscriptionSnapshot, SubscriptionStatus,
};
use serde::{Deserialize, Serialize};

use super::{Billing, BillingError, Current};

/// The seats to renew with.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRenewalSeats {
    /// The subscription's plan, or one of its add-ons.
    pub product: String,
    /// Seats from the next renewal on: fewer than now (at least 1 of the
    /// plan; 0 drops an add-on at renewal).
    pub quantity: i64,
    /// Go ahead although fewer seats would remain at renewal than are
    /// assigned: holders keep their seats, the pool shows over its limit, and
    /// new assignments wait for room.
    #[serde(default)]
    pub accept_over_limit: bool,
}

/// A decrease at renewal, as planned or made.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewalSeatsChange {
    /// True when nothing was changed (a preview).
    pub dry_run: bool,
    /// What changes, and when.
    #[serde(flatten)]
    pub plan: RenewalSeats,
    /// What the product's pool holds after the renewal.
    pub pool_at_renewal: u32,
    /// False when it already renews with that many: nothing changed.
    pub changed: bool,
    /// The audit entry written, or that a preview would write.
    pub audit: Option<AuditEntry>,
}

/// A subscription's renewal after the change.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewalChange {
    /// True when nothing was changed (a preview).
    pub dry_run: bool,
    /// The subscription.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subscription: SubscriptionId,
    /// Whether it now ends at its period's end.
    pub cancel_at_period_end: bool,
    /// When it ends (its period's end) if it does; seats stay until then.
    pub ends_at: Option<DateTime<Utc>>,
    /// When it renews, if it does.
    pub renews_at: Option<DateTime<Utc>>,
    /// False when it already was so: nothing changed, nothing audited.
    pub changed: bool,
    /// The audit entry written, or that a preview would write.
    pub audit: Option<AuditEntry>,
}

impl RenewalChange {
    fn of(snapshot: &SubscriptionSnapshot, changed: bool, audit: Option<AuditEntry>, dry_run: bool) -> Self {
        Self {
            dry_run,
            subscription: snapshot.id.clone(),
            cancel_at_period_end: snapshot.cancel_at_period_end,
            ends_at: snapshot
                .current_period_end
                .filter(|_| snapshot.cancel_at_period_end),
            renews_at: snapshot
                .current_period_end
                .filter(|_| !snapshot.cancel_at_period_end),
            changed,
            audit,
        }
    }
}

impl Billing {
    /// Renews subscription `id` with fewer seats of a product, from the next
    /// period on (admins); until then, the seats paid for stay. With
    /// [`Mode::DryRun`] shows the outcome and its audit entry. `key` goes on
    /// to the provider.
    ///
    /// # Errors
    /// [`BillingError::SubscriptionNotFound`], [`BillingError::SubscriptionEnded`];
    /// fewer seats than are assigned (unless accepted); the catalog's
    /// refusals; the provider's and the store's failures.
    pub async fn set_renewal_seats(
        &self,
        caller: &Actor,
        id: &str,
        request: &SetRenewalSeats,
        mode: Mode,
        key: Option<&IdempotencyKey>,
    ) -> Result<RenewalSeatsChange, BillingError> {
        let seats = &self.seats;
        let Current {
            id: subscription_id,
            provider: current,
            mut snapshot,
            read_at,
        } = self
            .entitling(caller, id, "has ended or is not paid; nothing renews")
            .await?;
        let plan = seats
            .catalog()
            .plan_renewal_seats(&current, &request.product, request.quantity)?;
        let pool_at_renewal = seats
            .subscriptions()
            .seats_at_renewal(
                caller,
                &subscription_id,
                &plan.product,
                plan.quantity_at_renewal,
                request.accept_over_limit,
            )
            .await?;
        let dry_run = mode == Mode::DryRun;
        let respond = |plan: RenewalSeats, changed, audit| RenewalSeatsChange {
            dry_run,
            plan,
            pool_at_renewal,
            changed,
            audit,
        };
        if plan.quantity_at_renewal == plan.quantity_now {
            return Ok(respond(plan, false, None));
        }
        // What this period was paid for counts until it ends.
        let keep = BTreeMap::from([(plan.product.clone(), plan.quantity_now)]);
        let action = AuditAction::RenewalSeatsReduced;
        if dry_run {
            snapshot
                .items
                .insert(plan.product.clone(), plan.quantity_at_renewal);
            let audit = self
                .apply_requested(caller, &snapshot, action, &keep, read_at, Mode::DryRun)
                .await?;
            return Ok(respond(plan, true, audit));
        }
        let provider_key = key.map(|k| k.provider_key(&caller.org, "renewal-seats"));
        let read_at = seats.clock().now();
        let updated = self
            .payments
            .set_quantity(
                id,
                plan.change(),
                ProrationBehavior::None,
                provider_key.as_deref(),
            )
            .await?;
        let (_, audit) = self
            .apply_answer(caller, &updated, action, &keep, read_at)
            .await?;
        tracing::info!(org = %caller.org, subscription = %id, product = %plan.product,
            now = plan.quantity_now, at_renewal = plan.quantity_at_renewal, "seats reduced at renewal");
        Ok(respond(plan, true, audit))
    }

    /// Ends subscription `id` at its current period's end (`cancel`), or
    /// takes that back (admins). With [`Mode::DryRun`] shows the outcome and
    /// its audit entry. With `key`, the provider carries the request out once.
    ///
    /// # Errors
    /// [`BillingError::SubscriptionNotFound`]; [`BillingError::SubscriptionEnded`]
    /// for one that has already ended; the provider's and the store's failures.
    pub async fn set_cancel_at_period_end(
        &self,
        caller: &Actor,
        id: &str,
        cancel: bool,
        mode: Mode,
        key: Option<&IdempotencyKey>,
    ) -> Result<RenewalChange, BillingError> {
        caller.require_admin("change subscriptions")?;
        let seats = &self.seats;
        let Current {
            mut snapshot,
            read_at,
            ..
        } = self.current(caller, id).await?;
        if matches!(
            snapshot.status,
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
        ) {
            return Err(BillingError::SubscriptionEnded(format!(
                "subscription '{id}' has already ended; buy again to renew"
            )));
        }
        let action = if cancel {
            AuditAction::CancellationScheduled
        } else {
            AuditAction::CancellationUndone
        };
        let dry_run = mode == Mode::DryRun;
        if snapshot.cancel_at_period_end == cancel {
            return Ok(RenewalChange::of(&snapshot, false, None, dry_run));
        }
        let keep = BTreeMap::new();
        if dry_run {
            snapshot.cancel_at_period_end = cancel;
            let audit = self
                .apply_requested(caller, &snapshot, action, &keep, read_at, Mode::DryRun)
                .await?;
            return Ok(RenewalChange::of(&snapshot, true, audit, true));
        }
        let provider_key = key.map(|k| k.provider_key(&caller.org, if cancel { "cancel" } else { "resume" }));
        let read_at = seats.clock().now();
        let updated = self
            .payments
            .set_cancel_at_period_end(id, cancel, provider_key.as_deref())
            .await?;
        let (snapshot, audit) = self
            .apply_answer(caller, &updated, action, &keep, read_at)
            .await?;
        tracing::info!(org = %caller.org, subscription = %id, cancel, "renewal changed");
        Ok(RenewalChange::of(&snapshot, true, audit, false))
    }
}
