//! Ending a subscription at its period's end, and taking that back: the
//! admin asks, the payment provider changes the subscription, and seatflow
//! applies the provider's answer at once, audited under the admin (the
//! provider's event for the change arrives later and finds it in place).
//! Seats stay until the period ends; nothing is billed or credited.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use seatflow_domain::{Applied, AuditAction, AuditEntry, Mode, SubscriptionId, SubscriptionStatus};
use seatflow_http::{ApiError, ApiPath, ApiQuery, Caller, DryRun, Problem};
use serde::Serialize;
use utoipa::ToSchema;

use crate::CheckoutState;

/// A subscription's renewal after the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalChange {
    /// True when nothing was changed (a preview).
    pub dry_run: bool,
    /// The subscription.
    #[schema(value_type = String)]
    pub subscription: SubscriptionId,
    /// Whether it now ends at its period's end.
    pub cancel_at_period_end: bool,
    /// When it ends (its period's end) if it does; seats stay until then.
    pub ends_at: Option<DateTime<Utc>>,
    /// When it renews, if it does.
    pub renews_at: Option<DateTime<Utc>>,
    /// False when it already was so: nothing changed, nothing audited.
    pub changed: bool,
    /// The audit entry written, or that a preview would write.
    pub audit: Option<AuditEntry>,
}

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
    let seats = &state.app.seats;
    let crate::current::Current {
        mut snapshot,
        read_at,
        ..
    } = crate::current::current(&caller, &state, &id).await?;
    if matches!(
        snapshot.status,
        SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
    ) {
        return Err(crate::current::ended(format!(
            "subscription '{id}' has already ended; buy again to renew"
        )));
    }
    let action = if cancel {
        AuditAction::CancellationScheduled
    } else {
        AuditAction::CancellationUndone
    };
    let respond = |snapshot: &seatflow_domain::SubscriptionSnapshot, changed, audit, dry_run| RenewalChange {
        dry_run,
        subscription: snapshot.id.clone(),
        cancel_at_period_end: snapshot.cancel_at_period_end,
        ends_at: snapshot
            .current_period_end
            .filter(|_| snapshot.cancel_at_period_end),
        renews_at: snapshot
            .current_period_end
            .filter(|_| !snapshot.cancel_at_period_end),
        changed,
        audit,
    };
    if snapshot.cancel_at_period_end == cancel {
        return Ok(Json(respond(&snapshot, false, None, dry.dry_run)));
    }
    if dry.dry_run {
        snapshot.cancel_at_period_end = cancel;
        let applied = seats
            .apply_requested_change(
                &caller,
                &snapshot,
                action,
                &BTreeMap::new(),
                read_at,
                Mode::DryRun,
            )
            .await?;
        return Ok(Json(respond(&snapshot, true, audit_of(applied), true)));
    }
    let provider_key = key.map(|k| k.provider_key(&caller.org, if cancel { "cancel" } else { "resume" }));
    let read_at = seats.clock().now();
    let updated = state
        .payments
        .set_cancel_at_period_end(&id, cancel, provider_key.as_deref())
        .await?;
    let snapshot = updated
        .snapshot(seats.catalog())
        .map_err(|e| ApiError::upstream("payment_provider_refused", &e))?;
    let applied = seats
        .apply_requested_change(&caller, &snapshot, action, &BTreeMap::new(), read_at, Mode::Apply)
        .await?;
    tracing::info!(org = %caller.org, subscription = %id, cancel, "renewal changed");
    Ok(Json(respond(&snapshot, true, audit_of(applied), false)))
}

/// The audit entry of an applied change.
pub(crate) fn audit_of(applied: Applied) -> Option<AuditEntry> {
    match applied {
        Applied::Changed(outcome) => Some(outcome.audit),
        _ => None,
    }
}
