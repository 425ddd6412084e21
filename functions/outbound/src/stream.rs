//! The outbox relay's input: DynamoDB stream records of new `OUTBOX#` items.
//! Only the one string attribute `events` is read from each new image (the
//! change's events as JSON), so no DynamoDB item decoding is needed.

use std::collections::HashMap;

use seatflow_domain::{EventType, OutboundEvent};
use seatflow_webhooks::Relay;
use serde::{Deserialize, Serialize};

/// The prefix of outbox items' sort keys.
pub const OUTBOX_PREFIX: &str = "OUTBOX#";

/// A batch of stream records, as Lambda delivers it.
#[derive(Debug, Default, Deserialize)]
pub struct StreamEvent {
    /// The records, in stream order.
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// One stream record.
#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// The change.
    #[serde(default)]
    pub dynamodb: StreamChange,
}

/// The item's keys and new image.
#[derive(Debug, Default, Deserialize)]
pub struct StreamChange {
    /// The record's position in its shard.
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
    /// The item as written.
    #[serde(rename = "NewImage", default)]
    pub new_image: HashMap<String, Attribute>,
}

/// An attribute value; only strings are read.
#[derive(Debug, Default, Deserialize)]
pub struct Attribute {
    /// A string value.
    #[serde(rename = "S")]
    pub s: Option<String>,
}

/// The partial batch response: the stream resumes from the first failed record.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamBatchResponse {
    /// The failed record, if any (later records are sent again with it).
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// A failed record.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// Its sequence number.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The events of an outbox record; `None` for any other record.
fn events_of(record: &StreamRecord) -> Option<Result<Vec<OutboundEvent>, serde_json::Error>> {
    let image = &record.dynamodb.new_image;
    let sk = image.get("SK")?.s.as_deref()?;
    if record.event_name != "INSERT" || !sk.starts_with(OUTBOX_PREFIX) {
        return None;
    }
    let events = image.get("events")?.s.as_deref()?;
    Some(serde_json::from_str(events))
}

/// What a batch came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RelayReport {
    /// Deliveries queued.
    pub queued: usize,
    /// Outbox items that could not be read (logged; retrying cannot mend them).
    pub unreadable: usize,
    /// Seats assigned and revoked among the relayed events (the metrics of
    /// seat changes, whichever path made them).
    pub seats_assigned: usize,
    /// See `seats_assigned`.
    pub seats_revoked: usize,
    /// The response for Lambda.
    pub response: StreamBatchResponse,
}

/// Relays each outbox record's events in stream order, stopping at the
/// first that cannot be relayed (the stream sends it and what follows again:
/// order is kept, and receivers deduplicate what was queued twice).
pub async fn relay_records(relay: &Relay, event: StreamEvent) -> RelayReport {
    let mut report = RelayReport::default();
    for record in &event.records {
        let events = match events_of(record) {
            None => continue,
            Some(Ok(events)) => events,
            Some(Err(e)) => {
                tracing::error!(sequence = %record.dynamodb.sequence_number, error = %e, "an outbox item is not readable; skipped");
                report.unreadable += 1;
                continue;
            }
        };
        match relay.relay(&events).await {
            Ok(queued) => {
                report.queued += queued;
                for event in &events {
                    match event.kind {
                        EventType::SeatAssigned => report.seats_assigned += 1,
                        EventType::SeatRevoked => report.seats_revoked += 1,
                        _ => {}
                    }
                }
            }
            Err(e) => {
                tracing::error!(sequence = %record.dynamodb.sequence_number, error = %e, "relaying an outbox item failed; the stream retries from it");
                report.response.batch_item_failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
                break;
            }
        }
    }
    report
}
