//! Batches as SQS delivers them: the messages (`QueuedMessage`, applied by
//! `Provisioner::apply_batch` in `seatflow-app`), and the conversions from
//! and to Lambda's SQS event types.

pub use seatflow_app::provisioning::QueuedMessage;

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

    /// The invocation's deadline (Unix milliseconds, as the Lambda context
    /// gives it) as an instant of this process's clock.
    #[must_use]
    #[allow(
        clippy::disallowed_methods,
        reason = "the runtime's deadline is wall-clock time; only here is it compared with the wall clock"
    )]
    pub fn deadline(unix_ms: u64) -> tokio::time::Instant {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        tokio::time::Instant::now() + std::time::Duration::from_millis(unix_ms.saturating_sub(now_ms))
    }

    /// Each message's receipt handle, by message id (what holding a
    /// message back needs).
    #[must_use]
    pub fn receipts(event: &SqsEvent) -> std::collections::HashMap<String, String> {
        event
            .records
            .iter()
            .filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?)))
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
