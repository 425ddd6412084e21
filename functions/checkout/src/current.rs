//! What every change of a running subscription starts from: the caller's
//! subscription as seatflow stores it (another organisation's is not found)
//! and as the payment provider holds it now.

use chrono::{DateTime, Utc};
use seatflow_domain::{Actor, ProviderSubscription, SubscriptionId, SubscriptionSnapshot};
use seatflow_http::ApiError;

use crate::CheckoutState;

/// A subscription of the caller's organisation, read from the provider.
pub(crate) struct Current {
    /// Its id.
    pub id: SubscriptionId,
    /// As the provider holds it.
    pub provider: ProviderSubscription,
    /// The same, in seatflow's terms.
    pub snapshot: SubscriptionSnapshot,
    /// Taken before the provider was asked: the state is at least this new.
    pub read_at: DateTime<Utc>,
}

/// Subscription `id` of `caller`'s organisation, as the provider holds it.
///
/// # Errors
/// 404 for an id that is not the organisation's (here or at the provider);
/// the provider's and the store's failures.
pub(crate) async fn current(caller: &Actor, state: &CheckoutState, id: &str) -> Result<Current, ApiError> {
    let seats = &state.app.seats;
    let read_at = seats.clock().now();
    let (subscription_id, provider) =
        seatflow_http::billing::provider_subscription(seats, state.payments.as_ref(), caller, id).await?;
    let snapshot = provider
        .snapshot(seats.catalog())
        .map_err(|e| ApiError::upstream("payment_provider_refused", &e))?;
    Ok(Current {
        id: subscription_id,
        provider,
        snapshot,
        read_at,
    })
}

/// 409 `subscription_ended`, saying `why`.
pub(crate) fn ended(why: String) -> ApiError {
    ApiError::new(axum::http::StatusCode::CONFLICT, "subscription_ended", why)
}
