//! Time from a seat change to its delivery at a local receiver: in one
//! process (the in-memory store's commit wakes the relay, the in-process
//! queue delivers), and when `AWS_ENDPOINT_URL` is set on moto (the change
//! committed to DynamoDB, its outbox item handed to the relay as the stream
//! would, the delivery through SQS FIFO and the delivering function's batch
//! code). Each round assigns or revokes one seat and waits until the
//! receiver has the event; the clock runs from just before the change is
//! asked for to the receiver's handler.
//!
//! Run: `cargo bench -p seatflow-outbound --bench delivery`, and on moto
//! `scripts/with-moto.sh cargo bench -p seatflow-outbound --bench delivery`
//! (figures in BENCHMARKS.md). On AWS the stream adds its own latency
//! (typically well under a second), which moto does not model.

// Benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use seatflow_domain::{Catalog, EventType, Mode, NewEndpoint, Seats, SystemClock};
use seatflow_memory::MemoryEntitlementStore;
use seatflow_outbound::delivery::deliver_batch;
use seatflow_outbound::stream::relay_records;
use seatflow_testkit::{Fixture, aws, product};
use seatflow_webhooks::{Deliverer, HttpTransport, LocalQueue, Relay, deliver_in_process};
use tokio::sync::mpsc;

#[path = "../tests/support/mod.rs"]
mod support;

const ROUNDS: usize = 200;
const ROUNDS_ON_MOTO: usize = 50;

/// A receiver that reports the instant each post arrives.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Instant>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Instant::now());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn endpoint(f: &Fixture, url: &str) {
    f.seats
        .integrations()
        .create_webhook_endpoint(
            &f.admin,
            &NewEndpoint {
                url: url.into(),
                event_types: vec![EventType::SeatAssigned, EventType::SeatRevoked],
                allow_http: true,
            },
            Mode::Apply,
        )
        .await
        .unwrap();
}

fn report(label: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "{label}: {} changes, median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5),
        at(0.95),
        at(1.0)
    );
}

/// The organisation of the rounds: an endpoint at a fresh receiver, one
/// seat, one user; the receiver's arrivals.
async fn organisation(
    store: Arc<dyn seatflow_testkit::Store>,
) -> (Fixture, seatflow_domain::UserId, mpsc::UnboundedReceiver<Instant>) {
    let f = Fixture::new(store, "org_bench").await;
    let (url, arrivals) = receiver().await;
    endpoint(&f, &url).await;
    f.buy("professional", 1).await;
    let user = f.user("Ada", None).await.id;
    (f, user, arrivals)
}

/// A deliverer over `store`, on the system clock, posting over HTTP.
fn deliverer<S: seatflow_testkit::Store + 'static>(store: Arc<S>) -> Deliverer {
    let seats = Arc::new(Seats::new(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(Catalog::default_catalog().unwrap()),
    ));
    Deliverer::new(
        seats,
        store.clone(),
        store,
        Arc::new(HttpTransport::new().unwrap()),
        None,
        Arc::new(SystemClock),
    )
}

/// One seat, assigned and revoked in turn: one event per round.
async fn change(f: &Fixture, round: usize, user: &seatflow_domain::UserId) {
    if round.is_multiple_of(2) {
        f.assign(&product("professional"), user).await;
    } else {
        f.unassign(&product("professional"), user).await;
    }
}

async fn in_process() {
    let store = Arc::new(MemoryEntitlementStore::new());
    let (f, user, mut arrivals) = organisation(store.clone()).await;
    let queue = Arc::new(LocalQueue::new());
    let deliverer = deliverer(store.clone());
    let relay = Relay::new(store.clone(), store.clone(), queue.clone());
    let _ = store.take_outbox();
    let taken = store.clone();
    deliver_in_process(
        |hook| store.on_events(hook),
        move || taken.take_outbox(),
        relay,
        queue,
        deliverer,
    );
    let mut latencies = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let start = Instant::now();
        change(&f, round, &user).await;
        let arrived = arrivals.recv().await.unwrap();
        latencies.push(arrived - start);
    }
    report(
        "in process (memory store, in-process queue, HTTP to a local receiver)",
        latencies,
    );
}

async fn on_moto() {
    let config = aws::sdk_config().await;
    let store = Arc::new(aws::fresh_table(&config).await);
    let queue_url = aws::fresh_fifo_queue(&config).await;
    let queue = Arc::new(seatflow_sqs::SqsDeliveryQueue::new(
        aws_sdk_sqs::Client::new(&config),
        queue_url.clone(),
    ));
    let (f, user, mut arrivals) = organisation(store.clone()).await;
    let deliverer = deliverer(store.clone());
    let relay = Relay::new(store.clone(), store.clone(), queue.clone());
    let mut seen = std::collections::HashSet::new();
    let mut latencies = Vec::with_capacity(ROUNDS_ON_MOTO);
    for round in 0..ROUNDS_ON_MOTO {
        let start = Instant::now();
        change(&f, round, &user).await;
        // The stream's part: the new outbox item, as a stream record.
        let stream = support::outbox_stream(&config, store.table(), "org_bench", &mut seen).await;
        relay_records(&relay, stream).await;
        let messages = support::receive(&config, &queue_url).await;
        let batch = deliver_batch(&deliverer, &*queue, &messages).await;
        support::settle(&config, &queue_url, &messages, &batch.failures).await;
        let arrived = arrivals.recv().await.unwrap();
        latencies.push(arrived - start);
    }
    report(
        "on moto (DynamoDB commit, outbox item relayed, SQS FIFO, delivery batch)",
        latencies,
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    in_process().await;
    if seatflow_testkit::moto::configured().await {
        on_moto().await;
    } else {
        println!("(AWS_ENDPOINT_URL is not set: run with scripts/with-moto.sh for the moto figures)");
    }
}
