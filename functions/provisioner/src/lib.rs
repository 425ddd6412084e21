//! The provisioner: applies one provisioning job (a verified Stripe event,
//! queued by the webhook) to the entitlements. Subscription events carry the
//! whole subscription, which becomes a [`SubscriptionSnapshot`] applied once
//! per event id, newest state winning (see `Seats::apply_subscription`).
//!
//! Reads only the fields it needs from the raw JSON (current API: the billing
//! period is on the subscription items; a price names its plan and term by
//! `lookup_key`). Checkout-session and invoice events need the subscription
//! re-fetched from Stripe through the payment gateway, which is not built yet:
//! they are acknowledged with a log line saying so (`Outcome::Deferred`), and
//! the subscription events Stripe sends alongside them carry the state.
//!
//! Batches (`batch`): failures are reported per message, and a FIFO group
//! stops at its first failure. Not yet here: grace periods and suspension.

pub mod batch;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use seatflow_domain::{
    Actor, Applied, Mode, OrgId, ProvisioningJob, SeatError, Seats, SubscriptionId, SubscriptionSnapshot,
    SubscriptionStatus,
};
use serde::Deserialize;

/// What applying a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The subscription and its pools changed.
    Applied,
    /// The event was applied before.
    Duplicate,
    /// A newer state is stored already.
    Stale,
    /// Needs the payment gateway (not built yet); acknowledged, with the reason.
    Deferred(&'static str),
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
        what: &'static str,
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
    /// The entitlement store refused or failed.
    #[error("event {event}: {source}")]
    Seats {
        /// The event id.
        event: String,
        /// The domain error.
        source: SeatError,
    },
}

#[derive(Deserialize)]
struct StripeSubscription {
    id: String,
    status: String,
    customer: serde_json::Value,
    #[serde(default)]
    cancel_at_period_end: bool,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    items: StripeList<StripeItem>,
}

#[derive(Deserialize)]
struct StripeList<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct StripeItem {
    price: StripePrice,
    #[serde(default)]
    quantity: Option<u32>,
    #[serde(default)]
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct StripePrice {
    #[serde(default)]
    lookup_key: Option<String>,
}

fn status(text: &str) -> Option<SubscriptionStatus> {
    use SubscriptionStatus as S;
    Some(match text {
        "active" => S::Active,
        "trialing" => S::Trialing,
        "past_due" => S::PastDue,
        "unpaid" => S::Unpaid,
        "canceled" => S::Canceled,
        "paused" => S::Paused,
        "incomplete" => S::Incomplete,
        "incomplete_expired" => S::IncompleteExpired,
        _ => return None,
    })
}

/// Applies provisioning jobs through the entitlement service.
#[derive(Debug, Clone)]
pub struct Provisioner {
    seats: Seats,
}

impl Provisioner {
    /// A provisioner over `seats`.
    #[must_use]
    pub fn new(seats: Seats) -> Self {
        Self { seats }
    }

    /// Applies one job.
    ///
    /// # Errors
    /// [`ProvisionError`]; the job should be retried (and parked if it keeps failing).
    pub async fn apply(&self, job: &ProvisioningJob) -> Result<Outcome, ProvisionError> {
        if !job.event_type.starts_with("customer.subscription.") {
            let reason = "needs the subscription re-fetched through the payment gateway (not built yet)";
            tracing::info!(event = %job.event_id, kind = %job.event_type, reason, "deferred");
            return Ok(Outcome::Deferred(reason));
        }
        let snapshot = self.snapshot(job).await?;
        let actor = Actor::system(snapshot.org.clone(), "provisioner");
        let applied = self
            .seats
            .apply_subscription(&actor, &snapshot, &job.event_id, job.occurred_at, Mode::Apply)
            .await
            .map_err(|source| ProvisionError::Seats {
                event: job.event_id.clone(),
                source,
            })?;
        let outcome = match applied {
            Applied::Changed(_) => Outcome::Applied,
            Applied::Duplicate => Outcome::Duplicate,
            Applied::Stale => Outcome::Stale,
        };
        tracing::info!(event = %job.event_id, subscription = %snapshot.id, ?outcome, "provisioned");
        Ok(outcome)
    }

    async fn snapshot(&self, job: &ProvisioningJob) -> Result<SubscriptionSnapshot, ProvisionError> {
        let event = || job.event_id.clone();
        let malformed = |what, detail: String| ProvisionError::Malformed {
            event: event(),
            what,
            detail,
        };
        let sub: StripeSubscription =
            serde_json::from_str(job.object.get()).map_err(|e| malformed("subscription", e.to_string()))?;
        let org_text = sub.metadata.get("org").cloned();
        let unknown_org = || ProvisionError::UnknownOrganization {
            event: event(),
            org: org_text.clone(),
        };
        let org = org_text
            .as_deref()
            .and_then(|o| OrgId::parse(o).ok())
            .ok_or_else(unknown_org)?;
        let known = self
            .seats
            .organization(&org)
            .await
            .map_err(|source| ProvisionError::Seats {
                event: event(),
                source,
            })?;
        if known.is_none() {
            return Err(unknown_org());
        }
        let catalog = self.seats.catalog();
        let mut items = BTreeMap::new();
        let mut period_end: Option<DateTime<Utc>> = None;
        for item in &sub.items.data {
            let key = item.price.lookup_key.clone();
            let (product, _term) =
                key.as_deref()
                    .and_then(|k| catalog.by_lookup_key(k))
                    .ok_or_else(|| ProvisionError::UnknownPrice {
                        event: event(),
                        lookup_key: key.clone(),
                    })?;
            *items.entry(product.id.clone()).or_insert(0u32) += item.quantity.unwrap_or(1);
            let end = item
                .current_period_end
                .and_then(|t| DateTime::from_timestamp(t, 0));
            period_end = period_end.max(end);
        }
        let customer = match &sub.customer {
            serde_json::Value::String(id) => id.clone(),
            other => other
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        };
        Ok(SubscriptionSnapshot {
            org,
            id: SubscriptionId::parse(&sub.id).map_err(|e| malformed("subscription id", e.to_string()))?,
            customer,
            status: status(&sub.status).ok_or_else(|| malformed("status", sub.status.clone()))?,
            items,
            current_period_end: period_end,
            cancel_at_period_end: sub.cancel_at_period_end,
        })
    }
}
