//! Outbound events: what the vendor's application is told after a change.
//! Events are derived from the writes of a [`crate::Change`] while it is
//! decided (so every path that changes seats, users, pools or subscriptions
//! emits them) and committed with it: the store writes them as the change's
//! outbox in the same transaction, so an event exists exactly when its
//! change does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::UserSeats;
use crate::ids::{OrgId, ProductId};
use crate::pool::SeatPool;
use crate::subscription::Subscription;

/// The kinds of outbound event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    /// A user got a seat of a product.
    #[serde(rename = "seat.assigned")]
    SeatAssigned,
    /// A user gave back a seat of a product.
    #[serde(rename = "seat.revoked")]
    SeatRevoked,
    /// A user was created.
    #[serde(rename = "user.created")]
    UserCreated,
    /// A user's name, email, role, team or state changed.
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// A user was removed.
    #[serde(rename = "user.deleted")]
    UserDeleted,
    /// A pool's size or team allocations changed.
    #[serde(rename = "pool.changed")]
    PoolChanged,
    /// A pool went over its limit: more seats held than bought.
    #[serde(rename = "pool.over_limit")]
    PoolOverLimit,
    /// A subscription was created or changed.
    #[serde(rename = "subscription.changed")]
    SubscriptionChanged,
}

impl EventType {
    /// Every event type, in documentation order.
    pub const ALL: [Self; 8] = [
        Self::SeatAssigned,
        Self::SeatRevoked,
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDeleted,
        Self::PoolChanged,
        Self::PoolOverLimit,
        Self::SubscriptionChanged,
    ];

    /// The wire name (`seat.assigned`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SeatAssigned => "seat.assigned",
            Self::SeatRevoked => "seat.revoked",
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeleted => "user.deleted",
            Self::PoolChanged => "pool.changed",
            Self::PoolOverLimit => "pool.over_limit",
            Self::SubscriptionChanged => "subscription.changed",
        }
    }

    /// Parses a wire name.
    ///
    /// # Errors
    /// [`crate::ValidationError`] naming the known types.
    pub fn parse(text: &str) -> Result<Self, crate::ValidationError> {
        Self::ALL.into_iter().find(|t| t.as_str() == text).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
            crate::ValidationError::new(
                "event_types",
                format!("`{text}` is not an event type; known: {}", known.join(", ")),
            )
        })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One outbound event, as the receiver gets it (the JSON body), with the key
/// that orders it among its kin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundEvent {
    /// Unique id (`evt_…`): receivers deduplicate on it.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When the change was committed (the audit entry's time).
    pub created_at: DateTime<Utc>,
    /// The organisation it happened in.
    pub organization: OrgId,
    /// Events with one ordering key are delivered in the order they were
    /// committed: the user's id for seat and user events, the pool or the
    /// subscription otherwise.
    pub ordering_key: String,
    /// The object after the change (before it, for `user.deleted`), and for
    /// seat events the product.
    pub data: serde_json::Value,
}

impl OutboundEvent {
    /// The quantity syncs this event calls for: a `pool.changed` whose pool
    /// owes seats bought automatically asks for one per subscription owed
    /// (see [`crate::ProvisioningJob::quantity_sync`]); any other, none.
    #[must_use]
    pub fn quantity_syncs(&self) -> Vec<crate::ProvisioningJob> {
        if self.kind != EventType::PoolChanged {
            return Vec::new();
        }
        self.data["object"]["owed"]
            .as_object()
            .into_iter()
            .flat_map(|owed| owed.keys())
            .map(|subscription| {
                crate::ProvisioningJob::quantity_sync(
                    self.organization.as_str(),
                    subscription,
                    &self.id,
                    self.created_at,
                )
            })
            .collect()
    }
}

/// The outbox: committed changes' events not yet relayed to their endpoints.
#[async_trait::async_trait]
pub trait Outbox: Send + Sync + std::fmt::Debug {
    /// The organisation's events still in the outbox, at most `limit`: in
    /// the order of their changes' times (one change's events in their
    /// order). The relay itself takes them in commit order (the stream, or
    /// the local store's queue).
    async fn outbox(&self, org: &OrgId, limit: usize) -> Result<Vec<OutboundEvent>, crate::StoreError>;
}

/// An event decided but not yet stamped with its id and time (the change's
/// audit entry gives both when the change is finished).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PendingEvent {
    kind: EventType,
    ordering_key: String,
    data: serde_json::Value,
}

impl PendingEvent {
    /// Stamps the event with the change's time and a fresh id.
    pub(crate) fn stamp(self, org: &OrgId, at: DateTime<Utc>) -> OutboundEvent {
        OutboundEvent {
            id: format!("evt_{}", crate::AuditId::new(at)),
            kind: self.kind,
            created_at: at,
            organization: org.clone(),
            ordering_key: self.ordering_key,
            data: self.data,
        }
    }
}

fn value<T: Serialize>(object: &T) -> serde_json::Value {
    // Records are plain data (no maps with non-string keys): this cannot fail.
    serde_json::to_value(object).unwrap_or(serde_json::Value::Null)
}

fn user_key(holder: &UserSeats) -> String {
    format!("user:{}", holder.user.id)
}

fn seat_event(kind: EventType, holder: &UserSeats, product: &ProductId) -> PendingEvent {
    PendingEvent {
        kind,
        ordering_key: user_key(holder),
        data: serde_json::json!({ "object": value(holder), "product": product }),
    }
}

/// The events of a user's record going from `before` to `after`: created or
/// updated, then each seat given back and each seat taken.
pub(crate) fn holder_events(before: Option<&UserSeats>, after: &UserSeats) -> Vec<PendingEvent> {
    let mut events = Vec::new();
    let held = |h: &UserSeats| h.seats.iter().map(|s| s.product.clone()).collect::<Vec<_>>();
    let had = before.map(held).unwrap_or_default();
    let has = held(after);
    match before {
        None => events.push(PendingEvent {
            kind: EventType::UserCreated,
            ordering_key: user_key(after),
            data: serde_json::json!({ "object": value(after) }),
        }),
        Some(before) => {
            let (b, a) = (&before.user, &after.user);
            let changed = b.name != a.name
                || b.email != a.email
                || b.role != a.role
                || b.team != a.team
                || b.active != a.active;
            if changed {
                events.push(PendingEvent {
                    kind: EventType::UserUpdated,
                    ordering_key: user_key(after),
                    data: serde_json::json!({ "object": value(after) }),
                });
            }
        }
    }
    for product in had.iter().filter(|p| !has.contains(p)) {
        events.push(seat_event(EventType::SeatRevoked, after, product));
    }
    for product in has.iter().filter(|p| !had.contains(p)) {
        events.push(seat_event(EventType::SeatAssigned, after, product));
    }
    events
}

/// The events of removing `holder`: each seat given back, then the user gone.
pub(crate) fn removal_events(holder: &UserSeats) -> Vec<PendingEvent> {
    let mut events: Vec<PendingEvent> = holder
        .seats
        .iter()
        .map(|s| seat_event(EventType::SeatRevoked, holder, &s.product))
        .collect();
    events.push(PendingEvent {
        kind: EventType::UserDeleted,
        ordering_key: user_key(holder),
        data: serde_json::json!({ "object": value(holder) }),
    });
    events
}

/// The events of a pool going from `before` to `after`: `pool.changed` when
/// what it holds for the organisation changed (seats bought, their sources,
/// team allocations; not each seat taken, which `seat.*` tells), and
/// `pool.over_limit` when it goes over.
pub(crate) fn pool_events(before: Option<&SeatPool>, after: &SeatPool) -> Vec<PendingEvent> {
    let key = format!("pool:{}", after.product);
    let mut events = Vec::new();
    let resized = before.is_none_or(|b| {
        b.purchased != after.purchased
            || b.subscribed != after.subscribed
            || b.granted != after.granted
            || b.allocated != after.allocated
            || b.allocated_teams != after.allocated_teams
    });
    if resized {
        events.push(PendingEvent {
            kind: EventType::PoolChanged,
            ordering_key: key.clone(),
            data: serde_json::json!({ "object": value(after) }),
        });
    }
    if after.over_limit() && !before.is_some_and(SeatPool::over_limit) {
        events.push(PendingEvent {
            kind: EventType::PoolOverLimit,
            ordering_key: key,
            data: serde_json::json!({ "object": value(after) }),
        });
    }
    events
}

/// The event of a subscription stored anew or changed.
pub(crate) fn subscription_events(before: Option<&Subscription>, after: &Subscription) -> Vec<PendingEvent> {
    // A fresh read of unchanged state (a new `state_at`) is no change.
    let unchanged = before.is_some_and(|b| {
        let mut same = after.clone();
        same.version = b.version;
        same.state_at = b.state_at;
        // The quantity sync's bookkeeping is no change of the subscription.
        same.quantity_synced_at = b.quantity_synced_at;
        *b == same
    });
    if unchanged {
        return Vec::new();
    }
    vec![PendingEvent {
        kind: EventType::SubscriptionChanged,
        ordering_key: format!("subscription:{}", after.id),
        data: serde_json::json!({ "object": value(after) }),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_by_wire_name() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()).expect("known"), kind);
            assert_eq!(
                serde_json::to_value(kind).expect("serialises"),
                serde_json::json!(kind.as_str())
            );
        }
        let refused = EventType::parse("seat.stolen").expect_err("unknown");
        assert!(refused.to_string().contains("seat.assigned"), "{refused}");
    }
}
