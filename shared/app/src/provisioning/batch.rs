//! Applying a batch of queued jobs, as SQS delivers them to Lambda. Failures
//! are reported per message (SQS redelivers only those, and sends a message
//! to the dead-letter queue after `maxReceiveCount`). On a FIFO queue a
//! group's later messages must not overtake a failed one, so after a failure
//! the rest of that group is reported failed without being applied.
//!
//! A batch runs against the invocation's deadline: each job gets an equal
//! share of the time left, so a slow payment provider cannot spend the whole
//! invocation on the first jobs and leave the others untried (a job cut off
//! is reported failed and comes back; an untried one would come back too, a
//! step nearer the dead-letter queue, without ever having been tried).

use std::collections::HashSet;
use std::time::Duration;

use tokio::time::Instant;

use seatflow_domain::ProvisioningJob;

use super::Provisioner;

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

/// What a batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// The messages that failed or were held back behind a failure of
    /// their group: the queue delivers them again.
    pub failures: Vec<String>,
    /// Of those, the quantity syncs waiting for their window, and when it
    /// ends: the queue should hold each back until then.
    pub not_before: Vec<(String, chrono::DateTime<chrono::Utc>)>,
}

/// Kept back from a batch's time for reporting its failures to SQS.
const REPORT_MARGIN: Duration = Duration::from_millis(500);

impl Provisioner {
    /// Applies `messages` in order and returns the ids of those that failed
    /// or were held back behind a failure of their group. No deadline: for
    /// callers with all the time they need (the local server, tests).
    pub async fn apply_batch(&self, messages: &[QueuedMessage]) -> BatchReport {
        self.apply_batch_until(messages, None).await
    }

    /// [`Provisioner::apply_batch`] before `deadline` (the invocation's):
    /// each job may take an equal share of the time left, less a margin to
    /// report. A job out of time is reported failed, and the next one tried.
    pub async fn apply_batch_until(
        &self,
        messages: &[QueuedMessage],
        deadline: Option<Instant>,
    ) -> BatchReport {
        let mut failed_groups = HashSet::new();
        let mut failures = Vec::new();
        let mut not_before = Vec::new();
        for (index, message) in messages.iter().enumerate() {
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
            let share = deadline.map(|deadline| {
                let left = deadline.saturating_duration_since(Instant::now());
                let jobs_left = u32::try_from(messages.len() - index).unwrap_or(u32::MAX);
                left.saturating_sub(REPORT_MARGIN) / jobs_left
            });
            let applied = match share {
                Some(share) => tokio::time::timeout(share, self.apply(&job))
                    .await
                    .unwrap_or_else(|_| {
                        Err(super::ProvisionError::OutOfTime {
                            event: job.event_id.clone(),
                            share,
                        })
                    }),
                None => self.apply(&job).await,
            };
            match applied {
                // Held back for its window: it comes back, and its group
                // (the subscription's syncs) waits with it.
                Err(super::ProvisionError::SyncNotDue { until, .. }) => {
                    tracing::info!(message = %message.id, %until, "quantity sync held back for its window");
                    failed_groups.insert(message.group.clone());
                    failures.push(message.id.clone());
                    not_before.push((message.id.clone(), until));
                }
                Err(error) => {
                    tracing::error!(message = %message.id, event = %job.event_id, %error, "provisioning failed");
                    failed_groups.insert(message.group.clone());
                    failures.push(message.id.clone());
                    self.remember_failure(&job, &error).await;
                }
                Ok(_) => {
                    // Best effort: the record is for operators, not for the job.
                    if let Err(error) = self.seats().integrations().job_succeeded(&job.event_id).await {
                        tracing::warn!(event = %job.event_id, %error, "a failure record was not cleared");
                    }
                }
            }
        }
        BatchReport { failures, not_before }
    }
}

impl Provisioner {
    /// Records a failed job for the operators (best effort: the queue keeps
    /// the job itself).
    pub async fn remember_failure(&self, job: &ProvisioningJob, error: &super::ProvisionError) {
        let org = match error {
            super::ProvisionError::UnknownOrganization { org, .. } => org.clone(),
            _ => None,
        }
        .or_else(|| job.subject.org().map(str::to_owned));
        let failed = seatflow_domain::FailedJob {
            event_id: &job.event_id,
            event_type: &job.event_type,
            org: org.as_deref(),
            code: error.code(),
            message: &error.to_string(),
        };
        if let Err(record) = self.seats().integrations().record_job_failure(failed).await {
            tracing::warn!(event = %job.event_id, error = %record, "a failed job was not recorded");
        }
    }
}
