//! The product catalog: plans (base seat licenses), add-ons, terms and prices,
//! with each (product, term)'s Stripe price `lookup_key`. Loaded and checked once
//! at start, so a bad catalog fails the process, not the first request.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// One term's price of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Price {
    /// Price of one seat for one term, in minor units.
    pub unit_amount: Money,
    /// Stripe price `lookup_key` for this product and term.
    pub lookup_key: String,
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
    /// Price per term.
    pub prices: BTreeMap<Term, Price>,
}

impl Product {
    /// This product's price for `term` (every product has both terms; checked at load).
    #[must_use]
    pub fn price(&self, term: Term) -> &Price {
        &self.prices[&term]
    }
}

/// A volume discount tier: `percent_off` for quantities of at least `min_quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VolumeDiscount {
    /// Smallest base seat quantity the tier applies to.
    pub min_quantity: u32,
    /// Percentage off the subtotal, 1 to 100.
    pub percent_off: u8,
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    /// Currency of every price.
    pub currency: Currency,
    /// Largest seat quantity accepted in one purchase.
    pub max_quantity: u32,
    /// Volume discounts, by ascending threshold.
    pub volume_discounts: Vec<VolumeDiscount>,
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
    #[serde(default)]
    volume_discounts: Vec<VolumeDiscount>,
    products: BTreeMap<String, ProductFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    name: String,
    kind: ProductKind,
    prices: BTreeMap<Term, PriceFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    unit_amount: i64,
    lookup_key: String,
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
                if price.unit_amount <= 0 {
                    return bad(format!("product '{key}' {term:?} price must be positive"));
                }
                if price.lookup_key.trim().is_empty() || !lookup_keys.insert(price.lookup_key.clone()) {
                    return bad(format!(
                        "product '{key}' {term:?} lookup_key '{}' is empty or used twice",
                        price.lookup_key
                    ));
                }
                prices.insert(
                    term,
                    Price {
                        unit_amount: Money::new(price.unit_amount, currency.clone()),
                        lookup_key: price.lookup_key.clone(),
                    },
                );
            }
            products.insert(
                id.clone(),
                Product {
                    id,
                    name: p.name,
                    kind: p.kind,
                    prices,
                },
            );
        }
        if !products.values().any(|p| p.kind == ProductKind::Plan) {
            return bad("the catalog lists no plan".into());
        }
        let tiers = &file.volume_discounts;
        if tiers.windows(2).any(|w| w[0].min_quantity >= w[1].min_quantity)
            || tiers.iter().any(|t| t.percent_off == 0 || t.percent_off > 100)
        {
            return bad("volume_discounts must ascend by min_quantity with percent_off 1..=100".into());
        }
        Ok(Self {
            currency,
            max_quantity: file.max_quantity,
            volume_discounts: file.volume_discounts,
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

    /// The discount tier that applies to `quantity` base seats, if any.
    #[must_use]
    pub fn discount_for(&self, quantity: u32) -> Option<&VolumeDiscount> {
        self.volume_discounts
            .iter()
            .rev()
            .find(|t| quantity >= t.min_quantity)
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
