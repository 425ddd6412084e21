//! Applying a batch of queued jobs, as SQS delivers them to Lambda. Failures
//! are reported per message (SQS redelivers only those, and sends a message
//! to the dead-letter queue after `maxReceiveCount`). On a FIFO queue a
//! group's later messages must not overtake a failed one, so after a failure
//! the rest of that group is reported failed without being applied.

use std::collections::HashSet;

use seatflow_domain::ProvisioningJob;

use crate::Provisioner;

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// The queue's message id (what a failure report names).
    pub id: String,
    /// The FIFO message group (the subscription or customer).
    pub group: String,
    /// The job, as JSON.
    pub body: String,
}

impl Provisioner {
    /// Applies `messages` in order and returns the ids of those that failed
    /// or were held back behind a failure of their group.
    pub async fn apply_batch(&self, messages: &[QueuedMessage]) -> Vec<String> {
        let mut failed_groups = HashSet::new();
        let mut failures = Vec::new();
        for message in messages {
            if failed_groups.contains(&message.group) {
                tracing::warn!(message = %message.id, group = %message.group, "held back behind a failure of its group");
                failures.push(message.id.clone());
                continue;
            }
            let job: ProvisioningJob = match serde_json::from_str(&message.body) {
                Ok(job) => job,
                Err(error) => {
                    // Retried until maxReceiveCount, then the dead-letter queue keeps it.
                    tracing::error!(message = %message.id, %error, "malformed provisioning job");
                    failed_groups.insert(message.group.clone());
                    failures.push(message.id.clone());
                    continue;
                }
            };
            if let Err(error) = self.apply(&job).await {
                tracing::error!(message = %message.id, event = %job.event_id, %error, "provisioning failed");
                failed_groups.insert(message.group.clone());
                failures.push(message.id.clone());
            }
        }
        failures
    }
}

/// SQS ⇄ batch conversions for the Lambda entry point.
#[cfg(feature = "lambda")]
pub mod sqs {
    use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

    use super::QueuedMessage;

    /// The messages of an SQS event, in delivery order.
    #[must_use]
    pub fn messages(event: SqsEvent) -> Vec<QueuedMessage> {
        event
            .records
            .into_iter()
            .map(|record| QueuedMessage {
                id: record.message_id.unwrap_or_default(),
                group: record
                    .attributes
                    .get("MessageGroupId")
                    .cloned()
                    .unwrap_or_default(),
                body: record.body.unwrap_or_default(),
            })
            .collect()
    }

    /// The partial batch response naming `failures`.
    #[must_use]
    pub fn response(failures: Vec<String>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        response
    }
}
