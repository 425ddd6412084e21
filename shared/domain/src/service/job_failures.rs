//! Failed provisioning jobs, kept for the vendor's operators: recorded by
//! the provisioner when a job fails, forgotten when it succeeds.

use chrono::Duration;

use super::Integrations;
use crate::access::Operator;
use crate::error::SeatError;
use crate::ids::OrgId;
use crate::job_failure::{JobFailure, REMEMBER_FAILURES_DAYS};

/// Most failures an operator listing shows.
pub const MAX_FAILURES_LISTED: usize = 200;

/// What failed, for the record.
#[derive(Debug, Clone, Copy)]
pub struct FailedJob<'a> {
    /// The payment provider's event id.
    pub event_id: &'a str,
    /// The event's type.
    pub event_type: &'a str,
    /// The organisation the job named, as it named it.
    pub org: Option<&'a str>,
    /// A stable code for what failed.
    pub code: &'a str,
    /// What failed, in words.
    pub message: &'a str,
}

impl Integrations<'_> {
    /// Records that a job failed (once more, if it failed before).
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn record_job_failure(self, failed: FailedJob<'_>) -> Result<JobFailure, SeatError> {
        let now = self.clock.now();
        let before = self.store.job_failure(failed.event_id).await?;
        let failure = JobFailure {
            event_id: failed.event_id.to_owned(),
            event_type: failed.event_type.to_owned(),
            org: failed.org.map(str::to_owned),
            code: failed.code.to_owned(),
            // Bounded: a provider's message can be long.
            message: failed.message.chars().take(500).collect(),
            attempts: before.as_ref().map_or(1, |b| b.attempts.saturating_add(1)),
            first_failed_at: before.as_ref().map_or(now, |b| b.first_failed_at),
            last_failed_at: now,
            expires_at: now + Duration::days(REMEMBER_FAILURES_DAYS),
        };
        self.store
            .record(crate::store::Record::JobFailed(failure.clone()))
            .await?;
        Ok(failure)
    }

    /// Forgets a job's failure once it succeeded; nothing if it never failed.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn job_succeeded(self, event_id: &str) -> Result<(), SeatError> {
        if self.store.job_failure(event_id).await?.is_some() {
            self.store
                .record(crate::store::Record::JobSucceeded {
                    event_id: event_id.to_owned(),
                })
                .await?;
        }
        Ok(())
    }

    /// Jobs failing now, of one organisation or of all (the unknown ones
    /// included), by event id.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn failed_jobs(
        self,
        _operator: &Operator,
        org: Option<&OrgId>,
    ) -> Result<Vec<JobFailure>, SeatError> {
        let all = self.store.job_failures(MAX_FAILURES_LISTED).await?;
        Ok(match org {
            Some(org) => all
                .into_iter()
                .filter(|f| f.org.as_deref() == Some(org.as_str()))
                .collect(),
            None => all,
        })
    }
}
