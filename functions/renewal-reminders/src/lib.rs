//! The renewal reminders job (daily, on an EventBridge schedule): finds the
//! notices due — renewal reminders per window, payment-failed notices in the
//! grace period, over-limit notices — and sends each exactly once through the
//! [`Mailer`], keeping the once-only record in the [`NoticeLedger`].

pub mod render;

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::{
    Claim, DueNotice, LedgerError, Mailer, NoticeLedger, ReminderWindows, SeatError, Seats,
};
use serde::Serialize;

/// How the job is set up.
#[derive(Debug, Clone)]
pub struct ReminderConfig {
    /// Days before a period's end at which reminders go out.
    pub windows: ReminderWindows,
    /// The page where customers change seats or the payment method.
    pub billing_url: String,
    /// How long a claim on a notice holds: longer than any run can last (the
    /// Lambda timeout is at most 15 minutes), so only a dead run's claim expires.
    pub lease: Duration,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `REMINDER_WINDOWS` is malformed.
    #[error("REMINDER_WINDOWS: {0}")]
    Windows(seatflow_domain::ValidationError),
    /// `BILLING_URL` is missing or not an http(s) URL.
    #[error(
        "BILLING_URL must be an http:// or https:// URL (the page where customers change seats), got {0:?}"
    )]
    BillingUrl(String),
}

impl ReminderConfig {
    /// Windows 30, 7 and 1 days; a 20-minute lease.
    ///
    /// # Errors
    /// [`ConfigError::BillingUrl`] unless `billing_url` is http(s).
    pub fn new(billing_url: impl Into<String>) -> Result<Self, ConfigError> {
        let billing_url = billing_url.into();
        if !(billing_url.starts_with("https://") || billing_url.starts_with("http://")) {
            return Err(ConfigError::BillingUrl(billing_url));
        }
        Ok(Self {
            windows: ReminderWindows::default(),
            billing_url,
            lease: Duration::minutes(20),
        })
    }

    /// From `BILLING_URL` and, optionally, `REMINDER_WINDOWS` (`30,7,1`).
    ///
    /// # Errors
    /// [`ConfigError`] for a missing or malformed value.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = Self::new(std::env::var("BILLING_URL").unwrap_or_default())?;
        if let Ok(text) = std::env::var("REMINDER_WINDOWS") {
            config.windows = ReminderWindows::parse(&text).map_err(ConfigError::Windows)?;
        }
        Ok(config)
    }
}

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

/// Why a run could not even find its notices.
#[derive(Debug, thiserror::Error)]
#[error("finding due notices failed: {0}")]
pub struct RunError(#[from] pub SeatError);

/// The job.
#[derive(Debug, Clone)]
pub struct Reminders {
    seats: Arc<Seats>,
    ledger: Arc<dyn NoticeLedger>,
    mailer: Arc<dyn Mailer>,
    config: ReminderConfig,
}

impl Reminders {
    /// A job over `seats`, telling time by its clock and naming products from
    /// its catalog.
    #[must_use]
    pub fn new(
        seats: Arc<Seats>,
        ledger: Arc<dyn NoticeLedger>,
        mailer: Arc<dyn Mailer>,
        config: ReminderConfig,
    ) -> Self {
        Self {
            seats,
            ledger,
            mailer,
            config,
        }
    }

    /// Sends every due notice not sent yet. A notice that fails is released
    /// for the next run and reported; the others still go.
    ///
    /// # Errors
    /// [`RunError`] when the due notices cannot be read.
    pub async fn run(&self) -> Result<RunReport, RunError> {
        let due = self.seats.due_notices(&self.config.windows).await?;
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
    pub async fn on_schedule(&self, event: &serde_json::Value) -> Result<RunReport, RunError> {
        tracing::info!(
            event = %event["id"].as_str().unwrap_or("-"),
            scheduled_for = %event["time"].as_str().unwrap_or("-"),
            "reminder run starts"
        );
        self.run().await
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
