//! Records ↔ DynamoDB items. Records become attribute maps through
//! `serde_dynamo`, plus their keys; the audit entry keeps its before/after
//! JSON as strings.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use seatflow_domain::{
    ApiKey, Assignment, AuditAction, AuditActor, AuditEntry, AuditId, OrgId, Organization, ProductId,
    SeatPool, StoreError, Team, TeamId, TeamSeats, User, UserSeats,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::keys;

pub type Item = HashMap<String, AttributeValue>;

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("stored {what} is not readable: {e}"))
}

/// A record as an item under `pk`/`sk`.
pub fn to_item<T: Serialize>(record: &T, pk: String, sk: String) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(|e| corrupt("record", e))?;
    item.insert(keys::PK.into(), AttributeValue::S(pk));
    item.insert(keys::SK.into(), AttributeValue::S(sk));
    Ok(item)
}

/// An item as a record (key attributes are ignored).
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| corrupt(std::any::type_name::<T>(), e))
}

/// The key and item of each record type.
pub trait Stored: Serialize + DeserializeOwned {
    fn sort_key(&self) -> String;
    fn org(&self) -> &OrgId;
    fn item(&self) -> Result<Item, StoreError> {
        to_item(self, keys::org(self.org()), self.sort_key())
    }
}

impl Stored for Organization {
    fn sort_key(&self) -> String {
        keys::ORG_SK.into()
    }
    fn org(&self) -> &OrgId {
        &self.id
    }
    /// Always under `GSI1 ORGS` by id: the operators' directory of tenants.
    fn item(&self) -> Result<Item, StoreError> {
        let mut item = to_item(self, keys::org(&self.id), self.sort_key())?;
        index(&mut item, keys::ORGS.into(), self.id.to_string());
        Ok(item)
    }
}
impl Stored for SeatPool {
    fn sort_key(&self) -> String {
        keys::pool(&self.product)
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
    /// Also `free` and `unallocated_free`: a seat change that did not
    /// condition on the pool's version updates them blind, on the condition
    /// that they cover its delta, since a condition cannot do arithmetic.
    fn item(&self) -> Result<Item, StoreError> {
        let mut item = to_item(self, keys::org(&self.org), self.sort_key())?;
        let free = i64::from(self.purchased) - i64::from(self.assigned);
        let unallocated_free =
            i64::from(self.purchased) - i64::from(self.allocated) - i64::from(self.unallocated_assigned());
        item.insert(keys::FREE.into(), AttributeValue::N(free.to_string()));
        item.insert(
            keys::UNALLOCATED_FREE.into(),
            AttributeValue::N(unallocated_free.to_string()),
        );
        if self.over_limit() {
            index(
                &mut item,
                keys::OVER_LIMIT.into(),
                format!("{}#{}", self.org, self.product),
            );
        } else if self.auto_bought > 0 {
            // One index entry per item: an over-limit pool is noticed
            // first; its automatic purchases wait for the next digest.
            index(
                &mut item,
                keys::AUTO_BOUGHT.into(),
                format!("{}#{}", self.org, self.product),
            );
        }
        Ok(item)
    }
}
impl Stored for Team {
    fn sort_key(&self) -> String {
        keys::team(&self.id)
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
}
impl Stored for TeamSeats {
    fn sort_key(&self) -> String {
        keys::team_seats(&self.team, &self.product)
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
    /// With an allocation, also `headroom` (allocation minus seats held): a
    /// seat change that did not read the counter updates it blind, on the
    /// condition `headroom >= delta`, since a condition cannot do arithmetic.
    fn item(&self) -> Result<Item, StoreError> {
        let mut item = to_item(self, keys::org(&self.org), self.sort_key())?;
        if let Some(allocated) = self.allocated {
            let headroom = i64::from(allocated) - i64::from(self.assigned);
            item.insert(keys::HEADROOM.into(), AttributeValue::N(headroom.to_string()));
        }
        Ok(item)
    }
}
impl Stored for seatflow_domain::SeatGrant {
    fn sort_key(&self) -> String {
        keys::grant(&self.id)
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
    /// A sparse `GSI1` entry while it counts and has an end, under
    /// `GRANT_UNTIL` by its end: what reconciliation reads to end grants.
    fn item(&self) -> Result<Item, StoreError> {
        let mut item = to_item(self, keys::org(&self.org), self.sort_key())?;
        if let Some(until) = self.until.filter(|_| self.counts()) {
            index(
                &mut item,
                keys::GRANT_UNTIL.into(),
                format!("{}#{}#{}", keys::renewal_at(until), self.org, self.id),
            );
        }
        Ok(item)
    }
}
impl Stored for seatflow_domain::Subscription {
    fn sort_key(&self) -> String {
        keys::subscription(&self.id)
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
    /// Sparse `GSI1` entries for the scheduled notices: a renewing
    /// subscription under its period end's month, a failing one under
    /// `PAYMENT_FAILING`. Every write replaces the whole item, so an entry
    /// goes away when the state that put it there does.
    fn item(&self) -> Result<Item, StoreError> {
        let mut item = to_item(self, keys::org(&self.org), self.sort_key())?;
        let unique = format!("{}#{}", self.org, self.id);
        match self.current_period_end {
            Some(end) if self.renews() => index(
                &mut item,
                keys::renewal_month(end),
                format!("{}#{unique}", keys::renewal_at(end)),
            ),
            _ if self.payment_failing() => index(&mut item, keys::PAYMENT_FAILING.into(), unique),
            _ => {}
        }
        Ok(item)
    }
}

fn index(item: &mut Item, pk: String, sk: String) {
    item.insert(keys::GSI1PK.into(), AttributeValue::S(pk));
    item.insert(keys::GSI1SK.into(), AttributeValue::S(sk));
}

impl Stored for seatflow_domain::WebhookEndpoint {
    fn sort_key(&self) -> String {
        keys::webhook_endpoint(&self.id)
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
}

/// How long a change's outbox item stays (the stream reader takes it within
/// seconds; the stream itself keeps records for 24 hours).
pub const OUTBOX_KEEP_DAYS: i64 = 2;

/// A committed change's outbound events, as one item: `events` holds them
/// as a JSON array (the stream reader parses the new image's one string).
pub fn outbox_item(change: &seatflow_domain::Change) -> Result<Item, StoreError> {
    let events = serde_json::to_string(&change.events).map_err(|e| corrupt("outbox", e))?;
    let mut item = Item::new();
    item.insert(keys::PK.into(), AttributeValue::S(keys::org(&change.org)));
    item.insert(keys::SK.into(), AttributeValue::S(keys::outbox(&change.audit.id)));
    item.insert("events".into(), AttributeValue::S(events));
    let expires = change.audit.at + chrono::Duration::days(OUTBOX_KEEP_DAYS);
    item.insert(
        keys::EXPIRES_AT.into(),
        AttributeValue::N(expires.timestamp().to_string()),
    );
    Ok(item)
}

/// The events of an outbox item (as the table or a stream record holds it).
pub fn outbox_events(item: &Item) -> Result<Vec<seatflow_domain::OutboundEvent>, StoreError> {
    let Some(AttributeValue::S(events)) = item.get("events") else {
        return Err(corrupt("outbox", "no events"));
    };
    serde_json::from_str(events).map_err(|e| corrupt("outbox", e))
}

/// How long the delivery log keeps a delivery.
pub const DELIVERY_KEEP_DAYS: i64 = 30;

impl Stored for seatflow_domain::NotificationPreferences {
    fn sort_key(&self) -> String {
        keys::NOTIFY_SK.into()
    }
    fn org(&self) -> &OrgId {
        &self.org
    }
}

/// A processed event: its own partition (events are looked up by id alone),
/// forgotten by DynamoDB's TTL after `expires_at`.
pub fn event_item(event: &seatflow_domain::ProcessedEvent) -> Item {
    let mut item = Item::new();
    item.insert(keys::PK.into(), AttributeValue::S(keys::event(&event.id)));
    item.insert(keys::SK.into(), AttributeValue::S(keys::EVENT_SK.into()));
    item.insert(
        "processed_at".into(),
        AttributeValue::S(event.processed_at.to_rfc3339()),
    );
    item.insert(
        keys::EXPIRES_AT.into(),
        AttributeValue::N(event.expires_at.timestamp().to_string()),
    );
    item
}

/// A seat as kept on its holder's item: what the holder's item does not
/// already say.
#[derive(Serialize, Deserialize)]
struct HeldSeat {
    product: ProductId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team: Option<TeamId>,
    assigned_at: DateTime<Utc>,
    version: u64,
}

/// A user's item: the user, their seats (`seats`), and the team-members index
/// entry when they are in a team.
pub fn holder_item(holder: &UserSeats) -> Result<Item, StoreError> {
    let user = &holder.user;
    let mut item = to_item(user, keys::org(&user.org), keys::user(&user.id))?;
    let seats: Vec<HeldSeat> = holder
        .seats
        .iter()
        .map(|a| HeldSeat {
            product: a.product.clone(),
            team: a.team.clone(),
            assigned_at: a.assigned_at,
            version: a.version,
        })
        .collect();
    let seats = serde_dynamo::to_attribute_value(seats).map_err(|e| corrupt("seats", e))?;
    item.insert(keys::SEATS.into(), seats);
    for seat in &holder.seats {
        if let Some(day) = seat.last_active_at {
            item.insert(keys::active(&seat.product), AttributeValue::S(day.to_string()));
        }
    }
    if let Some(team) = &user.team {
        index(
            &mut item,
            keys::team_members(&user.org, team),
            keys::user(&user.id),
        );
    }
    // Active admins are found without reading every user (notices to the
    // admins, the last-admin rule).
    if user.role == seatflow_domain::Role::Admin && user.active {
        item.insert(keys::GSI2PK.into(), AttributeValue::S(keys::admins(&user.org)));
        item.insert(keys::GSI2SK.into(), AttributeValue::S(keys::user(&user.id)));
    }
    Ok(item)
}

/// A user's item as the user and their seats.
pub fn holder_from_item(mut item: Item) -> Result<UserSeats, StoreError> {
    let held = item.remove(keys::SEATS);
    let active: Vec<(String, chrono::NaiveDate)> = item
        .iter()
        .filter_map(|(name, value)| {
            let product = name.strip_prefix(keys::ACTIVE)?;
            let day = value.as_s().ok()?.parse().ok()?;
            Some((product.to_owned(), day))
        })
        .collect();
    let user: User = from_item(item)?;
    let held: Vec<HeldSeat> = match held {
        Some(value) => serde_dynamo::from_attribute_value(value).map_err(|e| corrupt("seats", e))?,
        None => Vec::new(),
    };
    let seats = held
        .into_iter()
        .map(|h| Assignment {
            org: user.org.clone(),
            user: user.id.clone(),
            last_active_at: active
                .iter()
                .find(|(product, _)| *product == h.product.as_str())
                .map(|(_, day)| *day),
            product: h.product,
            team: h.team,
            assigned_at: h.assigned_at,
            version: h.version,
        })
        .collect();
    Ok(UserSeats { user, seats })
}

/// `ApiKey` does not serialise its hash (it must never reach an API
/// response), so the item carries it as an extra attribute.
pub fn api_key_item(key: &ApiKey) -> Result<Item, StoreError> {
    let mut item = to_item(key, keys::org(&key.org), keys::api_key(&key.id))?;
    item.insert("secret_hash".into(), AttributeValue::S(key.secret_hash.clone()));
    Ok(item)
}

/// The audit entry as stored: before/after as JSON text.
#[derive(Serialize, Deserialize)]
struct AuditItem {
    id: AuditId,
    org: OrgId,
    actor: AuditActor,
    at: DateTime<Utc>,
    action: AuditAction,
    target: String,
    before: String,
    after: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
}

pub fn audit_item(entry: &AuditEntry) -> Result<Item, StoreError> {
    let stored = AuditItem {
        id: entry.id,
        org: entry.org.clone(),
        actor: entry.actor.clone(),
        at: entry.at,
        action: entry.action,
        target: entry.target.clone(),
        before: entry.before.get().to_owned(),
        after: entry.after.get().to_owned(),
        correlation_id: entry.correlation_id.clone(),
    };
    to_item(&stored, keys::org(&entry.org), keys::audit(&entry.id))
}

pub fn audit_from_item(item: Item) -> Result<AuditEntry, StoreError> {
    let stored: AuditItem = from_item(item)?;
    let raw =
        |text: String| serde_json::value::RawValue::from_string(text).map_err(|e| corrupt("audit entry", e));
    Ok(AuditEntry {
        id: stored.id,
        org: stored.org,
        actor: stored.actor,
        at: stored.at,
        action: stored.action,
        target: stored.target,
        before: raw(stored.before)?,
        after: raw(stored.after)?,
        correlation_id: stored.correlation_id,
    })
}
