//! Billing: every flow that changes what an organisation pays for. Each
//! reads the organisation's subscription from the payment provider (another
//! organisation's is not found), plans the change with the catalog, asks the
//! provider, and applies the provider's answer to the seats at once, audited
//! under the admin (the provider's event for the change arrives later and
//! finds it in place).

mod auto_seats;
mod checkout;
mod plan_change;
mod renewal;
mod seat_increase;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use seatflow_domain::{
    Actor, Applied, AuditAction, AuditEntry, IdempotencyStore, Mode, PaymentError, PaymentGateway, ProductId,
    ProrationBehavior, ProviderSubscription, SeatError, SeatIncrease, Seats, SnapshotError, StoreError,
    SubscriptionId, SubscriptionSnapshot,
};

pub use auto_seats::{DEFAULT_SYNC_WINDOW_SECONDS, QuantitySynced, RENEW_AT_USAGE_DAYS};
pub use checkout::CreatedSession;
pub use plan_change::{ChangePlan, PlanChangeResult};
pub use renewal::{RenewalChange, RenewalSeatsChange, SetRenewalSeats};
pub use seat_increase::{AddSeats, SeatsAdded};

/// The billing flows, over the entitlement service, the payment provider
/// and (for requests with an `Idempotency-Key`) the idempotency store.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Billing {
    seats: Seats,
    payments: Arc<dyn PaymentGateway>,
    idempotency: Option<Arc<dyn IdempotencyStore>>,
    proration: ProrationBehavior,
}

/// Why a billing flow did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// A rule of the domain refused, or the store failed.
    #[error(transparent)]
    Seats(#[from] SeatError),
    /// The payment provider refused or could not be reached.
    #[error(transparent)]
    Payment(#[from] PaymentError),
    /// No such subscription of the caller's organisation (here or at the
    /// provider).
    #[error("subscription '{0}' not found")]
    SubscriptionNotFound(String),
    /// No such checkout session of the caller's organisation.
    #[error("checkout session '{0}' not found")]
    CheckoutNotFound(String),
    /// The subscription has ended or is unpaid: the change needs a new
    /// purchase.
    #[error("{0}")]
    SubscriptionEnded(String),
    /// The organisation already subscribes to the plan on the same term:
    /// more seats go onto that subscription (prorated, same renewal date),
    /// not into a second one.
    #[error(
        "the organisation already subscribes to {plan} on this term ({subscription}); add the seats to it with POST /v1/subscriptions/{subscription}/seats (prorated, same renewal date)"
    )]
    AlreadySubscribed {
        /// The subscription to add the seats to.
        subscription: String,
        /// Its plan.
        plan: String,
    },
    /// The provider answered with a subscription seatflow cannot read.
    #[error("the payment provider's answer is not usable: {0}")]
    ProviderAnswer(#[from] SnapshotError),
    /// The client priced the increase at another quantity than the
    /// subscription holds now: a retry of a request that was carried out, or
    /// a change made meanwhile. Nothing was changed; `current` is what the
    /// same request would do now.
    #[error(
        "the subscription has {} seats of {} now, not the {expected} this request was made for; nothing was changed",
        current.quantity_before, current.product
    )]
    QuantityChanged {
        /// The quantity the client saw.
        expected: u32,
        /// What adding the seats now would do and cost.
        current: Box<SeatIncrease>,
    },
    /// Another request with the same `Idempotency-Key` is under way.
    #[error("a request with this Idempotency-Key is under way; retry shortly")]
    IdempotencyKeyInUse,
    /// The `Idempotency-Key` was used for another request.
    #[error("this Idempotency-Key was used for another request")]
    IdempotencyKeyReused,
    /// A record of the idempotency store could not be read or written.
    #[error("idempotency record: {0}")]
    IdempotencyRecord(String),
}

impl From<StoreError> for BillingError {
    fn from(error: StoreError) -> Self {
        Self::Seats(error.into())
    }
}

/// A subscription of the caller's organisation, read from the provider.
struct Current {
    id: SubscriptionId,
    provider: ProviderSubscription,
    snapshot: SubscriptionSnapshot,
    /// Taken before the provider was asked: the state is at least this new.
    read_at: DateTime<Utc>,
}

impl Billing {
    /// Billing over `seats` and `payments`; seat increases are billed per
    /// `proration` unless a request says otherwise.
    #[must_use]
    pub fn new(seats: Seats, payments: Arc<dyn PaymentGateway>, proration: ProrationBehavior) -> Self {
        Self {
            seats,
            payments,
            idempotency: None,
            proration,
        }
    }

    /// The same, replaying requests with an `Idempotency-Key` from `store`.
    #[must_use]
    pub fn with_idempotency(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = Some(store);
        self
    }

    /// Subscription `id` of `caller`'s organisation as the payment provider
    /// holds it now: seatflow's record is read first, so that another
    /// organisation's subscription is not found, then the provider's, whose
    /// metadata must name the same organisation.
    ///
    /// # Errors
    /// [`BillingError::SubscriptionNotFound`] for an id that is not the
    /// organisation's (here or at the provider); the provider's and the
    /// store's failures.
    async fn provider_subscription(
        &self,
        caller: &Actor,
        id: &str,
    ) -> Result<(SubscriptionId, ProviderSubscription), BillingError> {
        let not_found = || BillingError::SubscriptionNotFound(id.to_owned());
        let subscription_id: SubscriptionId = id.parse().map_err(|_| not_found())?;
        self.seats
            .subscriptions()
            .subscription(caller, &subscription_id)
            .await?;
        let provider = self
            .payments
            .subscription(id)
            .await?
            .filter(|s| s.org() == Some(caller.org.as_str()))
            .ok_or_else(not_found)?;
        Ok((subscription_id, provider))
    }

    /// What a change of a subscription that still entitles starts from
    /// (admins); `ended` says why one that has ended cannot change.
    async fn entitling(&self, caller: &Actor, id: &str, ended: &str) -> Result<Current, BillingError> {
        caller.require_admin("change subscriptions")?;
        let current = self.current(caller, id).await?;
        if !current.snapshot.status.entitles() {
            return Err(BillingError::SubscriptionEnded(format!(
                "subscription '{id}' {ended}"
            )));
        }
        Ok(current)
    }

    /// What the admin's change of `snapshot` would write (a preview), or
    /// writes: the audit entry.
    async fn apply_requested(
        &self,
        caller: &Actor,
        snapshot: &SubscriptionSnapshot,
        action: AuditAction,
        keep: &BTreeMap<ProductId, u32>,
        read_at: DateTime<Utc>,
        mode: Mode,
    ) -> Result<Option<AuditEntry>, BillingError> {
        let applied = self
            .seats
            .subscriptions()
            .apply_requested_change(caller, snapshot, action, keep, read_at, mode)
            .await?;
        Ok(audit_of(applied))
    }

    /// Applies the provider's answer to a change it made (read at
    /// `read_at`, before it was asked): the audit entry.
    async fn apply_answer(
        &self,
        caller: &Actor,
        answer: &ProviderSubscription,
        action: AuditAction,
        keep: &BTreeMap<ProductId, u32>,
        read_at: DateTime<Utc>,
    ) -> Result<(SubscriptionSnapshot, Option<AuditEntry>), BillingError> {
        let snapshot = answer.snapshot(self.seats.catalog())?;
        let audit = self
            .apply_requested(caller, &snapshot, action, keep, read_at, Mode::Apply)
            .await?;
        Ok((snapshot, audit))
    }

    /// What every change of a running subscription starts from.
    async fn current(&self, caller: &Actor, id: &str) -> Result<Current, BillingError> {
        let read_at = self.seats.clock().now();
        let (id, provider) = self.provider_subscription(caller, id).await?;
        let snapshot = provider.snapshot(self.seats.catalog())?;
        Ok(Current {
            id,
            provider,
            snapshot,
            read_at,
        })
    }
}

/// The audit entry of an applied change.
fn audit_of(applied: Applied) -> Option<AuditEntry> {
    match applied {
        Applied::Changed(outcome) => Some(outcome.audit),
        _ => None,
    }
}
