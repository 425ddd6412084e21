//! Another plan or term for a running subscription. The provider reprices
//! the items (prorated per the configured behaviour; a new term starts a new
//! period now); seatflow applies its answer at once, and the old plan's
//! holders move to the new plan with their teams' allocations (see the
//! domain's plan moves). The request names the plan and term wanted, so a
//! retry asks for the same thing.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use seatflow_domain::{AuditAction, AuditEntry, Mode, PriceChange, ProrationBehavior, Term};
use seatflow_http::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, DryRun, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::CheckoutState;
use crate::cancellation::audit_of;

/// The plan and term wanted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePlan {
    /// The plan (`essential`, `professional`, `enterprise`); the current
    /// one when absent.
    pub plan: Option<String>,
    /// `monthly` or `annual`; the current one when absent.
    pub term: Option<Term>,
    /// How the provider bills it; the configured default when absent.
    #[serde(default)]
    pub proration_behavior: Option<ProrationBehavior>,
}

/// A plan or term change, as planned or made.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanChangeResult {
    /// True when nothing was changed (a preview).
    pub dry_run: bool,
    /// What changes, and what it costs now.
    #[serde(flatten)]
    pub change: PriceChange,
    /// Seats of the old plan that move to the new one (their holders keep a
    /// seat, in the same team).
    pub seats_moving: u32,
    /// False when the subscription already has that plan and term.
    pub changed: bool,
    /// The audit entry written, or that a preview would write.
    pub audit: Option<AuditEntry>,
}

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
    let seats = &state.app.seats;
    let crate::current::Current {
        provider: current,
        mut snapshot,
        read_at,
        ..
    } = crate::current::current(&caller, &state, &id).await?;
    if !snapshot.status.entitles() {
        return Err(crate::current::ended(format!(
            "subscription '{id}' has ended or is not paid; buy again"
        )));
    }
    let behavior = request.proration_behavior.unwrap_or(state.config.proration);
    let change = seats.catalog().plan_price_change(
        &current,
        request.plan.as_deref(),
        request.term,
        behavior,
        read_at,
    )?;
    let seats_moving = if change.plan_after == change.plan_before {
        0
    } else {
        seats
            .licenses(&caller)
            .await?
            .iter()
            .find(|l| l.product == change.plan_before)
            .map_or(0, |l| l.assigned)
    };
    let respond = |change: PriceChange, changed, audit| PlanChangeResult {
        dry_run: dry.dry_run,
        change,
        seats_moving,
        changed,
        audit,
    };
    if change.changes().is_empty() {
        return Ok(Json(respond(change, false, None)));
    }
    let keep = BTreeMap::new();
    if dry.dry_run {
        if let Some(quantity) = snapshot.items.remove(&change.plan_before) {
            snapshot.items.insert(change.plan_after.clone(), quantity);
        }
        snapshot.term = Some(change.term_after);
        let applied = seats
            .apply_requested_change(
                &caller,
                &snapshot,
                AuditAction::PlanChanged,
                &keep,
                read_at,
                Mode::DryRun,
            )
            .await?;
        return Ok(Json(respond(change, true, audit_of(applied))));
    }
    let provider_key = key.map(|k| {
        k.provider_key(
            &caller.org,
            &format!("plan:{}:{:?}", change.plan_after, change.term_after),
        )
    });
    let read_at = seats.clock().now();
    let updated = state
        .payments
        .change_prices(&id, change.changes(), behavior, provider_key.as_deref())
        .await?;
    let snapshot = updated
        .snapshot(seats.catalog())
        .map_err(|e| ApiError::upstream("payment_provider_refused", &e))?;
    let applied = seats
        .apply_requested_change(
            &caller,
            &snapshot,
            AuditAction::PlanChanged,
            &keep,
            read_at,
            Mode::Apply,
        )
        .await?;
    tracing::info!(org = %caller.org, subscription = %id, from = %change.plan_before, to = %change.plan_after,
        term = ?change.term_after, "plan changed");
    Ok(Json(respond(change, true, audit_of(applied))))
}
