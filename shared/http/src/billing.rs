//! Seats added to a running subscription, as the API and the portal both
//! offer it: the caller's own subscription (another organisation's is not
//! found), read from the payment provider, planned by the catalog and
//! priced by the provider's own preview, so that what a customer is shown
//! is what they are charged.

use seatflow_domain::{Actor, PaymentGateway, ProrationBehavior, SeatIncrease, Seats, SubscriptionId};

use crate::ApiError;

/// Adding `add` seats of `product` to subscription `id` of `caller`'s
/// organisation, billed per `behavior`: what changes and what it costs now.
/// Nothing changes yet.
///
/// # Errors
/// 404 for a subscription that is not the organisation's; the catalog's
/// refusals (unknown product, bad quantity, add-ons beyond the base seats);
/// the provider's and the store's failures.
pub async fn plan_seat_increase(
    seats: &Seats,
    payments: &dyn PaymentGateway,
    caller: &Actor,
    id: &str,
    product: &str,
    add: i64,
    behavior: ProrationBehavior,
) -> Result<SeatIncrease, ApiError> {
    let not_found = || ApiError::not_found(format!("subscription '{id}' not found"));
    let subscription_id: SubscriptionId = id.parse().map_err(|_| not_found())?;
    // Ours first: a subscription of another organisation is not found.
    seats.subscription(caller, &subscription_id).await?;
    let current = payments
        .subscription(id)
        .await?
        .filter(|s| s.org() == Some(caller.org.as_str()))
        .ok_or_else(not_found)?;
    let at = seats.clock().now();
    let mut increase = seats
        .catalog()
        .plan_seat_increase(&current, product, add, behavior, at)?;
    if let Some(change) = increase.change() {
        increase.proration.amount_due.minor =
            payments.preview_quantity_change(id, change, behavior, at).await?;
    }
    Ok(increase)
}
