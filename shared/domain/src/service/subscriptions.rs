//! Subscriptions at a glance: what an organisation pays for, when each
//! renews and for how much, and whether it ends at the period's end.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Subscriptions;
use crate::access::Actor;
use crate::catalog::Term;
use crate::error::SeatError;
use crate::ids::{ProductId, SubscriptionId};
use crate::money::Money;
use crate::subscription::{Subscription, SubscriptionStatus};

/// Seats of one product on a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionItem {
    /// The product (the plan, or an add-on).
    pub product: ProductId,
    /// Seats that renew.
    pub quantity: u32,
    /// Seats that count until the period ends when more than renew (a
    /// decrease waiting for the renewal); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_period_end: Option<u32>,
}

/// A subscription at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubscriptionOverview {
    /// The provider's id.
    pub id: SubscriptionId,
    /// Its status.
    pub status: SubscriptionStatus,
    /// Its plan, if it has one.
    pub plan: Option<ProductId>,
    /// Monthly or annual.
    pub term: Option<Term>,
    /// Seats per product.
    pub items: Vec<SubscriptionItem>,
    /// The current billing period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// When it renews; absent when it does not (canceled, ending at the
    /// period's end, lapsed).
    pub renews_at: Option<DateTime<Utc>>,
    /// What the renewal costs at today's prices, with the volume discount.
    pub renewal_amount: Option<Money>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
}

impl Subscriptions<'_> {
    /// Every subscription of the organisation, renewing soonest first.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn subscription_overviews(self, actor: &Actor) -> Result<Vec<SubscriptionOverview>, SeatError> {
        actor.require_admin("see subscriptions")?;
        let mut overviews: Vec<SubscriptionOverview> = self
            .store
            .subscriptions(&actor.org)
            .await?
            .iter()
            .map(|s| self.overview(s))
            .collect();
        overviews.sort_by_key(|o| (o.renews_at.is_none(), o.renews_at, o.id.to_string()));
        Ok(overviews)
    }

    /// The seats `product`'s pool holds once subscription `id` renews with
    /// `after` of them (the other sources as now). Refused while fewer than
    /// are assigned, unless the admin accepts the pool going over its limit
    /// at renewal (holders keep their seats; new assignments wait for room).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found;
    /// [`SeatError::DecreaseBelowAssigned`].
    pub async fn seats_at_renewal(
        self,
        actor: &Actor,
        id: &SubscriptionId,
        product: &ProductId,
        after: u32,
        accept_over_limit: bool,
    ) -> Result<u32, SeatError> {
        actor.require_admin("change subscriptions")?;
        let stored = self
            .store
            .subscription(&actor.org, id)
            .await?
            .ok_or_else(|| SeatError::not_found("subscription", id))?;
        let (purchased, assigned) = self
            .store
            .pools(&actor.org)
            .await?
            .into_iter()
            .find(|p| &p.product == product)
            .map_or((0, 0), |p| (p.purchased, p.assigned));
        let at_renewal = purchased
            .saturating_sub(stored.entitled(product))
            .saturating_add(after);
        if assigned > at_renewal && !accept_over_limit {
            return Err(SeatError::DecreaseBelowAssigned {
                product: product.to_string(),
                assigned,
                at_renewal,
            });
        }
        Ok(at_renewal)
    }

    /// The payment provider's customer the organisation pays as: that of the
    /// subscription it counts that was read most recently.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found when the
    /// organisation has bought nothing yet.
    pub async fn billing_customer(self, actor: &Actor) -> Result<String, SeatError> {
        actor.require_admin("manage billing")?;
        self.store
            .subscriptions(&actor.org)
            .await?
            .into_iter()
            .filter(|s| s.moved_to.is_none())
            .max_by_key(|s| s.state_at)
            .map(|s| s.customer)
            .ok_or_else(|| SeatError::not_found("billing account (nothing bought yet)", &actor.org))
    }

    /// The organisation's subscription that counts seats of plan `plan` on
    /// `term`, if it has one: buying more of that plan means adding to it.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; the store's failures.
    pub async fn running_subscription_of(
        self,
        actor: &Actor,
        plan: &ProductId,
        term: Term,
    ) -> Result<Option<SubscriptionId>, SeatError> {
        actor.require_admin("see subscriptions")?;
        Ok(self
            .store
            .subscriptions(&actor.org)
            .await?
            .into_iter()
            .find(|s| {
                s.moved_to.is_none()
                    && s.status.entitles()
                    && s.term == Some(term)
                    && s.items.contains_key(plan)
            })
            .map(|s| s.id))
    }

    pub(super) fn overview(self, subscription: &Subscription) -> SubscriptionOverview {
        let renews = subscription.renews();
        SubscriptionOverview {
            id: subscription.id.clone(),
            status: subscription.status,
            plan: subscription
                .items
                .keys()
                .find(|p| self.catalog.is_plan(p))
                .cloned(),
            term: subscription.term,
            items: subscription
                .items
                .iter()
                .map(|(product, quantity)| SubscriptionItem {
                    product: product.clone(),
                    quantity: *quantity,
                    until_period_end: subscription.kept_until_period_end.get(product).copied(),
                })
                .collect(),
            current_period_start: subscription.current_period_start,
            current_period_end: subscription.current_period_end,
            renews_at: subscription.current_period_end.filter(|_| renews),
            renewal_amount: renews.then(|| self.renewal_amount(subscription)).flatten(),
            cancel_at_period_end: subscription.cancel_at_period_end,
        }
    }

    /// A subscription of the organisation.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found.
    pub async fn subscription(self, actor: &Actor, id: &SubscriptionId) -> Result<Subscription, SeatError> {
        actor.require_admin("see subscriptions")?;
        self.store
            .subscription(&actor.org, id)
            .await?
            .ok_or_else(|| SeatError::not_found("subscription", id))
    }

    /// Whether a payment event was applied before (a duplicate delivery needs
    /// no read from the provider).
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn event_applied(self, event_id: &str) -> Result<bool, SeatError> {
        Ok(self.store.event_processed(event_id).await?)
    }
}
