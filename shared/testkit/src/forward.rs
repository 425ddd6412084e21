//! Forwarding a store's read traits to another store, so that a test
//! wrapper that changes one method writes that method only:
//!
//! ```ignore
//! struct Flaky { inner: Arc<dyn EntitlementStore> }
//! seatflow_testkit::forward_store_reads!(Flaky => inner; OrganizationReads, DirectoryReads, ApiKeyReads, BillingReads);
//! #[async_trait] impl JobFailures for Flaky { /* the one that differs */ }
//! ```
//!
//! (`CommitPort` is never forwarded: a wrapper that forwards everything is
//! the store itself.)

/// Implements each named read trait of the entitlement store for `$ty` by
/// forwarding every method to `self.$field`.
#[macro_export]
macro_rules! forward_store_reads {
    ($ty:ty => $field:ident; $($trait:ident),+ $(,)?) => {
        $( $crate::forward_store_reads!(@one $trait, $ty, $field); )+
    };
    (@one OrganizationReads, $ty:ty, $field:ident) => {
        #[$crate::__private::async_trait]
        impl ::seatflow_domain::store_ports::OrganizationReads for $ty {
    async fn organization(&self, org: &::seatflow_domain::OrgId) -> Result<Option<::seatflow_domain::Organization>, ::seatflow_domain::StoreError> {
        self.$field.organization(org).await
    }

    async fn organizations(
        &self,
        after: Option<&::seatflow_domain::OrgId>,
        limit: usize,
    ) -> Result<Vec<::seatflow_domain::Organization>, ::seatflow_domain::StoreError> {
        self.$field.organizations(after, limit).await
    }

    async fn audit(
        &self,
        org: &::seatflow_domain::OrgId,
        before: Option<&::seatflow_domain::AuditId>,
        limit: usize,
    ) -> Result<Vec<::seatflow_domain::AuditEntry>, ::seatflow_domain::StoreError> {
        self.$field.audit(org, before, limit).await
    }

    async fn notification_preferences(
        &self,
        org: &::seatflow_domain::OrgId,
    ) -> Result<Option<::seatflow_domain::NotificationPreferences>, ::seatflow_domain::StoreError> {
        self.$field.notification_preferences(org).await
    }

    async fn webhook_endpoint(
        &self,
        org: &::seatflow_domain::OrgId,
        id: &::seatflow_domain::EndpointId,
    ) -> Result<Option<::seatflow_domain::WebhookEndpoint>, ::seatflow_domain::StoreError> {
        self.$field.webhook_endpoint(org, id).await
    }

    async fn webhook_endpoints(
        &self,
        org: &::seatflow_domain::OrgId,
    ) -> Result<Vec<::seatflow_domain::WebhookEndpoint>, ::seatflow_domain::StoreError> {
        self.$field.webhook_endpoints(org).await
    }
        }
    };
    (@one DirectoryReads, $ty:ty, $field:ident) => {
        #[$crate::__private::async_trait]
        impl ::seatflow_domain::store_ports::DirectoryReads for $ty {
    async fn pools(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::SeatPool>, ::seatflow_domain::StoreError> {
        self.$field.pools(org).await
    }

    async fn team(&self, org: &::seatflow_domain::OrgId, team: &::seatflow_domain::TeamId) -> Result<Option<::seatflow_domain::Team>, ::seatflow_domain::StoreError> {
        self.$field.team(org, team).await
    }

    async fn teams(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::Team>, ::seatflow_domain::StoreError> {
        self.$field.teams(org).await
    }

    async fn all_team_seats(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::TeamSeats>, ::seatflow_domain::StoreError> {
        self.$field.all_team_seats(org).await
    }

    async fn holder(&self, org: &::seatflow_domain::OrgId, user: &::seatflow_domain::UserId) -> Result<Option<::seatflow_domain::UserSeats>, ::seatflow_domain::StoreError> {
        self.$field.holder(org, user).await
    }

    async fn holder_by_email(&self, org: &::seatflow_domain::OrgId, email: &::seatflow_domain::Email) -> Result<Option<::seatflow_domain::UserSeats>, ::seatflow_domain::StoreError> {
        self.$field.holder_by_email(org, email).await
    }

    async fn holder_by_directory_name(&self, org: &::seatflow_domain::OrgId, name: &str) -> Result<Option<::seatflow_domain::UserSeats>, ::seatflow_domain::StoreError> {
        self.$field.holder_by_directory_name(org, name).await
    }

    async fn holders_by_external_id(&self, org: &::seatflow_domain::OrgId, external_id: &str) -> Result<Vec<::seatflow_domain::UserSeats>, ::seatflow_domain::StoreError> {
        self.$field.holders_by_external_id(org, external_id).await
    }

    async fn users(
        &self,
        org: &::seatflow_domain::OrgId,
        team: Option<&::seatflow_domain::TeamId>,
        after: Option<&::seatflow_domain::UserId>,
        limit: usize,
    ) -> Result<Vec<::seatflow_domain::User>, ::seatflow_domain::StoreError> {
        self.$field.users(org, team, after, limit).await
    }

    async fn holders(
        &self,
        org: &::seatflow_domain::OrgId,
        after: Option<&::seatflow_domain::UserId>,
        limit: usize,
    ) -> Result<Vec<::seatflow_domain::UserSeats>, ::seatflow_domain::StoreError> {
        self.$field.holders(org, after, limit).await
    }

    async fn admins(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::User>, ::seatflow_domain::StoreError> {
        self.$field.admins(org).await
    }

    async fn user_count(&self, org: &::seatflow_domain::OrgId) -> Result<u64, ::seatflow_domain::StoreError> {
        self.$field.user_count(org).await
    }

    async fn position_mark(
        &self,
        org: &::seatflow_domain::OrgId,
        position: u64,
        now: $crate::__private::chrono::DateTime<$crate::__private::chrono::Utc>,
    ) -> Result<Option<::seatflow_domain::PositionMark>, ::seatflow_domain::StoreError> {
        self.$field.position_mark(org, position, now).await
    }
        }
    };
    (@one ApiKeyReads, $ty:ty, $field:ident) => {
        #[$crate::__private::async_trait]
        impl ::seatflow_domain::store_ports::ApiKeyReads for $ty {
    async fn api_key(&self, org: &::seatflow_domain::OrgId, id: &::seatflow_domain::ApiKeyId) -> Result<Option<::seatflow_domain::ApiKey>, ::seatflow_domain::StoreError> {
        self.$field.api_key(org, id).await
    }

    async fn api_keys(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::ApiKey>, ::seatflow_domain::StoreError> {
        self.$field.api_keys(org).await
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<::seatflow_domain::ApiKey>, ::seatflow_domain::StoreError> {
        self.$field.api_key_by_hash(secret_hash).await
    }
        }
    };
    (@one BillingReads, $ty:ty, $field:ident) => {
        #[$crate::__private::async_trait]
        impl ::seatflow_domain::store_ports::BillingReads for $ty {
    async fn subscription(
        &self,
        org: &::seatflow_domain::OrgId,
        id: &::seatflow_domain::SubscriptionId,
    ) -> Result<Option<::seatflow_domain::Subscription>, ::seatflow_domain::StoreError> {
        self.$field.subscription(org, id).await
    }

    async fn subscriptions(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::Subscription>, ::seatflow_domain::StoreError> {
        self.$field.subscriptions(org).await
    }

    async fn subscription_owner(
        &self,
        id: &::seatflow_domain::SubscriptionId,
    ) -> Result<Option<::seatflow_domain::OrgId>, ::seatflow_domain::StoreError> {
        self.$field.subscription_owner(id).await
    }

    async fn grant(
        &self,
        org: &::seatflow_domain::OrgId,
        id: &::seatflow_domain::GrantId,
    ) -> Result<Option<::seatflow_domain::SeatGrant>, ::seatflow_domain::StoreError> {
        self.$field.grant(org, id).await
    }

    async fn grants(&self, org: &::seatflow_domain::OrgId) -> Result<Vec<::seatflow_domain::SeatGrant>, ::seatflow_domain::StoreError> {
        self.$field.grants(org).await
    }

    async fn event_processed(&self, event_id: &str) -> Result<bool, ::seatflow_domain::StoreError> {
        self.$field.event_processed(event_id).await
    }
        }
    };
    (@one JobFailures, $ty:ty, $field:ident) => {
        #[$crate::__private::async_trait]
        impl ::seatflow_domain::store_ports::JobFailures for $ty {

    async fn job_failure(&self, event_id: &str) -> Result<Option<::seatflow_domain::JobFailure>, ::seatflow_domain::StoreError> {
        self.$field.job_failure(event_id).await
    }

    async fn job_failures(&self, limit: usize) -> Result<Vec<::seatflow_domain::JobFailure>, ::seatflow_domain::StoreError> {
        self.$field.job_failures(limit).await
    }
        }
    };
    (@one PassStore, $ty:ty, $field:ident) => {
        #[$crate::__private::async_trait]
        impl ::seatflow_domain::store_ports::PassStore for $ty {
    async fn keep_pass(&self, digest: &str, pass: &::seatflow_domain::Pass) -> Result<(), ::seatflow_domain::StoreError> {
        self.$field.keep_pass(digest, pass).await
    }

    async fn pass(&self, kind: ::seatflow_domain::PassKind, digest: &str) -> Result<Option<::seatflow_domain::Pass>, ::seatflow_domain::StoreError> {
        self.$field.pass(kind, digest).await
    }

    async fn take_pass(&self, kind: ::seatflow_domain::PassKind, digest: &str) -> Result<Option<::seatflow_domain::Pass>, ::seatflow_domain::StoreError> {
        self.$field.take_pass(kind, digest).await
    }
        }
    };
}
