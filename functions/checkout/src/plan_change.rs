//! Another plan or term for a running subscription (the flow is
//! `seatflow_app::Billing::change_plan`).

use axum::Json;
use axum::extract::State;
use seatflow_app::{ChangePlan, PlanChangeResult};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, DryRun, Problem};

use crate::CheckoutState;

/// Moves the subscription to another plan and/or term. `?dry_run=true`
/// shows the outcome, what it costs now and its audit entry. An
/// `Idempotency-Key` goes on to the provider.
#[utoipa::path(put, path = "/v1/subscriptions/{id}/plan", tag = "checkout", request_body = ChangePlan,
    params(("id" = String, Path, description = "Subscription id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 printable characters")),
    responses((status = 200, body = PlanChangeResult), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the subscription has ended"),
        (status = 415, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem),
        (status = 503, body = Problem)))]
pub async fn change_plan(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(dry): ApiQuery<DryRun>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<ChangePlan>,
) -> Result<Json<PlanChangeResult>, ApiError> {
    caller.require_admin("change subscriptions")?;
    let key = seatflow_http::idempotency_key(&headers)?;
    let changed = state
        .billing()
        .change_plan(&caller, &id, &request, dry.mode(), key.as_ref())
        .await?;
    Ok(Json(changed))
}
