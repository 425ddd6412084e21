//! The [`PaymentGateway`] on Stripe's API, through `async-stripe`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::DateTime;
use seatflow_domain::{
    CheckoutSession, CheckoutStatus, ItemQuantity, NewCheckout, ORG_METADATA_KEY, PaymentError,
    PaymentGateway, ProrationBehavior, ProviderItem, ProviderSubscription,
};
use stripe::{Client, ClientBuilder, RequestStrategy, StripeError};
use stripe_billing::subscription::{
    RetrieveSubscription, UpdateSubscription, UpdateSubscriptionItems, UpdateSubscriptionProrationBehavior,
};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
    RetrieveCheckoutSession,
};
use stripe_product::price::ListPrice;
use stripe_shared::{CheckoutSessionMode, CheckoutSessionStatus};

/// Stripe, reached with a secret key.
#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the secret key: never print it.
        f.debug_struct("StripeGateway").finish_non_exhaustive()
    }
}

impl StripeGateway {
    /// A gateway with `secret_key`, at Stripe's API or at `base_url` (a
    /// stand-in in tests). Writes retry with one idempotency key, so a
    /// retried create never makes two sessions.
    ///
    /// # Errors
    /// [`PaymentError::Unavailable`] when the client cannot be built.
    pub fn new(secret_key: &str, base_url: Option<&str>) -> Result<Self, PaymentError> {
        let mut builder =
            ClientBuilder::new(secret_key).request_strategy(RequestStrategy::ExponentialBackoff(3));
        if let Some(url) = base_url {
            builder = builder.url(url);
        }
        let client = builder.build().map_err(unavailable)?;
        Ok(Self { client })
    }

    /// The gateway configured by `STRIPE_SECRET_KEY` (required) and
    /// `STRIPE_API_BASE` (optional: a stand-in's address).
    ///
    /// # Errors
    /// A missing key, or a client that cannot be built.
    pub fn from_env() -> Result<Self, PaymentError> {
        let key = std::env::var("STRIPE_SECRET_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| PaymentError::Unavailable("STRIPE_SECRET_KEY is not set".into()))?;
        let base = std::env::var("STRIPE_API_BASE").ok().filter(|b| !b.is_empty());
        Self::new(key.trim(), base.as_deref())
    }

    /// The active price ids of `lookup_keys`, in that order.
    async fn prices(&self, lookup_keys: &[String]) -> Result<Vec<String>, PaymentError> {
        let found = ListPrice::new()
            .active(true)
            .lookup_keys(lookup_keys.to_vec())
            .limit(100)
            .send(&self.client)
            .await
            .map_err(refused)?;
        let by_key: HashMap<String, String> = found
            .data
            .into_iter()
            .filter_map(|price| price.lookup_key.map(|key| (key, price.id.to_string())))
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
        StripeError::Stripe(api, status) if (400..500).contains(&status) && status != 429 => {
            PaymentError::Rejected {
                code: api
                    .code
                    .map_or_else(|| status.to_string(), |code| code.as_str().to_owned()),
                message: api.message.unwrap_or_default(),
            }
        }
        other => unavailable(other),
    }
}

/// `None` for Stripe's "no such object" (404), the error otherwise.
fn absent<T>(result: Result<T, StripeError>) -> Result<Option<T>, PaymentError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(StripeError::Stripe(_, 404)) => Ok(None),
        Err(error) => Err(refused(error)),
    }
}

fn session(found: stripe_shared::CheckoutSession) -> CheckoutSession {
    CheckoutSession {
        id: found.id.to_string(),
        url: found.url,
        org: found
            .client_reference_id
            .or_else(|| found.metadata.and_then(|m| m.get(ORG_METADATA_KEY).cloned())),
        status: match found.status {
            Some(CheckoutSessionStatus::Complete) => CheckoutStatus::Complete,
            Some(CheckoutSessionStatus::Expired) => CheckoutStatus::Expired,
            _ => CheckoutStatus::Open,
        },
        subscription: found.subscription.map(|s| s.id().to_string()),
        created_at: DateTime::from_timestamp(found.created, 0).unwrap_or_default(),
    }
}

fn subscription(found: stripe_shared::Subscription) -> ProviderSubscription {
    ProviderSubscription {
        id: found.id.to_string(),
        customer: found.customer.id().to_string(),
        status: found.status.as_str().to_owned(),
        metadata: found.metadata.into_iter().collect(),
        cancel_at_period_end: found.cancel_at_period_end,
        items: found
            .items
            .data
            .into_iter()
            .map(|item| ProviderItem {
                id: item.id.to_string(),
                lookup_key: item.price.lookup_key,
                quantity: item.quantity.and_then(|q| u32::try_from(q).ok()).unwrap_or(1),
                current_period_start: DateTime::from_timestamp(item.current_period_start, 0),
                current_period_end: DateTime::from_timestamp(item.current_period_end, 0),
            })
            .collect(),
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        let keys: Vec<String> = checkout.lines.iter().map(|l| l.lookup_key.clone()).collect();
        let prices = self.prices(&keys).await?;
        let line_items: Vec<CreateCheckoutSessionLineItems> = checkout
            .lines
            .iter()
            .zip(prices)
            .map(|(line, price)| {
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price = Some(price);
                item.quantity = Some(u64::from(line.quantity));
                item
            })
            .collect();
        let metadata = HashMap::from([(ORG_METADATA_KEY.to_owned(), checkout.org.to_string())]);
        let mut subscription_data = CreateCheckoutSessionSubscriptionData::new();
        subscription_data.metadata = Some(metadata.clone());
        let created = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .line_items(line_items)
            .client_reference_id(checkout.org.to_string())
            .metadata(metadata)
            .subscription_data(subscription_data)
            .allow_promotion_codes(true)
            .success_url(checkout.success_url.clone())
            .cancel_url(checkout.cancel_url.clone())
            .send(&self.client)
            .await
            .map_err(refused)?;
        Ok(session(created))
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        absent(RetrieveCheckoutSession::new(id).send(&self.client).await).map(|found| found.map(session))
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        absent(RetrieveSubscription::new(id).send(&self.client).await).map(|found| found.map(subscription))
    }

    async fn set_quantity(
        &self,
        subscription_id: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
    ) -> Result<ProviderSubscription, PaymentError> {
        let mut item = UpdateSubscriptionItems::new();
        item.quantity = Some(u64::from(change.quantity));
        match &change.item {
            Some(id) => item.id = Some(id.clone()),
            None => item.price = self.prices(std::slice::from_ref(&change.lookup_key)).await?.pop(),
        }
        let updated = UpdateSubscription::new(subscription_id)
            .items(vec![item])
            .proration_behavior(match proration {
                ProrationBehavior::CreateProrations => UpdateSubscriptionProrationBehavior::CreateProrations,
                ProrationBehavior::AlwaysInvoice => UpdateSubscriptionProrationBehavior::AlwaysInvoice,
                ProrationBehavior::None => UpdateSubscriptionProrationBehavior::None,
            })
            .send(&self.client)
            .await
            .map_err(refused)?;
        Ok(subscription(updated))
    }
}
