//! The renewal reminders' configuration, read once at cold start.

use chrono::Duration;
use seatflow_domain::ReminderWindows;

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
        let mut config = Self::new(crate::env::var("BILLING_URL").unwrap_or_default())?;
        if let Some(text) = crate::env::var("REMINDER_WINDOWS") {
            config.windows = ReminderWindows::parse(&text).map_err(ConfigError::Windows)?;
        }
        Ok(config)
    }
}
