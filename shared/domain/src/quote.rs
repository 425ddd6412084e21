//! Quotes: what a purchase costs before it is made, and what adding seats
//! mid-term costs (proration).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ProductKind, Term};
use crate::error::SeatError;
use crate::ids::ProductId;
use crate::money::{Money, mul_div_round};

/// A seat quantity within the catalog's bounds (1..=max_quantity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quantity(u32);

impl Quantity {
    /// Checks `raw` against `1..=max`. Takes a signed value so that a negative
    /// request gets this specific error rather than a type error.
    ///
    /// # Errors
    /// [`SeatError::InvalidQuantity`] outside the bounds.
    pub fn new(raw: i64, max: u32) -> Result<Self, SeatError> {
        match u32::try_from(raw) {
            Ok(q) if q >= 1 && q <= max => Ok(Self(q)),
            _ => Err(SeatError::InvalidQuantity { got: raw, max }),
        }
    }

    /// The quantity.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

/// What a customer asks a quote for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// Plan id (`essential`, `professional`, `enterprise`).
    pub plan: String,
    /// Monthly or annual.
    pub term: Term,
    /// Base seats.
    pub quantity: i64,
    /// Add-ons and their quantities.
    #[serde(default)]
    pub add_ons: Vec<AddOnRequest>,
}

/// One add-on in a quote request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddOnRequest {
    /// Add-on id.
    pub product: String,
    /// Seats of it; at most the base seat quantity.
    pub quantity: i64,
}

/// One priced line of a quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuoteLine {
    /// Product id.
    pub product: ProductId,
    /// Display name.
    pub name: String,
    /// Plan or add-on.
    pub kind: ProductKind,
    /// Price per seat per term at this quantity (its volume tier's).
    pub unit_amount: Money,
    /// List price per seat per term (the first tier's).
    pub list_unit_amount: Money,
    /// Seats.
    pub quantity: Quantity,
    /// What the provider charges for the line: `unit_amount × quantity`.
    pub amount: Money,
    /// The volume discount on the line: list price × quantity − `amount`.
    pub discount: Money,
    /// Stripe price lookup key of this line.
    pub lookup_key: String,
}

/// The breakdown a customer sees before paying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quote {
    /// The plan.
    pub plan: ProductId,
    /// Monthly or annual.
    pub term: Term,
    /// "billed monthly" / "billed annually".
    pub cadence: String,
    /// Base seat price per seat per term at this quantity (its volume tier's).
    pub price_per_seat: Money,
    /// Base seats.
    pub quantity: Quantity,
    /// Plan line first, then add-ons in request order.
    pub lines: Vec<QuoteLine>,
    /// The lines at list prices.
    pub subtotal: Money,
    /// The lines' volume discounts (non-negative).
    pub discount: Money,
    /// What is due now, per term: the sum of the lines' amounts, which is
    /// subtotal − discount.
    pub total_due: Money,
}

impl Catalog {
    /// Prices a purchase.
    ///
    /// # Errors
    /// [`SeatError::UnknownPlan`], [`SeatError::UnknownAddOn`],
    /// [`SeatError::InvalidQuantity`] or [`SeatError::AddOnExceedsBaseSeats`].
    pub fn quote(&self, request: &QuoteRequest) -> Result<Quote, SeatError> {
        let plan = ProductId::parse(&request.plan)
            .ok()
            .and_then(|id| self.product(&id))
            .filter(|p| p.kind == ProductKind::Plan)
            .ok_or_else(|| SeatError::UnknownPlan(request.plan.clone()))?;
        let quantity = Quantity::new(request.quantity, self.max_quantity)?;
        let line = |product: &crate::catalog::Product, quantity: Quantity| -> Result<QuoteLine, SeatError> {
            let price = product.price(request.term);
            let amount = price.amount_for(quantity.get())?;
            let list = price
                .unit_amount
                .minor
                .checked_mul(i64::from(quantity.get()))
                .ok_or_else(|| crate::error::ValidationError::new("quantity", "the amount is too large"))?;
            Ok(QuoteLine {
                product: product.id.clone(),
                name: product.name.clone(),
                kind: product.kind,
                unit_amount: price.unit_amount_for(quantity.get()).clone(),
                list_unit_amount: price.unit_amount.clone(),
                quantity,
                amount: Money::new(amount, self.currency.clone()),
                discount: Money::new(list - amount, self.currency.clone()),
                lookup_key: price.lookup_key.clone(),
            })
        };
        let mut lines = vec![line(plan, quantity)?];
        let mut seen = std::collections::BTreeSet::new();
        for add_on in &request.add_ons {
            let product = ProductId::parse(&add_on.product)
                .ok()
                .and_then(|id| self.product(&id))
                .filter(|p| p.kind == ProductKind::AddOn)
                .ok_or_else(|| SeatError::UnknownAddOn(add_on.product.clone()))?;
            if !seen.insert(product.id.clone()) {
                return Err(crate::error::ValidationError::new(
                    "add_ons",
                    format!("lists '{}' twice", product.id),
                )
                .into());
            }
            let add_on_quantity = Quantity::new(add_on.quantity, self.max_quantity)?;
            if add_on_quantity > quantity {
                return Err(SeatError::AddOnExceedsBaseSeats {
                    add_on: product.id.to_string(),
                    quantity: add_on_quantity.get(),
                    base: quantity.get(),
                });
            }
            lines.push(line(product, add_on_quantity)?);
        }
        let sum = |part: fn(&QuoteLine) -> i64| lines.iter().map(part).sum::<i64>();
        let total_due = sum(|l| l.amount.minor);
        let discount = sum(|l| l.discount.minor);
        Ok(Quote {
            plan: plan.id.clone(),
            term: request.term,
            cadence: request.term.cadence().to_owned(),
            price_per_seat: plan.price(request.term).unit_amount_for(quantity.get()).clone(),
            quantity,
            subtotal: Money::new(total_due + discount, self.currency.clone()),
            discount: Money::new(discount, self.currency.clone()),
            total_due: Money::new(total_due, self.currency.clone()),
            lines,
        })
    }

    /// Previews what going from `quantity_before` to `quantity_before +
    /// seats_added` seats of `product` costs at `at`, inside the billing
    /// period `[period_start, period_end)`, as the provider prorates it: the
    /// remaining fraction of the period × (the new quantity's price − the old
    /// quantity's, each at its volume tier), rounded to the minor unit.
    /// Negative when the new quantity's tier makes the whole cheaper (a credit).
    ///
    /// # Errors
    /// [`SeatError::UnknownProduct`], [`SeatError::InvalidQuantity`], or
    /// [`SeatError::OutsideBillingPeriod`] when `at` is not inside the period.
    #[allow(clippy::too_many_arguments, reason = "the proration's every input, named")]
    pub fn prorate(
        &self,
        product: &ProductId,
        term: Term,
        quantity_before: u32,
        seats_added: i64,
        period_start: DateTime<Utc>,
        period_end: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<ProrationPreview, SeatError> {
        let product = self
            .product(product)
            .ok_or_else(|| SeatError::UnknownProduct(product.to_string()))?;
        let seats = Quantity::new(seats_added, self.max_quantity)?;
        let after = quantity_before
            .checked_add(seats.get())
            .ok_or(SeatError::InvalidQuantity {
                got: seats_added,
                max: self.max_quantity,
            })?;
        if !(period_start <= at && at < period_end) {
            return Err(SeatError::OutsideBillingPeriod {
                start: period_start.to_rfc3339(),
                end: period_end.to_rfc3339(),
                at: at.to_rfc3339(),
            });
        }
        let period_seconds = (period_end - period_start).num_seconds();
        let remaining_seconds = (period_end - at).num_seconds();
        let price = product.price(term);
        let full = price.amount_for(after)? - price.amount_for(quantity_before)?;
        let amount = mul_div_round(full, remaining_seconds, period_seconds.max(1));
        Ok(ProrationPreview {
            product: product.id.clone(),
            seats_added: seats,
            unit_amount: price.unit_amount_for(after).clone(),
            period_start,
            period_end,
            at,
            remaining_seconds,
            period_seconds,
            amount_due: Money::new(amount, self.currency.clone()),
        })
    }
}

/// The cost of adding seats mid-term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProrationPreview {
    /// The product.
    pub product: ProductId,
    /// Seats added.
    pub seats_added: Quantity,
    /// Full-term price per seat at the new quantity (its volume tier's).
    pub unit_amount: Money,
    /// Current period start.
    pub period_start: DateTime<Utc>,
    /// Current period end.
    pub period_end: DateTime<Utc>,
    /// When the seats are added.
    pub at: DateTime<Utc>,
    /// Seconds left in the period.
    pub remaining_seconds: i64,
    /// Seconds in the whole period.
    pub period_seconds: i64,
    /// Prorated amount for the rest of the period (negative: a credit, when
    /// the new quantity's tier makes every seat cheaper).
    pub amount_due: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::default_catalog().expect("shipped catalog")
    }

    fn request(plan: &str, quantity: i64, add_ons: &[(&str, i64)]) -> QuoteRequest {
        QuoteRequest {
            plan: plan.into(),
            term: Term::Annual,
            quantity,
            add_ons: add_ons
                .iter()
                .map(|(p, q)| AddOnRequest {
                    product: (*p).into(),
                    quantity: *q,
                })
                .collect(),
        }
    }

    #[test]
    fn a_quote_prices_each_line_at_its_own_volume_tier() {
        let catalog = catalog();
        let quote = catalog
            .quote(&request("professional", 50, &[("sso", 10)]))
            .expect("valid");
        // 50 Professional seats reach the 5% tier; 10 SSO seats do not.
        assert_eq!(quote.lines[0].unit_amount.minor, 27_550);
        assert_eq!(quote.lines[0].list_unit_amount.minor, 29_000);
        assert_eq!(quote.lines[0].discount.minor, 50 * 1_450);
        assert_eq!(quote.lines[1].unit_amount.minor, 4_000);
        assert_eq!(quote.lines[1].discount.minor, 0);
        assert_eq!(quote.subtotal.minor, 50 * 29_000 + 10 * 4_000);
        assert_eq!(quote.discount.minor, 50 * 1_450);
        assert_eq!(quote.total_due.minor, 50 * 27_550 + 10 * 4_000);
        assert_eq!(quote.price_per_seat.minor, 27_550);
        assert_eq!(quote.cadence, "billed annually");
        assert_eq!(quote.lines.len(), 2);
    }

    #[test]
    fn quantities_zero_negative_and_absurd_are_refused() {
        let catalog = catalog();
        for q in [0, -3, i64::from(catalog.max_quantity) + 1, i64::MAX] {
            let err = catalog
                .quote(&request("essential", q, &[]))
                .expect_err("out of range");
            assert_eq!(err.code(), "invalid_quantity", "{q}");
        }
    }

    #[test]
    fn unknown_plans_and_add_ons_are_named() {
        let catalog = catalog();
        assert_eq!(
            catalog.quote(&request("platinum", 1, &[])).expect_err("").code(),
            "unknown_plan"
        );
        // An add-on is not a plan, and a plan is not an add-on.
        assert_eq!(
            catalog.quote(&request("sso", 1, &[])).expect_err("").code(),
            "unknown_plan"
        );
        assert_eq!(
            catalog
                .quote(&request("essential", 1, &[("enterprise", 1)]))
                .expect_err("")
                .code(),
            "unknown_add_on"
        );
    }

    #[test]
    fn an_add_on_above_the_base_seats_is_refused() {
        let err = catalog()
            .quote(&request("essential", 5, &[("sso", 6)]))
            .expect_err("too many");
        assert_eq!(err.code(), "add_on_exceeds_base_seats");
    }

    #[test]
    fn proration_charges_the_remaining_fraction_rounded() {
        let catalog = catalog();
        let start = DateTime::from_timestamp(0, 0).expect("time");
        let end = DateTime::from_timestamp(300, 0).expect("time");
        let at = DateTime::from_timestamp(200, 0).expect("time");
        let product = ProductId::parse("essential").expect("id");
        let preview = catalog
            .prorate(&product, Term::Monthly, 3, 1, start, end, at)
            .expect("inside");
        // One third of 1200 is 400.
        assert_eq!(preview.amount_due.minor, 400);
        let at = DateTime::from_timestamp(100, 0).expect("time");
        let preview = catalog
            .prorate(&product, Term::Monthly, 3, 1, start, end, at)
            .expect("inside");
        assert_eq!(preview.amount_due.minor, 800);
        let outside = catalog.prorate(&product, Term::Monthly, 3, 1, start, end, end);
        assert_eq!(outside.expect_err("at end").code(), "outside_billing_period");
    }

    #[test]
    fn proration_across_a_tier_reprices_every_seat() {
        let catalog = catalog();
        let start = DateTime::from_timestamp(0, 0).expect("time");
        let end = DateTime::from_timestamp(100, 0).expect("time");
        let at = DateTime::from_timestamp(50, 0).expect("time");
        let product = ProductId::parse("essential").expect("id");
        // 48 → 50 seats: 50 × 1140 − 48 × 1200 = −600 a term; half a term left.
        let preview = catalog
            .prorate(&product, Term::Monthly, 48, 2, start, end, at)
            .expect("inside");
        assert_eq!(preview.amount_due.minor, -300);
        assert_eq!(preview.unit_amount.minor, 1_140);
    }
}
