//! Batches as SQS delivers them: per-message failures, FIFO groups held back
//! behind a failure, nothing dropped.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use seatflow_provisioner::Provisioner;
use seatflow_provisioner::batch::QueuedMessage;
use seatflow_stripe::wire;
#[cfg(feature = "lambda")]
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::{Fixture, product};
use serde_json::json;

/// Stripe's subscription `group` of `org` with `quantity` Essential seats.
fn subscription(group: &str, org: &str, quantity: u32) -> serde_json::Value {
    json!({
        "id": group, "object": "subscription", "status": "active", "customer": "cus_1",
        "metadata": { "org": org },
        "items": { "data": [{ "quantity": quantity, "price": { "lookup_key": "seatflow_essential_monthly" } }] }
    })
}

fn message(id: &str, group: &str, event: &str, org: &str, quantity: u32) -> QueuedMessage {
    let job = seatflow_stripe::event::job_for(
        event,
        "customer.subscription.updated",
        chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("time"),
        &subscription(group, org, quantity).to_string(),
    );
    QueuedMessage {
        id: id.into(),
        group: group.into(),
        body: serde_json::to_string(&job).expect("JSON"),
    }
}

/// The provider holds `group` as a subscription of `org` with `quantity`
/// Essential seats.
fn stripe_holds(gateway: &OfflinePaymentGateway, group: &str, org: &str, quantity: u32) {
    let object = subscription(group, org, quantity).to_string();
    match wire::subscription_of("customer.subscription.updated", &object) {
        Ok(wire::SubscriptionRef::Embedded(state)) => gateway.put_subscription(*state),
        other => panic!("not a subscription: {other:?}"),
    }
}

#[tokio::test]
async fn a_failure_holds_back_the_rest_of_its_group_and_only_that() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_batch").await;
    let stripe = offline(&f);
    let provisioner = Provisioner::new(f.seats.clone(), stripe.clone());
    // sub_a names an organisation seatflow does not know: its jobs fail.
    stripe_holds(&stripe, "sub_a", "org_unknown", 3);
    stripe_holds(&stripe, "sub_b", "org_batch", 5);
    let batch = [
        message("m1", "sub_a", "evt_a1", "org_batch", 2),
        message("m2", "sub_a", "evt_a2", "org_batch", 4),
        message("m3", "sub_b", "evt_b1", "org_batch", 5),
        QueuedMessage {
            id: "m4".into(),
            group: "sub_c".into(),
            body: "{not json".into(),
        },
    ];
    let failures = provisioner.apply_batch(&batch).await.failures;
    assert_eq!(
        failures,
        ["m1", "m2", "m4"],
        "the failure, the message behind it in its group, the malformed one"
    );
    assert_eq!(f.pool(&product("essential")).await.purchased, 5, "sub_b applied");
    // Once the provider's state is right, the held-back jobs apply; the
    // applied one is a duplicate and changes nothing.
    stripe_holds(&stripe, "sub_a", "org_batch", 4);
    assert!(provisioner.apply_batch(&batch[..3]).await.failures.is_empty());
    assert_eq!(f.pool(&product("essential")).await.purchased, 4 + 5);
}

#[cfg(feature = "lambda")]
#[tokio::test]
async fn the_sample_sqs_event_is_read_and_applied_in_order() {
    use aws_lambda_events::event::sqs::SqsEvent;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/provisioner/sqs-batch.json"
    );
    let event: SqsEvent =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("an SQS event");
    let messages = seatflow_provisioner::batch::sqs::messages(event);
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].group.as_str()),
        ("msg-1", "sub_sample")
    );
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_sample").await;
    let stripe = offline(&f);
    let provisioner = Provisioner::new(f.seats.clone(), stripe.clone());
    // The provider's state is the later one the sample's events announce.
    let newer = json!({
        "id": "sub_sample", "object": "subscription", "status": "active", "customer": "cus_sample",
        "cancel_at_period_end": false, "metadata": { "org": "org_sample" },
        "items": { "object": "list", "data": [
            { "quantity": 25, "current_period_end": 1_795_000_000, "price": { "id": "price_sample", "lookup_key": "seatflow_professional_annual" } },
            { "quantity": 5, "current_period_end": 1_795_000_000, "price": { "id": "price_sample", "lookup_key": "seatflow_sso_annual" } }
        ] }
    });
    match wire::subscription_of("customer.subscription.updated", &newer.to_string()) {
        Ok(wire::SubscriptionRef::Embedded(state)) => stripe.put_subscription(*state),
        other => panic!("not a subscription: {other:?}"),
    }
    let failures = provisioner.apply_batch(&messages).await.failures;
    let response = serde_json::to_value(seatflow_provisioner::batch::sqs::response(failures)).expect("JSON");
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let pool = f
        .store
        .pool(&f.admin.org, &product("professional"))
        .await
        .expect("read")
        .expect("pool");
    assert_eq!(pool.purchased, 25, "the provider's current state");
    let failed = seatflow_provisioner::batch::sqs::response(vec!["msg-2".into()]);
    assert_eq!(
        serde_json::to_value(failed).expect("JSON"),
        json!({ "batchItemFailures": [{ "itemIdentifier": "msg-2" }] })
    );
}

/// The offline payment gateway on the fixture's clock.
fn offline(f: &Fixture) -> std::sync::Arc<seatflow_memory::OfflinePaymentGateway> {
    let catalog = std::sync::Arc::new(seatflow_domain::Catalog::default_catalog().expect("catalog"));
    std::sync::Arc::new(seatflow_memory::OfflinePaymentGateway::new(
        catalog,
        f.clock.clone(),
        "http://local/checkout/",
    ))
}

/// A payment provider that never answers (counting the reads it is asked).
#[derive(Debug, Default)]
struct SilentStripe(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl seatflow_domain::PaymentGateway for SilentStripe {
    async fn create_checkout(
        &self,
        _checkout: &seatflow_domain::NewCheckout,
    ) -> Result<seatflow_domain::CheckoutSession, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn checkout_session(
        &self,
        _id: &str,
    ) -> Result<Option<seatflow_domain::CheckoutSession>, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn subscription(
        &self,
        _id: &str,
    ) -> Result<Option<seatflow_domain::ProviderSubscription>, seatflow_domain::PaymentError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::pending().await
    }

    async fn billing_portal(
        &self,
        _customer: &str,
        _return_url: &str,
    ) -> Result<String, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn customer_for(
        &self,
        _org: &seatflow_domain::OrgId,
    ) -> Result<String, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn subscriptions_page(
        &self,
        _starting_after: Option<&str>,
    ) -> Result<seatflow_domain::SubscriptionPage, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn preview_quantity_change(
        &self,
        _subscription: &str,
        _change: &seatflow_domain::ItemQuantity,
        _proration: seatflow_domain::ProrationBehavior,
        _at: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn change_prices(
        &self,
        _subscription: &str,
        _changes: &[seatflow_domain::ItemQuantity],
        _proration: seatflow_domain::ProrationBehavior,
        _idempotency_key: Option<&str>,
    ) -> Result<seatflow_domain::ProviderSubscription, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn set_cancel_at_period_end(
        &self,
        _subscription: &str,
        _cancel: bool,
        _idempotency_key: Option<&str>,
    ) -> Result<seatflow_domain::ProviderSubscription, seatflow_domain::PaymentError> {
        std::future::pending().await
    }

    async fn set_quantity(
        &self,
        _subscription: &str,
        _change: &seatflow_domain::ItemQuantity,
        _proration: seatflow_domain::ProrationBehavior,
        _idempotency_key: Option<&str>,
    ) -> Result<seatflow_domain::ProviderSubscription, seatflow_domain::PaymentError> {
        std::future::pending().await
    }
}

/// With a provider that hangs, every job of the batch is still tried within
/// the invocation's time (each gets its share), and every one is reported
/// failed for SQS to redeliver: none is left untried by a slow first one.
#[tokio::test]
async fn a_silent_provider_cannot_leave_jobs_of_a_batch_untried() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_batch").await;
    let stripe = Arc::new(SilentStripe::default());
    let provisioner = Provisioner::new(f.seats.clone(), stripe.clone());
    let batch: Vec<QueuedMessage> = (0..4)
        .map(|i| {
            message(
                &format!("m{i}"),
                &format!("sub_{i}"),
                &format!("evt_{i}"),
                "org_batch",
                1,
            )
        })
        .collect();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(900);
    let failures = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        provisioner.apply_batch_until(&batch, Some(deadline)),
    )
    .await
    .expect("the batch ends by its deadline, not when the provider answers")
    .failures;
    assert_eq!(failures, ["m0", "m1", "m2", "m3"], "each reported for redelivery");
    assert_eq!(
        stripe.0.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "every job was tried"
    );
}
