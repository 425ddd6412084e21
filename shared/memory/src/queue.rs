//! `MemoryJobQueue`: FIFO, deduplicated by event id, like an SQS FIFO queue
//! (whose deduplication window is five minutes; this one never forgets).

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use seatflow_domain::{JobQueue, ProvisioningJob, QueueError};

#[derive(Debug, Default)]
struct Jobs {
    waiting: VecDeque<ProvisioningJob>,
    seen: HashSet<String>,
}

/// The in-memory job queue.
#[derive(Debug, Default)]
pub struct MemoryJobQueue {
    jobs: Mutex<Jobs>,
}

impl MemoryJobQueue {
    /// An empty queue.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the oldest waiting job.
    pub fn pop(&self) -> Option<ProvisioningJob> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .pop_front()
    }

    /// Queues `job` again, as SQS makes a message visible again: taken
    /// before, so no longer a duplicate.
    pub fn requeue(&self, job: ProvisioningJob) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .push_back(job);
    }

    /// How many jobs wait.
    #[must_use]
    pub fn len(&self) -> usize {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .len()
    }

    /// Whether no job waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl JobQueue for MemoryJobQueue {
    async fn enqueue(&self, job: &ProvisioningJob) -> Result<(), QueueError> {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.seen.insert(job.event_id.clone()) {
            jobs.waiting.push_back(job.clone());
        }
        Ok(())
    }
}
