//! Seat commits per second on one hot pool: `C` clients at once assign seats
//! of one product to distinct users of one organisation (every commit
//! counts on the one pool item), until every user holds one. For each `C`:
//! commits per second, p50/p99 latency of an assignment as its client sees
//! it (the domain's retries included), commit attempts refused as stale per
//! seat, and assignments that failed to the client. Then the pool is checked:
//! exactly one seat per user, never more than purchased.
//!
//! In-process on the in-memory store; and, when `AWS_ENDPOINT_URL` is set,
//! on DynamoDB in moto. Run: `cargo bench -p seatflow-tests --bench hot_pool`,
//! and on moto `scripts/with-moto.sh cargo bench -p seatflow-tests --bench
//! hot_pool` (figures in BENCHMARKS.md).

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use seatflow_domain::store_ports::CommitPort;
use seatflow_domain::{
    Change, EntitlementStore, Mode, OrgId, Record, Snapshot, SnapshotKeys, StoreError, UserId,
};
use seatflow_memory::MemoryEntitlementStore;
use seatflow_testkit::{Fixture, product};

const CLIENTS: [usize; 4] = [1, 4, 16, 64];

/// The client counts to run: `HOT_POOL_CLIENTS` (`1,4,16`), else [`CLIENTS`];
/// and the users per run on moto: `HOT_POOL_MOTO_USERS`, else 200 (moto
/// serialises requests, so a run at 64 clients takes minutes).
fn clients() -> Vec<usize> {
    seatflow_config::env::var("HOT_POOL_CLIENTS").map_or_else(
        || CLIENTS.to_vec(),
        |list| {
            list.split(',')
                .map(|c| c.trim().parse().expect("HOT_POOL_CLIENTS: numbers"))
                .collect()
        },
    )
}

/// A store that counts commits refused as stale (each one a decision the
/// domain makes again).
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn EntitlementStore>,
    stale: Arc<AtomicUsize>,
}

seatflow_testkit::forward_store_reads!(Counting => inner; OrganizationReads, DirectoryReads, ApiKeyReads, BillingReads, JobFailures, PassStore);

#[async_trait]
impl CommitPort for Counting {
    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        self.inner.snapshot(org, keys).await
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let committed = self.inner.commit(change).await;
        if committed == Err(StoreError::Conflict) {
            self.stale.fetch_add(1, Ordering::Relaxed);
        }
        committed
    }

    async fn record(&self, record: Record) -> Result<(), StoreError> {
        self.inner.record(record).await
    }

    async fn pause_before_retry(&self, attempt: u32) {
        self.inner.pause_before_retry(attempt).await;
    }
}

/// One run: `clients` at once over `users` users of a fresh organisation.
async fn run(store: Arc<dyn EntitlementStore>, org: &str, users: usize, clients: usize) -> String {
    let stale = Arc::new(AtomicUsize::new(0));
    let counting: Arc<dyn EntitlementStore> = Arc::new(Counting {
        inner: store,
        stale: stale.clone(),
    });
    let f = Fixture::new(counting, org).await;
    f.buy("professional", u32::try_from(users).expect("fits")).await;
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        ids.push(f.user(&format!("hot{i:05}"), None).await.id);
    }
    let ids: Arc<Vec<UserId>> = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    stale.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (seats, admin, ids, next) = (f.seats.clone(), f.admin.clone(), ids.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed: BTreeMap<&'static str, usize> = BTreeMap::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(user) = ids.get(i) else {
                        return (latencies, failed);
                    };
                    let asked = Instant::now();
                    match seats
                        .allocations()
                        .assign(&admin, &product("professional"), user, Mode::Apply)
                        .await
                    {
                        Ok(_) => latencies.push(asked.elapsed()),
                        Err(e) => *failed.entry(e.code()).or_default() += 1,
                    }
                }
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut failed: BTreeMap<&'static str, usize> = BTreeMap::new();
    for worker in workers {
        let (l, f) = worker.await.expect("worker");
        latencies.extend(l);
        for (code, n) in f {
            *failed.entry(code).or_default() += n;
        }
    }
    let wall = started.elapsed();
    let pool = f.pool(&product("professional")).await;
    assert_eq!(
        pool.assigned as usize,
        latencies.len(),
        "one seat per successful assignment"
    );
    assert!(pool.assigned <= pool.purchased, "never oversold");
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = latencies.len().max(1);
    format!(
        "| {clients} | {} of {users} | {:.0} | {:.3} | {:.3} | {:.2} | {} |",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        ms(latencies.get(n / 2).copied().unwrap_or_default()),
        ms(latencies
            .get((n * 99 / 100).min(n - 1))
            .copied()
            .unwrap_or_default()),
        stale.load(Ordering::Relaxed) as f64 / users as f64,
        if failed.is_empty() {
            "none".to_owned()
        } else {
            failed
                .iter()
                .map(|(code, n)| format!("{n} {code}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
}

#[allow(clippy::print_stdout)] // the figures are the point
fn table(title: &str, rows: &[String]) {
    println!("{title}");
    println!(
        "| clients | seats assigned | commits/s | p50 ms | p99 ms | stale commits per seat | failed to the client |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for row in rows {
        println!("{row}");
    }
    println!();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut rows = Vec::new();
    for clients in clients() {
        let store: Arc<dyn EntitlementStore> = Arc::new(MemoryEntitlementStore::new());
        rows.push(run(store, &format!("org_hot_{clients}"), 5_000, clients).await);
    }
    table("in process, in-memory store", &rows);

    if !seatflow_testkit::moto::configured().await {
        #[allow(clippy::print_stdout)]
        {
            println!("(AWS_ENDPOINT_URL unset: run under scripts/with-moto.sh for the moto figures)");
        }
        return;
    }
    let config = seatflow_testkit::aws::sdk_config().await;
    let users = seatflow_config::env::var("HOT_POOL_MOTO_USERS")
        .map_or(200, |n| n.parse().expect("HOT_POOL_MOTO_USERS: a number"));
    let mut rows = Vec::new();
    for clients in clients() {
        let store: Arc<dyn EntitlementStore> = Arc::new(seatflow_testkit::aws::fresh_table(&config).await);
        rows.push(run(store, &format!("org_hot_{clients}"), users, clients).await);
    }
    table("DynamoDB on moto", &rows);
}
