//! The `EntitlementStore` port: what the domain needs persisted, and the
//! all-or-nothing, optimistic-concurrency commit it relies on.

use async_trait::async_trait;

use crate::api_key::ApiKey;
use crate::assignment::Assignment;
use crate::audit::AuditEntry;
use crate::directory::{Email, Organization, Team, User};
use crate::ids::{ApiKeyId, AuditId, OrgId, ProductId, SubscriptionId, TeamId, UserId};
use crate::notification::NotificationPreferences;
use crate::pool::{SeatPool, TeamSeats};
use crate::subscription::{ProcessedEvent, Subscription};

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A record changed since it was read (or a unique key is taken); nothing
    /// was written. Re-read and decide again.
    #[error("a record changed since it was read")]
    Conflict,
    /// The store failed or could not be reached; nothing is known to be written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Writing one record: `expected` is the version read (`None`: must not exist
/// yet). The store refuses the whole change if any record's version differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put<T> {
    /// Version the decision was made on; `None` for a new record.
    pub expected: Option<u64>,
    /// New state, whose `version` is `expected + 1` (or 1).
    pub value: T,
}

/// One write of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Create or update an organisation.
    Organization(Put<Organization>),
    /// Create or update a team.
    Team(Put<Team>),
    /// Create or update a user. A new user also claims their email: a second
    /// user with the same email in the organisation is a conflict.
    User(Put<User>),
    /// Create or update a seat pool.
    Pool(Put<SeatPool>),
    /// Create or update a team's seats of a product.
    TeamSeats(Put<TeamSeats>),
    /// Create or update an assignment.
    Assignment(Put<Assignment>),
    /// Remove an assignment read at version `expected`.
    DeleteAssignment {
        /// Holder.
        user: UserId,
        /// Product.
        product: ProductId,
        /// Version read.
        expected: u64,
    },
    /// Create or update an API key.
    ApiKey(Put<ApiKey>),
    /// Create or update a subscription.
    Subscription(Put<Subscription>),
    /// Record an event as applied; a conflict if it already is.
    ProcessedEvent(ProcessedEvent),
    /// Create or update the organisation's notification preferences.
    NotificationPreferences(Put<NotificationPreferences>),
}

/// A decision to persist: every write, and the audit entry that records it,
/// applied together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The one organisation every write belongs to.
    pub org: OrgId,
    /// The writes.
    pub writes: Vec<Write>,
    /// The entry recording the change.
    pub audit: AuditEntry,
}

/// Persistence for entitlements. Every read is scoped to one organisation,
/// except finding an API key by its hash (the key names its organisation).
///
/// Reads return the latest committed state. [`EntitlementStore::commit`] is
/// atomic and checks every written record's version.
#[async_trait]
pub trait EntitlementStore: Send + Sync + std::fmt::Debug {
    /// An organisation.
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError>;
    /// One pool.
    async fn pool(&self, org: &OrgId, product: &ProductId) -> Result<Option<SeatPool>, StoreError>;
    /// Every pool of the organisation (one per product it holds).
    async fn pools(&self, org: &OrgId) -> Result<Vec<SeatPool>, StoreError>;
    /// One team.
    async fn team(&self, org: &OrgId, team: &TeamId) -> Result<Option<Team>, StoreError>;
    /// Every team, by id.
    async fn teams(&self, org: &OrgId) -> Result<Vec<Team>, StoreError>;
    /// A team's seats of one product.
    async fn team_seats(
        &self,
        org: &OrgId,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<Option<TeamSeats>, StoreError>;
    /// The pools of `products` and the team seats `teams`, read as one
    /// consistent snapshot (records that do not exist are left out). A seat
    /// decision reads its counters through this, so that it never combines a
    /// pool and a team counter from either side of another change.
    async fn seat_counters(
        &self,
        org: &OrgId,
        products: &[ProductId],
        teams: &[(TeamId, ProductId)],
    ) -> Result<(Vec<SeatPool>, Vec<TeamSeats>), StoreError>;
    /// Every team's seats of every product.
    async fn all_team_seats(&self, org: &OrgId) -> Result<Vec<TeamSeats>, StoreError>;
    /// One user.
    async fn user(&self, org: &OrgId, user: &UserId) -> Result<Option<User>, StoreError>;
    /// A user by email.
    async fn user_by_email(&self, org: &OrgId, email: &Email) -> Result<Option<User>, StoreError>;
    /// Users by id after `after`, at most `limit`, optionally only one team's.
    async fn users(
        &self,
        org: &OrgId,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
    /// Every seat a user holds.
    async fn user_assignments(&self, org: &OrgId, user: &UserId) -> Result<Vec<Assignment>, StoreError>;
    /// Assignments by (user, product) after `after`, at most `limit`.
    async fn assignments(
        &self,
        org: &OrgId,
        after: Option<&(UserId, ProductId)>,
        limit: usize,
    ) -> Result<Vec<Assignment>, StoreError>;
    /// Audit entries older than `before`, newest first, at most `limit`.
    async fn audit(
        &self,
        org: &OrgId,
        before: Option<&AuditId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// One API key.
    async fn api_key(&self, org: &OrgId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Every API key of the organisation.
    async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, StoreError>;
    /// The API key whose secret hashes to `secret_hash`, in any organisation.
    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    /// One subscription of the organisation.
    async fn subscription(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError>;
    /// Every subscription of the organisation.
    async fn subscriptions(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError>;
    /// Whether the event was applied before.
    async fn event_processed(&self, event_id: &str) -> Result<bool, StoreError>;
    /// The organisation's notification preferences, if it set any.
    async fn notification_preferences(
        &self,
        org: &OrgId,
    ) -> Result<Option<NotificationPreferences>, StoreError>;

    /// Subscriptions of every organisation that renew (see
    /// [`Subscription::renews`]) at a period end in `[from, to)`, soonest
    /// first. For the scheduled reminders: read through an index, never a scan.
    async fn renewing_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Subscription>, StoreError>;
    /// Subscriptions of every organisation whose payment is failing
    /// ([`Subscription::payment_failing`]).
    async fn payment_failing_subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;
    /// Pools of every organisation that are over their limit.
    async fn over_limit_pools(&self) -> Result<Vec<SeatPool>, StoreError>;
    /// Applies a change atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if any record's version is not the expected
    /// one, or a new user's email is taken; then nothing is written.
    async fn commit(&self, change: Change) -> Result<(), StoreError>;

    /// Called before a decision is remade after a conflict (`attempt` from 0),
    /// so that a store shared by many processes can spread retries out. The
    /// default does not wait.
    async fn pause_before_retry(&self, attempt: u32) {
        let _ = attempt;
    }
}
