//! Another plan or term for a running subscription. The provider reprices
//! the items (prorated per the configured behaviour; a new term starts a new
//! period now); seatflow applies its answer at once, and the old plan's
//! holders move to the new plan with their teams' allocations (see the
//! domain's plan moves). The request names the plan and term wanted, so a
//! retry asks for the same thing.

use std::collections::BTreeMap;

use seatflow_domain::{
    Actor, AuditAction, AuditEntry, IdempotencyKey, Mode, PriceChange, ProrationBehavior, Term,
};
use serde::{Deserialize, Serialize};

use super::{Billing, BillingError, Current};

/// The plan and term wanted.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl Billing {
    /// Moves subscription `id` to another plan and/or term (admins); with
    /// [`Mode::DryRun`] shows the outcome, what it costs now and its audit
    /// entry. `key` goes on to the provider.
    ///
    /// # Errors
    /// [`BillingError::SubscriptionNotFound`], [`BillingError::SubscriptionEnded`];
    /// the catalog's refusals; the provider's and the store's failures.
    pub async fn change_plan(
        &self,
        caller: &Actor,
        id: &str,
        request: &ChangePlan,
        mode: Mode,
        key: Option<&IdempotencyKey>,
    ) -> Result<PlanChangeResult, BillingError> {
        let seats = &self.seats;
        let Current {
            provider: current,
            mut snapshot,
            read_at,
            ..
        } = self
            .entitling(caller, id, "has ended or is not paid; buy again")
            .await?;
        let behavior = request.proration_behavior.unwrap_or(self.proration);
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
                .views()
                .licenses(caller)
                .await?
                .iter()
                .find(|l| l.product == change.plan_before)
                .map_or(0, |l| l.assigned)
        };
        let dry_run = mode == Mode::DryRun;
        let respond = |change: PriceChange, changed, audit| PlanChangeResult {
            dry_run,
            change,
            seats_moving,
            changed,
            audit,
        };
        if change.changes().is_empty() {
            return Ok(respond(change, false, None));
        }
        let keep = BTreeMap::new();
        let action = AuditAction::PlanChanged;
        if dry_run {
            if let Some(quantity) = snapshot.items.remove(&change.plan_before) {
                snapshot.items.insert(change.plan_after.clone(), quantity);
            }
            snapshot.term = Some(change.term_after);
            let audit = self
                .apply_requested(caller, &snapshot, action, &keep, read_at, Mode::DryRun)
                .await?;
            return Ok(respond(change, true, audit));
        }
        let provider_key = key.map(|k| {
            k.provider_key(
                &caller.org,
                &format!("plan:{}:{:?}", change.plan_after, change.term_after),
            )
        });
        let read_at = seats.clock().now();
        let updated = self
            .payments
            .change_prices(id, change.changes(), behavior, provider_key.as_deref())
            .await?;
        let (_, audit) = self
            .apply_answer(caller, &updated, action, &keep, read_at)
            .await?;
        tracing::info!(org = %caller.org, subscription = %id, from = %change.plan_before, to = %change.plan_after,
            term = ?change.term_after, "plan changed");
        Ok(respond(change, true, audit))
    }
}
