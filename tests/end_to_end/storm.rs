//! The storm: Stripe changes subscriptions while their events are delivered
//! at least once, in any order, all stamped with the same `created` second,
//! to provisioners running concurrently that are killed at random (between
//! the read from Stripe and the commit, and between the commit and the queue's
//! delete). At the end every organisation's pools equal what Stripe's final
//! state entitles it to: nothing lost, nothing doubled. A smaller storm runs
//! in memory, a larger one on DynamoDB (moto, started by `make test`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use rand::Rng as _;
use seatflow_domain::{
    Catalog, CheckoutSession, EntitlementStore, ItemQuantity, NewCheckout, ORG_METADATA_KEY, PaymentError,
    PaymentGateway, ProrationBehavior, ProviderItem, ProviderSubscription, ProvisioningJob,
};
use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use seatflow_provisioner::Provisioner;
use seatflow_testkit::{Fixture, aws};
use serde_json::json;

/// Prices and the product each sells.
const PRICES: [(&str, &str); 3] = [
    ("seatflow_essential_monthly", "essential"),
    ("seatflow_sso_monthly", "sso"),
    ("seatflow_analytics_monthly", "analytics"),
];

struct Size {
    orgs: usize,
    subscriptions: usize,
    changes: usize,
    workers: usize,
}

/// The stand-in Stripe for the storm: the offline gateway's state, read
/// with a pause after each read, where a killed provisioner dies.
#[derive(Debug)]
struct SlowStripe(Arc<OfflinePaymentGateway>, Arc<std::sync::atomic::AtomicUsize>);

#[async_trait]
impl PaymentGateway for SlowStripe {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        self.0.create_checkout(checkout).await
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        self.0.checkout_session(id).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let read = self.0.subscription(id).await;
        let pause = rand::rng().random_range(0..1_000);
        tokio::time::sleep(Duration::from_micros(pause)).await;
        read
    }

    async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.0
            .set_cancel_at_period_end(subscription, cancel, idempotency_key)
            .await
    }

    async fn change_prices(
        &self,
        subscription: &str,
        changes: &[seatflow_domain::ItemQuantity],
        proration: seatflow_domain::ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.0
            .change_prices(subscription, changes, proration, idempotency_key)
            .await
    }

    async fn billing_portal(&self, customer: &str, return_url: &str) -> Result<String, PaymentError> {
        self.0.billing_portal(customer, return_url).await
    }

    async fn customer_for(&self, org: &seatflow_domain::OrgId) -> Result<String, PaymentError> {
        self.0.customer_for(org).await
    }

    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<seatflow_domain::SubscriptionPage, PaymentError> {
        self.0.subscriptions_page(starting_after).await
    }

    async fn preview_quantity_change(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, PaymentError> {
        self.0
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
        self.0
            .set_quantity(subscription, change, proration, idempotency_key)
            .await
    }
}

fn subscription(n: usize, orgs: usize) -> ProviderSubscription {
    ProviderSubscription {
        id: format!("sub_storm_{n}"),
        customer: format!("cus_storm_{}", n % orgs),
        status: "active".into(),
        metadata: BTreeMap::from([(ORG_METADATA_KEY.to_owned(), format!("org_storm_{}", n % orgs))]),
        cancel_at_period_end: false,
        items: PRICES
            .iter()
            .enumerate()
            .map(|(i, (price, _))| ProviderItem {
                id: format!("si_storm_{n}_{i}"),
                lookup_key: Some((*price).to_owned()),
                quantity: 1,
                current_period_start: DateTime::from_timestamp(1_790_000_000, 0),
                current_period_end: DateTime::from_timestamp(1_792_592_000, 0),
            })
            .collect(),
    }
}

/// A change Stripe might make: a quantity, a cancellation, a reactivation.
fn change(sub: &mut ProviderSubscription) {
    let mut rng = rand::rng();
    match rng.random_range(0..10) {
        0 => sub.status = "canceled".into(),
        1 => sub.status = "past_due".into(),
        2 | 3 => sub.status = "active".into(),
        _ => {
            let item = rng.random_range(0..sub.items.len());
            sub.items[item].quantity = rng.random_range(1..=40);
        }
    }
}

/// The event announcing `sub`'s change: its payload is what Stripe would send,
/// and every event carries the same `created` second.
fn event(n: usize, sub: &ProviderSubscription) -> ProvisioningJob {
    let object = json!({
        "id": sub.id, "object": "subscription", "customer": sub.customer, "status": sub.status,
        "metadata": sub.metadata, "cancel_at_period_end": sub.cancel_at_period_end,
        "items": { "data": sub.items.iter().map(|i| json!({
            "id": i.id, "quantity": i.quantity, "price": { "lookup_key": i.lookup_key },
            "current_period_start": i.current_period_start.map(|t| t.timestamp()),
            "current_period_end": i.current_period_end.map(|t| t.timestamp()),
        })).collect::<Vec<_>>() }
    });
    seatflow_stripe::event::job_for(
        &format!("evt_storm_{n}"),
        "customer.subscription.updated",
        DateTime::from_timestamp(1_790_000_000, 0).expect("time"),
        &object.to_string(),
    )
}

/// What Stripe's final state entitles each organisation to, per product.
fn entitled(final_states: &[ProviderSubscription]) -> BTreeMap<(String, String), u32> {
    let mut expected = BTreeMap::new();
    for sub in final_states {
        let org = sub.metadata[ORG_METADATA_KEY].clone();
        for (price, product) in PRICES {
            let entitling = matches!(sub.status.as_str(), "active" | "past_due");
            let quantity = sub
                .items
                .iter()
                .find(|i| i.lookup_key.as_deref() == Some(price))
                .map_or(0, |i| i.quantity);
            *expected.entry((org.clone(), product.to_owned())).or_insert(0) +=
                if entitling { quantity } else { 0 };
        }
    }
    expected
}

async fn storm(store: Arc<dyn EntitlementStore>, size: Size) {
    let mut fixtures = Vec::new();
    for o in 0..size.orgs {
        fixtures.push(Fixture::new(store.clone(), &format!("org_storm_{o}")).await);
    }
    // One clock: the provisioners stamp their reads with it, and Stripe's
    // changes move it on (a real clock moves on by itself).
    let clock = fixtures[0].clock.clone();
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let stripe = Arc::new(OfflinePaymentGateway::new(
        catalog,
        clock.clone(),
        "http://local/checkout/",
    ));
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let provisioner = Provisioner::new(
        fixtures[0].seats.clone(),
        Arc::new(SlowStripe(stripe.clone(), reads.clone())),
    );
    let mut states: Vec<ProviderSubscription> = (0..size.subscriptions)
        .map(|n| subscription(n, size.orgs))
        .collect();
    let queue: Arc<Mutex<VecDeque<ProvisioningJob>>> = Arc::default();
    let mut rng = rand::rng();
    for (n, state) in states.iter().enumerate() {
        stripe.put_subscription(state.clone());
        queue.lock().expect("queue").push_back(event(n, state));
    }
    let driving = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let workers: Vec<_> = (0..size.workers)
        .map(|_| {
            let (queue, provisioner, driving) = (queue.clone(), provisioner.clone(), driving.clone());
            tokio::spawn(async move {
                let (mut applied, mut killed) = (0usize, 0usize);
                loop {
                    // Any waiting job, not the oldest: delivery has no order.
                    let job = {
                        let mut jobs = queue.lock().expect("queue");
                        let len = jobs.len();
                        (len > 0)
                            .then(|| jobs.remove(rand::rng().random_range(0..len)))
                            .flatten()
                    };
                    let Some(job) = job else {
                        if !driving.load(std::sync::atomic::Ordering::SeqCst) {
                            return (applied, killed);
                        }
                        tokio::time::sleep(Duration::from_micros(200)).await;
                        continue;
                    };
                    let fate = rand::rng().random_range(0..10);
                    // Killed mid-flight (after Stripe's answer, before the
                    // commit): the job comes back, as SQS would redeliver it.
                    let run = tokio::time::timeout(
                        Duration::from_micros(if fate == 0 { 50 } else { 60_000_000 }),
                        provisioner.apply(&job),
                    )
                    .await;
                    let back = match run {
                        Ok(Ok(_)) => {
                            applied += 1;
                            // Killed after the commit, before the delete.
                            fate == 1
                        }
                        Ok(Err(_)) | Err(_) => {
                            killed += 1;
                            true
                        }
                    };
                    if back {
                        queue.lock().expect("queue").push_back(job);
                    }
                }
            })
        })
        .collect();
    // Stripe changes subscriptions while the storm runs; each change's event
    // is delivered one to three times.
    for n in size.subscriptions..size.subscriptions + size.changes {
        let which = rng.random_range(0..states.len());
        change(&mut states[which]);
        clock.advance(chrono::Duration::milliseconds(1));
        stripe.put_subscription(states[which].clone());
        let copies = rng.random_range(1..=3);
        for _ in 0..copies {
            queue.lock().expect("queue").push_back(event(n, &states[which]));
        }
        // Stripe changes state while reads are in flight.
        let pause = rng.random_range(0..400);
        tokio::time::sleep(Duration::from_micros(pause)).await;
    }
    driving.store(false, std::sync::atomic::Ordering::SeqCst);
    let (mut applied, mut killed) = (0, 0);
    for worker in workers {
        let (a, k) = worker.await.expect("worker finished");
        applied += a;
        killed += k;
    }
    assert!(
        killed > 0 && applied >= size.changes,
        "a storm: {applied} applied, {killed} killed"
    );
    let reads = reads.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        reads <= applied + killed,
        "at most one Stripe read per attempt: {reads} reads for {} attempts",
        applied + killed
    );
    for ((org, product), expected) in entitled(&states) {
        let f = fixtures
            .iter()
            .find(|f| f.admin.org.as_str() == org)
            .expect("org");
        let pools = f.store.pools(&f.admin.org).await.expect("pools");
        let purchased = pools
            .iter()
            .find(|p| p.product.as_str() == product)
            .map_or(0, |p| p.purchased);
        assert_eq!(purchased, expected, "{org} {product}: Stripe's final state");
    }
    for sub in &states {
        let f = &fixtures[0];
        let org = seatflow_domain::OrgId::parse(&sub.metadata[ORG_METADATA_KEY]).expect("org");
        let stored = f
            .store
            .subscription(&org, &sub.id.parse().expect("id"))
            .await
            .expect("read")
            .expect("stored");
        let quantities: Vec<u32> = stored.items.values().copied().collect();
        let mut expected: Vec<u32> = sub.items.iter().map(|i| i.quantity).collect();
        expected.sort_unstable();
        let mut got = quantities;
        got.sort_unstable();
        assert_eq!(got, expected, "{} stored as Stripe has it", sub.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_events_ends_in_stripes_state_in_memory() {
    let size = Size {
        orgs: 4,
        subscriptions: 20,
        changes: 300,
        workers: 6,
    };
    storm(Arc::new(MemoryEntitlementStore::new()), size).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_events_ends_in_stripes_state_on_dynamodb() {
    let size = Size {
        orgs: 10,
        subscriptions: 50,
        changes: 950,
        workers: 8,
    };
    let store = aws::fresh_table(&aws::sdk_config().await).await;
    storm(Arc::new(store), size).await;
}
