//! The purchase confirmation a buyer lands on after checkout: pending until
//! the payment events have provisioned the seats, then what was bought, the
//! users created since, and the billing summary.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{LicenseSummary, MAX_PAGE, Subscriptions};
use crate::access::Actor;
use crate::audit::AuditAction;
use crate::catalog::Term;
use crate::directory::User;
use crate::error::SeatError;
use crate::ids::{ProductId, SubscriptionId, UserId};
use crate::money::Money;
use crate::payment::{CheckoutSession, CheckoutStatus};
use crate::subscription::{Subscription, SubscriptionStatus};

/// Most users listed in a confirmation (the count covers all).
pub const MAX_USERS_LISTED: usize = 50;

/// Where a purchase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    /// The buyer has not paid yet.
    AwaitingPayment,
    /// Paid; the seats are being provisioned (retry shortly).
    Provisioning,
    /// The seats exist.
    Provisioned,
    /// The checkout expired unpaid.
    Expired,
}

/// One product on the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillingLine {
    /// The product.
    pub product: ProductId,
    /// Seats.
    pub quantity: u32,
    /// Price per seat per period at this quantity (its volume tier's).
    pub unit_amount: Money,
    /// Quantity × unit amount: what the provider charges for the line.
    pub amount: Money,
}

/// What the organisation is billed, per period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BillingSummary {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// Its status.
    pub status: SubscriptionStatus,
    /// Monthly or annual.
    pub term: Option<Term>,
    /// The lines.
    pub lines: Vec<BillingLine>,
    /// Sum of the lines (volume tiers applied), before tax.
    pub subtotal: Money,
    /// When the current period ends (and the next invoice is due).
    pub renews_at: Option<DateTime<Utc>>,
    /// Whether it ends then instead.
    pub cancel_at_period_end: bool,
}

/// The confirmation of a checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseConfirmation {
    /// The checkout session.
    pub session: String,
    /// Where the purchase stands.
    pub status: PurchaseStatus,
    /// The organisation's licenses (once provisioned).
    pub licenses: Vec<LicenseSummary>,
    /// How many users were created since the checkout started (by the
    /// audit log: one removed since is still counted).
    pub users_created_since: usize,
    /// The first of them (at most [`MAX_USERS_LISTED`]).
    pub users: Vec<User>,
    /// The billing summary (once provisioned).
    pub billing: Option<BillingSummary>,
}

impl Subscriptions<'_> {
    /// The confirmation of `session`, which the caller's organisation must
    /// have started.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found for a session of
    /// another organisation.
    pub async fn purchase_confirmation(
        self,
        actor: &Actor,
        session: &CheckoutSession,
    ) -> Result<PurchaseConfirmation, SeatError> {
        actor.require_admin("see purchases")?;
        if session.org.as_deref() != Some(actor.org.as_str()) {
            return Err(SeatError::not_found("checkout session", &session.id));
        }
        let pending = |status| PurchaseConfirmation {
            session: session.id.clone(),
            status,
            licenses: Vec::new(),
            users_created_since: 0,
            users: Vec::new(),
            billing: None,
        };
        let stored = match (session.status, &session.subscription) {
            (CheckoutStatus::Expired, _) => return Ok(pending(PurchaseStatus::Expired)),
            (CheckoutStatus::Open, _) | (_, None) => return Ok(pending(PurchaseStatus::AwaitingPayment)),
            (CheckoutStatus::Complete, Some(id)) => match SubscriptionId::parse(id) {
                Ok(id) => self.subscription(actor, &id).await.ok(),
                Err(_) => None,
            },
        };
        let Some(subscription) = stored else {
            return Ok(pending(PurchaseStatus::Provisioning));
        };
        let (created, users) = self.users_created_since(actor, session.created_at).await?;
        Ok(PurchaseConfirmation {
            session: session.id.clone(),
            status: PurchaseStatus::Provisioned,
            licenses: self.views().licenses(actor).await?,
            users_created_since: created,
            users,
            billing: Some(self.billing_summary(&subscription)),
        })
    }

    /// How many users were created since `since`, and the first of them
    /// still there (at most [`MAX_USERS_LISTED`], oldest first). Read from
    /// the audit log back to `since`: what happened since the purchase, not
    /// every user of the organisation (the page is polled).
    async fn users_created_since(
        self,
        actor: &Actor,
        since: DateTime<Utc>,
    ) -> Result<(usize, Vec<User>), SeatError> {
        let mut created = Vec::new();
        let mut before = None;
        'log: loop {
            let page = self.store.audit(&actor.org, before.as_ref(), MAX_PAGE).await?;
            for entry in &page {
                if entry.at < since {
                    break 'log;
                }
                if entry.action == AuditAction::UserCreated
                    && let Some(id) = entry
                        .target
                        .strip_prefix("user/")
                        .and_then(|id| UserId::parse(id).ok())
                {
                    created.push(id);
                }
            }
            match page.last() {
                Some(last) if page.len() == MAX_PAGE => before = Some(last.id),
                _ => break,
            }
        }
        let count = created.len();
        let mut users = Vec::new();
        // Newest first in the log: the oldest are listed.
        for id in created.iter().rev() {
            if users.len() == MAX_USERS_LISTED {
                break;
            }
            if let Some(holder) = self.store.holder(&actor.org, id).await? {
                users.push(holder.user);
            }
        }
        Ok((count, users))
    }

    fn billing_summary(self, subscription: &Subscription) -> BillingSummary {
        let catalog = self.catalog();
        // The term is the plan's; a subscription sells one term.
        let term = subscription.term;
        let lines: Vec<BillingLine> = subscription
            .items
            .iter()
            .filter_map(|(product, quantity)| {
                let price = catalog.product(product)?.price(term?);
                let unit = price.unit_amount_for(*quantity).clone();
                Some(BillingLine {
                    product: product.clone(),
                    quantity: *quantity,
                    amount: Money::new(price.amount_for(*quantity).ok()?, unit.currency.clone()),
                    unit_amount: unit,
                })
            })
            .collect();
        BillingSummary {
            subscription: subscription.id.clone(),
            status: subscription.status,
            term,
            subtotal: Money::new(
                lines.iter().map(|l| l.amount.minor).sum(),
                catalog.currency.clone(),
            ),
            lines,
            renews_at: subscription.current_period_end,
            cancel_at_period_end: subscription.cancel_at_period_end,
        }
    }
}
