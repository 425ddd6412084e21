//! The [`PaymentGateway`] on Stripe's API, through [`StripeApi`]
//! (authentication, retries with idempotency keys, API version, errors).
//!
//! Requests are built from the few parameters seatflow sends and responses
//! read for the few fields it needs (the same reader as webhook payloads),
//! rather than through async-stripe's generated per-API crates: four fewer
//! large crates to compile, and 0.65 MiB less per binary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::DateTime;
use seatflow_domain::{
    CheckoutSession, CheckoutStatus, ItemQuantity, NewCheckout, ORG_METADATA_KEY, OrgId, PaymentError,
    PaymentGateway, ProrationBehavior, ProviderSubscription, SUBSCRIPTION_PAGE, SubscriptionPage,
};
use serde::Serialize;
use serde_json::Value;
use stripe_client_core::{RequestBuilder, RequestStrategy, StripeMethod};

use crate::wire;
use crate::{StripeApi, StripeError};

/// Stripe, reached with a secret key.
#[derive(Clone, Debug)]
pub struct StripeGateway {
    client: StripeApi,
    /// seatflow's Customer Portal configuration, once found.
    portal_configuration: Arc<Mutex<Option<String>>>,
}

impl StripeGateway {
    /// A gateway with `secret_key`, at Stripe's API or at `base_url` (a
    /// stand-in in tests). Writes retry with one idempotency key, so a
    /// retried create never makes two sessions.
    ///
    /// # Errors
    /// [`PaymentError::Unavailable`] when the client cannot be built.
    pub fn new(secret_key: &str, base_url: Option<&str>) -> Result<Self, PaymentError> {
        let client = StripeApi::new(secret_key, base_url, RequestStrategy::ExponentialBackoff(3))
            .map_err(unavailable)?;
        Ok(Self {
            client,
            portal_configuration: Arc::default(),
        })
    }

    /// seatflow's Customer Portal configuration (`seatflow-admin stripe
    /// sync` creates it), looked up once; without one, sessions open Stripe's
    /// default configuration, and a warning says to run the sync.
    async fn portal_configuration(&self) -> Option<String> {
        if let Some(id) = self
            .portal_configuration
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Some(id);
        }
        match crate::setup::billing_portal_configuration(&self.client).await {
            Ok(Some(found)) => {
                let id = found["id"].as_str()?.to_owned();
                *self
                    .portal_configuration
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(id.clone());
                Some(id)
            }
            Ok(None) => {
                tracing::warn!(
                    "no seatflow Customer Portal configuration in this Stripe account: billing-portal sessions \
                     open Stripe's default one; run `seatflow-admin stripe sync`"
                );
                None
            }
            Err(error) => {
                tracing::warn!(%error, "could not look up seatflow's Customer Portal configuration");
                None
            }
        }
    }

    /// The item of a quantity change: the existing item by id, or a new one
    /// by its price.
    async fn item_update(&self, change: &ItemQuantity) -> Result<ItemUpdate, PaymentError> {
        Ok(match &change.item {
            Some(item) => ItemUpdate {
                id: Some(item.clone()),
                price: None,
                quantity: change.quantity,
            },
            None => ItemUpdate {
                id: None,
                price: self.prices(std::slice::from_ref(&change.lookup_key)).await?.pop(),
                quantity: change.quantity,
            },
        })
    }

    /// `POST /v1/subscriptions/{id}` with `form`: the subscription as
    /// updated.
    async fn update_subscription(
        &self,
        id: &str,
        form: &impl Serialize,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        let updated = self
            .client
            .send_with_key::<Value>(
                RequestBuilder::new(StripeMethod::Post, format!("/subscriptions/{id}")).form(form),
                idempotency_key,
            )
            .await
            .map_err(refused)?;
        subscription(&updated)
    }

    /// The active price ids of `lookup_keys`, in that order.
    async fn prices(&self, lookup_keys: &[String]) -> Result<Vec<String>, PaymentError> {
        #[derive(Serialize)]
        struct ListPrices<'a> {
            active: bool,
            lookup_keys: &'a [String],
            limit: u32,
        }
        let found = self
            .client
            .send::<Value>(
                RequestBuilder::new(StripeMethod::Get, "/prices").query(&ListPrices {
                    active: true,
                    lookup_keys,
                    limit: 100,
                }),
            )
            .await
            .map_err(refused)?;
        let by_key: HashMap<String, String> = found["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|price| {
                Some((
                    price["lookup_key"].as_str()?.to_owned(),
                    price["id"].as_str()?.to_owned(),
                ))
            })
            .collect();
        lookup_keys
            .iter()
            .map(|key| {
                by_key
                    .get(key)
                    .cloned()
                    .ok_or_else(|| PaymentError::MissingPrice(key.clone()))
            })
            .collect()
    }
}

fn unavailable(error: StripeError) -> PaymentError {
    PaymentError::Unavailable(error.to_string())
}

fn refused(error: StripeError) -> PaymentError {
    match error {
        StripeError::Api {
            status,
            code,
            message,
            ..
        } if (400..500).contains(&status) && status != 429 => PaymentError::Rejected {
            code: code.unwrap_or_else(|| status.to_string()),
            message: message.unwrap_or_default(),
        },
        other => unavailable(other),
    }
}

/// `None` for Stripe's "no such object" (404), the error otherwise.
fn absent<T>(result: Result<T, StripeError>) -> Result<Option<T>, PaymentError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(StripeError::Api { status: 404, .. }) => Ok(None),
        Err(error) => Err(refused(error)),
    }
}

/// A Checkout Session as Stripe returns it.
fn session(found: &Value) -> Result<CheckoutSession, PaymentError> {
    let text = |key: &str| found[key].as_str().map(str::to_owned);
    Ok(CheckoutSession {
        id: text("id").ok_or_else(|| PaymentError::Unavailable("a checkout session without an id".into()))?,
        url: text("url"),
        org: text("client_reference_id")
            .or_else(|| found["metadata"][ORG_METADATA_KEY].as_str().map(str::to_owned)),
        status: match found["status"].as_str() {
            Some("complete") => CheckoutStatus::Complete,
            Some("expired") => CheckoutStatus::Expired,
            _ => CheckoutStatus::Open,
        },
        // A subscription id, or the subscription itself when expanded.
        subscription: match &found["subscription"] {
            Value::String(id) => Some(id.clone()),
            other => other["id"].as_str().map(str::to_owned),
        },
        created_at: DateTime::from_timestamp(found["created"].as_i64().unwrap_or_default(), 0)
            .unwrap_or_default(),
    })
}

/// A subscription as Stripe returns it.
fn subscription(found: &Value) -> Result<ProviderSubscription, PaymentError> {
    wire::read_subscription(&found.to_string()).map_err(|e| PaymentError::Unavailable(e.to_string()))
}

/// An object id fit for a URL path: Stripe's ids are letters, digits and `_`.
/// Anything else names no object (and must not reach the path).
fn object_id(id: &str) -> Option<&str> {
    (!id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(id)
}

#[derive(Serialize)]
struct NewSession<'a> {
    mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<&'a str>,
    line_items: Vec<LineItem>,
    client_reference_id: String,
    metadata: HashMap<&'static str, String>,
    subscription_data: SubscriptionData,
    allow_promotion_codes: bool,
    success_url: &'a str,
    cancel_url: &'a str,
}

#[derive(Serialize)]
struct LineItem {
    price: String,
    quantity: u32,
}

#[derive(Serialize)]
struct SubscriptionData {
    metadata: HashMap<&'static str, String>,
}

#[derive(Serialize)]
struct InvoicePreview<'a> {
    subscription: &'a str,
    subscription_details: PreviewDetails,
}

#[derive(Serialize)]
struct PreviewDetails {
    items: [ItemUpdate; 1],
    proration_behavior: &'static str,
    proration_date: i64,
}

/// Whether an invoice line is a proration (the field moved under `parent` in
/// Stripe's 2025 API versions; both are read).
fn is_proration(line: &Value) -> bool {
    line["proration"] == true || line["parent"]["subscription_item_details"]["proration"] == true
}

fn proration_name(proration: ProrationBehavior) -> &'static str {
    match proration {
        ProrationBehavior::CreateProrations => "create_prorations",
        ProrationBehavior::AlwaysInvoice => "always_invoice",
        ProrationBehavior::None => "none",
    }
}

/// A subscription id fit for a URL path, or the provider's own refusal.
fn subscription_path_id(subscription_id: &str) -> Result<&str, PaymentError> {
    object_id(subscription_id).ok_or_else(|| PaymentError::Rejected {
        code: "resource_missing".into(),
        message: format!("no such subscription: {subscription_id:?}"),
    })
}

#[derive(Serialize)]
struct PriceUpdate {
    items: Vec<ItemUpdate>,
    proration_behavior: &'static str,
}

#[derive(Serialize)]
struct CancellationUpdate {
    cancel_at_period_end: bool,
}

#[derive(Serialize)]
struct QuantityUpdate {
    items: [ItemUpdate; 1],
    proration_behavior: &'static str,
}

#[derive(Serialize)]
struct ItemUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<String>,
    quantity: u32,
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        let keys: Vec<String> = checkout.lines.iter().map(|l| l.lookup_key.clone()).collect();
        let prices = self.prices(&keys).await?;
        let metadata = HashMap::from([(ORG_METADATA_KEY, checkout.org.to_string())]);
        let form = NewSession {
            mode: "subscription",
            customer: checkout.customer.as_deref(),
            line_items: checkout
                .lines
                .iter()
                .zip(prices)
                .map(|(line, price)| LineItem {
                    price,
                    quantity: line.quantity,
                })
                .collect(),
            client_reference_id: checkout.org.to_string(),
            metadata: metadata.clone(),
            subscription_data: SubscriptionData { metadata },
            allow_promotion_codes: true,
            success_url: &checkout.success_url,
            cancel_url: &checkout.cancel_url,
        };
        let created = self
            .client
            .send::<Value>(RequestBuilder::new(StripeMethod::Post, "/checkout/sessions").form(&form))
            .await
            .map_err(refused)?;
        session(&created)
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        let Some(id) = object_id(id) else { return Ok(None) };
        let found = absent(
            self.client
                .send::<Value>(RequestBuilder::new(
                    StripeMethod::Get,
                    format!("/checkout/sessions/{id}"),
                ))
                .await,
        )?;
        found.as_ref().map(session).transpose()
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        let Some(id) = object_id(id) else { return Ok(None) };
        let found = absent(
            self.client
                .send::<Value>(RequestBuilder::new(
                    StripeMethod::Get,
                    format!("/subscriptions/{id}"),
                ))
                .await,
        )?;
        found.as_ref().map(subscription).transpose()
    }

    async fn customer_for(&self, org: &OrgId) -> Result<String, PaymentError> {
        #[derive(Serialize)]
        struct Search {
            query: String,
            limit: u32,
        }
        #[derive(Serialize)]
        struct NewCustomer<'a> {
            metadata: HashMap<&'static str, &'a str>,
            description: String,
        }
        // Ids are [A-Za-z0-9_-]: nothing to escape in the query.
        let found = self
            .client
            .send::<Value>(
                RequestBuilder::new(StripeMethod::Get, "/customers/search").query(&Search {
                    query: format!("metadata['{ORG_METADATA_KEY}']:'{org}'"),
                    limit: 1,
                }),
            )
            .await
            .map_err(refused)?;
        if let Some(id) = found["data"][0]["id"].as_str() {
            return Ok(id.to_owned());
        }
        // Search trails writes by up to a minute: the key makes two first
        // purchases within Stripe's 24 hours of keys one customer.
        let created = self
            .client
            .send_with_key::<Value>(
                RequestBuilder::new(StripeMethod::Post, "/customers").form(&NewCustomer {
                    metadata: HashMap::from([(ORG_METADATA_KEY, org.as_str())]),
                    description: format!("seatflow organisation {org}"),
                }),
                Some(&format!("seatflow:{org}:customer")),
            )
            .await
            .map_err(refused)?;
        created["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| PaymentError::Unavailable("Stripe created a customer without an id".into()))
    }

    async fn billing_portal(&self, customer: &str, return_url: &str) -> Result<String, PaymentError> {
        #[derive(Serialize)]
        struct PortalSession<'a> {
            customer: &'a str,
            return_url: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            configuration: Option<String>,
        }
        let customer = object_id(customer).ok_or_else(|| PaymentError::Rejected {
            code: "resource_missing".into(),
            message: format!("no such customer: {customer:?}"),
        })?;
        let created = self
            .client
            .send::<Value>(
                RequestBuilder::new(StripeMethod::Post, "/billing_portal/sessions").form(&PortalSession {
                    customer,
                    return_url,
                    configuration: self.portal_configuration().await,
                }),
            )
            .await
            .map_err(refused)?;
        created["url"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| PaymentError::Unavailable("a billing portal session without a URL".into()))
    }

    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<SubscriptionPage, PaymentError> {
        #[derive(Serialize)]
        struct ListSubscriptions<'a> {
            // Every status: a cancelled or unpaid subscription must reach
            // seatflow as much as an active one.
            status: &'static str,
            limit: u8,
            #[serde(skip_serializing_if = "Option::is_none")]
            starting_after: Option<&'a str>,
        }
        let starting_after = starting_after
            .map(|id| {
                object_id(id).ok_or_else(|| PaymentError::Rejected {
                    code: "invalid_request_error".into(),
                    message: format!("not a subscription id: {id:?}"),
                })
            })
            .transpose()?;
        let found = self
            .client
            .send::<Value>(RequestBuilder::new(StripeMethod::Get, "/subscriptions").query(
                &ListSubscriptions {
                    status: "all",
                    limit: SUBSCRIPTION_PAGE,
                    starting_after,
                },
            ))
            .await
            .map_err(refused)?;
        let subscriptions = found["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(subscription)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SubscriptionPage {
            subscriptions,
            has_more: found["has_more"].as_bool().unwrap_or(false),
        })
    }

    async fn preview_quantity_change(
        &self,
        subscription_id: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: DateTime<chrono::Utc>,
    ) -> Result<i64, PaymentError> {
        if proration == ProrationBehavior::None {
            return Ok(0);
        }
        let id = subscription_path_id(subscription_id)?;
        let form = InvoicePreview {
            subscription: id,
            subscription_details: PreviewDetails {
                items: [self.item_update(change).await?],
                proration_behavior: proration_name(proration),
                proration_date: at.timestamp(),
            },
        };
        let preview = self
            .client
            .send::<Value>(RequestBuilder::new(StripeMethod::Post, "/invoices/create_preview").form(&form))
            .await
            .map_err(refused)?;
        // The prorations of this one change: a credit for the old quantity
        // and a charge for the new, both on the first page of lines.
        Ok(preview["lines"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|line| is_proration(line))
            .filter_map(|line| line["amount"].as_i64())
            .sum())
    }

    async fn change_prices(
        &self,
        subscription_id: &str,
        changes: &[ItemQuantity],
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        let id = subscription_path_id(subscription_id)?;
        let keys: Vec<String> = changes.iter().map(|c| c.lookup_key.clone()).collect();
        let prices = self.prices(&keys).await?;
        let items = changes
            .iter()
            .zip(prices)
            .map(|(change, price)| ItemUpdate {
                id: change.item.clone(),
                price: Some(price),
                quantity: change.quantity,
            })
            .collect();
        let form = PriceUpdate {
            items,
            proration_behavior: proration_name(proration),
        };
        self.update_subscription(id, &form, idempotency_key).await
    }

    async fn set_cancel_at_period_end(
        &self,
        subscription_id: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        let id = subscription_path_id(subscription_id)?;
        let form = CancellationUpdate {
            cancel_at_period_end: cancel,
        };
        self.update_subscription(id, &form, idempotency_key).await
    }

    async fn set_quantity(
        &self,
        subscription_id: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        let id = subscription_path_id(subscription_id)?;
        let item = self.item_update(change).await?;
        let form = QuantityUpdate {
            items: [item],
            proration_behavior: proration_name(proration),
        };
        self.update_subscription(id, &form, idempotency_key).await
    }
}

#[cfg(test)]
mod tests {
    use super::object_id;

    #[test]
    fn only_stripe_shaped_ids_reach_a_url_path() {
        assert_eq!(object_id("sub_1Abc"), Some("sub_1Abc"));
        for bad in [
            "",
            "../v1/customers",
            "cs_1?expand[]=x",
            "sub 1",
            "sub/1",
            "sub%2F1",
        ] {
            assert_eq!(object_id(bad), None, "{bad:?}");
        }
    }
}
