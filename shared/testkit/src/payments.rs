//! Payment gateways for tests: one that counts the writes it is asked for,
//! and one that holds quantity changes, to test retries: Stripe
//! applies the change and the caller never hears back (the Lambda died
//! after Stripe did the work), or attempts wait for each other and reach
//! Stripe together (a race).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use seatflow_domain::{
    CheckoutSession, ItemQuantity, NewCheckout, OrgId, PaymentError, PaymentGateway, ProrationBehavior,
    ProviderSubscription, SubscriptionPage,
};
use tokio::sync::Barrier;

/// Another gateway, with its quantity changes held (everything else is
/// passed through).
#[derive(Debug)]
pub struct HeldPayments {
    inner: Arc<dyn PaymentGateway>,
    racers: Option<Arc<Barrier>>,
}

impl HeldPayments {
    /// Applies each quantity change, then never answers.
    #[must_use]
    pub fn dies_after_change(inner: Arc<dyn PaymentGateway>) -> Self {
        Self { inner, racers: None }
    }

    /// Holds each quantity change until `n` have arrived, then sends them all.
    #[must_use]
    pub fn racing(inner: Arc<dyn PaymentGateway>, n: usize) -> Self {
        Self {
            inner,
            racers: Some(Arc::new(Barrier::new(n))),
        }
    }
}

#[async_trait]
impl PaymentGateway for HeldPayments {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        self.inner.create_checkout(checkout).await
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        self.inner.checkout_session(id).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        self.inner.subscription(id).await
    }

    async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.inner
            .set_cancel_at_period_end(subscription, cancel, idempotency_key)
            .await
    }

    async fn change_prices(
        &self,
        subscription: &str,
        changes: &[ItemQuantity],
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.inner
            .change_prices(subscription, changes, proration, idempotency_key)
            .await
    }

    async fn billing_portal(&self, customer: &str, return_url: &str) -> Result<String, PaymentError> {
        self.inner.billing_portal(customer, return_url).await
    }

    async fn customer_for(&self, org: &OrgId) -> Result<String, PaymentError> {
        self.inner.customer_for(org).await
    }

    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<SubscriptionPage, PaymentError> {
        self.inner.subscriptions_page(starting_after).await
    }

    async fn preview_quantity_change(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: DateTime<Utc>,
    ) -> Result<i64, PaymentError> {
        self.inner
            .preview_quantity_change(subscription, change, proration, at)
            .await
    }

    async fn set_quantity(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        if let Some(racers) = &self.racers {
            racers.wait().await;
            return self
                .inner
                .set_quantity(subscription, change, proration, idempotency_key)
                .await;
        }
        self.inner
            .set_quantity(subscription, change, proration, idempotency_key)
            .await?;
        std::future::pending().await
    }
}

/// Another gateway that counts what it is asked to change at the provider
/// (checkouts, quantities, prices, cancellations, billing portal sessions),
/// passing everything through.
#[derive(Debug)]
pub struct CountedPayments {
    inner: Arc<dyn PaymentGateway>,
    writes: std::sync::Mutex<Vec<String>>,
}

impl CountedPayments {
    /// Counting the writes sent to `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn PaymentGateway>) -> Self {
        Self {
            inner,
            writes: std::sync::Mutex::default(),
        }
    }

    /// The writes asked for so far, each named by its operation.
    #[must_use]
    pub fn writes(&self) -> Vec<String> {
        self.writes.lock().expect("writes").clone()
    }

    fn wrote(&self, what: &str) {
        self.writes.lock().expect("writes").push(what.to_owned());
    }
}

#[async_trait]
impl PaymentGateway for CountedPayments {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        self.wrote("create_checkout");
        self.inner.create_checkout(checkout).await
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        self.inner.checkout_session(id).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        self.inner.subscription(id).await
    }

    async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.wrote("set_cancel_at_period_end");
        self.inner
            .set_cancel_at_period_end(subscription, cancel, idempotency_key)
            .await
    }

    async fn change_prices(
        &self,
        subscription: &str,
        changes: &[ItemQuantity],
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.wrote("change_prices");
        self.inner
            .change_prices(subscription, changes, proration, idempotency_key)
            .await
    }

    async fn billing_portal(&self, customer: &str, return_url: &str) -> Result<String, PaymentError> {
        self.wrote("billing_portal");
        self.inner.billing_portal(customer, return_url).await
    }

    async fn customer_for(&self, org: &OrgId) -> Result<String, PaymentError> {
        self.wrote("customer_for");
        self.inner.customer_for(org).await
    }

    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<SubscriptionPage, PaymentError> {
        self.inner.subscriptions_page(starting_after).await
    }

    async fn preview_quantity_change(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: DateTime<Utc>,
    ) -> Result<i64, PaymentError> {
        self.inner
            .preview_quantity_change(subscription, change, proration, at)
            .await
    }

    async fn set_quantity(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.wrote("set_quantity");
        self.inner
            .set_quantity(subscription, change, proration, idempotency_key)
            .await
    }
}
