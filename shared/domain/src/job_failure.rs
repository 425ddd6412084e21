//! Provisioning jobs that failed: what the vendor's operators look at when
//! a customer says their seats did not arrive. A failure is kept until the
//! job succeeds (a retry, a redrive from the dead-letter queue) or for
//! [`REMEMBER_FAILURES_DAYS`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a failure is kept when its job never succeeds.
pub const REMEMBER_FAILURES_DAYS: i64 = 30;

/// A provisioning job that failed, with its latest error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobFailure {
    /// The payment provider's event id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The organisation the job named, as it named it (it may be unknown).
    pub org: Option<String>,
    /// A stable code for what failed (`unknown_organization`, …).
    pub code: String,
    /// What failed, in words.
    pub message: String,
    /// How many attempts failed.
    pub attempts: u32,
    /// When it first failed.
    pub first_failed_at: DateTime<Utc>,
    /// When it last failed.
    pub last_failed_at: DateTime<Utc>,
    /// When the record may be forgotten.
    pub expires_at: DateTime<Utc>,
}
