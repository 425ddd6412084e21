//! Notices the system emails on its own: renewal reminders, payment-failed
//! notices during the grace period, and over-limit notices. Which are due is
//! decided here ([`crate::Subscriptions::due_notices`]); sending is the [`Mailer`]
//! port's, and "at most once, never lost" is the [`NoticeLedger`] port's.

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::Email;
use crate::error::ValidationError;
use crate::ids::{OrgId, ProductId, SubscriptionId};
use crate::money::Money;
use crate::subscription::Subscription;

/// A kind of notice an organisation may opt out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A subscription renews soon.
    Renewal,
    /// A renewal payment failed; the seats are in their grace period.
    PaymentFailed,
    /// A pool holds more assignments than seats bought.
    OverLimit,
    /// Seats were bought automatically (a daily digest per product, and
    /// the admins are told when the period's limit is reached).
    AutoPurchases,
}

impl NoticeKind {
    /// The stable name used in keys and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Renewal => "renewal",
            Self::PaymentFailed => "payment_failed",
            Self::OverLimit => "over_limit",
            Self::AutoPurchases => "auto_purchases",
        }
    }
}

/// At most this many billing contacts per organisation.
pub const MAX_BILLING_CONTACTS: usize = 10;

/// An organisation's notification preferences. Without a stored record, every
/// notice is wanted and billing notices go to the organisation's admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationPreferences {
    /// Owning organisation.
    pub org: OrgId,
    /// Who receives renewal and payment notices; empty: the admins.
    pub billing_contacts: Vec<Email>,
    /// Kinds of notice the organisation does not want.
    pub opted_out: BTreeSet<NoticeKind>,
    /// Optimistic-concurrency version (0: never stored).
    pub version: u64,
}

impl NotificationPreferences {
    /// The preferences of an organisation that set none.
    #[must_use]
    pub fn defaults(org: OrgId) -> Self {
        Self {
            org,
            billing_contacts: Vec::new(),
            opted_out: BTreeSet::new(),
            version: 0,
        }
    }

    /// Checks and normalises contacts: at most [`MAX_BILLING_CONTACTS`], no
    /// address twice.
    ///
    /// # Errors
    /// [`ValidationError`] on field `billing_contacts`.
    pub fn with_contacts(mut self, contacts: Vec<Email>) -> Result<Self, ValidationError> {
        let unique: BTreeSet<&Email> = contacts.iter().collect();
        if unique.len() != contacts.len() {
            return Err(ValidationError::new("billing_contacts", "lists an address twice"));
        }
        if contacts.len() > MAX_BILLING_CONTACTS {
            return Err(ValidationError::new(
                "billing_contacts",
                format!("holds at most {MAX_BILLING_CONTACTS} addresses"),
            ));
        }
        self.billing_contacts = contacts;
        Ok(self)
    }

    /// Whether the organisation wants notices of `kind`.
    #[must_use]
    pub fn wants(&self, kind: NoticeKind) -> bool {
        !self.opted_out.contains(&kind)
    }
}

/// The days before a period ends at which a renewal reminder goes out
/// (default 30, 7 and 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderWindows(Vec<u32>);

impl Default for ReminderWindows {
    fn default() -> Self {
        Self(vec![30, 7, 1])
    }
}

impl ReminderWindows {
    /// Parses a comma-separated list of days (`30,7,1`), each 1 to 365.
    ///
    /// # Errors
    /// [`ValidationError`] on field `reminder_windows` for an empty list, a
    /// value out of range, or a day given twice.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| ValidationError::new("reminder_windows", why);
        let mut days = text
            .split(',')
            .map(|d| d.trim().parse::<u32>().ok().filter(|d| (1..=365).contains(d)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("must be comma-separated whole days from 1 to 365"))?;
        days.sort_unstable_by(|a, b| b.cmp(a));
        if days.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("names a day twice"));
        }
        Ok(Self(days))
    }

    /// The widest window: how far ahead renewals are looked for.
    #[must_use]
    pub fn horizon(&self) -> Duration {
        Duration::days(i64::from(self.0.first().copied().unwrap_or(0)))
    }

    /// The window a period ending at `period_end` is in at `now`: the
    /// narrowest window that reaches it, so one that was missed (a run that
    /// did not happen, a subscription bought 20 days before its end) is
    /// replaced by the current one, never sent late. `None` once it has ended.
    #[must_use]
    pub fn due(&self, period_end: DateTime<Utc>, now: DateTime<Utc>) -> Option<u32> {
        if period_end <= now {
            return None;
        }
        self.0
            .iter()
            .rev()
            .copied()
            .find(|days| period_end - now <= Duration::days(i64::from(*days)))
    }
}

/// What a notice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeSubject {
    /// A subscription renews at the end of its period.
    Renewal {
        /// The subscription.
        subscription: Subscription,
        /// The reminder window (days before the end) this notice is for.
        window_days: u32,
        /// What the renewal will charge at list prices, if the term is known.
        amount_due: Option<Money>,
    },
    /// A payment failed; the seats stay usable until `grace_ends`.
    PaymentFailed {
        /// The subscription.
        subscription: Subscription,
        /// When the seats are suspended unless paid.
        grace_ends: DateTime<Utc>,
    },
    /// A pool holds more assignments than seats bought.
    OverLimit {
        /// The product.
        product: ProductId,
        /// Seats bought.
        purchased: u32,
        /// Seats assigned.
        assigned: u32,
    },
    /// Seats of a product were bought automatically this billing period.
    AutoPurchases {
        /// The product.
        product: ProductId,
        /// Seats bought automatically this period.
        bought: u32,
        /// The organisation's limit per period, if any.
        max: Option<u32>,
    },
}

impl NoticeSubject {
    /// The kind, for preferences.
    #[must_use]
    pub fn kind(&self) -> NoticeKind {
        match self {
            Self::Renewal { .. } => NoticeKind::Renewal,
            Self::PaymentFailed { .. } => NoticeKind::PaymentFailed,
            Self::OverLimit { .. } => NoticeKind::OverLimit,
            Self::AutoPurchases { .. } => NoticeKind::AutoPurchases,
        }
    }
}

/// Identifies one notice that must go out at most once: a renewal per
/// (subscription, period, window), a payment-failed notice per (subscription,
/// period), an over-limit notice per (pool, seats bought) — a further decrease
/// is news, the same shortfall is not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NoticeKey(String);

impl NoticeKey {
    /// The key of a renewal reminder.
    #[must_use]
    pub fn renewal(subscription: &SubscriptionId, period_end: DateTime<Utc>, window_days: u32) -> Self {
        Self(format!(
            "renewal#{subscription}#{}#{window_days}d",
            period_end.timestamp()
        ))
    }

    /// The key of a payment-failed notice.
    #[must_use]
    pub fn payment_failed(subscription: &SubscriptionId, period_start: DateTime<Utc>) -> Self {
        Self(format!(
            "payment_failed#{subscription}#{}",
            period_start.timestamp()
        ))
    }

    /// The key of an over-limit notice.
    #[must_use]
    pub fn over_limit(product: &ProductId, purchased: u32) -> Self {
        Self(format!("over_limit#{product}#{purchased}"))
    }

    /// The key of a digest of seats bought automatically: one per product,
    /// period and count, so a day with no new purchase sends nothing.
    #[must_use]
    pub fn auto_purchases(product: &ProductId, period: u32, bought: u32) -> Self {
        Self(format!("auto_purchases#{product}#{period}#{bought}"))
    }

    /// The key as text (letters, digits, `_`, `-` and `#`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NoticeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A notice that is due, with its recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueNotice {
    /// The organisation.
    pub org: OrgId,
    /// The organisation's name, for the greeting.
    pub org_name: String,
    /// Once-only identity within the organisation.
    pub key: NoticeKey,
    /// What it is about.
    pub subject: NoticeSubject,
    /// Who gets it (never empty).
    pub to: Vec<Email>,
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutgoingEmail {
    /// The organisation it is sent for.
    pub org: OrgId,
    /// Recipients.
    pub to: Vec<Email>,
    /// Subject line (no line breaks).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, every user-provided value escaped.
    pub html: String,
}

/// Why sending failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The mail service refused this message (bad address, unverified sender).
    #[error("the mail service refused the message: {0}")]
    Rejected(String),
    /// The mail service failed or could not be reached.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

/// Sends email.
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends one email to all its recipients.
    ///
    /// # Errors
    /// [`MailError`]; then the message is not known to be sent.
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

/// The answer to claiming a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This run holds the notice until `lease_until` and must send it, then
    /// complete or release it with `token`.
    Claimed {
        /// Proof of this claim.
        token: String,
    },
    /// It was sent; nothing to do.
    AlreadySent,
    /// Another run holds an unexpired claim on it.
    Held,
}

/// Why the ledger failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The record changed under this run (its claim expired and was taken).
    #[error("the notice's claim was lost")]
    ClaimLost,
    /// The ledger failed or could not be reached.
    #[error("notice ledger unavailable: {0}")]
    Unavailable(String),
}

/// Remembers which notices went out, so that each goes out once and a failed
/// one is tried again.
///
/// The protocol, per notice: `claim` (a conditional write: succeeds only if
/// there is no record, or a claim whose lease has expired), then send, then
/// `complete` (the record becomes "sent", kept for good) — or, when sending
/// failed, `release` (the record is removed, so the next run claims it again).
/// A run that dies between claim and complete leaves a claim whose lease
/// expires: the next run after that sends it. Concurrent runs never both send,
/// because only one conditional claim succeeds. The one duplicate possible is
/// a run dying after the mail service accepted a message and before
/// `complete`: no mail service takes an idempotency key, so "never lost" wins
/// over "never twice" in that crash window; the lease (longer than any run)
/// keeps it to crashes.
#[async_trait]
pub trait NoticeLedger: Send + Sync + fmt::Debug {
    /// Claims a notice of `org` until `lease_until`.
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`].
    async fn claim(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, LedgerError>;

    /// Records a claimed notice as sent.
    ///
    /// # Errors
    /// [`LedgerError::ClaimLost`] if `token` no longer holds it.
    async fn complete(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        token: &str,
        sent_at: DateTime<Utc>,
    ) -> Result<(), LedgerError>;

    /// Gives a claimed notice back after a failed send.
    ///
    /// # Errors
    /// [`LedgerError::ClaimLost`] if `token` no longer holds it.
    async fn release(&self, org: &OrgId, key: &NoticeKey, token: &str) -> Result<(), LedgerError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn the_narrowest_window_that_reaches_the_end_is_due() {
        let windows = ReminderWindows::default();
        let end = at(31, 12);
        assert_eq!(windows.due(end, at(1, 12)), Some(30));
        assert_eq!(windows.due(end, at(1, 11)), None, "31 days and an hour ahead");
        assert_eq!(windows.due(end, at(20, 12)), Some(30));
        assert_eq!(windows.due(end, at(24, 12)), Some(7));
        assert_eq!(windows.due(end, at(30, 13)), Some(1));
        assert_eq!(windows.due(end, at(31, 12)), None, "ended");
    }

    #[test]
    fn windows_parse_sorted_and_refuse_nonsense() {
        assert_eq!(
            ReminderWindows::parse("1, 30,7").unwrap(),
            ReminderWindows::default()
        );
        for bad in ["", "0", "30,30", "x", "400", "7,,1"] {
            assert!(ReminderWindows::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ReminderWindows::parse("14").unwrap().horizon(),
            Duration::days(14)
        );
    }

    #[test]
    fn contacts_are_unique_and_bounded() {
        let org = OrgId::parse("org_a").unwrap();
        let a = Email::parse("a@example.com").unwrap();
        let prefs = NotificationPreferences::defaults(org);
        assert!(prefs.clone().with_contacts(vec![a.clone(), a.clone()]).is_err());
        let many = (0..=MAX_BILLING_CONTACTS)
            .map(|i| Email::parse(&format!("b{i}@example.com")).unwrap())
            .collect();
        assert!(prefs.clone().with_contacts(many).is_err());
        assert_eq!(
            prefs.with_contacts(vec![a.clone()]).unwrap().billing_contacts,
            vec![a]
        );
    }
}
