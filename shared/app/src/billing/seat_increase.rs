//! Seats added to a running subscription, prorated. One retry-safety
//! strategy, whoever asks (the API or the portal):
//! - the client says the quantity it saw (`quantity_before`, the preview's):
//!   the seats are added only from that quantity, so a retry of a request
//!   that was carried out is refused (409 `quantity_changed`, with what
//!   adding would do now) instead of billed again, and the provider gets a
//!   key derived from the subscription, product and quantities, so that two
//!   attempts racing to the provider are one change there;
//! - with an `Idempotency-Key` as well (or alone), a retry replays the first
//!   answer, and an attempt that died after the provider applied the change
//!   is finished with its own plan under the same provider key.
//!
//! A dry run plans and answers the same, refusals included, and writes
//! nothing: not to the provider, not under the key.

use chrono::Duration;
use seatflow_domain::{
    Actor, IdempotencyKey, ItemQuantity, Mode, PaymentError, ProrationBehavior, SeatIncrease, Started,
};
use serde::{Deserialize, Serialize};

use super::{Billing, BillingError};

/// How long an attempt holds its `Idempotency-Key` before a retry may take
/// it over (longer than the Stripe client's retries of one request).
const IDEMPOTENCY_LEASE_SECONDS: i64 = 60;

/// Seats or add-on seats to add.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddSeats {
    /// The subscription's plan, or an add-on.
    pub product: String,
    /// Seats to add (1 or more).
    pub quantity: i64,
    /// How the provider bills the change; the configured default if absent.
    #[serde(default)]
    pub proration_behavior: Option<ProrationBehavior>,
    /// The product's quantity on the subscription as the client last saw it
    /// (a preview's `quantity_before`). When given, the seats are added only
    /// from that quantity: a retry after the seats were added is refused
    /// with 409 `quantity_changed` instead of adding them again.
    #[serde(default)]
    pub quantity_before: Option<u32>,
}

/// What adding seats answered.
#[derive(Debug, Clone)]
pub struct SeatsAdded {
    /// The increase and what it costs ([`SeatIncrease`] as JSON, with
    /// `dry_run`), as the request under this key first answered it when it
    /// is a retry.
    pub answer: serde_json::Value,
    /// True when a request under the same `Idempotency-Key` was carried out
    /// before and this is its answer again.
    pub replayed: bool,
}

/// A seat change as decided: the provider's change (none when nothing
/// changes) and the answer, kept under the request's `Idempotency-Key` so
/// that a retry carries out the same change.
#[derive(Debug, Serialize, Deserialize)]
struct SeatPlan {
    change: Option<ItemQuantity>,
    answer: serde_json::Value,
}

impl Billing {
    /// Adding `add` seats of `product` to subscription `id` of `caller`'s
    /// organisation, billed per `behavior` (the configured default when
    /// `None`): what changes and what it costs now. Nothing changes yet.
    ///
    /// # Errors
    /// [`BillingError::SubscriptionNotFound`]; the catalog's refusals
    /// (unknown product, bad quantity, add-ons beyond the base seats); the
    /// provider's and the store's failures.
    pub async fn plan_seat_increase(
        &self,
        caller: &Actor,
        id: &str,
        product: &str,
        add: i64,
        behavior: Option<ProrationBehavior>,
    ) -> Result<SeatIncrease, BillingError> {
        let behavior = behavior.unwrap_or(self.proration);
        let (_, current) = self.provider_subscription(caller, id).await?;
        let at = self.seats.clock().now();
        let mut increase = self
            .seats
            .catalog()
            .plan_seat_increase(&current, product, add, behavior, at)?;
        if let Some(change) = increase.change() {
            increase.proration.amount_due.minor = self
                .payments
                .preview_quantity_change(id, change, behavior, at)
                .await?;
        }
        Ok(increase)
    }

    /// Adds seats (or add-on seats) to subscription `id` of `caller`'s
    /// organisation (admins), safe to retry (see the module). In a
    /// [`Mode::DryRun`], only what it would do and cost.
    ///
    /// # Errors
    /// Those of [`Self::plan_seat_increase`];
    /// [`BillingError::QuantityChanged`] when the subscription no longer
    /// holds `quantity_before`; [`BillingError::IdempotencyKeyInUse`],
    /// [`BillingError::IdempotencyKeyReused`]; the provider's refusal (the
    /// key is then free for a corrected retry).
    pub async fn add_seats(
        &self,
        caller: &Actor,
        id: &str,
        request: &AddSeats,
        key: Option<&IdempotencyKey>,
        mode: Mode,
    ) -> Result<SeatsAdded, BillingError> {
        caller.require_admin("change subscriptions")?;
        let behavior = request.proration_behavior.unwrap_or(self.proration);
        let increase = self
            .plan_seat_increase(caller, id, &request.product, request.quantity, Some(behavior))
            .await?;
        let record = |e: serde_json::Error| BillingError::IdempotencyRecord(e.to_string());
        let mut answer = serde_json::to_value(&increase).map_err(record)?;
        answer["dry_run"] = serde_json::Value::Bool(mode == Mode::DryRun);
        if mode == Mode::DryRun {
            expect_quantity(request, &increase)?;
            return Ok(SeatsAdded {
                answer,
                replayed: false,
            });
        }
        let planned = SeatPlan {
            change: increase.change().cloned(),
            answer,
        };
        let Some(key) = key else {
            expect_quantity(request, &increase)?;
            let provider_key = request
                .quantity_before
                .map(|_| quantity_key(caller, id, &increase));
            if let Some(change) = increase.change() {
                self.payments
                    .set_quantity(id, change, behavior, provider_key.as_deref())
                    .await?;
            }
            tracing::info!(org = %caller.org, subscription = %id, product = %increase.product,
                from = increase.quantity_before, to = increase.quantity_after, "seats added");
            return Ok(SeatsAdded {
                answer: planned.answer,
                replayed: false,
            });
        };
        let idempotency = self
            .idempotency
            .as_deref()
            .ok_or_else(|| BillingError::IdempotencyRecord("no idempotency store is configured".into()))?;
        let fingerprint = format!(
            "POST /v1/subscriptions/{id}/seats {}:{}:{:?}:{:?}",
            request.product, request.quantity, request.proration_behavior, request.quantity_before
        );
        let now = self.seats.clock().now();
        let lease = now + Duration::seconds(IDEMPOTENCY_LEASE_SECONDS);
        let planned_text = serde_json::to_string(&planned).map_err(record)?;
        let plan = match idempotency
            .start(&caller.org, key, &fingerprint, &planned_text, now, lease)
            .await?
        {
            Started::New => {
                if let Err(error) = expect_quantity(request, &increase) {
                    idempotency.abandon(&caller.org, key).await?;
                    return Err(error);
                }
                planned
            }
            Started::Resumed { plan } => serde_json::from_str(&plan).map_err(record)?,
            Started::Replay { response } => {
                return Ok(SeatsAdded {
                    answer: serde_json::from_str(&response).map_err(record)?,
                    replayed: true,
                });
            }
            Started::InProgress => return Err(BillingError::IdempotencyKeyInUse),
            Started::Mismatch => return Err(BillingError::IdempotencyKeyReused),
        };
        if let Some(change) = &plan.change {
            let provider_key = key.provider_key(&caller.org, "seats");
            if let Err(error) = self
                .payments
                .set_quantity(id, change, behavior, Some(&provider_key))
                .await
            {
                // Refused: nothing changed, so the key is free for a corrected
                // retry. Unreachable or silent: it may have changed, so the key
                // stays with its plan, and a retry after the lease finishes it.
                if matches!(
                    error,
                    PaymentError::Rejected { .. } | PaymentError::MissingPrice(_)
                ) {
                    idempotency.abandon(&caller.org, key).await?;
                }
                return Err(error.into());
            }
        }
        idempotency
            .finish(&caller.org, key, &plan.answer.to_string())
            .await?;
        tracing::info!(org = %caller.org, subscription = %id, key = %key, "seats added");
        Ok(SeatsAdded {
            answer: plan.answer,
            replayed: false,
        })
    }
}

/// Refuses an increase planned from another quantity than the client saw.
fn expect_quantity(request: &AddSeats, increase: &SeatIncrease) -> Result<(), BillingError> {
    match request.quantity_before {
        Some(expected) if expected != increase.quantity_before => Err(BillingError::QuantityChanged {
            expected,
            current: Box::new(increase.clone()),
        }),
        _ => Ok(()),
    }
}

/// The provider's key for an increase from a stated quantity: the same for
/// every retry of it, different for any other increase.
fn quantity_key(caller: &Actor, id: &str, increase: &SeatIncrease) -> String {
    format!(
        "seatflow:{}:seats:{id}:{}:{}:{}",
        caller.org, increase.product, increase.quantity_before, increase.quantity_after
    )
}
