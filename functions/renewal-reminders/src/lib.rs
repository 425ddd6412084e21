//! The renewal reminders job (daily, on an EventBridge schedule): finds the
//! notices due — renewal reminders per window, payment-failed notices in the
//! grace period, over-limit notices — and sends each exactly once through the
//! [`Mailer`], keeping the once-only record in the [`NoticeLedger`].

pub mod render;

use std::sync::Arc;

pub use seatflow_config::ReminderConfig;
use seatflow_domain::{Claim, DueNotice, LedgerError, Mailer, NoticeLedger, RenewalIndex, SeatError, Seats};
use serde::Serialize;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Notices due (after preferences).
    pub due: usize,
    /// Keys of the notices sent by this run (`{org}/{key}`).
    pub sent: Vec<String>,
    /// Due notices an earlier run sent.
    pub already_sent: usize,
    /// Due notices another run is sending right now.
    pub held: usize,
    /// Notices that could not be sent: tried again on the next run.
    pub failed: Vec<String>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The due notices could not even be found.
    #[error("finding due notices failed: {0}")]
    Notices(#[from] SeatError),
    /// Some notices could not be sent (they were released, and the next run
    /// tries them again); the report says which.
    #[error("{} notices not sent: {}", .0.failed.len(), .0.failed.join(", "))]
    NotSent(RunReport),
}

/// The job.
#[derive(Debug, Clone)]
pub struct Reminders {
    seats: Arc<Seats>,
    index: Arc<dyn RenewalIndex>,
    ledger: Arc<dyn NoticeLedger>,
    mailer: Arc<dyn Mailer>,
    config: ReminderConfig,
}

impl Reminders {
    /// A job over `seats`, telling time by its clock and naming products from
    /// its catalog, finding what is due through `index`.
    #[must_use]
    pub fn new(
        seats: Arc<Seats>,
        index: Arc<dyn RenewalIndex>,
        ledger: Arc<dyn NoticeLedger>,
        mailer: Arc<dyn Mailer>,
        config: ReminderConfig,
    ) -> Self {
        Self {
            seats,
            index,
            ledger,
            mailer,
            config,
        }
    }

    /// Sends every due notice not sent yet. A notice that fails is released
    /// for the next run and reported; the others still go.
    ///
    /// # Errors
    /// [`SeatError`] when the due notices cannot be read.
    pub async fn run(&self) -> Result<RunReport, SeatError> {
        let due = self
            .seats
            .subscriptions()
            .due_notices(self.index.as_ref(), &self.config.windows)
            .await?;
        let mut report = RunReport {
            due: due.len(),
            ..RunReport::default()
        };
        for notice in &due {
            let id = format!("{}/{}", notice.org, notice.key);
            match self.send_once(notice).await {
                Ok(Sent::Now) => report.sent.push(id),
                Ok(Sent::Before) => report.already_sent += 1,
                Ok(Sent::Elsewhere) => report.held += 1,
                Err(why) => {
                    tracing::error!(notice = %id, error = %why, "notice not sent; the next run tries again");
                    report.failed.push(id);
                }
            }
        }
        tracing::info!(
            due = report.due,
            sent = report.sent.len(),
            already_sent = report.already_sent,
            held = report.held,
            failed = report.failed.len(),
            "reminder run done"
        );
        Ok(report)
    }

    async fn send_once(&self, notice: &DueNotice) -> Result<Sent, SendError> {
        let now = self.seats.clock().now();
        let token = match self
            .ledger
            .claim(&notice.org, &notice.key, now, now + self.config.lease)
            .await?
        {
            Claim::Claimed { token } => token,
            Claim::AlreadySent => return Ok(Sent::Before),
            Claim::Held => return Ok(Sent::Elsewhere),
        };
        let email = render::render(notice, self.seats.catalog(), &self.config.billing_url);
        if let Err(why) = self.mailer.send(&email).await {
            // Give it back so the next run sends it; if even that fails, the
            // lease runs out and the run after that does.
            if let Err(release) = self.ledger.release(&notice.org, &notice.key, &token).await {
                tracing::warn!(notice = %notice.key, error = %release, "claim not released; it expires with its lease");
            }
            return Err(SendError::Mail(why));
        }
        match self
            .ledger
            .complete(&notice.org, &notice.key, &token, self.seats.clock().now())
            .await
        {
            Ok(()) => Ok(Sent::Now),
            // Sent, but the record could not be written: say so loudly, it is
            // the one way a notice can go out twice.
            Err(why) => {
                tracing::error!(notice = %notice.key, error = %why, "sent but not recorded; it may be sent again after the lease");
                Ok(Sent::Now)
            }
        }
    }

    /// Runs on an EventBridge scheduled event (any event starts a run; its id
    /// and time go to the log).
    ///
    /// # Errors
    /// As [`Reminders::run`].
    ///
    /// A run in which any send failed ends in [`RunError::NotSent`], so that
    /// the function's error alarm sees it; the failed notices were released
    /// and go out on the next run.
    pub async fn on_schedule(&self, event: &serde_json::Value) -> Result<RunReport, RunError> {
        tracing::info!(
            event = %event["id"].as_str().unwrap_or("-"),
            scheduled_for = %event["time"].as_str().unwrap_or("-"),
            "reminder run starts"
        );
        let report = self.run().await?;
        if report.failed.is_empty() {
            Ok(report)
        } else {
            Err(RunError::NotSent(report))
        }
    }
}

enum Sent {
    Now,
    Before,
    Elsewhere,
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Mail(#[from] seatflow_domain::MailError),
}
