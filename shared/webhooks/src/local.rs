//! Delivery inside one process (local use): [`LocalQueue`] keeps SQS FIFO's
//! semantics (a group's next job waits until the one before is settled; a
//! failed attempt stays at its group's head until its retry is due), and
//! [`deliver_in_process`] relays what the in-memory store's commits emit
//! and runs the queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use seatflow_domain::{DeliveryJob, DeliveryQueue, OutboundEvent, QueueError};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::deliver::{Attempted, Deliverer};
use crate::relay::Relay;

/// How long a job waits after an attempt that could not be made (the store
/// failed), before it is tried again.
const AFTER_ERROR: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Queued {
    job: DeliveryJob,
    due: Instant,
    in_flight: bool,
}

/// The in-process delivery queue.
#[derive(Debug, Default)]
pub struct LocalQueue {
    groups: Mutex<BTreeMap<String, VecDeque<Queued>>>,
    wake: Notify,
}

#[async_trait]
impl DeliveryQueue for LocalQueue {
    async fn enqueue(&self, jobs: &[DeliveryJob]) -> Result<(), QueueError> {
        {
            let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            for job in jobs {
                groups.entry(job.group()).or_default().push_back(Queued {
                    job: job.clone(),
                    due: now,
                    in_flight: false,
                });
            }
        }
        self.wake.notify_one();
        Ok(())
    }
}

impl LocalQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Jobs queued and not yet settled.
    #[must_use]
    pub fn len(&self) -> usize {
        self.groups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(VecDeque::len)
            .sum()
    }

    /// Whether every queued job is settled.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Delivers queued jobs for ever: each group's head when it is due, the
    /// groups concurrently.
    pub async fn run(self: Arc<Self>, deliverer: Deliverer) {
        loop {
            let (due, next) = self.take_due();
            for (group, job) in due {
                let (queue, deliverer) = (self.clone(), deliverer.clone());
                tokio::spawn(async move {
                    let attempted = deliverer.attempt(&job).await;
                    queue.settle(&group, attempted);
                });
            }
            let sleep = next.map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(Instant::now())
            });
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// The heads that are due (marked in flight), and when the next one is.
    fn take_due(&self) -> (Vec<(String, DeliveryJob)>, Option<Instant>) {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let mut due = Vec::new();
        let mut next: Option<Instant> = None;
        for (group, queue) in groups.iter_mut() {
            let Some(head) = queue.front_mut() else { continue };
            if head.in_flight {
                continue;
            }
            if head.due <= now {
                head.in_flight = true;
                due.push((group.clone(), head.job.clone()));
            } else {
                next = Some(next.map_or(head.due, |n| n.min(head.due)));
            }
        }
        (due, next)
    }

    fn settle(&self, group: &str, attempted: Result<Attempted, crate::deliver::DeliverError>) {
        {
            let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(queue) = groups.get_mut(group) else {
                return;
            };
            let retry = match attempted {
                Ok(Attempted::RetryIn(wait)) => Some(wait.to_std().unwrap_or(AFTER_ERROR)),
                Ok(Attempted::Delivered | Attempted::Failed | Attempted::Dropped) => None,
                Err(e) => {
                    tracing::error!(group, error = %e, "webhook delivery could not be attempted; retrying");
                    Some(AFTER_ERROR)
                }
            };
            match (retry, queue.front_mut()) {
                (Some(wait), Some(head)) => {
                    head.due = Instant::now() + wait;
                    head.in_flight = false;
                }
                _ => {
                    queue.pop_front();
                    if queue.is_empty() {
                        groups.remove(group);
                    }
                }
            }
        }
        self.wake.notify_one();
    }
}

/// Relays and delivers in this process, for ever (two spawned tasks):
/// `on_events` registers the wake-up the store calls after each commit that
/// emitted events, `take` takes its outbox (the in-memory store's
/// `on_events` and `take_outbox`).
pub fn deliver_in_process(
    on_events: impl FnOnce(Box<dyn Fn() + Send + Sync>),
    take: impl Fn() -> Vec<OutboundEvent> + Send + 'static,
    relay: Relay,
    queue: Arc<LocalQueue>,
    deliverer: Deliverer,
) {
    let wake = Arc::new(Notify::new());
    let notify = wake.clone();
    on_events(Box::new(move || notify.notify_one()));
    tokio::spawn(relay_outbox(take, wake, relay));
    tokio::spawn(queue.run(deliverer));
}

/// Relays for ever: whenever `wake` is notified (the store's commit hook),
/// takes the outbox with `take` and relays it; a failed relay is logged and
/// its events tried again a second later.
async fn relay_outbox(take: impl Fn() -> Vec<OutboundEvent> + Send, wake: Arc<Notify>, relay: Relay) {
    let mut carried: Vec<OutboundEvent> = Vec::new();
    loop {
        if carried.is_empty() {
            wake.notified().await;
        } else {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        carried.extend(take());
        if carried.is_empty() {
            continue;
        }
        match relay.relay(&carried).await {
            Ok(_) => carried.clear(),
            Err(e) => {
                tracing::error!(error = %e, events = carried.len(), "relaying outbound events failed; retrying")
            }
        }
    }
}
