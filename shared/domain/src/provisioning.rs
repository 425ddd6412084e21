//! Provisioning jobs: a payment event to apply to the entitlements, and the
//! [`JobQueue`] port that carries them from the webhook to the provisioner.
//! A job holds the event's object as opaque JSON: the provisioner reads the
//! few fields it needs; the domain knows no payment provider's types.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One payment event to apply.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The event's object, as the provider sent it.
    pub object: Box<RawValue>,
}

impl PartialEq for ProvisioningJob {
    fn eq(&self, other: &Self) -> bool {
        self.event_id == other.event_id
            && self.event_type == other.event_type
            && self.occurred_at == other.occurred_at
            && self.group == other.group
            && self.object.get() == other.object.get()
    }
}

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
