//! Fewer seats from the next renewal on ("licenses at next renewal"): the
//! provider holds the lower quantity at once, without proration, so the next
//! invoice bills it; seatflow keeps counting the seats paid for this period
//! until it ends. Never below what is assigned unless the admin accepts the
//! pool going over its limit at renewal. The request names the quantity to
//! renew with, so a retry asks for the same thing.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use seatflow_domain::{AuditAction, AuditEntry, Mode, ProrationBehavior, RenewalSeats};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, DryRun, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::CheckoutState;
use crate::cancellation::audit_of;

/// The seats to renew with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRenewalSeats {
    /// The subscription's plan, or one of its add-ons.
    pub product: String,
    /// Seats from the next renewal on: fewer than now (at least 1 of the
    /// plan; 0 drops an add-on at renewal).
    pub quantity: i64,
    /// Go ahead although fewer seats would remain at renewal than are
    /// assigned: holders keep their seats, the pool shows over its limit, and
    /// new assignments wait for room.
    #[serde(default)]
    pub accept_over_limit: bool,
}

/// A decrease at renewal, as planned or made.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalSeatsChange {
    /// True when nothing was changed (a preview).
    pub dry_run: bool,
    /// What changes, and when.
    #[serde(flatten)]
    pub plan: RenewalSeats,
    /// What the product's pool holds after the renewal.
    pub pool_at_renewal: u32,
    /// False when it already renews with that many: nothing changed.
    pub changed: bool,
    /// The audit entry written, or that a preview would write.
    pub audit: Option<AuditEntry>,
}

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
    let seats = &state.app.seats;
    let crate::current::Current {
        id: subscription_id,
        provider: current,
        mut snapshot,
        read_at,
    } = crate::current::current(&caller, &state, &id).await?;
    if !snapshot.status.entitles() {
        return Err(crate::current::ended(format!(
            "subscription '{id}' has ended or is not paid; nothing renews"
        )));
    }
    let plan = seats
        .catalog()
        .plan_renewal_seats(&current, &request.product, request.quantity)?;
    let pool_at_renewal = seats
        .seats_at_renewal(
            &caller,
            &subscription_id,
            &plan.product,
            plan.quantity_at_renewal,
            request.accept_over_limit,
        )
        .await?;
    let respond = |plan: RenewalSeats, changed, audit| RenewalSeatsChange {
        dry_run: dry.dry_run,
        plan,
        pool_at_renewal,
        changed,
        audit,
    };
    if plan.quantity_at_renewal == plan.quantity_now {
        return Ok(Json(respond(plan, false, None)));
    }
    // What this period was paid for counts until it ends.
    let keep = BTreeMap::from([(plan.product.clone(), plan.quantity_now)]);
    let action = AuditAction::RenewalSeatsReduced;
    if dry.dry_run {
        snapshot
            .items
            .insert(plan.product.clone(), plan.quantity_at_renewal);
        let applied = seats
            .apply_requested_change(&caller, &snapshot, action, &keep, read_at, Mode::DryRun)
            .await?;
        return Ok(Json(respond(plan, true, audit_of(applied))));
    }
    let provider_key = key.map(|k| k.provider_key(&caller.org, "renewal-seats"));
    let read_at = seats.clock().now();
    let updated = state
        .payments
        .set_quantity(
            &id,
            plan.change(),
            ProrationBehavior::None,
            provider_key.as_deref(),
        )
        .await?;
    let snapshot = updated
        .snapshot(seats.catalog())
        .map_err(|e| ApiError::upstream("payment_provider_refused", &e))?;
    let applied = seats
        .apply_requested_change(&caller, &snapshot, action, &keep, read_at, Mode::Apply)
        .await?;
    tracing::info!(org = %caller.org, subscription = %id, product = %plan.product,
        now = plan.quantity_now, at_renewal = plan.quantity_at_renewal, "seats reduced at renewal");
    Ok(Json(respond(plan, true, audit_of(applied))))
}
