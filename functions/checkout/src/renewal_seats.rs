//! Fewer seats from the next renewal on (the flow is
//! `seatflow_app::Billing::set_renewal_seats`).

use axum::Json;
use axum::extract::State;
use seatflow_app::{RenewalSeatsChange, SetRenewalSeats};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, DryRun, Problem};

use crate::CheckoutState;

/// Renews the subscription with fewer seats of a product, from the next
/// period on; until then, the seats paid for stay. `?dry_run=true` shows the
/// outcome and its audit entry. An `Idempotency-Key` goes on to the provider.
#[utoipa::path(put, path = "/v1/subscriptions/{id}/renewal-seats", tag = "checkout", request_body = SetRenewalSeats,
    params(("id" = String, Path, description = "Subscription id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 printable characters")),
    responses((status = 200, body = RenewalSeatsChange), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "fewer seats than are assigned (decrease_below_assigned), or the subscription has ended"),
        (status = 415, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem),
        (status = 503, body = Problem)))]
pub async fn set_renewal_seats(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(dry): ApiQuery<DryRun>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<SetRenewalSeats>,
) -> Result<Json<RenewalSeatsChange>, ApiError> {
    caller.require_admin("change subscriptions")?;
    let key = seatflow_http::idempotency_key(&headers)?;
    let changed = state
        .billing()
        .set_renewal_seats(&caller, &id, &request, dry.mode(), key.as_ref())
        .await?;
    Ok(Json(changed))
}
