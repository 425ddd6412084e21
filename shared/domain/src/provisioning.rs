//! Provisioning jobs: a payment event to apply to the entitlements, and the
//! [`JobQueue`] port that carries them from the webhook to the provisioner.
//! The webhook reads what a job is about from the provider's payload once
//! ([`JobSubject`]): nothing later parses the provider's JSON, and the domain
//! knows no payment provider's types.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One payment event to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningJob {
    /// The provider's event id: the deduplication key.
    pub event_id: String,
    /// The event type (`customer.subscription.updated`).
    pub event_type: String,
    /// When the provider created the event.
    pub occurred_at: DateTime<Utc>,
    /// Jobs of one group are applied in order: the subscription, or the
    /// customer before a subscription exists.
    pub group: String,
    /// What the event is about.
    pub subject: JobSubject,
}

/// What a payment event is about, as the webhook read it from the
/// provider's payload. The provisioner reads the subscription's state from
/// the provider itself: only its id is taken from the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSubject {
    /// A subscription.
    Subscription {
        /// The provider's subscription id.
        id: String,
        /// The organisation the payload names (metadata or client
        /// reference), as it names it.
        org: Option<String>,
    },
    /// Seats bought automatically on a subscription (automatic license
    /// management): bring the provider's quantity up to cover them, at
    /// most once per window. Queued by the outbox relay when a committed
    /// change leaves seats owed.
    QuantitySync {
        /// The provider's subscription id.
        id: String,
        /// The organisation whose pool owes the seats.
        org: String,
    },
    /// Nothing a subscription holds (a one-off payment): nothing to apply.
    NoSubscription {
        /// The organisation the payload names, if any.
        org: Option<String>,
    },
    /// A payload that is not the shape its event type promises: the job
    /// fails, and the failure is recorded for the operators.
    Malformed {
        /// What was being read.
        what: String,
        /// The parser's complaint.
        detail: String,
        /// The organisation the payload names, if any.
        org: Option<String>,
    },
}

impl JobSubject {
    /// The organisation the payload names, if any, as it names it.
    #[must_use]
    pub fn org(&self) -> Option<&str> {
        match self {
            Self::Subscription { org, .. } | Self::NoSubscription { org } | Self::Malformed { org, .. } => {
                org.as_deref()
            }
            Self::QuantitySync { org, .. } => Some(org),
        }
    }
}

impl ProvisioningJob {
    /// The job that syncs subscription `subscription`'s quantity with the
    /// seats `org` bought automatically, for the change that emitted outbound
    /// event `cause` at `at`: one job per such change (queued twice, it is
    /// deduplicated on the event), in a group of the subscription's own
    /// syncs: one waiting for its window holds back no payment event.
    #[must_use]
    pub fn quantity_sync(org: &str, subscription: &str, cause: &str, at: DateTime<Utc>) -> Self {
        Self {
            event_id: format!("qsync_{subscription}_{cause}"),
            event_type: QUANTITY_SYNC.to_owned(),
            occurred_at: at,
            group: format!("qsync:{subscription}"),
            subject: JobSubject::QuantitySync {
                id: subscription.to_owned(),
                org: org.to_owned(),
            },
        }
    }
}

/// The event type of a quantity sync job (seatflow's own, not the provider's).
pub const QUANTITY_SYNC: &str = "seatflow.quantity_sync";

/// Why a job could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue failed or could not be reached; nothing is known to be queued.
    #[error("job queue unavailable: {0}")]
    Unavailable(String),
}

/// Where provisioning jobs wait for the provisioner. Enqueuing the same event
/// id twice queues it once (within the queue's deduplication window).
#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Queues `job` in its group.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    async fn enqueue(&self, job: &ProvisioningJob) -> Result<(), QueueError>;
}
