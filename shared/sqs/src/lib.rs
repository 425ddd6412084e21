//! SQS adapters. [`SqsJobQueue`] sends provisioning jobs to an SQS FIFO queue:
//! the message group is the job's group (the subscription, or the customer
//! before one exists), so one subscription's events are applied in order; the
//! deduplication id is the event id, so a webhook delivered twice within SQS's
//! five-minute window is queued once (the provisioner dedupes durably beyond).

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use seatflow_domain::{JobQueue, ProvisioningJob, QueueError};

/// The SQS FIFO job queue.
#[derive(Debug, Clone)]
pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
}

/// Why the queue could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum QueueConfigError {
    /// `QUEUE_URL` is not set.
    #[error("QUEUE_URL is not set")]
    MissingQueueUrl,
}

/// SQS limits a deduplication id (and a group id) to 128 characters.
const MAX_ID: usize = 128;

impl SqsJobQueue {
    /// A queue at `queue_url` (a FIFO queue), reached through `client`.
    #[must_use]
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// From its settings (`var`; `seatflow-config` reads the environment): `QUEUE_URL`; region, credentials and endpoint
    /// (`AWS_ENDPOINT_URL`, for moto) the SDK's way.
    ///
    /// # Errors
    /// [`QueueConfigError::MissingQueueUrl`].
    pub async fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, QueueConfigError> {
        let url = var("QUEUE_URL").ok_or(QueueConfigError::MissingQueueUrl)?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(Client::new(&config), url))
    }

    /// Holds a received message back for `seconds` (a quantity sync waiting
    /// for its window), so it comes back then rather than after the queue's
    /// visibility timeout.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    pub async fn hold(&self, receipt_handle: &str, seconds: i64) -> Result<(), QueueError> {
        hold_message(&self.client, &self.queue_url, receipt_handle, seconds).await
    }
}

/// Makes a received message of `queue_url` invisible for `seconds` (at most
/// SQS's 12 hours).
async fn hold_message(
    client: &Client,
    queue_url: &str,
    receipt_handle: &str,
    seconds: i64,
) -> Result<(), QueueError> {
    client
        .change_message_visibility()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(i32::try_from(seconds.clamp(0, 43_200)).unwrap_or(43_200))
        .send()
        .await
        .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
    Ok(())
}

fn bounded(id: &str) -> String {
    id.chars().take(MAX_ID).collect()
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, job: &ProvisioningJob) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).map_err(|e| QueueError::Unavailable(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_group_id(bounded(&job.group))
            .message_deduplication_id(bounded(&job.event_id))
            .send()
            .await
            .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

/// The SQS FIFO queue of outbound webhook deliveries: the message group is
/// the delivery's group (organisation, endpoint, and the event's ordering
/// key: a user, a pool, a subscription), so one user's events reach an
/// endpoint in order; the deduplication id is the event and endpoint, so a
/// relay that runs twice within five minutes queues a delivery once.
/// Retries happen on the same message: the delivering function makes it
/// invisible for the backoff ([`SqsDeliveryQueue::retry_after`]), which
/// holds its group back until then.
#[derive(Debug, Clone)]
pub struct SqsDeliveryQueue {
    client: Client,
    queue_url: String,
}

/// SQS takes at most 10 messages per batch.
const BATCH: usize = 10;

impl SqsDeliveryQueue {
    /// The queue at `queue_url` (FIFO), reached through `client`.
    #[must_use]
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// From its settings (`var`): `WEBHOOK_QUEUE_URL` (`None` when unset);
    /// region, credentials and endpoint the SDK's way.
    pub async fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let url = var("WEBHOOK_QUEUE_URL")?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Some(Self::new(Client::new(&config), url))
    }

    /// Holds a received message back for `seconds` (at most 12 hours), so
    /// the next attempt comes after the backoff.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`].
    pub async fn retry_after(&self, receipt_handle: &str, seconds: i64) -> Result<(), QueueError> {
        hold_message(&self.client, &self.queue_url, receipt_handle, seconds).await
    }
}

#[async_trait]
impl seatflow_domain::DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, jobs: &[seatflow_domain::DeliveryJob]) -> Result<(), QueueError> {
        // Batches in order: SQS keeps the order of one sender's messages in a group.
        for batch in jobs.chunks(BATCH) {
            let mut entries = Vec::with_capacity(batch.len());
            for (i, job) in batch.iter().enumerate() {
                let body = serde_json::to_string(job).map_err(|e| QueueError::Unavailable(e.to_string()))?;
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .message_group_id(bounded(&job.group()))
                    .message_deduplication_id(bounded(&format!("{}:{}", job.event.id, job.endpoint)))
                    .build()
                    .map_err(|e| QueueError::Unavailable(e.to_string()))?;
                entries.push(entry);
            }
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| QueueError::Unavailable(DisplayErrorContext(e).to_string()))?;
            if let Some(failed) = sent.failed.first() {
                return Err(QueueError::Unavailable(format!(
                    "SQS refused a delivery: {} {}",
                    failed.code,
                    failed.message.as_deref().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}
