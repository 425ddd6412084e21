//! Subscriptions: what the payment provider says an organisation has bought,
//! and applying that to the seat pools exactly once per event, newest state
//! wins. A pool's purchased seats are the sum of the organisation's entitling
//! subscriptions' quantities of that product.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::Term;
use crate::ids::{OrgId, ProductId, SubscriptionId};

/// A subscription's state as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Paid and running.
    Active,
    /// In a trial.
    Trialing,
    /// A payment failed; seats stay usable during the grace period.
    PastDue,
    /// Unpaid past the provider's retries.
    Unpaid,
    /// Ended.
    Canceled,
    /// Paused by the customer or vendor.
    Paused,
    /// First payment not completed yet.
    Incomplete,
    /// First payment never completed.
    IncompleteExpired,
}

impl SubscriptionStatus {
    /// Whether the subscription's quantities count as seats bought.
    #[must_use]
    pub fn entitles(self) -> bool {
        matches!(self, Self::Active | Self::Trialing | Self::PastDue)
    }
}

/// What an event says a subscription is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSnapshot {
    /// The organisation it belongs to (from the provider's metadata).
    pub org: OrgId,
    /// The provider's id.
    pub id: SubscriptionId,
    /// The provider's customer id.
    pub customer: String,
    /// Its status.
    pub status: SubscriptionStatus,
    /// Seats per product (base plan and add-ons).
    pub items: BTreeMap<ProductId, u32>,
    /// The billing term of its prices, if known.
    pub term: Option<Term>,
    /// Start of the current billing period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
}

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    /// Owning organisation.
    pub org: OrgId,
    /// The provider's id.
    pub id: SubscriptionId,
    /// The provider's customer id.
    pub customer: String,
    /// Its status.
    pub status: SubscriptionStatus,
    /// Seats per product.
    pub items: BTreeMap<ProductId, u32>,
    /// The billing term of its prices, if known.
    #[serde(default)]
    pub term: Option<Term>,
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
    /// Start of the current billing period: when the renewal invoice fell due.
    #[serde(default)]
    pub current_period_start: Option<DateTime<Utc>>,
    /// When this state was read from the payment provider: a state read
    /// earlier never overwrites it.
    pub state_at: DateTime<Utc>,
    /// The organisation the provider's metadata moved it to: this one no
    /// longer counts it (its seats, renewals and failing payments are the
    /// other organisation's). The record stays, for the audit trail.
    #[serde(default)]
    pub moved_to: Option<OrgId>,
    /// Seats paid for the current period above what renews: a decrease the
    /// admin asked for takes effect at renewal (the provider already holds
    /// the lower quantity, billed from the next period), so these seats count
    /// until the period ends. Dropped when a new period starts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kept_until_period_end: BTreeMap<ProductId, u32>,
    /// When the quantity sync last asked the provider to hold the seats
    /// bought automatically: at most one such write per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_synced_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl Subscription {
    /// Whether its seats may be used at `now`: an entitling status, and when
    /// payment is failing, only within `grace` of the period's start.
    #[must_use]
    pub fn usable_at(&self, now: DateTime<Utc>, grace: chrono::Duration) -> bool {
        self.moved_to.is_none()
            && self.status.entitles()
            && self.grace_ends(grace).is_none_or(|end| now < end)
    }

    /// When the grace period of a failing payment ends, if payment is failing.
    ///
    /// It runs from the start of the current period, when the renewal invoice
    /// fell due: a value of the provider's state, so it is the same whatever
    /// order the events arrive in (a time taken from the events would move
    /// with their delivery order). A mid-period invoice that fails (an
    /// immediately invoiced seat increase) therefore gets what is left of
    /// that window, at least none; the provider's own retries then decide.
    #[must_use]
    pub fn grace_ends(&self, grace: chrono::Duration) -> Option<DateTime<Utc>> {
        match self.status {
            SubscriptionStatus::PastDue => self.current_period_start.map(|start| start + grace),
            _ => None,
        }
    }

    /// Whether it renews at the end of its period: paid up (or trialing), not
    /// set to cancel, with a known period end. What renewal reminders are for.
    #[must_use]
    pub fn renews(&self) -> bool {
        self.moved_to.is_none()
            && matches!(
                self.status,
                SubscriptionStatus::Active | SubscriptionStatus::Trialing
            )
            && !self.cancel_at_period_end
            && self.current_period_end.is_some()
    }

    /// Whether it renews at a period end in `[from, to)`.
    #[must_use]
    pub fn renews_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.renews() && self.current_period_end.is_some_and(|end| from <= end && end < to)
    }

    /// Whether a payment is failing (the grace period runs or has run out).
    #[must_use]
    pub fn payment_failing(&self) -> bool {
        self.moved_to.is_none() && self.status == SubscriptionStatus::PastDue
    }

    /// This subscription's seats of `product` that count as bought: what
    /// it holds, or what was paid for this period if a decrease waits for
    /// the renewal.
    #[must_use]
    pub fn entitled(&self, product: &ProductId) -> u32 {
        if self.status.entitles() && self.moved_to.is_none() {
            let held = self.items.get(product).copied().unwrap_or(0);
            held.max(self.kept_until_period_end.get(product).copied().unwrap_or(0))
        } else {
            0
        }
    }
}

/// An event applied, kept so a redelivery has no second effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedEvent {
    /// The provider's event id.
    pub id: String,
    /// When it was applied.
    pub processed_at: DateTime<Utc>,
    /// When the record may be forgotten (the provider retries for 3 days and
    /// its event API reaches back 30).
    pub expires_at: DateTime<Utc>,
}

/// How long a processed event is remembered.
pub const REMEMBER_EVENTS_DAYS: i64 = 35;

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The subscription and its pools changed (or would, in a dry run).
    Changed(Box<crate::Outcome<Subscription>>),
    /// The event was applied before: nothing changed.
    Duplicate,
    /// A newer state is already stored: nothing changed.
    Stale,
    /// Reconciliation found the stored state and its pools as the provider
    /// says: nothing changed.
    InSync,
}
