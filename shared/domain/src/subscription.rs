//! Subscriptions: what the payment provider says an organisation has bought,
//! and applying that to the seat pools exactly once per event, newest state
//! wins. A pool's purchased seats are the sum of the organisation's entitling
//! subscriptions' quantities of that product.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
    /// Creation time of the event this state came from: an older event never
    /// overwrites it.
    pub state_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl Subscription {
    /// This subscription's seats of `product` that count as bought.
    #[must_use]
    pub fn entitled(&self, product: &ProductId) -> u32 {
        if self.status.entitles() {
            self.items.get(product).copied().unwrap_or(0)
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
}
