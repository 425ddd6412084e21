//! Webhook acknowledgement latency, and time from webhook received to usable
//! seats: a signed `customer.subscription.updated` goes through the real
//! router (signature check, event reading, queueing), then the provisioner
//! takes the job, applies it, and the pool shows the new quantity. p50/p99.
//! In-process on the in-memory adapters; and, when `AWS_ENDPOINT_URL` is set,
//! on moto: SQS FIFO queue (send, receive, delete) and DynamoDB store.
//!
//! Run: `cargo bench -p seatflow-tests --bench webhook`, and on moto
//! `scripts/with-moto.sh cargo bench -p seatflow-tests --bench webhook`
//! (figures in BENCHMARKS.md).

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use seatflow_domain::{Clock, JobQueue, ProvisioningJob};
use seatflow_memory::{MemoryEntitlementStore, MemoryJobQueue};
use seatflow_provisioner::{Outcome, Provisioner};
use seatflow_stripe_webhook::{WebhookState, router, signature};
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::{Fixture, product};
use secrecy::SecretString;
use tower::ServiceExt as _;

const ROUNDS: usize = 2_000;
const ROUNDS_ON_MOTO: usize = 200;
const SECRET: &str = "whsec_bench_secret_0123456789";

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (
        us(samples[samples.len() / 2]),
        us(samples[(samples.len() * 99 / 100).min(samples.len() - 1)]),
    )
}

/// Where the provisioner takes jobs from.
enum Source {
    Memory(Arc<MemoryJobQueue>),
    Sqs(aws_sdk_sqs::Client, String),
}

impl Source {
    async fn take(&self) -> ProvisioningJob {
        match self {
            Self::Memory(queue) => queue.pop().expect("queued"),
            Self::Sqs(client, url) => loop {
                let received = client
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(1)
                    .send()
                    .await
                    .expect("receive")
                    .messages
                    .unwrap_or_default();
                if let Some(message) = received.into_iter().next() {
                    client
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(message.receipt_handle.expect("handle"))
                        .send()
                        .await
                        .expect("delete");
                    break serde_json::from_str(&message.body.expect("body")).expect("a job");
                }
            },
        }
    }
}

async fn measure(label: &str, rounds: usize, f: &Fixture, queue: Arc<dyn JobQueue>, source: Source) {
    let app = router(WebhookState {
        secret: Arc::new(SecretString::from(SECRET)),
        queue,
        clock: f.clock.clone(),
        on_refused_signature: seatflow_stripe_webhook::count_nothing,
    });
    let stripe = offline(f);
    let provisioner = Provisioner::new(f.seats.clone(), stripe.clone());
    let (mut acks, mut usable) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        let quantity = 10 + round % 50;
        let created = 1_790_000_000 + round;
        let body = format!(
            r#"{{"id":"evt_bench_{round}","object":"event","type":"customer.subscription.updated","created":{created},"data":{{"object":{{"id":"sub_bench","object":"subscription","status":"active","customer":"cus_bench","cancel_at_period_end":false,"metadata":{{"org":"org_bench"}},"items":{{"object":"list","data":[{{"quantity":{quantity},"current_period_end":1795000000,"price":{{"id":"price_b","lookup_key":"seatflow_professional_annual"}}}}]}}}}}}}}"#
        );
        // Stripe holds the state the event announces: the provisioner reads it.
        let event: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        match seatflow_stripe::wire::subscription_of(
            "customer.subscription.updated",
            &event["data"]["object"].to_string(),
        ) {
            Ok(seatflow_stripe::wire::SubscriptionRef::Embedded(state)) => stripe.put_subscription(*state),
            other => panic!("not a subscription: {other:?}"),
        }
        let t = f.clock.now().timestamp();
        let header = format!(
            "t={t},v1={}",
            signature::sign(SECRET.as_bytes(), t, body.as_bytes())
        );
        let request = Request::post("/v1/stripe/webhook")
            .header("content-type", "application/json")
            .header("stripe-signature", header)
            .body(Body::from(body))
            .expect("request");
        let start = Instant::now();
        let response = app.clone().oneshot(request).await.expect("infallible");
        let acked = start.elapsed();
        assert_eq!(response.status(), StatusCode::OK);
        let job = source.take().await;
        assert_eq!(provisioner.apply(&job).await.expect("applied"), Outcome::Applied);
        let pool = f
            .store
            .pool(&f.admin.org, &product("professional"))
            .await
            .expect("read")
            .expect("pool");
        let done = start.elapsed();
        assert_eq!(pool.purchased as usize, quantity, "seats usable");
        acks.push(acked);
        usable.push(done);
    }
    let (ack50, ack99) = percentiles(acks);
    let (use50, use99) = percentiles(usable);
    #[allow(clippy::print_stdout)] // the report is the output
    {
        println!("{rounds} signed subscription events, {label}");
        println!("| measure | p50 µs | p99 µs |");
        println!("| --- | ---: | ---: |");
        println!("| webhook acknowledged (verify, read, queue) | {ack50:.1} | {ack99:.1} |");
        println!(
            "| webhook received to seats usable (+ take job, provision, read pool) | {use50:.1} | {use99:.1} |"
        );
        println!();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_bench").await;
    let queue = Arc::new(MemoryJobQueue::new());
    measure(
        "in-process, in-memory adapters",
        ROUNDS,
        &f,
        queue.clone(),
        Source::Memory(queue),
    )
    .await;

    if !seatflow_testkit::moto::configured().await {
        #[allow(clippy::print_stdout)]
        {
            println!("(AWS_ENDPOINT_URL unset: run under scripts/with-moto.sh for the moto figures)");
        }
        return;
    }
    let config = seatflow_testkit::aws::sdk_config().await;
    let store = seatflow_testkit::aws::fresh_table(&config).await;
    let f = Fixture::new(Arc::new(store), "org_bench").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = seatflow_testkit::aws::fresh_fifo_queue(&config).await;
    let queue = Arc::new(seatflow_sqs::SqsJobQueue::new(sqs.clone(), url.clone()));
    measure(
        "on moto: SQS FIFO and DynamoDB over loopback HTTP",
        ROUNDS_ON_MOTO,
        &f,
        queue,
        Source::Sqs(sqs, url),
    )
    .await;
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
