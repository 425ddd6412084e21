//! The product catalog: plans (base seat licenses), add-ons, terms and prices,
//! with each (product, term)'s Stripe price `lookup_key`. Loaded and checked once
//! at start, so a bad catalog fails the process, not the first request.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::ValidationError;
use crate::ids::ProductId;
use crate::money::{Currency, Money};

/// The catalog shipped in the repository (`catalog.toml`).
pub const DEFAULT_CATALOG: &str = include_str!("../../../catalog.toml");

/// How long a subscription runs between charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Billed every month.
    Monthly,
    /// Billed every year.
    Annual,
}

impl Term {
    /// The billing cadence as a customer reads it.
    #[must_use]
    pub fn cadence(self) -> &'static str {
        match self {
            Self::Monthly => "billed monthly",
            Self::Annual => "billed annually",
        }
    }
}

/// Whether a product is a plan's base seat or an add-on to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A base seat license (Essential, Professional, Enterprise).
    Plan,
    /// An add-on; only a holder of a base seat may hold it.
    AddOn,
}

/// One term's price of a product, volume-tiered as the payment provider
/// applies it (Stripe's `tiers_mode = "volume"`): every seat costs the unit
/// amount of the tier the whole quantity falls in. A flat price is one tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Price {
    /// List price of one seat for one term (the first tier's), in minor units.
    pub unit_amount: Money,
    /// The tiers, by ascending `up_to`; the last has none.
    pub tiers: Vec<PriceTier>,
    /// Stripe price `lookup_key` for this product and term.
    pub lookup_key: String,
}

/// One volume tier: quantities up to `up_to` (inclusive; unbounded for the
/// last) cost `unit_amount` a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceTier {
    /// Largest quantity of the tier; `None` for the last.
    pub up_to: Option<u32>,
    /// Price of each seat when the quantity falls in this tier.
    pub unit_amount: Money,
}

impl Price {
    /// What one seat costs when `quantity` seats are bought.
    #[must_use]
    pub fn unit_amount_for(&self, quantity: u32) -> &Money {
        self.tiers
            .iter()
            .find(|t| t.up_to.is_none_or(|up_to| quantity <= up_to))
            .map_or(&self.unit_amount, |t| &t.unit_amount)
    }

    /// What `quantity` seats cost for one term, in minor units.
    ///
    /// # Errors
    /// [`ValidationError`] on an overflow (never with the catalog's bounds).
    pub fn amount_for(&self, quantity: u32) -> Result<i64, ValidationError> {
        self.unit_amount_for(quantity)
            .minor
            .checked_mul(i64::from(quantity))
            .ok_or_else(|| ValidationError::new("quantity", "the amount is too large"))
    }
}

/// A licensable product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// Catalog key.
    pub id: ProductId,
    /// Display name.
    pub name: String,
    /// Plan or add-on.
    pub kind: ProductKind,
    /// What it gives, in a sentence or two (the Marketplace's words).
    pub description: String,
    /// Price per term.
    pub prices: BTreeMap<Term, Price>,
    /// The fewest seats a subscription renews with when it renews at the
    /// seats in use (automatic license management).
    pub min_seats: u32,
}

impl Product {
    /// This product's price for `term` (every product has both terms; checked at load).
    #[must_use]
    pub fn price(&self, term: Term) -> &Price {
        &self.prices[&term]
    }
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    /// Currency of every price.
    pub currency: Currency,
    /// Largest seat quantity accepted in one purchase.
    pub max_quantity: u32,
    /// Products by id.
    pub products: BTreeMap<ProductId, Product>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not valid TOML, or not the catalog's shape.
    #[error("catalog is not valid: {0}")]
    Syntax(String),
    /// Valid shape, inconsistent content.
    #[error("catalog is inconsistent: {0}")]
    Inconsistent(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    currency: String,
    max_quantity: u32,
    products: BTreeMap<String, ProductFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    name: String,
    kind: ProductKind,
    #[serde(default)]
    description: String,
    /// The fewest seats a subscription renews with when it renews at the
    /// seats in use (automatic license management); 1 for a plan, 0 for an
    /// add-on unless set.
    #[serde(default)]
    min_seats: Option<u32>,
    prices: BTreeMap<Term, PriceFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    lookup_key: String,
    /// A flat price, or…
    #[serde(default)]
    unit_amount: Option<i64>,
    /// …volume tiers.
    #[serde(default)]
    tiers: Option<Vec<TierFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    #[serde(default)]
    up_to: Option<u32>,
    unit_amount: i64,
}

impl PriceFile {
    /// The tiers, checked: positive amounts, `up_to` ascending, only the last
    /// unbounded, and no tier dearer per seat than the one before.
    fn tiers(&self, currency: &Currency) -> Result<Vec<PriceTier>, String> {
        let tiers: Vec<TierFile> = match (&self.unit_amount, &self.tiers) {
            (Some(amount), None) => vec![TierFile {
                up_to: None,
                unit_amount: *amount,
            }],
            (None, Some(tiers)) if !tiers.is_empty() => tiers
                .iter()
                .map(|t| TierFile {
                    up_to: t.up_to,
                    unit_amount: t.unit_amount,
                })
                .collect(),
            _ => return Err("needs either unit_amount or tiers".into()),
        };
        let last = tiers.len() - 1;
        for (i, tier) in tiers.iter().enumerate() {
            if tier.unit_amount <= 0 {
                return Err("every tier's unit_amount must be positive".into());
            }
            if (i == last) != tier.up_to.is_none() {
                return Err("only the last tier has no up_to".into());
            }
            if i > 0 {
                let before = &tiers[i - 1];
                if tier.up_to.is_some_and(|u| before.up_to.is_some_and(|b| u <= b)) {
                    return Err("tiers must ascend by up_to".into());
                }
                if tier.unit_amount > before.unit_amount {
                    return Err("a larger quantity must not cost more per seat".into());
                }
            }
        }
        Ok(tiers
            .into_iter()
            .map(|t| PriceTier {
                up_to: t.up_to,
                unit_amount: Money::new(t.unit_amount, currency.clone()),
            })
            .collect())
    }
}

impl Catalog {
    /// The catalog shipped in the repository.
    ///
    /// # Errors
    /// [`CatalogError`] if the shipped file is broken (a test guards this).
    pub fn default_catalog() -> Result<Self, CatalogError> {
        Self::from_toml(DEFAULT_CATALOG)
    }

    /// Parses and checks a catalog.
    ///
    /// # Errors
    /// [`CatalogError`] naming the first problem: bad syntax, unknown fields,
    /// a product without both terms, a non-positive price, a duplicate lookup
    /// key, no plan, or unordered discount tiers.
    pub fn from_toml(text: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        let bad = |m: String| Err(CatalogError::Inconsistent(m));
        let currency =
            Currency::parse(&file.currency).map_err(|e| CatalogError::Inconsistent(e.to_string()))?;
        if file.max_quantity == 0 {
            return bad("max_quantity must be at least 1".into());
        }
        let mut products = BTreeMap::new();
        let mut lookup_keys = std::collections::BTreeSet::new();
        for (key, p) in file.products {
            let id = ProductId::parse(&key)
                .map_err(|e| CatalogError::Inconsistent(format!("product '{key}': {e}")))?;
            if p.name.trim().is_empty() {
                return bad(format!("product '{key}' has no name"));
            }
            let mut prices = BTreeMap::new();
            for term in [Term::Monthly, Term::Annual] {
                let Some(price) = p.prices.get(&term) else {
                    return bad(format!("product '{key}' has no {term:?} price"));
                };
                let tiers = match price.tiers(&currency) {
                    Ok(tiers) => tiers,
                    Err(reason) => return bad(format!("product '{key}' {term:?} price: {reason}")),
                };
                if price.lookup_key.trim().is_empty() || !lookup_keys.insert(price.lookup_key.clone()) {
                    return bad(format!(
                        "product '{key}' {term:?} lookup_key '{}' is empty or used twice",
                        price.lookup_key
                    ));
                }
                prices.insert(
                    term,
                    Price {
                        unit_amount: tiers[0].unit_amount.clone(),
                        tiers,
                        lookup_key: price.lookup_key.clone(),
                    },
                );
            }
            products.insert(
                id.clone(),
                Product {
                    id,
                    name: p.name,
                    min_seats: p.min_seats.unwrap_or(match p.kind {
                        ProductKind::Plan => 1,
                        ProductKind::AddOn => 0,
                    }),
                    kind: p.kind,
                    description: p.description.trim().to_owned(),
                    prices,
                },
            );
        }
        if !products.values().any(|p| p.kind == ProductKind::Plan) {
            return bad("the catalog lists no plan".into());
        }
        Ok(Self {
            currency,
            max_quantity: file.max_quantity,
            products,
        })
    }

    /// A product by id.
    #[must_use]
    pub fn product(&self, id: &ProductId) -> Option<&Product> {
        self.products.get(id)
    }

    /// Whether `id` is a plan's base seat.
    #[must_use]
    pub fn is_plan(&self, id: &ProductId) -> bool {
        self.product(id).is_some_and(|p| p.kind == ProductKind::Plan)
    }

    /// The product and term a Stripe price `lookup_key` stands for.
    #[must_use]
    pub fn by_lookup_key(&self, lookup_key: &str) -> Option<(&Product, Term)> {
        self.products.values().find_map(|p| {
            p.prices
                .iter()
                .find(|(_, price)| price.lookup_key == lookup_key)
                .map(|(term, _)| (p, *term))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_loads() {
        let catalog = Catalog::default_catalog().expect("shipped catalog is valid");
        assert!(
            catalog
                .products
                .values()
                .filter(|p| p.kind == ProductKind::Plan)
                .count()
                >= 3
        );
        assert!(catalog.products.values().any(|p| p.kind == ProductKind::AddOn));
    }

    #[test]
    fn lookup_keys_lead_back_to_their_product_and_term() {
        let catalog = Catalog::default_catalog().expect("shipped catalog");
        for product in catalog.products.values() {
            for (term, price) in &product.prices {
                let (found, found_term) = catalog.by_lookup_key(&price.lookup_key).expect("known key");
                assert_eq!((&found.id, found_term), (&product.id, *term));
            }
        }
        assert!(catalog.by_lookup_key("nope").is_none());
    }

    #[test]
    fn a_product_missing_a_term_is_refused_at_load() {
        let text = r#"
            currency = "usd"
            max_quantity = 10
            [products.basic]
            name = "Basic"
            kind = "plan"
            prices.monthly = { unit_amount = 100, lookup_key = "basic_m" }
        "#;
        let err = Catalog::from_toml(text).expect_err("annual price missing");
        assert!(err.to_string().contains("Annual"), "{err}");
    }

    #[test]
    fn volume_tiers_price_every_seat_at_the_tier_of_the_quantity() {
        let catalog = Catalog::default_catalog().expect("shipped catalog");
        let pro = catalog
            .product(&ProductId::parse("professional").expect("id"))
            .expect("plan");
        let price = pro.price(Term::Monthly);
        assert_eq!(price.unit_amount.minor, 2900);
        let at = |q| price.unit_amount_for(q).minor;
        assert_eq!(
            (at(1), at(49), at(50), at(249), at(250), at(10_000)),
            (2900, 2900, 2755, 2755, 2610, 2610)
        );
        assert_eq!(price.amount_for(50), Ok(50 * 2755));
    }

    #[test]
    fn bad_tiers_are_refused_at_load() {
        let with = |prices: &str| {
            Catalog::from_toml(&format!(
                "currency = \"usd\"\nmax_quantity = 10\n[products.basic]\nname = \"Basic\"\nkind = \"plan\"\nprices.annual = {{ unit_amount = 1000, lookup_key = \"a\" }}\nprices.monthly = {prices}\n"
            ))
        };
        let fine =
            with(r#"{ lookup_key = "m", tiers = [{ up_to = 9, unit_amount = 100 }, { unit_amount = 90 }] }"#);
        assert!(fine.is_ok(), "{fine:?}");
        for (bad, why) in [
            (r#"{ lookup_key = "m" }"#, "either"),
            (
                r#"{ lookup_key = "m", unit_amount = 1, tiers = [{ unit_amount = 1 }] }"#,
                "either",
            ),
            (
                r#"{ lookup_key = "m", tiers = [{ up_to = 9, unit_amount = 100 }] }"#,
                "last",
            ),
            (
                r#"{ lookup_key = "m", tiers = [{ unit_amount = 100 }, { unit_amount = 90 }] }"#,
                "last",
            ),
            (
                r#"{ lookup_key = "m", tiers = [{ up_to = 9, unit_amount = 100 }, { up_to = 9, unit_amount = 90 }, { unit_amount = 80 }] }"#,
                "ascend",
            ),
            (
                r#"{ lookup_key = "m", tiers = [{ up_to = 9, unit_amount = 100 }, { unit_amount = 110 }] }"#,
                "more",
            ),
            (
                r#"{ lookup_key = "m", tiers = [{ up_to = 9, unit_amount = 0 }, { unit_amount = 0 }] }"#,
                "positive",
            ),
        ] {
            let err = with(bad).expect_err(bad);
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_duplicate_lookup_key_is_refused_at_load() {
        let text = r#"
            currency = "usd"
            max_quantity = 10
            [products.basic]
            name = "Basic"
            kind = "plan"
            prices.monthly = { unit_amount = 100, lookup_key = "same" }
            prices.annual = { unit_amount = 1000, lookup_key = "same" }
        "#;
        assert!(Catalog::from_toml(text).is_err());
    }

    #[test]
    fn unknown_fields_and_bad_syntax_are_refused() {
        assert!(matches!(
            Catalog::from_toml("currency = "),
            Err(CatalogError::Syntax(_))
        ));
        assert!(matches!(
            Catalog::from_toml("currency = \"usd\"\nmax_quantity = 1\nsurprise = 1\n[products]"),
            Err(CatalogError::Syntax(_))
        ));
    }
}
