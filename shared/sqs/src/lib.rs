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

    /// From the environment: `QUEUE_URL`; region, credentials and endpoint
    /// (`AWS_ENDPOINT_URL`, for moto) the SDK's way.
    ///
    /// # Errors
    /// [`QueueConfigError::MissingQueueUrl`].
    pub async fn from_env() -> Result<Self, QueueConfigError> {
        let url = std::env::var("QUEUE_URL").map_err(|_| QueueConfigError::MissingQueueUrl)?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(Client::new(&config), url))
    }
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
