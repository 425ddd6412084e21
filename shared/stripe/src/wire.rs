//! Stripe's JSON, read and written by hand for the few fields seatflow uses.
//!
//! Reading: events arrive in whatever API version the Stripe account is set
//! to, and typed parsers fail on versions and types they do not know, so the
//! provisioner reads only these fields (current API: the billing period is on
//! the subscription items; an invoice names its subscription under
//! `parent.subscription_details`, older versions under `subscription`).
//!
//! Writing: the offline checkout renders the objects and events Stripe would
//! send, in the same shapes, so the local path exercises the same reader.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use seatflow_domain::{CheckoutSession, ProviderItem, ProviderSubscription};
use serde::Deserialize;
use serde_json::{Value, json};

/// Where an event's object says the subscription is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionRef {
    /// The object is the subscription (`customer.subscription.*`).
    Embedded(Box<ProviderSubscription>),
    /// The object names it (checkout sessions, invoices): fetch it.
    Named(String),
    /// The object belongs to no subscription (a one-off payment).
    None,
}

/// A field that is not what Stripe promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what}: {detail}")]
pub struct WireError {
    /// What was being read.
    pub what: &'static str,
    /// The parser's complaint.
    pub detail: String,
}

#[derive(Deserialize)]
struct Subscription {
    id: String,
    status: String,
    customer: Value,
    #[serde(default)]
    cancel_at_period_end: bool,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    items: List<Item>,
}

#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    id: String,
    price: Price,
    #[serde(default)]
    quantity: Option<u32>,
    #[serde(default)]
    current_period_start: Option<i64>,
    #[serde(default)]
    current_period_end: Option<i64>,
}

#[derive(Deserialize)]
struct Price {
    #[serde(default)]
    lookup_key: Option<String>,
}

/// The id of an expandable field: a string, or an object with an `id`.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn time(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::from_timestamp(s, 0))
}

/// Reads a Stripe subscription object.
///
/// # Errors
/// [`WireError`] when a needed field is missing or of the wrong type.
pub fn read_subscription(object: &str) -> Result<ProviderSubscription, WireError> {
    let sub: Subscription = serde_json::from_str(object).map_err(|e| WireError {
        what: "subscription",
        detail: e.to_string(),
    })?;
    Ok(ProviderSubscription {
        id: sub.id,
        customer: id_of(&sub.customer).unwrap_or_default(),
        status: sub.status,
        metadata: sub.metadata.unwrap_or_default(),
        cancel_at_period_end: sub.cancel_at_period_end,
        items: sub
            .items
            .data
            .into_iter()
            .map(|item| ProviderItem {
                id: item.id,
                lookup_key: item.price.lookup_key,
                quantity: item.quantity.unwrap_or(1),
                current_period_start: time(item.current_period_start),
                current_period_end: time(item.current_period_end),
            })
            .collect(),
    })
}

/// Where the object of an event of `event_type` says its subscription is.
///
/// # Errors
/// [`WireError`] for an object that is not JSON, or a malformed subscription.
pub fn subscription_of(event_type: &str, object: &str) -> Result<SubscriptionRef, WireError> {
    if event_type.starts_with("customer.subscription.") {
        return Ok(SubscriptionRef::Embedded(Box::new(read_subscription(object)?)));
    }
    let value: Value = serde_json::from_str(object).map_err(|e| WireError {
        what: "event object",
        detail: e.to_string(),
    })?;
    let named = value
        .pointer("/parent/subscription_details/subscription")
        .and_then(id_of)
        .or_else(|| value.get("subscription").and_then(id_of));
    Ok(named.map_or(SubscriptionRef::None, SubscriptionRef::Named))
}

/// A Stripe subscription object for `sub`, created at `created`.
#[must_use]
pub fn subscription_object(sub: &ProviderSubscription, created: DateTime<Utc>) -> Value {
    let items: Vec<Value> = sub
        .items
        .iter()
        .map(|item| {
            json!({
                "id": item.id,
                "object": "subscription_item",
                "created": created.timestamp(),
                "metadata": {},
                "price": {
                    "id": format!("price_{}", item.lookup_key.as_deref().unwrap_or("unknown")),
                    "object": "price",
                    "active": true,
                    "lookup_key": item.lookup_key,
                    "type": "recurring",
                },
                "quantity": item.quantity,
                "subscription": sub.id,
                "current_period_start": item.current_period_start.map(|t| t.timestamp()),
                "current_period_end": item.current_period_end.map(|t| t.timestamp()),
            })
        })
        .collect();
    json!({
        "id": sub.id,
        "object": "subscription",
        "cancel_at_period_end": sub.cancel_at_period_end,
        "collection_method": "charge_automatically",
        "created": created.timestamp(),
        "customer": sub.customer,
        "items": {"object": "list", "data": items, "has_more": false, "url": format!("/v1/subscription_items?subscription={}", sub.id)},
        "livemode": false,
        "metadata": sub.metadata,
        "status": sub.status,
    })
}

/// A completed Stripe checkout session object for `session`.
#[must_use]
pub fn checkout_session_object(session: &CheckoutSession, customer: &str) -> Value {
    json!({
        "id": session.id,
        "object": "checkout.session",
        "client_reference_id": session.org,
        "created": session.created_at.timestamp(),
        "customer": customer,
        "livemode": false,
        "metadata": session.org.as_ref().map_or_else(|| json!({}), |org| json!({ "org": org })),
        "mode": "subscription",
        "payment_status": "paid",
        "status": serde_json::to_value(session.status).unwrap_or(Value::Null),
        "subscription": session.subscription,
        "url": Value::Null,
    })
}

/// A paid Stripe invoice object for `sub`'s current period.
#[must_use]
pub fn invoice_object(id: &str, sub: &ProviderSubscription, amount_paid: i64, currency: &str) -> Value {
    let start = sub.items.iter().filter_map(|i| i.current_period_start).min();
    let end = sub.items.iter().filter_map(|i| i.current_period_end).max();
    json!({
        "id": id,
        "object": "invoice",
        "amount_due": amount_paid,
        "amount_paid": amount_paid,
        "billing_reason": "subscription_create",
        "currency": currency,
        "customer": sub.customer,
        "livemode": false,
        "parent": {
            "type": "subscription_details",
            "quote_details": null,
            "subscription_details": {"metadata": sub.metadata, "subscription": sub.id},
        },
        "period_start": start.map(|t| t.timestamp()),
        "period_end": end.map(|t| t.timestamp()),
        "status": "paid",
    })
}

/// A Stripe event envelope around `object`.
#[must_use]
pub fn event(id: &str, event_type: &str, created: DateTime<Utc>, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": crate::API_VERSION,
        "created": created.timestamp(),
        "data": {"object": object},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": Value::Null, "idempotency_key": Value::Null},
        "type": event_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("time")
    }

    fn sub() -> ProviderSubscription {
        ProviderSubscription {
            id: "sub_1".into(),
            customer: "cus_1".into(),
            status: "active".into(),
            metadata: BTreeMap::from([("org".into(), "org_a".into())]),
            cancel_at_period_end: true,
            items: vec![ProviderItem {
                id: "si_1".into(),
                lookup_key: Some("seatflow_essential_monthly".into()),
                quantity: 3,
                current_period_start: Some(at(100)),
                current_period_end: Some(at(200)),
            }],
        }
    }

    #[test]
    fn a_rendered_subscription_reads_back_the_same() {
        let object = subscription_object(&sub(), at(50)).to_string();
        assert_eq!(read_subscription(&object), Ok(sub()));
        assert_eq!(
            subscription_of("customer.subscription.updated", &object),
            Ok(SubscriptionRef::Embedded(Box::new(sub())))
        );
    }

    #[test]
    fn invoices_and_sessions_name_their_subscription_in_either_api_shape() {
        let invoice = invoice_object("in_1", &sub(), 300, "usd").to_string();
        assert_eq!(
            subscription_of("invoice.paid", &invoice),
            Ok(SubscriptionRef::Named("sub_1".into()))
        );
        let legacy = json!({"id": "in_2", "object": "invoice", "subscription": "sub_9"}).to_string();
        assert_eq!(
            subscription_of("invoice.payment_failed", &legacy),
            Ok(SubscriptionRef::Named("sub_9".into()))
        );
        let expanded = json!({"id": "cs_1", "subscription": {"id": "sub_3"}}).to_string();
        assert_eq!(
            subscription_of("checkout.session.completed", &expanded),
            Ok(SubscriptionRef::Named("sub_3".into()))
        );
        let one_off = json!({"id": "cs_2", "mode": "payment", "subscription": null}).to_string();
        assert_eq!(
            subscription_of("checkout.session.completed", &one_off),
            Ok(SubscriptionRef::None)
        );
        assert!(subscription_of("invoice.paid", "not json").is_err());
    }
}
