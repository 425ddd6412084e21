//! Reading a verified event: only the few fields needed, from the raw JSON,
//! so that an event type or API version this code has never seen still gets
//! its 200 (typed Stripe parsers fail on those).

use chrono::{DateTime, Utc};
use seatflow_domain::ProvisioningJob;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The events a seat subscription needs; every other type is acknowledged and dropped.
pub const NEEDED: [&str; 12] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    // Not strictly needed to provision, but cheap to carry: a trial ending
    // soon is a renewal-reminder trigger.
    "customer.subscription.trial_will_end",
];

/// Why a verified body is not an event we can read.
#[derive(Debug, thiserror::Error)]
#[error("not a Stripe event: {0}")]
pub struct EventError(String);

#[derive(Deserialize)]
struct Envelope<'a> {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    #[serde(borrow)]
    data: Data<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    object: &'a RawValue,
}

/// The identifiers that place an object in a group; every one optional.
#[derive(Deserialize, Default)]
struct Ids {
    id: Option<String>,
    object: Option<String>,
    subscription: Option<serde_json::Value>,
    customer: Option<serde_json::Value>,
    parent: Option<Parent>,
}

#[derive(Deserialize)]
struct Parent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Deserialize)]
struct SubscriptionDetails {
    subscription: Option<serde_json::Value>,
}

/// An id field that may be a string or an expanded object with an `id`.
fn id_of(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("id").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

/// The group an object's events are applied in: its subscription, else its
/// customer, else the object itself.
fn group_of(object: &RawValue) -> Option<String> {
    let ids: Ids = serde_json::from_str(object.get()).unwrap_or_default();
    let subscription = if ids.object.as_deref() == Some("subscription") {
        ids.id.clone()
    } else {
        id_of(ids.subscription.as_ref()).or_else(|| {
            // The current API names an invoice's subscription under parent.subscription_details.
            id_of(
                ids.parent
                    .as_ref()?
                    .subscription_details
                    .as_ref()?
                    .subscription
                    .as_ref(),
            )
        })
    };
    subscription.or_else(|| id_of(ids.customer.as_ref())).or(ids.id)
}

/// The provisioning job of a verified event body, or `None` for an event
/// type the product does not need.
///
/// # Errors
/// [`EventError`] when the body is not an event (no id, type, creation time or object).
pub fn job_of(body: &[u8]) -> Result<Option<ProvisioningJob>, EventError> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(|e| EventError(e.to_string()))?;
    if !NEEDED.contains(&envelope.event_type.as_str()) {
        return Ok(None);
    }
    let occurred_at = DateTime::<Utc>::from_timestamp(envelope.created, 0)
        .ok_or_else(|| EventError(format!("created {} is not a time", envelope.created)))?;
    let group = group_of(envelope.data.object).unwrap_or_else(|| envelope.id.clone());
    Ok(Some(ProvisioningJob {
        event_id: envelope.id,
        event_type: envelope.event_type,
        occurred_at,
        group,
        object: envelope.data.object.to_owned(),
    }))
}
