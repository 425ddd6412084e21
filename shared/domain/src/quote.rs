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
    /// Price per seat per term.
    pub unit_amount: Money,
    /// Seats.
    pub quantity: Quantity,
    /// `unit_amount × quantity`.
    pub amount: Money,
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
    /// Base seat price per seat per term.
    pub price_per_seat: Money,
    /// Base seats.
    pub quantity: Quantity,
    /// Plan line first, then add-ons in request order.
    pub lines: Vec<QuoteLine>,
    /// Sum of the lines.
    pub subtotal: Money,
    /// Volume discount percentage applied (0 if none).
    pub discount_percent: u8,
    /// Discount amount (non-negative).
    pub discount: Money,
    /// What is due now: subtotal − discount.
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
        let line = |product: &crate::catalog::Product, quantity: Quantity| {
            let price = product.price(request.term);
            QuoteLine {
                product: product.id.clone(),
                name: product.name.clone(),
                kind: product.kind,
                unit_amount: price.unit_amount.clone(),
                quantity,
                amount: Money::new(
                    price.unit_amount.minor * i64::from(quantity.get()),
                    self.currency.clone(),
                ),
                lookup_key: price.lookup_key.clone(),
            }
        };
        let mut lines = vec![line(plan, quantity)];
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
            lines.push(line(product, add_on_quantity));
        }
        let subtotal: i64 = lines.iter().map(|l| l.amount.minor).sum();
        let discount_percent = self.discount_for(quantity.get()).map_or(0, |t| t.percent_off);
        let discount = mul_div_round(subtotal, i64::from(discount_percent), 100);
        Ok(Quote {
            plan: plan.id.clone(),
            term: request.term,
            cadence: request.term.cadence().to_owned(),
            price_per_seat: plan.price(request.term).unit_amount.clone(),
            quantity,
            lines,
            subtotal: Money::new(subtotal, self.currency.clone()),
            discount_percent,
            discount: Money::new(discount, self.currency.clone()),
            total_due: Money::new(subtotal - discount, self.currency.clone()),
        })
    }

    /// Previews what adding `seats_added` seats of `product` costs at `at`, inside
    /// the billing period `[period_start, period_end)`: the remaining fraction of
    /// the period × unit price × seats added, rounded to the minor unit.
    ///
    /// # Errors
    /// [`SeatError::UnknownProduct`], [`SeatError::InvalidQuantity`], or
    /// [`SeatError::OutsideBillingPeriod`] when `at` is not inside the period.
    pub fn prorate(
        &self,
        product: &ProductId,
        term: Term,
        seats_added: i64,
        period_start: DateTime<Utc>,
        period_end: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<ProrationPreview, SeatError> {
        let product = self
            .product(product)
            .ok_or_else(|| SeatError::UnknownProduct(product.to_string()))?;
        let seats = Quantity::new(seats_added, self.max_quantity)?;
        if !(period_start <= at && at < period_end) {
            return Err(SeatError::OutsideBillingPeriod {
                start: period_start.to_rfc3339(),
                end: period_end.to_rfc3339(),
                at: at.to_rfc3339(),
            });
        }
        let period_seconds = (period_end - period_start).num_seconds();
        let remaining_seconds = (period_end - at).num_seconds();
        let unit = product.price(term).unit_amount.clone();
        let full = unit.minor * i64::from(seats.get());
        let amount = mul_div_round(full, remaining_seconds, period_seconds.max(1));
        Ok(ProrationPreview {
            product: product.id.clone(),
            seats_added: seats,
            unit_amount: unit,
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
    /// Full-term price per seat.
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
    /// Prorated amount due now.
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
    fn a_quote_adds_plan_and_add_ons_and_applies_the_volume_discount() {
        let catalog = catalog();
        let quote = catalog
            .quote(&request("professional", 50, &[("sso", 10)]))
            .expect("valid");
        let plan = catalog
            .product(&ProductId::parse("professional").expect("id"))
            .expect("plan");
        let sso = catalog
            .product(&ProductId::parse("sso").expect("id"))
            .expect("add-on");
        let subtotal =
            50 * plan.price(Term::Annual).unit_amount.minor + 10 * sso.price(Term::Annual).unit_amount.minor;
        assert_eq!(quote.subtotal.minor, subtotal);
        assert_eq!(quote.discount_percent, 5);
        assert_eq!(quote.discount.minor, subtotal * 5 / 100);
        assert_eq!(quote.total_due.minor, subtotal - quote.discount.minor);
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
            .prorate(&product, Term::Monthly, 1, start, end, at)
            .expect("inside");
        // One third of 1200 is 400.
        assert_eq!(preview.amount_due.minor, 400);
        let at = DateTime::from_timestamp(100, 0).expect("time");
        let preview = catalog
            .prorate(&product, Term::Monthly, 1, start, end, at)
            .expect("inside");
        assert_eq!(preview.amount_due.minor, 800);
        let outside = catalog.prorate(&product, Term::Monthly, 1, start, end, end);
        assert_eq!(outside.expect_err("at end").code(), "outside_billing_period");
    }
}
