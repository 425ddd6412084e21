//! From the outbox to the delivery queue: each committed event becomes one
//! delivery per endpoint that wants it, logged as pending and queued in the
//! order the events were committed. A redelivery puts a logged delivery
//! back in the queue.

use std::collections::BTreeMap;
use std::sync::Arc;

use seatflow_domain::{
    Delivery, DeliveryJob, DeliveryLog, DeliveryQueue, EndpointId, EntitlementStore, OrgId, OutboundEvent,
    QueueError, StoreError, WebhookEndpoint,
};

/// Why relaying failed; nothing is lost: the caller retries the same events
/// (the stream redelivers the batch; receivers deduplicate on the event id).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue refused.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Relays events from the outbox to the delivery queue.
#[derive(Debug, Clone)]
pub struct Relay {
    store: Arc<dyn EntitlementStore>,
    log: Arc<dyn DeliveryLog>,
    queue: Arc<dyn DeliveryQueue>,
    /// Where the quantity syncs of seats bought automatically go (the
    /// provisioning queue); none: not relayed.
    syncs: Option<Arc<dyn seatflow_domain::JobQueue>>,
}

impl Relay {
    /// A relay reading endpoints from `store`, logging to `log`, queueing on `queue`.
    #[must_use]
    pub fn new(
        store: Arc<dyn EntitlementStore>,
        log: Arc<dyn DeliveryLog>,
        queue: Arc<dyn DeliveryQueue>,
    ) -> Self {
        Self {
            store,
            log,
            queue,
            syncs: None,
        }
    }

    /// The same, also queueing a quantity sync on `jobs` for each change
    /// that leaves seats bought automatically owed to a subscription (its
    /// `pool.changed` event says so): the outbox makes the sync as durable
    /// as the purchase.
    #[must_use]
    pub fn with_quantity_syncs(mut self, jobs: Arc<dyn seatflow_domain::JobQueue>) -> Self {
        self.syncs = Some(jobs);
        self
    }

    /// Queues a delivery of each of `events` (in commit order) to each
    /// enabled endpoint of its organisation that wants its type. Answers
    /// how many deliveries were queued.
    ///
    /// # Errors
    /// [`RelayError`]; some deliveries may be queued already, and relaying
    /// the same events again queues them again (receivers deduplicate on
    /// the event id).
    pub async fn relay(&self, events: &[OutboundEvent]) -> Result<usize, RelayError> {
        let mut endpoints: BTreeMap<OrgId, Vec<WebhookEndpoint>> = BTreeMap::new();
        let mut jobs = Vec::new();
        for event in events {
            if !endpoints.contains_key(&event.organization) {
                let found = self.store.webhook_endpoints(&event.organization).await?;
                endpoints.insert(event.organization.clone(), found);
            }
            let wanting = endpoints
                .get(&event.organization)
                .into_iter()
                .flatten()
                // Not what was committed before the endpoint existed (a
                // relay running late must not send it history).
                .filter(|e| e.wants(event.kind) && e.created_at <= event.created_at);
            for endpoint in wanting {
                jobs.push(DeliveryJob {
                    org: event.organization.clone(),
                    endpoint: endpoint.id.clone(),
                    event: event.clone(),
                });
            }
        }
        if let Some(syncs) = &self.syncs {
            for job in events.iter().flat_map(OutboundEvent::quantity_syncs) {
                syncs.enqueue(&job).await?;
            }
        }
        for job in &jobs {
            let pending = Delivery::pending(job.endpoint.clone(), job.event.clone());
            self.log.record_delivery(&job.org, &pending).await?;
        }
        self.queue.enqueue(&jobs).await?;
        Ok(jobs.len())
    }

    /// Queues a logged delivery again (see [`redeliver`]).
    ///
    /// # Errors
    /// [`RelayError`].
    pub async fn redeliver(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        event: &str,
    ) -> Result<Option<Delivery>, RelayError> {
        redeliver(&*self.log, &*self.queue, org, endpoint, event).await
    }
}

/// Queues a logged delivery again, as new: attempts and the three days of
/// retries count afresh (the last answer stays until the next attempt
/// replaces it). `None` when the log has no such delivery.
///
/// # Errors
/// [`RelayError`].
pub async fn redeliver(
    log: &dyn DeliveryLog,
    queue: &dyn DeliveryQueue,
    org: &OrgId,
    endpoint: &EndpointId,
    event: &str,
) -> Result<Option<Delivery>, RelayError> {
    let Some(logged) = log.delivery(org, endpoint, event).await? else {
        return Ok(None);
    };
    let mut again = Delivery::pending(endpoint.clone(), logged.event.clone());
    again.last_answer = logged.last_answer;
    log.record_delivery(org, &again).await?;
    let job = DeliveryJob {
        org: org.clone(),
        endpoint: endpoint.clone(),
        event: logged.event,
    };
    queue.enqueue(std::slice::from_ref(&job)).await?;
    Ok(Some(again))
}
