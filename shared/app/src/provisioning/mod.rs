//! The provisioner: applies one provisioning job (a verified Stripe event,
//! queued by the webhook) to the entitlements. An event is a trigger, not the
//! truth: every job comes down to the id of the subscription it is about
//! (`customer.subscription.*` events carry it, checkout-session and invoice
//! events name it), and the provisioner reads that subscription's current
//! state from the payment provider, once, and applies it (see
//! `Subscriptions::apply_subscription`). What the payload says about seats is never
//! used, so deliveries in any order, duplicated or concurrent, all end in the
//! provider's current state, and a replayed event costs one read.
//!
//! Which read is newer: each read is stamped with the clock's time taken just
//! before the request is sent (the state returned is at least that new), and
//! a stored state stamped later is never overwritten. Two reads in flight at
//! once reflect the provider at about the same moment; whichever commits
//! last wins, and the next event or the reconciliation brings any change
//! made in between. Stripe's `created` (one-second resolution, and the same
//! second for a subscription's creation and activation) plays no part.
//!
//! What a job is about (its subscription, the organisation it names) came
//! with it: the webhook read it from Stripe's payload (`seatflow_stripe::event`);
//! the subscription's state is read from the provider here.
//! Batches (`batch`): failures are reported per message, and a FIFO group
//! stops at its first failure.

mod batch;

pub use batch::{BatchReport, QueuedMessage};

use std::sync::Arc;

use seatflow_domain::{
    Actor, Applied, JobSubject, Mode, OrgId, PaymentError, PaymentGateway, ProrationBehavior,
    ProviderSubscription, ProvisioningJob, SeatError, Seats, SnapshotError, SubscriptionId,
};

/// What applying a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The subscription and its pools changed.
    Applied,
    /// The event was applied before.
    Duplicate,
    /// A state read later is stored already.
    Stale,
    /// The event belongs to no subscription (a one-off payment): nothing to do.
    NoSubscription,
}

/// Why a job could not be applied. Every one is logged with the event id and
/// leaves the job on the queue for a retry (and, in the end, the dead-letter
/// queue): nothing is dropped.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The object is not the shape the event type promises.
    #[error("event {event}: malformed {what}: {detail}")]
    Malformed {
        /// The event id.
        event: String,
        /// What was being read.
        what: String,
        /// The parser's complaint.
        detail: String,
    },
    /// No organisation in the metadata, or one that does not exist: parked.
    #[error("event {event}: subscription names no known organisation ({org:?})")]
    UnknownOrganization {
        /// The event id.
        event: String,
        /// What the metadata said, if anything.
        org: Option<String>,
    },
    /// A price whose lookup key the catalog does not list.
    #[error("event {event}: price lookup key {lookup_key:?} is not in the catalog")]
    UnknownPrice {
        /// The event id.
        event: String,
        /// The lookup key (or none).
        lookup_key: Option<String>,
    },
    /// The payment provider does not know the subscription the event names.
    #[error("event {event}: the payment provider has no subscription '{subscription}'")]
    SubscriptionMissing {
        /// The event id.
        event: String,
        /// The subscription named.
        subscription: String,
    },
    /// Re-fetching the subscription failed.
    #[error("event {event}: {source}")]
    Payment {
        /// The event id.
        event: String,
        /// The gateway's error.
        source: PaymentError,
    },
    /// The job's share of the invocation's time ran out (a slow payment
    /// provider, say); it comes back from the queue.
    #[error("event {event}: out of time after {share:?}")]
    OutOfTime {
        /// The event id.
        event: String,
        /// The time the job had.
        share: std::time::Duration,
    },
    /// Seats bought automatically are owed, but the provider was asked
    /// within the quantity sync's window: the job comes back after it (not
    /// a failure: nothing is recorded for the operators).
    #[error("event {event}: the quantity sync is not due before {until}")]
    SyncNotDue {
        /// The event id.
        event: String,
        /// When it is due.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// The quantity sync failed (the provider or the store).
    #[error("event {event}: {source}")]
    Billing {
        /// The event id.
        event: String,
        /// The billing flow's error.
        source: crate::billing::BillingError,
    },
    /// The entitlement store refused or failed.
    #[error("event {event}: {source}")]
    Seats {
        /// The event id.
        event: String,
        /// The domain error.
        source: SeatError,
    },
}

impl ProvisionError {
    /// A stable code for what failed, for the record operators read.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "malformed_event",
            Self::UnknownOrganization { .. } => "unknown_organization",
            Self::UnknownPrice { .. } => "unknown_price",
            Self::SubscriptionMissing { .. } => "subscription_missing",
            Self::Payment { .. } => "payment_provider",
            Self::OutOfTime { .. } => "out_of_time",
            Self::SyncNotDue { .. } => "sync_not_due",
            Self::Billing { .. } => "quantity_sync",
            Self::Seats { .. } => "seats",
        }
    }
}

/// Applies provisioning jobs through the entitlement service, reading each
/// job's subscription from the payment gateway.
#[derive(Debug, Clone)]
pub struct Provisioner {
    seats: Seats,
    payments: Arc<dyn PaymentGateway>,
    sync_window: chrono::Duration,
    sync_proration: ProrationBehavior,
}

impl Provisioner {
    /// A provisioner over `seats`, fetching from `payments`; quantity syncs
    /// at most once a minute, billed on the next invoice.
    #[must_use]
    pub fn new(seats: Seats, payments: Arc<dyn PaymentGateway>) -> Self {
        Self {
            seats,
            payments,
            sync_window: chrono::Duration::seconds(crate::billing::DEFAULT_SYNC_WINDOW_SECONDS),
            sync_proration: ProrationBehavior::CreateProrations,
        }
    }

    /// The same, syncing a subscription's quantity with the seats bought
    /// automatically at most once per `window`, billed per `proration`.
    #[must_use]
    pub fn with_quantity_sync(mut self, window: chrono::Duration, proration: ProrationBehavior) -> Self {
        self.sync_window = window;
        self.sync_proration = proration;
        self
    }

    /// The entitlement service.
    #[must_use]
    pub fn seats(&self) -> &Seats {
        &self.seats
    }

    /// Applies one job.
    ///
    /// # Errors
    /// [`ProvisionError`]; the job should be retried (and parked if it keeps failing).
    pub async fn apply(&self, job: &ProvisioningJob) -> Result<Outcome, ProvisionError> {
        let event = || job.event_id.clone();
        let id = match &job.subject {
            JobSubject::Malformed { what, detail, .. } => {
                return Err(ProvisionError::Malformed {
                    event: event(),
                    what: what.clone(),
                    detail: detail.clone(),
                });
            }
            JobSubject::Subscription { id, .. } => id.clone(),
            JobSubject::QuantitySync { id, org } => return self.sync_quantity(job, id, org).await,
            JobSubject::NoSubscription { .. } => {
                tracing::info!(event = %job.event_id, kind = %job.event_type, "belongs to no subscription");
                return Ok(Outcome::NoSubscription);
            }
        };
        let seats_error = |source| ProvisionError::Seats {
            event: event(),
            source,
        };
        // A duplicate delivery needs no read from the provider.
        if self
            .seats
            .subscriptions()
            .event_applied(&job.event_id)
            .await
            .map_err(seats_error)?
        {
            return Ok(Outcome::Duplicate);
        }
        let read_at = self.seats.clock().now();
        let subscription = self
            .payments
            .subscription(&id)
            .await
            .map_err(|source| ProvisionError::Payment {
                event: event(),
                source,
            })?
            .ok_or_else(|| ProvisionError::SubscriptionMissing {
                event: event(),
                subscription: id.clone(),
            })?;
        let snapshot = self.snapshot(job, &subscription).await?;
        let actor = Actor::system(snapshot.org.clone(), "provisioner");
        let applied = self
            .seats
            .subscriptions()
            .apply_subscription(&actor, &snapshot, &job.event_id, read_at, Mode::Apply)
            .await
            .map_err(|source| ProvisionError::Seats {
                event: event(),
                source,
            })?;
        let outcome = match applied {
            Applied::Changed(_) => Outcome::Applied,
            Applied::Duplicate => Outcome::Duplicate,
            // Only reconciliation answers "in sync"; an event always records itself.
            Applied::Stale | Applied::InSync => Outcome::Stale,
        };
        tracing::info!(event = %job.event_id, subscription = %snapshot.id, ?outcome, "provisioned");
        Ok(outcome)
    }

    /// Brings the provider's quantity of subscription `id` up to the seats
    /// `org` bought automatically, once per window.
    async fn sync_quantity(
        &self,
        job: &ProvisioningJob,
        id: &str,
        org: &str,
    ) -> Result<Outcome, ProvisionError> {
        let event = || job.event_id.clone();
        let malformed = |what: &str| ProvisionError::Malformed {
            event: event(),
            what: what.to_owned(),
            detail: "not an id".into(),
        };
        let org: OrgId = org.parse().map_err(|_| malformed("organisation"))?;
        let id: SubscriptionId = id.parse().map_err(|_| malformed("subscription"))?;
        let billing =
            crate::billing::Billing::new(self.seats.clone(), self.payments.clone(), self.sync_proration);
        let synced = billing
            .sync_owed_seats(&org, &id, self.sync_window)
            .await
            .map_err(|source| ProvisionError::Billing {
                event: event(),
                source,
            })?;
        tracing::info!(event = %job.event_id, subscription = %id, ?synced, "quantity sync");
        match synced {
            crate::billing::QuantitySynced::NotBefore(until) => Err(ProvisionError::SyncNotDue {
                event: event(),
                until,
            }),
            crate::billing::QuantitySynced::Nothing => Ok(Outcome::Stale),
            crate::billing::QuantitySynced::Synced { .. } => Ok(Outcome::Applied),
        }
    }

    async fn snapshot(
        &self,
        job: &ProvisioningJob,
        sub: &ProviderSubscription,
    ) -> Result<seatflow_domain::SubscriptionSnapshot, ProvisionError> {
        let event = || job.event_id.clone();
        let unknown_org = || ProvisionError::UnknownOrganization {
            event: event(),
            org: sub.org().map(str::to_owned),
        };
        let snapshot = sub.snapshot(self.seats.catalog()).map_err(|e| match e {
            SnapshotError::NoOrganization(_) => unknown_org(),
            SnapshotError::UnknownPrice(lookup_key) => ProvisionError::UnknownPrice {
                event: event(),
                lookup_key,
            },
            SnapshotError::Malformed { field, detail } => ProvisionError::Malformed {
                event: event(),
                what: field.to_owned(),
                detail,
            },
        })?;
        let known = self
            .seats
            .organizations()
            .organization(&snapshot.org)
            .await
            .map_err(|source| ProvisionError::Seats {
                event: event(),
                source,
            })?;
        if known.is_none() {
            return Err(unknown_org());
        }
        Ok(snapshot)
    }
}
