//! A deliberately broken store, to prove that the concurrency cases can fail.
//!
//! [`NaiveStore`] wraps a real store but, at commit, replaces every expected
//! version with the version it reads right then: the classic read-then-write
//! race. A decision made on stale state (say, "the pool has room") therefore
//! goes through, and concurrent assigns oversell. The concurrency cases must
//! catch it; a test per adapter checks that they do.

use std::sync::Arc;

use async_trait::async_trait;
use seatflow_domain::{
    ApiKey, ApiKeyId, AuditEntry, AuditId, Change, Email, EntitlementStore, OrgId, Organization, Put,
    SeatPool, Snapshot, SnapshotKeys, StoreError, Subscription, SubscriptionId, Team, TeamId, TeamSeats,
    User, UserId, UserSeats, Write,
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
impl EntitlementStore for NaiveStore {
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.inner.organization(org).await
    }

    async fn record_job_failure(&self, failure: &seatflow_domain::JobFailure) -> Result<(), StoreError> {
        self.inner.record_job_failure(failure).await
    }

    async fn job_failure(&self, event_id: &str) -> Result<Option<seatflow_domain::JobFailure>, StoreError> {
        self.inner.job_failure(event_id).await
    }

    async fn job_failures(&self, limit: usize) -> Result<Vec<seatflow_domain::JobFailure>, StoreError> {
        self.inner.job_failures(limit).await
    }

    async fn forget_job_failure(&self, event_id: &str) -> Result<(), StoreError> {
        self.inner.forget_job_failure(event_id).await
    }

    async fn organizations(
        &self,
        after: Option<&OrgId>,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError> {
        self.inner.organizations(after, limit).await
    }

    async fn pools(&self, org: &OrgId) -> Result<Vec<SeatPool>, StoreError> {
        self.inner.pools(org).await
    }

    async fn team(&self, org: &OrgId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        self.inner.team(org, team).await
    }

    async fn teams(&self, org: &OrgId) -> Result<Vec<Team>, StoreError> {
        self.inner.teams(org).await
    }

    async fn all_team_seats(&self, org: &OrgId) -> Result<Vec<TeamSeats>, StoreError> {
        self.inner.all_team_seats(org).await
    }

    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        let read = self.inner.snapshot(org, keys).await;
        // A read that takes a moment, as over a network: concurrent decisions
        // then all decide on the same state, and the race is certain to show.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        read
    }

    async fn holder(&self, org: &OrgId, user: &UserId) -> Result<Option<UserSeats>, StoreError> {
        self.inner.holder(org, user).await
    }

    async fn holder_by_email(&self, org: &OrgId, email: &Email) -> Result<Option<UserSeats>, StoreError> {
        self.inner.holder_by_email(org, email).await
    }

    async fn users(
        &self,
        org: &OrgId,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        self.inner.users(org, team, after, limit).await
    }

    async fn holders(
        &self,
        org: &OrgId,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<UserSeats>, StoreError> {
        self.inner.holders(org, after, limit).await
    }

    async fn audit(
        &self,
        org: &OrgId,
        before: Option<&AuditId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit(org, before, limit).await
    }

    async fn api_key(&self, org: &OrgId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        self.inner.api_key(org, id).await
    }

    async fn touch_api_key(
        &self,
        org: &OrgId,
        id: &seatflow_domain::ApiKeyId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.inner.touch_api_key(org, id, at).await
    }

    async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, StoreError> {
        self.inner.api_keys(org).await
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.inner.api_key_by_hash(secret_hash).await
    }

    async fn subscription(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError> {
        self.inner.subscription(org, id).await
    }

    async fn subscriptions(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
        self.inner.subscriptions(org).await
    }

    async fn subscription_owner(
        &self,
        id: &seatflow_domain::SubscriptionId,
    ) -> Result<Option<OrgId>, StoreError> {
        self.inner.subscription_owner(id).await
    }

    async fn grant(
        &self,
        org: &OrgId,
        id: &seatflow_domain::GrantId,
    ) -> Result<Option<seatflow_domain::SeatGrant>, StoreError> {
        self.inner.grant(org, id).await
    }

    async fn grants(&self, org: &OrgId) -> Result<Vec<seatflow_domain::SeatGrant>, StoreError> {
        self.inner.grants(org).await
    }

    async fn event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.inner.event_processed(event_id).await
    }

    async fn notification_preferences(
        &self,
        org: &OrgId,
    ) -> Result<Option<seatflow_domain::NotificationPreferences>, StoreError> {
        self.inner.notification_preferences(org).await
    }

    async fn webhook_endpoint(
        &self,
        org: &OrgId,
        id: &seatflow_domain::EndpointId,
    ) -> Result<Option<seatflow_domain::WebhookEndpoint>, StoreError> {
        self.inner.webhook_endpoint(org, id).await
    }

    async fn webhook_endpoints(
        &self,
        org: &OrgId,
    ) -> Result<Vec<seatflow_domain::WebhookEndpoint>, StoreError> {
        self.inner.webhook_endpoints(org).await
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
                // Other records are left as decided.
                _ => {}
            }
        }
        self.inner.commit(change).await
    }
}
