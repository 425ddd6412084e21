//! The `EntitlementStore` port: what the domain needs persisted, and the
//! all-or-nothing, optimistic-concurrency commit it relies on.

use async_trait::async_trait;

use crate::api_key::ApiKey;
use crate::audit::AuditEntry;
use crate::directory::{Email, Organization, Team, User, UserSeats};
use crate::grant::SeatGrant;
use crate::ids::{ApiKeyId, AuditId, GrantId, OrgId, ProductId, SubscriptionId, TeamId, UserId};
use crate::notification::NotificationPreferences;
use crate::pool::{SeatPool, TeamSeats};
use crate::sign_in::PassStore;
use crate::subscription::{ProcessedEvent, Subscription};

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A record changed since it was read (or a unique key is taken); nothing
    /// was written. Re-read and decide again.
    #[error("a record changed since it was read")]
    Conflict,
    /// A team's count of held seats would pass its allocation (see
    /// [`TeamSeatsCount`]); nothing was written.
    #[error("team '{team}' has used its allocation of {product}")]
    AllocationFull {
        /// The team.
        team: TeamId,
        /// The product.
        product: ProductId,
    },
    /// A pool's count of held seats would pass what it holds (see
    /// [`PoolSeatsCount`]); nothing was written.
    #[error("the {product} pool has no free seat")]
    PoolFull {
        /// The product.
        product: ProductId,
    },
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
    /// Create or update a user together with every seat they hold (the seats
    /// replace what was stored). A new user also claims their email and
    /// directory user name ([`User::directory_name`]): a second user with the
    /// same email or name in the organisation is a conflict.
    Holder(Put<UserSeats>),
    /// Move a user's email claim from `from` to `to`; a conflict if `to` is
    /// claimed.
    MoveEmail(MoveEmail),
    /// Move a user's directory user name claim from `from` to `to`; a
    /// conflict if `to` is claimed.
    MoveDirectoryName(MoveDirectoryName),
    /// Move a user's entry in the index of directory ids from `from` to
    /// `to` (an index, not a claim: users may share an id). A new user
    /// ([`Write::Holder`]) is entered by the store itself.
    MoveExternalId(MoveExternalId),
    /// Remove a user (whose seats the same change gives back) and free their
    /// email; a conflict unless the stored user has the `expected` version.
    RemoveHolder(RemoveHolder),
    /// Create or update a seat pool.
    Pool(Put<SeatPool>),
    /// Create or update a team's seats of a product (allocations).
    TeamSeats(Put<TeamSeats>),
    /// Change a team's count of held seats without having read it (seat
    /// changes); see [`TeamSeatsCount`].
    TeamSeatsCount(TeamSeatsCount),
    /// Change a pool's count of held seats without conditioning on the
    /// version read (seat changes); see [`PoolSeatsCount`].
    PoolSeatsCount(PoolSeatsCount),
    /// Create or update an API key.
    ApiKey(Put<ApiKey>),
    /// Create or update a subscription.
    Subscription(Put<Subscription>),
    /// Say which organisation counts a subscription (see [`SubscriptionOwner`]).
    SubscriptionOwner(SubscriptionOwner),
    /// Create or update a manual grant of seats.
    Grant(Put<SeatGrant>),
    /// Record an event as applied; a conflict if it already is.
    ProcessedEvent(ProcessedEvent),
    /// Create or update the organisation's notification preferences.
    NotificationPreferences(Put<NotificationPreferences>),
    /// Create or update an outbound webhook endpoint.
    WebhookEndpoint(Put<crate::WebhookEndpoint>),
    /// Remove an outbound webhook endpoint; a conflict unless the stored one
    /// has the `expected` version.
    RemoveWebhookEndpoint(RemoveEndpoint),
    /// Remove a team and its counters; a conflict unless each stored record
    /// has the version read.
    RemoveTeam(RemoveTeam),
}

/// A team to remove, with its counters, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveTeam {
    /// The team.
    pub team: TeamId,
    /// Its version as read.
    pub expected: u64,
    /// Its counters (one per product) and the version each was read at.
    pub counters: Vec<(ProductId, u64)>,
}

/// An endpoint to remove, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveEndpoint {
    /// The endpoint.
    pub id: crate::EndpointId,
    /// Its version as read.
    pub expected: u64,
}

/// Adds `delta` to a team's count of seats of `product` held by its members,
/// creating the record if the team has none, and moves its version on (so a
/// decision that read the record is refused). When the team has an
/// allocation of the product (`allocated`, as the pool read says), the store
/// refuses the whole change with [`StoreError::AllocationFull`] if a positive
/// `delta` would pass it: the cap is checked where the count is, so a seat
/// decision need not read the team's counter first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSeatsCount {
    /// The team.
    pub team: TeamId,
    /// The product.
    pub product: ProductId,
    /// Seats taken (positive) or given back (negative).
    pub delta: i64,
    /// The team has an allocation of the product: the count stays within it.
    pub allocated: bool,
}

/// Adds seats taken (or given back) to a pool's counts without
/// conditioning on the version the decision read, and moves its version on
/// (so a decision that rewrites the whole pool is refused). The store
/// refuses the whole change with [`StoreError::PoolFull`] if a positive
/// `unallocated` would pass the pool's unallocated seats, or a positive sum
/// would pass what it holds: the cap is checked where the count is, so
/// concurrent seat changes of one pool do not make each other decide again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSeatsCount {
    /// The product.
    pub product: ProductId,
    /// Seats taken (positive) or given back (negative) outside every team
    /// allocation.
    pub unallocated: i64,
    /// Seats taken (positive) or given back (negative) within a team
    /// allocation (whose own cap is a [`TeamSeatsCount`]'s).
    pub in_allocations: i64,
}

impl PoolSeatsCount {
    /// Seats taken in all (negative: given back).
    #[must_use]
    pub fn total(&self) -> i64 {
        self.unallocated.saturating_add(self.in_allocations)
    }

    /// Whether `pool` has room for this change as it stands: what the store
    /// checks at commit.
    #[must_use]
    pub fn fits(&self, pool: &SeatPool) -> bool {
        let total = self.total();
        let within_pool =
            total <= 0 || i64::from(pool.assigned).saturating_add(total) <= i64::from(pool.purchased);
        let within_unallocated =
            self.unallocated <= 0 || self.unallocated <= i64::from(pool.unallocated_free());
        within_pool && within_unallocated
    }

    /// `pool`'s counts after this change (never below zero).
    pub fn apply_to(&self, pool: &mut SeatPool) {
        let add =
            |n: u32, delta: i64| u32::try_from(i64::from(n).saturating_add(delta).max(0)).unwrap_or(u32::MAX);
        pool.assigned = add(pool.assigned, self.total());
        pool.assigned_in_allocations = add(pool.assigned_in_allocations, self.in_allocations);
        pool.version += 1;
    }
}

/// A user's email changed: the old claim goes, the new one must be free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveEmail {
    /// The user.
    pub user: UserId,
    /// The email they had, if any.
    pub from: Option<Email>,
    /// The email they have now, if any.
    pub to: Option<Email>,
}

/// A user's directory user name changed (see [`User::directory_name`]): the
/// old claim goes, the new one must be free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveDirectoryName {
    /// The user.
    pub user: UserId,
    /// The name they had, if any.
    pub from: Option<String>,
    /// The name they have now, if any.
    pub to: Option<String>,
}

/// A user's directory id changed (see [`User::external_id`]): the index
/// finds them by the new one only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveExternalId {
    /// The user.
    pub user: UserId,
    /// The id they had, if any.
    pub from: Option<String>,
    /// The id they have now, if any.
    pub to: Option<String>,
}

/// A user removed from their organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveHolder {
    /// The user.
    pub user: UserId,
    /// Their email, claimed no more (none: they had none).
    pub email: Option<Email>,
    /// Their directory user name, claimed no more (none: they had none).
    pub directory_name: Option<String>,
    /// Their directory id, out of the index (none: they had none).
    pub external_id: Option<String>,
    /// The version the decision read.
    pub expected: u64,
}

/// Which organisation counts a subscription: one claim per subscription,
/// across organisations, so that when the provider's metadata moves it to
/// another organisation the old one is known and stops counting it. The
/// store refuses the change with [`StoreError::Conflict`] unless the claim
/// is `expected` (`None`: unclaimed) when it sets it to `owner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionOwner {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// The organisation that counts it from now on.
    pub owner: OrgId,
    /// The organisation the decision read as counting it.
    pub expected: Option<OrgId>,
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
    /// The entries of the other changes a batch commits with this one (a
    /// bulk import creates many users in one change, each with its entry).
    pub further_audit: Vec<AuditEntry>,
    /// The outbound events the change emits, written as its outbox in the
    /// same commit (see [`crate::OutboundEvent`]).
    pub events: Vec<crate::OutboundEvent>,
}

/// What a decision reads, as one consistent snapshot: users with their seats,
/// email claims, teams, pools and team counters. Absent records are left out
/// of the [`Snapshot`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotKeys {
    /// Users, with their seats.
    pub holders: Vec<UserId>,
    /// Emails: who holds each, if anyone.
    pub emails: Vec<Email>,
    /// Directory user names (as [`User::directory_name`] gives them): who
    /// holds each, if anyone.
    pub directory_names: Vec<String>,
    /// Teams.
    pub teams: Vec<TeamId>,
    /// Pools.
    pub pools: Vec<ProductId>,
    /// Team counters.
    pub team_seats: Vec<(TeamId, ProductId)>,
    /// Whether to read the organisation (its settings decide what a full
    /// pool does).
    pub organization: bool,
}

/// Records read as one consistent snapshot (see [`SnapshotKeys`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Users with their seats.
    pub holders: Vec<UserSeats>,
    /// Claimed emails and the user holding each.
    pub emails: Vec<(Email, UserId)>,
    /// Claimed directory user names and the user holding each.
    pub directory_names: Vec<(String, UserId)>,
    /// Teams.
    pub teams: Vec<Team>,
    /// Pools.
    pub pools: Vec<SeatPool>,
    /// Team counters.
    pub team_seats: Vec<TeamSeats>,
    /// The organisation, when asked for and present.
    pub organization: Option<Organization>,
}

impl Snapshot {
    /// The user `id` with their seats, if read and present.
    #[must_use]
    pub fn holder(&self, id: &UserId) -> Option<&UserSeats> {
        self.holders.iter().find(|h| &h.user.id == id)
    }

    /// The team `id`, if read and present.
    #[must_use]
    pub fn team(&self, id: &TeamId) -> Option<&Team> {
        self.teams.iter().find(|t| &t.id == id)
    }

    /// Whether `email` is claimed by a user.
    #[must_use]
    pub fn email_taken(&self, email: &Email) -> bool {
        self.emails.iter().any(|(e, _)| e == email)
    }

    /// Who holds the directory user name `name`, if read and claimed.
    #[must_use]
    pub fn directory_name_holder(&self, name: &str) -> Option<&UserId> {
        self.directory_names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, user)| user)
    }
}

/// A write that records what happened around the entitlements rather than
/// changing them. It goes through the commit port like every write
/// ([`CommitPort::record`]), but checks no version, writes no audit entry
/// and emits no event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A provisioning job failed (its record replaces an earlier one).
    JobFailed(crate::JobFailure),
    /// A job that had failed succeeded: its record goes.
    JobSucceeded {
        /// The job's event id.
        event_id: String,
    },
    /// Where a page of users by position ended (see [`PositionMark`]).
    PositionMark(PositionMark),
    /// An API key was used (its `last_used_at`); nothing if the key is gone.
    KeyUsed {
        /// The key's organisation.
        org: OrgId,
        /// The key.
        id: ApiKeyId,
        /// When.
        at: chrono::DateTime<chrono::Utc>,
    },
    /// A user used a product they hold a seat of, on a day (their seat's
    /// `last_active_at`); nothing if the user is gone.
    SeatUsed {
        /// The user's organisation.
        org: OrgId,
        /// The user.
        user: UserId,
        /// The product.
        product: ProductId,
        /// The day (UTC).
        on: chrono::NaiveDate,
    },
}

/// A remembered place among an organisation's users in id order: `user` is
/// the `position`-th (from 1). A list by position (SCIM's `startIndex`)
/// starts from the nearest mark at or before it instead of counting from the
/// first user, so an identity provider reading page after page reads each
/// page, not every user before it. Marks are hints: one made stale by users
/// created or removed since only shifts where a page starts, as positions
/// do between any two requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionMark {
    /// The organisation.
    pub org: OrgId,
    /// The user's position, from 1.
    pub position: u64,
    /// The user at that position.
    pub user: UserId,
    /// When the mark is forgotten.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Persistence for entitlements: the commit port ([`CommitPort`]) and one
/// read trait per family of records. Every read is scoped to one
/// organisation, except finding an API key by its hash (the key names its
/// organisation), a portal pass by its digest (the pass names its
/// organisation), whether an event was applied (event ids are global), and
/// the operators' reads across organisations.
///
/// Reads return the latest committed state. [`CommitPort::commit`] is atomic
/// and checks every written record's version. Implement the parts; every
/// type that has them all is an `EntitlementStore`.
pub trait EntitlementStore:
    CommitPort + OrganizationReads + DirectoryReads + ApiKeyReads + BillingReads + JobFailures + PassStore
{
}

impl<T> EntitlementStore for T where
    T: CommitPort
        + OrganizationReads
        + DirectoryReads
        + ApiKeyReads
        + BillingReads
        + JobFailures
        + PassStore
        + ?Sized
{
}

/// The one way to write: a consistent snapshot of the records a decision
/// reads, and an atomic, version-checked commit of what it decided.
#[async_trait]
pub trait CommitPort: Send + Sync + std::fmt::Debug {
    /// The records `keys` names, as one consistent snapshot: a seat decision
    /// reads everything it decides on with this one call, so that it never
    /// combines records from either side of another change.
    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError>;
    /// Applies a change atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if any record's version is not the expected
    /// one, or a new user's email is taken; [`StoreError::AllocationFull`] if
    /// a [`TeamSeatsCount`] would pass its allocation; [`StoreError::PoolFull`]
    /// if a [`PoolSeatsCount`] would pass its pool; then nothing is written.
    async fn commit(&self, change: Change) -> Result<(), StoreError>;

    /// Writes a [`Record`]: what happened around the entitlements (a job
    /// failed or succeeded, a key was used), with no version checked, no
    /// audit entry and no event.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn record(&self, record: Record) -> Result<(), StoreError>;
    /// Called before a decision is remade after a conflict (`attempt` from 0),
    /// so that a store shared by many processes can spread retries out. The
    /// default does not wait.
    async fn pause_before_retry(&self, attempt: u32) {
        let _ = attempt;
    }
}

/// An organisation's own records: itself, its settings (notification
/// preferences, webhook endpoints) and its audit log; and every
/// organisation, for the vendor's operators.
#[async_trait]
pub trait OrganizationReads: Send + Sync + std::fmt::Debug {
    /// An organisation.
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError>;
    /// Up to `limit` organisations of every tenant, by id, after `after`
    /// (the vendor's operators page through them).
    async fn organizations(
        &self,
        after: Option<&OrgId>,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError>;
    /// The organisation's notification preferences, if it set any.
    async fn notification_preferences(
        &self,
        org: &OrgId,
    ) -> Result<Option<NotificationPreferences>, StoreError>;
    /// An outbound webhook endpoint.
    async fn webhook_endpoint(
        &self,
        org: &OrgId,
        id: &crate::EndpointId,
    ) -> Result<Option<crate::WebhookEndpoint>, StoreError>;
    /// The organisation's outbound webhook endpoints.
    async fn webhook_endpoints(&self, org: &OrgId) -> Result<Vec<crate::WebhookEndpoint>, StoreError>;
    /// Audit entries older than `before`, newest first, at most `limit`.
    async fn audit(
        &self,
        org: &OrgId,
        before: Option<&AuditId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Who holds what: pools, teams and their seats, users and their seats.
#[async_trait]
pub trait DirectoryReads: Send + Sync + std::fmt::Debug {
    /// Every pool of the organisation (one per product it holds).
    async fn pools(&self, org: &OrgId) -> Result<Vec<SeatPool>, StoreError>;
    /// One team.
    async fn team(&self, org: &OrgId, team: &TeamId) -> Result<Option<Team>, StoreError>;
    /// Every team, by id.
    async fn teams(&self, org: &OrgId) -> Result<Vec<Team>, StoreError>;
    /// Every team's seats of every product.
    async fn all_team_seats(&self, org: &OrgId) -> Result<Vec<TeamSeats>, StoreError>;
    /// A user and the seats they hold.
    async fn holder(&self, org: &OrgId, user: &UserId) -> Result<Option<UserSeats>, StoreError>;
    /// The user with `email`, and the seats they hold.
    async fn holder_by_email(&self, org: &OrgId, email: &Email) -> Result<Option<UserSeats>, StoreError>;
    /// The user whose directory user name is `name` (as
    /// [`User::directory_name`] gives it), and the seats they hold.
    async fn holder_by_directory_name(
        &self,
        org: &OrgId,
        name: &str,
    ) -> Result<Option<UserSeats>, StoreError>;
    /// The users whose directory id is `external_id` ([`User::external_id`],
    /// compared exactly), by id, with the seats they hold: read through the
    /// index, not by reading every user.
    async fn holders_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
    ) -> Result<Vec<UserSeats>, StoreError>;
    /// Users by id after `after`, at most `limit`, optionally only one team's.
    async fn users(
        &self,
        org: &OrgId,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
    /// Users by id after `after` with the seats they hold, at most `limit`:
    /// one page of every assignment of the organisation (exports).
    async fn holders(
        &self,
        org: &OrgId,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<UserSeats>, StoreError>;
    /// The organisation's active admins, without reading every user. (On
    /// DynamoDB an index: a role changed a moment ago may not show yet.)
    async fn admins(&self, org: &OrgId) -> Result<Vec<User>, StoreError>;
    /// How many users the organisation has, without reading them.
    async fn user_count(&self, org: &OrgId) -> Result<u64, StoreError>;
    /// The mark at the highest position at or before `position` that has
    /// not expired at `now`, if any.
    async fn position_mark(
        &self,
        org: &OrgId,
        position: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<PositionMark>, StoreError>;
}

/// API keys (when each was last used is written as a [`Record`]).
#[async_trait]
pub trait ApiKeyReads: Send + Sync + std::fmt::Debug {
    /// One API key.
    async fn api_key(&self, org: &OrgId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError>;
    /// Every API key of the organisation.
    async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, StoreError>;
    /// The API key whose secret hashes to `secret_hash`, in any organisation.
    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, StoreError>;
}

/// What the organisation pays for and was given: subscriptions, their
/// owners, manual grants, and which payment events were applied.
#[async_trait]
pub trait BillingReads: Send + Sync + std::fmt::Debug {
    /// One subscription of the organisation.
    async fn subscription(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError>;
    /// Every subscription of the organisation.
    async fn subscriptions(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError>;
    /// The organisation that counts subscription `id`, if any does
    /// (see [`SubscriptionOwner`]).
    async fn subscription_owner(&self, id: &SubscriptionId) -> Result<Option<OrgId>, StoreError>;
    /// One manual grant of the organisation.
    async fn grant(&self, org: &OrgId, id: &GrantId) -> Result<Option<SeatGrant>, StoreError>;
    /// Every manual grant of the organisation, ended ones included, by id.
    async fn grants(&self, org: &OrgId) -> Result<Vec<SeatGrant>, StoreError>;
    /// Whether the event was applied before.
    async fn event_processed(&self, event_id: &str) -> Result<bool, StoreError>;
}

/// Provisioning jobs that failed, for the vendor's operators (written as
/// [`Record`]s).
#[async_trait]
pub trait JobFailures: Send + Sync + std::fmt::Debug {
    /// The failure recorded for an event, if any.
    async fn job_failure(&self, event_id: &str) -> Result<Option<crate::JobFailure>, StoreError>;
    /// Failed jobs of every organisation, at most `limit`, by event id.
    async fn job_failures(&self, limit: usize) -> Result<Vec<crate::JobFailure>, StoreError>;
}

/// The cross-organisation reads of the scheduled jobs (notices,
/// reconciliation), each through an index, never a scan. A store adapter
/// implements it beside [`EntitlementStore`]; only the scheduled jobs need it.
#[async_trait]
pub trait RenewalIndex: Send + Sync + std::fmt::Debug {
    /// Subscriptions of every organisation that renew (see
    /// [`Subscription::renews`]) at a period end in `[from, to)`, soonest
    /// first.
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
    /// Every pool, across organisations, with seats bought automatically
    /// this billing period (`auto_bought` above 0).
    async fn auto_buying_pools(&self) -> Result<Vec<SeatPool>, StoreError>;
    /// Grants of every organisation that still count but whose `until` is
    /// at or before `at` (reconciliation ends them).
    async fn grants_run_out_by(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<SeatGrant>, StoreError>;
}
