//! A deliberately broken store, to prove that the concurrency cases can fail.
//!
//! [`NaiveStore`] wraps a real store but, at commit, replaces every expected
//! version with the version it reads right then: the classic read-then-write
//! race. A decision made on stale state (say, "the pool has room") therefore
//! goes through, and concurrent assigns oversell; a pool's blind count is
//! written without its cap, for the same effect. The concurrency cases must
//! catch it; a test per adapter checks that they do.

use std::sync::Arc;

use async_trait::async_trait;
use seatflow_domain::store_ports::CommitPort;
use seatflow_domain::{
    Change, EntitlementStore, OrgId, Put, Record, Snapshot, SnapshotKeys, StoreError, Write,
};

use crate::reads::StoreReads as _;

/// A store that refreshes expected versions at commit (never use for real).
/// Its commits run one at a time, so a refreshed version is always current
/// and every stale decision lands, whatever the timing.
#[derive(Debug)]
pub struct NaiveStore {
    inner: Arc<dyn EntitlementStore>,
    commits: tokio::sync::Mutex<()>,
}

impl NaiveStore {
    /// Wraps `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn EntitlementStore>) -> Self {
        Self {
            inner,
            commits: tokio::sync::Mutex::new(()),
        }
    }
}

fn restamp<T>(put: &mut Put<T>, current: Option<u64>, set_version: impl FnOnce(&mut T, u64)) {
    put.expected = current;
    set_version(&mut put.value, current.map_or(1, |v| v + 1));
}

#[async_trait]
impl CommitPort for NaiveStore {
    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        let read = self.inner.snapshot(org, keys).await;
        // A read that takes a moment, as over a network: concurrent decisions
        // then all decide on the same state, and the race is certain to show.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        read
    }

    async fn commit(&self, mut change: Change) -> Result<(), StoreError> {
        let _one_at_a_time = self.commits.lock().await;
        let org = change.org.clone();
        for write in &mut change.writes {
            match write {
                Write::Pool(put) => {
                    let now = self
                        .inner
                        .pool(&org, &put.value.product)
                        .await?
                        .map(|p| p.version);
                    restamp(put, now, |v, n| v.version = n);
                }
                Write::TeamSeats(put) => {
                    let now = self
                        .inner
                        .team_seats(&org, &put.value.team, &put.value.product)
                        .await?
                        .map(|t| t.version);
                    restamp(put, now, |v, n| v.version = n);
                }
                // A blind count becomes a write of the pool as it is now plus
                // the count, with no cap: the oversell a missing check allows.
                Write::PoolSeatsCount(count) => {
                    if let Some(mut pool) = self.inner.pool(&org, &count.product).await? {
                        let expected = Some(pool.version);
                        count.apply_to(&mut pool);
                        *write = Write::Pool(Put {
                            expected,
                            value: pool,
                        });
                    }
                }
                // Other records are left as decided.
                _ => {}
            }
        }
        self.inner.commit(change).await
    }

    async fn record(&self, record: Record) -> Result<(), StoreError> {
        self.inner.record(record).await
    }
}

// Every read is the wrapped store's.
crate::forward_store_reads!(NaiveStore => inner; OrganizationReads, DirectoryReads, ApiKeyReads, BillingReads, JobFailures, PassStore);
