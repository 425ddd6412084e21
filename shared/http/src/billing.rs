//! Seats added to a running subscription, as the API and the portal both
//! offer it: the caller's own subscription (another organisation's is not
//! found), read from the payment provider, planned by the catalog and
//! priced by the provider's own preview, so that what a customer is shown
//! is what they are charged.

use seatflow_domain::{
    Actor, PaymentGateway, ProrationBehavior, ProviderSubscription, SeatIncrease, Seats, SubscriptionId,
};

use crate::ApiError;

/// Subscription `id` of `caller`'s organisation as the payment provider
/// holds it now: seatflow's record is read first, so that another
/// organisation's subscription is not found, then the provider's, whose
/// metadata must name the same organisation.
///
/// # Errors
/// 404 for an id that is not the organisation's (here or at the provider);
/// the provider's and the store's failures.
pub async fn provider_subscription(
    seats: &Seats,
    payments: &dyn PaymentGateway,
    caller: &Actor,
    id: &str,
) -> Result<(SubscriptionId, ProviderSubscription), ApiError> {
    let not_found = || ApiError::not_found(format!("subscription '{id}' not found"));
    let subscription_id: SubscriptionId = id.parse().map_err(|_| not_found())?;
    seats.subscription(caller, &subscription_id).await?;
    let provider = payments
        .subscription(id)
        .await?
        .filter(|s| s.org() == Some(caller.org.as_str()))
        .ok_or_else(not_found)?;
    Ok((subscription_id, provider))
}

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
    let (_, current) = provider_subscription(seats, payments, caller, id).await?;
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
