//! Setting up a Stripe account for seatflow, by command rather than in the
//! Dashboard: the catalog's products and volume-tiered prices
//! ([`sync_catalog`]), the Customer Portal configuration its billing-portal
//! sessions open ([`sync_billing_portal`]), and the webhook endpoint
//! ([`register_webhook`]). Each changes only what differs, so running them
//! again changes nothing.

use std::collections::BTreeMap;

use seatflow_domain::{Catalog, Price, Product, Term};
use serde::Serialize;
use serde_json::Value;
use stripe_client_core::{RequestBuilder, StripeMethod};

use crate::{StripeApi, StripeError};

/// What syncing did to one Stripe object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// It did not exist and was created.
    Created,
    /// It existed and differed; it was updated (a price, which Stripe never
    /// changes, was replaced by a new one taking over its lookup key, and the
    /// old one archived: subscriptions on it keep it until they change).
    Updated,
    /// It was as the catalog says.
    Unchanged,
}

/// One object the sync looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Synced {
    /// `product` or `price`.
    pub kind: &'static str,
    /// The product id, or the price's lookup key.
    pub key: String,
    /// What happened.
    pub change: Change,
}

/// The Stripe product id of a catalog product.
#[must_use]
pub fn product_id(product: &Product) -> String {
    format!("seatflow_{}", product.id)
}

/// Creates or updates the catalog's products and prices in Stripe: one
/// product per catalog product (id `seatflow_{product}`), one recurring price
/// per product and term under the catalog's `lookup_key`, volume-tiered
/// (`tiers_mode=volume`) so that Stripe charges what quotes show. With
/// `dry_run`, only reads and reports.
///
/// # Errors
/// [`StripeError`] from Stripe; nothing after the failing request is done.
pub async fn sync_catalog(
    api: &StripeApi,
    catalog: &Catalog,
    dry_run: bool,
) -> Result<Vec<Synced>, StripeError> {
    let mut report = Vec::new();
    for product in catalog.products.values() {
        let id = product_id(product);
        let change = match get(api, &format!("/products/{id}")).await? {
            None => {
                if !dry_run {
                    let form = NewProduct {
                        id: &id,
                        name: &product.name,
                        metadata: BTreeMap::from([("seatflow_product", product.id.as_str())]),
                    };
                    api.send::<Value>(RequestBuilder::new(StripeMethod::Post, "/products").form(&form))
                        .await?;
                }
                Change::Created
            }
            Some(found) if found["name"] != product.name.as_str() || found["active"] == false => {
                if !dry_run {
                    let form = ProductUpdate {
                        name: &product.name,
                        active: true,
                    };
                    api.send::<Value>(
                        RequestBuilder::new(StripeMethod::Post, format!("/products/{id}")).form(&form),
                    )
                    .await?;
                }
                Change::Updated
            }
            Some(_) => Change::Unchanged,
        };
        report.push(Synced {
            kind: "product",
            key: id.clone(),
            change,
        });
        for (term, price) in &product.prices {
            let change = sync_price(api, catalog, &id, *term, price, dry_run).await?;
            report.push(Synced {
                kind: "price",
                key: price.lookup_key.clone(),
                change,
            });
        }
    }
    Ok(report)
}

async fn sync_price(
    api: &StripeApi,
    catalog: &Catalog,
    product: &str,
    term: Term,
    price: &Price,
    dry_run: bool,
) -> Result<Change, StripeError> {
    let query = PriceLookup {
        lookup_keys: [price.lookup_key.as_str()],
        active: true,
        expand: ["data.tiers"],
        limit: 1,
    };
    let found: Value = api
        .send(RequestBuilder::new(StripeMethod::Get, "/prices").query(&query))
        .await?;
    let existing = found["data"].as_array().and_then(|d| d.first()).cloned();
    let wanted = NewPrice::of(catalog, product, term, price, existing.is_some());
    match existing {
        Some(existing) if wanted.matches(&existing) => Ok(Change::Unchanged),
        existing => {
            if !dry_run {
                api.send::<Value>(RequestBuilder::new(StripeMethod::Post, "/prices").form(&wanted))
                    .await?;
                if let Some(old) = existing.as_ref().and_then(|e| e["id"].as_str()) {
                    api.send::<Value>(
                        RequestBuilder::new(StripeMethod::Post, format!("/prices/{old}"))
                            .form(&Archive { active: false }),
                    )
                    .await?;
                }
            }
            Ok(if existing.is_some() {
                Change::Updated
            } else {
                Change::Created
            })
        }
    }
}

/// The metadata that marks seatflow's Customer Portal configuration.
pub const PORTAL_CONFIGURATION_MARK: (&str, &str) = ("seatflow", "billing_portal");

/// The Customer Portal configuration seatflow's billing-portal sessions use:
/// invoices, payment methods and the billing details (email, address, tax
/// ids) are the customer's to manage there, and cancelling at the period's
/// end; seat quantities and plans are not, since seatflow changes those
/// itself (it refuses fewer seats than are assigned, and keeps one
/// subscription per plan and term). Created, or brought in line when it
/// differs; with `dry_run`, only read and reported.
///
/// # Errors
/// [`StripeError`] from Stripe.
pub async fn sync_billing_portal(api: &StripeApi, dry_run: bool) -> Result<Synced, StripeError> {
    let wanted = PortalConfiguration::seatflow();
    let change = match billing_portal_configuration(api).await? {
        None => {
            if !dry_run {
                api.send::<Value>(
                    RequestBuilder::new(StripeMethod::Post, "/billing_portal/configurations").form(&wanted),
                )
                .await?;
            }
            Change::Created
        }
        Some(found) if !wanted.matches(&found) => {
            if !dry_run {
                let id = found["id"].as_str().unwrap_or_default();
                api.send::<Value>(
                    RequestBuilder::new(StripeMethod::Post, format!("/billing_portal/configurations/{id}"))
                        .form(&wanted),
                )
                .await?;
            }
            Change::Updated
        }
        Some(_) => Change::Unchanged,
    };
    Ok(Synced {
        kind: "portal",
        key: "billing_portal_configuration".into(),
        change,
    })
}

/// seatflow's active Customer Portal configuration, if the account has one
/// (marked by [`PORTAL_CONFIGURATION_MARK`] in its metadata).
///
/// # Errors
/// [`StripeError`] from Stripe.
pub async fn billing_portal_configuration(api: &StripeApi) -> Result<Option<Value>, StripeError> {
    let (key, mark) = PORTAL_CONFIGURATION_MARK;
    find_listed(api, "/billing_portal/configurations", true, |c| {
        c["metadata"][key] == mark
    })
    .await
}

/// The first object of Stripe's list at `path` (only active ones when
/// `active_only`) that `wanted` picks, reading page after page.
async fn find_listed(
    api: &StripeApi,
    path: &str,
    active_only: bool,
    wanted: impl Fn(&Value) -> bool,
) -> Result<Option<Value>, StripeError> {
    let mut after: Option<String> = None;
    loop {
        let page: Value = api
            .send(RequestBuilder::new(StripeMethod::Get, path).query(&ListPage {
                active: active_only.then_some(true),
                limit: 100,
                starting_after: after.as_deref(),
            }))
            .await?;
        let listed = page["data"].as_array().cloned().unwrap_or_default();
        if let Some(found) = listed.iter().find(|o| wanted(o)) {
            return Ok(Some(found.clone()));
        }
        match listed.last().and_then(|o| o["id"].as_str()) {
            Some(last) if page["has_more"] == true => after = Some(last.to_owned()),
            _ => return Ok(None),
        }
    }
}

#[derive(Serialize)]
struct ListPage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<bool>,
    limit: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
}

#[derive(Serialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Serialize)]
struct CustomerUpdate {
    enabled: bool,
    allowed_updates: [&'static str; 3],
}

#[derive(Serialize)]
struct SubscriptionCancel {
    enabled: bool,
    mode: &'static str,
    proration_behavior: &'static str,
}

#[derive(Serialize)]
struct PortalFeatures {
    customer_update: CustomerUpdate,
    invoice_history: Enabled,
    payment_method_update: Enabled,
    subscription_cancel: SubscriptionCancel,
    subscription_update: Enabled,
}

#[derive(Serialize)]
struct BusinessProfile {
    headline: &'static str,
}

#[derive(Serialize)]
struct PortalConfiguration {
    business_profile: BusinessProfile,
    features: PortalFeatures,
    metadata: BTreeMap<&'static str, &'static str>,
}

impl PortalConfiguration {
    fn seatflow() -> Self {
        let (key, mark) = PORTAL_CONFIGURATION_MARK;
        Self {
            business_profile: BusinessProfile {
                headline: "Invoices, payment methods and billing details for your seats",
            },
            features: PortalFeatures {
                customer_update: CustomerUpdate {
                    enabled: true,
                    allowed_updates: ["email", "address", "tax_id"],
                },
                invoice_history: Enabled { enabled: true },
                payment_method_update: Enabled { enabled: true },
                subscription_cancel: SubscriptionCancel {
                    enabled: true,
                    mode: "at_period_end",
                    proration_behavior: "none",
                },
                subscription_update: Enabled { enabled: false },
            },
            metadata: BTreeMap::from([(key, mark)]),
        }
    }

    /// Whether Stripe's configuration `found` holds everything this one
    /// says (Stripe adds fields of its own; lists compare as sets).
    fn matches(&self, found: &Value) -> bool {
        serde_json::to_value(self).is_ok_and(|wanted| holds(found, &wanted))
    }
}

/// Whether `found` has every field of `wanted` with its value, lists of
/// strings in any order.
fn holds(found: &Value, wanted: &Value) -> bool {
    match (found, wanted) {
        (Value::Object(found), Value::Object(wanted)) => wanted
            .iter()
            .all(|(key, value)| found.get(key).is_some_and(|f| holds(f, value))),
        (Value::Array(found), Value::Array(wanted)) => {
            let sorted = |list: &[Value]| {
                let mut texts: Vec<String> = list.iter().map(Value::to_string).collect();
                texts.sort_unstable();
                texts
            };
            sorted(found) == sorted(wanted)
        }
        (found, wanted) => found == wanted,
    }
}

/// What registering the webhook endpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// A new endpoint: its signing secret, shown by Stripe this once.
    Created {
        /// The endpoint's id.
        id: String,
        /// Its signing secret (`whsec_…`).
        secret: String,
    },
    /// An endpoint at the URL existed; its events or status were brought in
    /// line (its secret is unchanged).
    Updated {
        /// The endpoint's id.
        id: String,
    },
    /// An endpoint at the URL existed as wanted.
    Unchanged {
        /// The endpoint's id.
        id: String,
    },
}

/// Creates the webhook endpoint at `url` with `events`, or brings an
/// existing endpoint at that URL in line (enabled, those events).
///
/// # Errors
/// [`StripeError`] from Stripe.
pub async fn register_webhook(
    api: &StripeApi,
    url: &str,
    events: &[&str],
) -> Result<Registered, StripeError> {
    if let Some(existing) = find_listed(api, "/webhook_endpoints", false, |e| e["url"] == url).await? {
        let id = existing["id"].as_str().unwrap_or_default().to_owned();
        let mut enabled: Vec<&str> = existing["enabled_events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        enabled.sort_unstable();
        let mut wanted = events.to_vec();
        wanted.sort_unstable();
        if enabled == wanted && existing["status"] == "enabled" {
            return Ok(Registered::Unchanged { id });
        }
        let form = EndpointUpdate {
            enabled_events: events,
            disabled: false,
        };
        api.send::<Value>(
            RequestBuilder::new(StripeMethod::Post, format!("/webhook_endpoints/{id}")).form(&form),
        )
        .await?;
        return Ok(Registered::Updated { id });
    }
    let form = NewEndpoint {
        url,
        enabled_events: events,
        description: "seatflow: payments provision seats",
    };
    let created: Value = api
        .send(RequestBuilder::new(StripeMethod::Post, "/webhook_endpoints").form(&form))
        .await?;
    Ok(Registered::Created {
        id: created["id"].as_str().unwrap_or_default().to_owned(),
        secret: created["secret"].as_str().unwrap_or_default().to_owned(),
    })
}

/// One Stripe object by path, `None` when Stripe has none.
async fn get(api: &StripeApi, path: &str) -> Result<Option<Value>, StripeError> {
    match api
        .send::<Value>(RequestBuilder::new(StripeMethod::Get, path))
        .await
    {
        Ok(found) => Ok(Some(found)),
        Err(StripeError::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
struct NewProduct<'a> {
    id: &'a str,
    name: &'a str,
    metadata: BTreeMap<&'static str, &'a str>,
}

#[derive(Serialize)]
struct ProductUpdate<'a> {
    name: &'a str,
    active: bool,
}

#[derive(Serialize)]
struct PriceLookup<'a> {
    lookup_keys: [&'a str; 1],
    active: bool,
    expand: [&'static str; 1],
    limit: u8,
}

#[derive(Serialize)]
struct Archive {
    active: bool,
}

#[derive(Serialize)]
struct Recurring {
    interval: &'static str,
}

/// A tier's upper bound as Stripe's form takes it: a number, or `inf`.
#[derive(Serialize)]
#[serde(untagged)]
enum UpTo {
    At(u32),
    Inf(&'static str),
}

#[derive(Serialize)]
struct Tier {
    up_to: UpTo,
    unit_amount: i64,
}

/// A price as created: flat (`per_unit`) for one tier, else volume-tiered.
#[derive(Serialize)]
struct NewPrice {
    product: String,
    currency: String,
    recurring: Recurring,
    lookup_key: String,
    /// When a price with the key exists: the new one takes the key over.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    transfer_lookup_key: bool,
    nickname: String,
    billing_scheme: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tiers_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tiers: Vec<Tier>,
}

impl NewPrice {
    fn of(catalog: &Catalog, product: &str, term: Term, price: &Price, replacing: bool) -> Self {
        let flat = price.tiers.len() == 1;
        Self {
            product: product.to_owned(),
            currency: catalog.currency.as_str().to_ascii_lowercase(),
            recurring: Recurring {
                interval: match term {
                    Term::Monthly => "month",
                    Term::Annual => "year",
                },
            },
            lookup_key: price.lookup_key.clone(),
            transfer_lookup_key: replacing,
            nickname: price.lookup_key.clone(),
            billing_scheme: if flat { "per_unit" } else { "tiered" },
            unit_amount: flat.then_some(price.unit_amount.minor),
            tiers_mode: (!flat).then_some("volume"),
            tiers: if flat {
                Vec::new()
            } else {
                price
                    .tiers
                    .iter()
                    .map(|t| Tier {
                        up_to: t.up_to.map_or(UpTo::Inf("inf"), UpTo::At),
                        unit_amount: t.unit_amount.minor,
                    })
                    .collect()
            },
        }
    }

    /// Whether Stripe's price `found` charges exactly this.
    fn matches(&self, found: &Value) -> bool {
        let same_basics = found["product"] == self.product.as_str()
            && found["currency"] == self.currency.as_str()
            && found["recurring"]["interval"] == self.recurring.interval
            && found["billing_scheme"] == self.billing_scheme;
        let same_amounts = match self.unit_amount {
            Some(amount) => found["unit_amount"] == amount,
            None => {
                let tiers = found["tiers"].as_array().cloned().unwrap_or_default();
                found["tiers_mode"] == "volume"
                    && tiers.len() == self.tiers.len()
                    && tiers.iter().zip(&self.tiers).all(|(f, t)| {
                        let up_to = match t.up_to {
                            UpTo::At(n) => Value::from(n),
                            UpTo::Inf(_) => Value::Null,
                        };
                        f["up_to"] == up_to && f["unit_amount"] == t.unit_amount
                    })
            }
        };
        same_basics && same_amounts
    }
}

#[derive(Serialize)]
struct NewEndpoint<'a> {
    url: &'a str,
    enabled_events: &'a [&'a str],
    description: &'static str,
}

#[derive(Serialize)]
struct EndpointUpdate<'a> {
    enabled_events: &'a [&'a str],
    disabled: bool,
}
