//! Ending a subscription at its period's end, and taking that back (the
//! flow is `seatflow_app::Billing::set_cancel_at_period_end`).

use axum::Json;
use axum::extract::State;
use seatflow_app::RenewalChange;
use seatflow_http::{ApiError, ApiPath, ApiQuery, Caller, DryRun, Problem};

use crate::CheckoutState;

/// Ends the subscription at its current period's end (Stripe's "cancel at
/// period end"). `?dry_run=true` shows the outcome and its audit entry.
/// With an `Idempotency-Key`, the provider carries the request out once.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/cancellation", tag = "checkout",
    params(("id" = String, Path, description = "Subscription id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 printable characters")),
    responses((status = 200, body = RenewalChange), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the subscription has already ended"),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn cancel_at_period_end(
    caller: Caller,
    state: State<CheckoutState>,
    id: ApiPath<String>,
    dry: ApiQuery<DryRun>,
    headers: axum::http::HeaderMap,
) -> Result<Json<RenewalChange>, ApiError> {
    change_renewal(caller, state, id, dry, &headers, true).await
}

/// Takes back an end at the period's end: the subscription renews again.
#[utoipa::path(delete, path = "/v1/subscriptions/{id}/cancellation", tag = "checkout",
    params(("id" = String, Path, description = "Subscription id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 printable characters")),
    responses((status = 200, body = RenewalChange), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the subscription has already ended"),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn undo_cancellation(
    caller: Caller,
    state: State<CheckoutState>,
    id: ApiPath<String>,
    dry: ApiQuery<DryRun>,
    headers: axum::http::HeaderMap,
) -> Result<Json<RenewalChange>, ApiError> {
    change_renewal(caller, state, id, dry, &headers, false).await
}

async fn change_renewal(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(dry): ApiQuery<DryRun>,
    headers: &axum::http::HeaderMap,
    cancel: bool,
) -> Result<Json<RenewalChange>, ApiError> {
    caller.require_admin("change subscriptions")?;
    let key = seatflow_http::idempotency_key(headers)?;
    let changed = state
        .billing()
        .set_cancel_at_period_end(&caller, &id, cancel, dry.mode(), key.as_ref())
        .await?;
    Ok(Json(changed))
}
