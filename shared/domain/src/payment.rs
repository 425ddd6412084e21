//! The payment provider, seen from the domain: the [`PaymentGateway`] port
//! (checkout sessions, subscriptions, quantity changes) and the provider's
//! subscription as plain data ([`ProviderSubscription`]), which the catalog
//! turns into a [`SubscriptionSnapshot`] and into seat increases. No provider
//! types here: adapters translate (Stripe in `seatflow-stripe`, an offline one
//! for local use).

use std::collections::BTreeMap;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ProductKind, Term};
use crate::error::{SeatError, ValidationError};
use crate::ids::{OrgId, ProductId, SubscriptionId};
use crate::money::Money;
use crate::quote::{ProrationPreview, Quantity, Quote};
use crate::subscription::{SubscriptionSnapshot, SubscriptionStatus};

/// The metadata key naming the organisation on checkout sessions and
/// subscriptions.
pub const ORG_METADATA_KEY: &str = "org";

/// One line of a checkout: a catalog price (by lookup key) and its quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutLine {
    /// The price's lookup key (`seatflow_professional_annual`).
    pub lookup_key: String,
    /// Seats.
    pub quantity: u32,
}

/// What a checkout session is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckout {
    /// The buying organisation (client reference and subscription metadata).
    pub org: OrgId,
    /// Base plan first, then add-ons.
    pub lines: Vec<CheckoutLine>,
    /// Where the provider sends the buyer after paying; may hold the
    /// provider's session id placeholder.
    pub success_url: String,
    /// Where the provider sends the buyer who gives up.
    pub cancel_url: String,
    /// The provider's customer the organisation pays as (one per
    /// organisation, so that one billing account holds every purchase);
    /// `None` lets the provider create one.
    pub customer: Option<String>,
}

impl NewCheckout {
    /// A checkout of what `quote` prices.
    #[must_use]
    pub fn of_quote(org: OrgId, quote: &Quote, success_url: String, cancel_url: String) -> Self {
        Self {
            org,
            lines: quote
                .lines
                .iter()
                .map(|line| CheckoutLine {
                    lookup_key: line.lookup_key.clone(),
                    quantity: line.quantity.get(),
                })
                .collect(),
            success_url,
            cancel_url,
            customer: None,
        }
    }
}

/// Where a checkout session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Waiting for the buyer.
    Open,
    /// Paid (or payment pending for asynchronous methods).
    Complete,
    /// Abandoned.
    Expired,
}

/// A checkout session as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    /// The provider's id.
    pub id: String,
    /// The page to send the buyer to (while open).
    pub url: Option<String>,
    /// The organisation it was created for (the client reference).
    pub org: Option<String>,
    /// Where it stands.
    pub status: CheckoutStatus,
    /// The subscription it created, once complete.
    pub subscription: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One item of a provider subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderItem {
    /// The provider's item id (needed to change its quantity).
    pub id: String,
    /// Its price's lookup key.
    pub lookup_key: Option<String>,
    /// Seats.
    pub quantity: u32,
    /// Current billing period start.
    pub current_period_start: Option<DateTime<Utc>>,
    /// Current billing period end.
    pub current_period_end: Option<DateTime<Utc>>,
}

/// A subscription as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSubscription {
    /// The provider's id.
    pub id: String,
    /// The provider's customer id.
    pub customer: String,
    /// Its status, as the provider spells it.
    pub status: String,
    /// Metadata (the organisation under [`ORG_METADATA_KEY`]).
    pub metadata: BTreeMap<String, String>,
    /// Whether it ends at the period's end.
    pub cancel_at_period_end: bool,
    /// Its items.
    pub items: Vec<ProviderItem>,
}

/// One page of the provider's subscriptions, every status, in the
/// provider's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionPage {
    /// The subscriptions of this page.
    pub subscriptions: Vec<ProviderSubscription>,
    /// Whether more follow, after the last of this page.
    pub has_more: bool,
}

/// Largest page of subscriptions the provider returns (Stripe's limit).
pub const SUBSCRIPTION_PAGE: u8 = 100;

/// Why a provider subscription cannot become a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// No organisation in the metadata, or not a valid id.
    #[error("subscription names no valid organisation ({0:?})")]
    NoOrganization(Option<String>),
    /// A price whose lookup key the catalog does not list.
    #[error("price lookup key {0:?} is not in the catalog")]
    UnknownPrice(Option<String>),
    /// A field that is not what the provider promises.
    #[error("malformed {field}: {detail}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl FromStr for SubscriptionStatus {
    type Err = SnapshotError;

    /// Parses the provider's spelling (`active`, `past_due`, …).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
            SnapshotError::Malformed {
                field: "status",
                detail: format!("unknown status {text:?}"),
            }
        })
    }
}

impl ProviderSubscription {
    /// The organisation named in the metadata, if any.
    #[must_use]
    pub fn org(&self) -> Option<&str> {
        self.metadata.get(ORG_METADATA_KEY).map(String::as_str)
    }

    /// What this subscription means in catalog terms: seats per product, the
    /// latest period end, status.
    ///
    /// # Errors
    /// [`SnapshotError`] for a missing organisation, an unknown price or a bad field.
    pub fn snapshot(&self, catalog: &Catalog) -> Result<SubscriptionSnapshot, SnapshotError> {
        let org_text = self.org().map(str::to_owned);
        let org = org_text
            .as_deref()
            .and_then(|o| OrgId::parse(o).ok())
            .ok_or_else(|| SnapshotError::NoOrganization(org_text.clone()))?;
        let mut items = BTreeMap::new();
        let mut period_end = None;
        let mut period_start: Option<DateTime<Utc>> = None;
        let mut term = None;
        for item in &self.items {
            let (product, item_term) = self.product_of(catalog, item)?;
            if term.is_none() || product.kind == ProductKind::Plan {
                term = Some(item_term);
            }
            *items.entry(product.id.clone()).or_insert(0u32) += item.quantity;
            period_end = period_end.max(item.current_period_end);
            period_start = match (period_start, item.current_period_start) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(SubscriptionSnapshot {
            org,
            id: SubscriptionId::parse(&self.id).map_err(|e| SnapshotError::Malformed {
                field: "id",
                detail: e.to_string(),
            })?,
            customer: self.customer.clone(),
            status: self.status.parse()?,
            items,
            term,
            current_period_start: period_start,
            current_period_end: period_end,
            cancel_at_period_end: self.cancel_at_period_end,
        })
    }

    fn product_of<'c>(
        &self,
        catalog: &'c Catalog,
        item: &ProviderItem,
    ) -> Result<(&'c crate::catalog::Product, Term), SnapshotError> {
        item.lookup_key
            .as_deref()
            .and_then(|k| catalog.by_lookup_key(k))
            .ok_or_else(|| SnapshotError::UnknownPrice(item.lookup_key.clone()))
    }
}

/// How the provider bills a mid-term quantity change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProrationBehavior {
    /// Prorated charges go on the next invoice (the provider's default).
    #[default]
    CreateProrations,
    /// Prorated charges are invoiced at once.
    AlwaysInvoice,
    /// No proration: the new quantity is billed from the next period.
    None,
}

impl FromStr for ProrationBehavior {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
            ValidationError::new(
                "proration_behavior",
                "must be create_prorations, always_invoice or none",
            )
        })
    }
}

/// A quantity to set on a subscription: an existing item, or a new one of the
/// price with `lookup_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemQuantity {
    /// The existing item, if the subscription has one of this price.
    pub item: Option<String>,
    /// The price's lookup key.
    pub lookup_key: String,
    /// The new quantity.
    pub quantity: u32,
}

/// A planned seat increase on a subscription, with what it costs now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatIncrease {
    /// The subscription.
    pub subscription: String,
    /// The product.
    pub product: ProductId,
    /// Seats before.
    pub quantity_before: u32,
    /// Seats after.
    pub quantity_after: u32,
    /// How the provider bills it.
    pub proration_behavior: ProrationBehavior,
    /// The prorated cost of the added seats for the rest of the period
    /// (charged now, on the next invoice, or not at all, per the behaviour).
    pub proration: ProrationPreview,
    #[serde(skip)]
    change: Option<ItemQuantity>,
}

impl SeatIncrease {
    /// The change to send to the provider.
    #[must_use]
    pub fn change(&self) -> Option<&ItemQuantity> {
        self.change.as_ref()
    }
}

impl Catalog {
    /// Plans adding `add` seats of `product` to `subscription` at `at`: the
    /// subscription's own plan, or an add-on (never more add-on seats than
    /// base seats), priced for the rest of the billing period.
    ///
    /// # Errors
    /// [`SeatError::UnknownProduct`]; a validation error for another plan than
    /// the subscription's; [`SeatError::InvalidQuantity`];
    /// [`SeatError::AddOnExceedsBaseSeats`];
    /// [`SeatError::OutsideBillingPeriod`].
    pub fn plan_seat_increase(
        &self,
        subscription: &ProviderSubscription,
        product: &str,
        add: i64,
        proration_behavior: ProrationBehavior,
        at: DateTime<Utc>,
    ) -> Result<SeatIncrease, SeatError> {
        let wanted = ProductId::parse(product)
            .ok()
            .and_then(|id| self.product(&id))
            .ok_or_else(|| SeatError::UnknownProduct(product.to_owned()))?;
        let added = Quantity::new(add, self.max_quantity)?;
        let mut base: Option<(&ProviderItem, Term)> = None;
        let mut current: Option<&ProviderItem> = None;
        for item in &subscription.items {
            let (p, term) = subscription
                .product_of(self, item)
                .map_err(|e| SeatError::Validation(ValidationError::new("subscription", e.to_string())))?;
            if p.kind == ProductKind::Plan {
                base = Some((item, term));
            }
            if p.id == wanted.id {
                current = Some(item);
            }
        }
        let (base_item, term) = base
            .ok_or_else(|| SeatError::Validation(ValidationError::new("subscription", "has no base plan")))?;
        if wanted.kind == ProductKind::Plan && current.is_none() {
            return Err(SeatError::Validation(ValidationError::new(
                "product",
                format!("'{}' is not this subscription's plan", wanted.id),
            )));
        }
        let before = current.map_or(0, |item| item.quantity);
        let after = before.saturating_add(added.get());
        Quantity::new(i64::from(after), self.max_quantity)?;
        if wanted.kind == ProductKind::AddOn && after > base_item.quantity {
            return Err(SeatError::AddOnExceedsBaseSeats {
                add_on: wanted.id.to_string(),
                quantity: after,
                base: base_item.quantity,
            });
        }
        let period = current.unwrap_or(base_item);
        let (Some(start), Some(end)) = (period.current_period_start, period.current_period_end) else {
            return Err(SeatError::Validation(ValidationError::new(
                "subscription",
                "has no current billing period",
            )));
        };
        let proration = self.prorate(&wanted.id, term, before, add, start, end, at)?;
        Ok(SeatIncrease {
            subscription: subscription.id.clone(),
            product: wanted.id.clone(),
            quantity_before: before,
            quantity_after: after,
            proration_behavior,
            proration,
            change: Some(ItemQuantity {
                item: current.map(|item| item.id.clone()),
                lookup_key: wanted.price(term).lookup_key.clone(),
                quantity: after,
            }),
        })
    }
}

/// A planned change of the seats a subscription renews with: fewer from
/// the next period on, the seats paid for this period kept until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenewalSeats {
    /// The subscription.
    pub subscription: String,
    /// The product.
    pub product: ProductId,
    /// Seats now (paid for this period).
    pub quantity_now: u32,
    /// Seats from the renewal on.
    pub quantity_at_renewal: u32,
    /// When the change takes effect: the current period's end.
    pub takes_effect_at: DateTime<Utc>,
    #[serde(skip)]
    change: ItemQuantity,
}

impl RenewalSeats {
    /// The change to send to the provider (billed from the next period on).
    #[must_use]
    pub fn change(&self) -> &ItemQuantity {
        &self.change
    }
}

impl Catalog {
    /// Plans renewing `subscription` with `quantity` seats of `product`
    /// (its plan or one of its add-ons), fewer than now: at least one seat of
    /// the plan, and never fewer plan seats than any add-on's.
    ///
    /// # Errors
    /// [`SeatError::UnknownProduct`]; a validation error for a product the
    /// subscription does not hold, or more seats than now (an increase is
    /// billed now, through the seat increase); [`SeatError::InvalidQuantity`];
    /// [`SeatError::AddOnExceedsBaseSeats`].
    pub fn plan_renewal_seats(
        &self,
        subscription: &ProviderSubscription,
        product: &str,
        quantity: i64,
    ) -> Result<RenewalSeats, SeatError> {
        let wanted = ProductId::parse(product)
            .ok()
            .and_then(|id| self.product(&id))
            .ok_or_else(|| SeatError::UnknownProduct(product.to_owned()))?;
        let mut current = None;
        let mut base_after = None;
        let mut add_ons = Vec::new();
        for item in &subscription.items {
            let (p, term) = subscription
                .product_of(self, item)
                .map_err(|e| SeatError::Validation(ValidationError::new("subscription", e.to_string())))?;
            if p.id == wanted.id {
                current = Some((item, term));
            }
            match p.kind {
                ProductKind::Plan => base_after = Some(item.quantity),
                ProductKind::AddOn => add_ons.push((p.id.clone(), item.quantity)),
            }
        }
        let (item, term) = current.ok_or_else(|| {
            SeatError::Validation(ValidationError::new(
                "product",
                format!(
                    "subscription '{}' has no seats of '{}'",
                    subscription.id, wanted.id
                ),
            ))
        })?;
        let minimum = if wanted.kind == ProductKind::Plan { 1 } else { 0 };
        let after =
            u32::try_from(quantity)
                .ok()
                .filter(|q| *q >= minimum)
                .ok_or(SeatError::InvalidQuantity {
                    got: quantity,
                    max: self.max_quantity,
                })?;
        if after > item.quantity {
            return Err(SeatError::Validation(ValidationError::new(
                "quantity",
                format!(
                    "{after} is more than the {} seats held: add seats with POST /v1/subscriptions/{}/seats (billed now)",
                    item.quantity, subscription.id
                ),
            )));
        }
        if wanted.kind == ProductKind::Plan {
            base_after = Some(after);
        }
        let base = base_after.unwrap_or(0);
        for (add_on, seats) in add_ons {
            let seats = if add_on == wanted.id { after } else { seats };
            if seats > base {
                return Err(SeatError::AddOnExceedsBaseSeats {
                    add_on: add_on.to_string(),
                    quantity: seats,
                    base,
                });
            }
        }
        let takes_effect_at = item.current_period_end.ok_or_else(|| {
            SeatError::Validation(ValidationError::new(
                "subscription",
                "has no current billing period",
            ))
        })?;
        Ok(RenewalSeats {
            subscription: subscription.id.clone(),
            product: wanted.id.clone(),
            quantity_now: item.quantity,
            quantity_at_renewal: after,
            takes_effect_at,
            change: ItemQuantity {
                item: Some(item.id.clone()),
                lookup_key: wanted.price(term).lookup_key.clone(),
                quantity: after,
            },
        })
    }
}

/// A planned change of a subscription's prices: another plan (its seats and
/// add-ons stay), another term (every item follows), or both; with what it
/// costs now, as the provider bills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceChange {
    /// The subscription.
    pub subscription: String,
    /// The plan before.
    pub plan_before: ProductId,
    /// The plan after.
    pub plan_after: ProductId,
    /// The term before.
    pub term_before: Term,
    /// The term after.
    pub term_after: Term,
    /// The plan's seats (unchanged).
    pub seats: u32,
    /// How the provider bills it.
    pub proration_behavior: ProrationBehavior,
    /// Due now: the new prices for the rest of the period (for a new
    /// period from now, when the term changes) less the unused time of the
    /// old ones; negative is a credit. Nothing, when not prorated and the
    /// term stays.
    pub amount_due: Money,
    #[serde(skip)]
    changes: Vec<ItemQuantity>,
}

impl PriceChange {
    /// What to send to the provider: each item with its new price (none when
    /// nothing changes).
    #[must_use]
    pub fn changes(&self) -> &[ItemQuantity] {
        &self.changes
    }
}

impl Catalog {
    /// Plans moving `subscription` to `plan` and/or `term` at `at`.
    ///
    /// # Errors
    /// [`SeatError::UnknownPlan`] for a product that is not a plan; a
    /// validation error for a subscription without a plan or a current
    /// period.
    pub fn plan_price_change(
        &self,
        subscription: &ProviderSubscription,
        plan: Option<&str>,
        term: Option<Term>,
        proration_behavior: ProrationBehavior,
        at: DateTime<Utc>,
    ) -> Result<PriceChange, SeatError> {
        let invalid = |what: &str| SeatError::Validation(ValidationError::new("subscription", what));
        let mut items = Vec::new();
        let mut current_plan = None;
        for item in &subscription.items {
            let (product, item_term) = subscription
                .product_of(self, item)
                .map_err(|e| invalid(&e.to_string()))?;
            if product.kind == ProductKind::Plan {
                current_plan = Some((product, item_term, item.quantity));
            }
            items.push((item, product, item_term));
        }
        let (old_plan, old_term, seats) = current_plan.ok_or_else(|| invalid("has no base plan"))?;
        let new_plan = match plan {
            None => old_plan,
            Some(id) => ProductId::parse(id)
                .ok()
                .and_then(|id| self.product(&id))
                .filter(|p| p.kind == ProductKind::Plan)
                .ok_or_else(|| SeatError::UnknownPlan(id.to_owned()))?,
        };
        let new_term = term.unwrap_or(old_term);
        let mut changes = Vec::new();
        let mut due: i64 = 0;
        for (item, product, item_term) in items {
            let target = if product.kind == ProductKind::Plan {
                new_plan
            } else {
                product
            };
            if target.id == product.id && item_term == new_term {
                continue;
            }
            let (Some(start), Some(end)) = (item.current_period_start, item.current_period_end) else {
                return Err(invalid("has no current billing period"));
            };
            if !(start <= at && at < end) {
                return Err(SeatError::OutsideBillingPeriod {
                    start: start.to_rfc3339(),
                    end: end.to_rfc3339(),
                    at: at.to_rfc3339(),
                });
            }
            let remaining = (end - at).num_seconds();
            let period = (end - start).num_seconds().max(1);
            let old_amount = product.price(item_term).amount_for(item.quantity)?;
            let new_amount = target.price(new_term).amount_for(item.quantity)?;
            let unused = crate::money::mul_div_round(old_amount, remaining, period);
            due += match (new_term == item_term, proration_behavior) {
                // A new term starts a new period now: its full price, less
                // the old price's unused time unless not prorated.
                (false, ProrationBehavior::None) => new_amount,
                (false, _) => new_amount - unused,
                (true, ProrationBehavior::None) => 0,
                (true, _) => crate::money::mul_div_round(new_amount, remaining, period) - unused,
            };
            changes.push(ItemQuantity {
                item: Some(item.id.clone()),
                lookup_key: target.price(new_term).lookup_key.clone(),
                quantity: item.quantity,
            });
        }
        Ok(PriceChange {
            subscription: subscription.id.clone(),
            plan_before: old_plan.id.clone(),
            plan_after: new_plan.id.clone(),
            term_before: old_term,
            term_after: new_term,
            seats,
            proration_behavior,
            amount_due: Money::new(due, self.currency.clone()),
            changes,
        })
    }
}

/// Why the payment provider could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused the request (its code and message).
    #[error("the payment provider refused the request ({code}): {message}")]
    Rejected {
        /// The provider's error code.
        code: String,
        /// The provider's message.
        message: String,
    },
    /// A catalog price the provider does not have.
    #[error("the payment provider has no active price with lookup key '{0}'")]
    MissingPrice(String),
    /// The provider failed or could not be reached; retrying may succeed.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// The payment provider. Reads return `None` for what does not exist.
#[async_trait]
pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// Creates a subscription-mode checkout session.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError>;

    /// A checkout session by id.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError>;

    /// A subscription by id, as the provider has it now.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError>;

    /// A billing portal session for `customer`, where they see invoices,
    /// change payment methods and billing details, and cancel; they come
    /// back to `return_url`. Its URL.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn billing_portal(&self, customer: &str, return_url: &str) -> Result<String, PaymentError>;

    /// The provider's customer of `org`: the one that names the
    /// organisation in its metadata, else a new one that does (two first
    /// purchases at once get the same one).
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn customer_for(&self, org: &OrgId) -> Result<String, PaymentError>;

    /// One page of every subscription of the account, whatever its status,
    /// after the subscription `starting_after` (from the start without),
    /// at most [`SUBSCRIPTION_PAGE`]: what reconciliation compares with.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<SubscriptionPage, PaymentError>;

    /// What setting one item's quantity as `change` says would be billed at
    /// `at`, per `proration`, in minor units (negative: a credit): the
    /// provider's own preview of the prorations, so that what a customer is
    /// shown is what they are charged. Nothing changes.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn preview_quantity_change(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: DateTime<Utc>,
    ) -> Result<i64, PaymentError>;

    /// Makes the subscription end at its current period's end (`cancel`), or
    /// renew again (not `cancel`). Nothing is billed or credited. With
    /// `idempotency_key`, the provider carries the request out once.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError>;

    /// Gives items new prices (another plan or term), quantities as in
    /// `changes`, billed per `proration`; a new term starts a new period now.
    /// With `idempotency_key`, the provider carries the request out once.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn change_prices(
        &self,
        subscription: &str,
        changes: &[ItemQuantity],
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError>;

    /// Sets one item's quantity (adding the item if new), billed per `proration`.
    /// With `idempotency_key`, the provider carries a request with that key
    /// out once: a retry gets the first answer.
    ///
    /// # Errors
    /// [`PaymentError`].
    async fn set_quantity(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("time")
    }

    fn item(id: &str, key: &str, quantity: u32) -> ProviderItem {
        ProviderItem {
            id: id.into(),
            lookup_key: Some(key.into()),
            quantity,
            current_period_start: Some(at(0)),
            current_period_end: Some(at(1_000)),
        }
    }

    fn subscription(items: Vec<ProviderItem>) -> ProviderSubscription {
        ProviderSubscription {
            id: "sub_1".into(),
            customer: "cus_1".into(),
            status: "active".into(),
            metadata: BTreeMap::from([(ORG_METADATA_KEY.into(), "org_a".into())]),
            cancel_at_period_end: false,
            items,
        }
    }

    fn catalog() -> Catalog {
        Catalog::default_catalog().expect("catalog")
    }

    #[test]
    fn a_provider_subscription_becomes_seats_per_product() {
        let sub = subscription(vec![
            item("si_1", "seatflow_professional_annual", 20),
            item("si_2", "seatflow_sso_annual", 5),
        ]);
        let snapshot = sub.snapshot(&catalog()).expect("known");
        assert_eq!(snapshot.org.as_str(), "org_a");
        assert_eq!(snapshot.status, SubscriptionStatus::Active);
        assert_eq!(snapshot.items.values().copied().collect::<Vec<_>>(), vec![20, 5]);
        assert_eq!(snapshot.current_period_end, Some(at(1_000)));
    }

    #[test]
    fn unknown_prices_statuses_and_organisations_are_named() {
        let catalog = catalog();
        let mut sub = subscription(vec![item("si_1", "legacy_gold", 1)]);
        assert_eq!(
            sub.snapshot(&catalog),
            Err(SnapshotError::UnknownPrice(Some("legacy_gold".into())))
        );
        sub.items = vec![item("si_1", "seatflow_essential_monthly", 1)];
        sub.status = "exploded".into();
        assert!(matches!(
            sub.snapshot(&catalog),
            Err(SnapshotError::Malformed { field: "status", .. })
        ));
        sub.status = "past_due".into();
        sub.metadata.clear();
        assert_eq!(sub.snapshot(&catalog), Err(SnapshotError::NoOrganization(None)));
    }

    #[test]
    fn a_seat_increase_is_prorated_and_keeps_add_ons_within_base_seats() {
        let catalog = catalog();
        let sub = subscription(vec![
            item("si_1", "seatflow_professional_annual", 10),
            item("si_2", "seatflow_sso_annual", 8),
        ]);
        let more = catalog
            .plan_seat_increase(&sub, "professional", 5, ProrationBehavior::AlwaysInvoice, at(500))
            .expect("valid");
        assert_eq!((more.quantity_before, more.quantity_after), (10, 15));
        let change = more.change().expect("change");
        assert_eq!(change.item.as_deref(), Some("si_1"));
        assert_eq!(change.quantity, 15);
        let unit = catalog
            .product(&ProductId::parse("professional").expect("id"))
            .expect("plan")
            .price(Term::Annual)
            .unit_amount
            .minor;
        // Half the period left: half the price of five seats.
        assert_eq!(more.proration.amount_due.minor, unit * 5 / 2);

        let too_many = catalog.plan_seat_increase(&sub, "sso", 3, ProrationBehavior::None, at(500));
        assert_eq!(too_many.expect_err("11 > 10").code(), "add_on_exceeds_base_seats");

        let new_add_on = catalog
            .plan_seat_increase(&sub, "analytics", 10, ProrationBehavior::None, at(500))
            .expect("within base");
        let change = new_add_on.change().expect("change");
        assert_eq!(change.item, None);
        assert_eq!(change.lookup_key, "seatflow_analytics_annual");

        let other_plan = catalog.plan_seat_increase(&sub, "enterprise", 1, ProrationBehavior::None, at(500));
        assert_eq!(other_plan.expect_err("not its plan").code(), "validation_failed");
        let unknown = catalog.plan_seat_increase(&sub, "platinum", 1, ProrationBehavior::None, at(500));
        assert_eq!(unknown.expect_err("unknown").code(), "unknown_product");
        let zero = catalog.plan_seat_increase(&sub, "professional", 0, ProrationBehavior::None, at(500));
        assert_eq!(zero.expect_err("zero").code(), "invalid_quantity");
    }

    #[test]
    fn proration_behaviours_parse_from_their_provider_names() {
        assert_eq!(
            "always_invoice".parse::<ProrationBehavior>(),
            Ok(ProrationBehavior::AlwaysInvoice)
        );
        assert!("sometimes".parse::<ProrationBehavior>().is_err());
    }
}
