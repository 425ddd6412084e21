//! Reading a verified event: only the few fields needed, from the raw JSON,
//! so that an event type or API version this code has never seen still gets
//! its 200 (typed Stripe parsers fail on those). What the event is about
//! (its subscription, the organisation it names) is read here, once, into
//! the job: nothing later parses Stripe's JSON.

use chrono::{DateTime, Utc};
use seatflow_domain::{JobSubject, ProvisioningJob};
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
fn group_of(object: &str) -> Option<String> {
    let ids: Ids = serde_json::from_str(object).unwrap_or_default();
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
    Ok(Some(job_for(
        &envelope.id,
        &envelope.event_type,
        occurred_at,
        envelope.data.object.get(),
    )))
}

/// The provisioning job of event `event_id` of `event_type` about `object`
/// (Stripe's JSON): its group, and what it is about.
#[must_use]
pub fn job_for(
    event_id: &str,
    event_type: &str,
    occurred_at: DateTime<Utc>,
    object: &str,
) -> ProvisioningJob {
    let org = named_org(object);
    let subject = match crate::wire::subscription_of(event_type, object) {
        // The payload's state is ignored: only the id is taken from it.
        Ok(crate::wire::SubscriptionRef::Embedded(sub)) => JobSubject::Subscription { id: sub.id, org },
        Ok(crate::wire::SubscriptionRef::Named(id)) => JobSubject::Subscription { id, org },
        Ok(crate::wire::SubscriptionRef::None) => JobSubject::NoSubscription { org },
        Err(e) => JobSubject::Malformed {
            what: e.what.to_owned(),
            detail: e.detail,
            org,
        },
    };
    ProvisioningJob {
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        occurred_at,
        group: group_of(object).unwrap_or_else(|| event_id.to_owned()),
        subject,
    }
}

/// The organisation an object names (a subscription's or invoice's
/// metadata, a checkout session's reference), as it names it.
fn named_org(object: &str) -> Option<String> {
    let object: serde_json::Value = serde_json::from_str(object).ok()?;
    [
        &object["metadata"]["org"],
        &object["client_reference_id"],
        &object["subscription_details"]["metadata"]["org"],
        &object["parent"]["subscription_details"]["metadata"]["org"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().filter(|o| !o.is_empty()).map(str::to_owned))
}
