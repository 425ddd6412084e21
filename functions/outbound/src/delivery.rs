//! The delivering function's batch: one attempt per message, in order; a
//! message to try again is held back for its backoff (its visibility), and,
//! as Lambda asks of FIFO queues, the rest of the batch is handed back
//! unattempted so that no later event of its group overtakes it.

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use seatflow_domain::{DeliveryJob, QueueError};
use seatflow_sqs::SqsDeliveryQueue;
use seatflow_webhooks::{Attempted, Deliverer};

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id (what a partial batch response names).
    pub id: String,
    /// The handle that changes its visibility.
    pub receipt: String,
    /// The delivery job as JSON.
    pub body: String,
}

/// The messages of an SQS event, in delivery order.
#[must_use]
pub fn messages(event: SqsEvent) -> Vec<Message> {
    event
        .records
        .into_iter()
        .map(|record| Message {
            id: record.message_id.unwrap_or_default(),
            receipt: record.receipt_handle.unwrap_or_default(),
            body: record.body.unwrap_or_default(),
        })
        .collect()
}

/// Holds a message back before it is received again.
#[async_trait]
pub trait Postpone: Send + Sync {
    /// Makes the message invisible for `seconds`.
    ///
    /// # Errors
    /// [`QueueError`]; the message then returns after the queue's own timeout.
    async fn retry_after(&self, receipt: &str, seconds: i64) -> Result<(), QueueError>;
}

#[async_trait]
impl Postpone for SqsDeliveryQueue {
    async fn retry_after(&self, receipt: &str, seconds: i64) -> Result<(), QueueError> {
        SqsDeliveryQueue::retry_after(self, receipt, seconds).await
    }
}

/// What a batch came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Answered 2xx.
    pub delivered: usize,
    /// Held back for a retry.
    pub retried: usize,
    /// Failed for good (three days of failures, or a disabled endpoint).
    pub failed: usize,
    /// Nothing to do (endpoint gone, delivery already settled).
    pub dropped: usize,
    /// The messages to hand back (retried, not attempted, unreadable).
    pub failures: Vec<String>,
}

impl DeliveryReport {
    /// The partial batch response.
    #[must_use]
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = self
            .failures
            .iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier.clone_from(id);
                failure
            })
            .collect();
        response
    }
}

/// Attempts each message in order until one must be tried again.
pub async fn deliver_batch(
    deliverer: &Deliverer,
    postpone: &dyn Postpone,
    messages: &[Message],
) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let mut rest = messages.iter();
    for message in rest.by_ref() {
        let job: DeliveryJob = match serde_json::from_str(&message.body) {
            Ok(job) => job,
            Err(e) => {
                // Never dropped silently: after its receives it lands in the
                // dead-letter queue, whose alarm calls someone.
                tracing::error!(message = %message.id, error = %e, "a delivery message is not readable");
                report.failures.push(message.id.clone());
                break;
            }
        };
        match deliverer.attempt(&job).await {
            Ok(Attempted::Delivered) => report.delivered += 1,
            Ok(Attempted::Failed) => report.failed += 1,
            Ok(Attempted::Dropped) => report.dropped += 1,
            Ok(Attempted::RetryIn(wait)) => {
                if let Err(e) = postpone.retry_after(&message.receipt, wait.num_seconds()).await {
                    tracing::warn!(message = %message.id, error = %e, "could not hold the message back; it returns after the queue's timeout");
                }
                report.retried += 1;
                report.failures.push(message.id.clone());
                break;
            }
            Err(e) => {
                tracing::error!(message = %message.id, error = %e, "a delivery could not be attempted");
                report.failures.push(message.id.clone());
                break;
            }
        }
    }
    report.failures.extend(rest.map(|m| m.id.clone()));
    report
}
