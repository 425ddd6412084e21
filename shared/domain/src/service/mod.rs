//! The entitlement services. [`Seats`] holds what they share (the store, the
//! clock, the catalog and the commit machinery in [`commit`]: decide on a
//! snapshot, commit with the versions read, decide again after a conflict,
//! or only report in a dry run; each write carries its audit entry). Each
//! concept's operations are on their own type, reached from `Seats`:
//!
//! | Concept | Type | Modules |
//! |---|---|---|
//! | teams, users, the directory's sync, imports, a user's notices | [`Directory`] | `directory`, `team_removal`, `directory_sync`, `import`, `notifications` |
//! | team allocations, seat assignments and transfers | [`Allocations`] | `allocations`, `assignments` |
//! | subscriptions, the provider's state, grants, confirmations, reminders, license management | [`Subscriptions`] | `subscriptions`, `provider_state`, `plan_moves`, `grants`, `confirmation`, `reminders`, `license_management` |
//! | API keys, webhook endpoints, failed jobs | [`Integrations`] | `api_keys`, `webhook_endpoints`, `job_failures` |
//! | read models: licenses, usage, seat activity, assignments, audit, entitlements | [`Views`] | `views`, `activity`, `entitlement_tokens` |
//! | organisations and the operators' console | [`Organizations`] | `organizations`, `operators` |

use std::sync::Arc;

use crate::access::Actor;
use crate::catalog::{Catalog, Product};
use crate::clock::Clock;
use crate::directory::{Team, UserSeats};
use crate::error::SeatError;
use crate::ids::{ProductId, TeamId, UserId};
use crate::store::{EntitlementStore, Snapshot, StoreError};

mod activity;
mod allocations;
mod api_keys;
mod assignments;
pub(crate) mod commit;
mod confirmation;
mod directory;
pub use directory::POSITION_MARK_SECONDS;
mod directory_sync;
mod entitlement_tokens;
mod grants;
mod import;
mod job_failures;
mod license_management;
mod notifications;
mod operators;
mod organizations;
mod plan_moves;
mod provider_state;
mod reminders;
mod sign_ins;
mod subscriptions;
mod team_removal;
mod views;
mod webhook_endpoints;

pub use activity::{Activity, ActivityCounts, DEFAULT_IDLE_DAYS, ProductActivity, TeamActivity};
pub use api_keys::KeyCaller;
pub use assignments::Transfer;
pub use commit::{Mode, Outcome};
pub use confirmation::{BillingLine, BillingSummary, MAX_USERS_LISTED, PurchaseConfirmation, PurchaseStatus};
pub use entitlement_tokens::EntitlementTokenClaims;
pub use import::{ImportReport, ImportRow, MAX_IMPORT_ROWS, RowResult, RowStatus};
pub use job_failures::FailedJob;
pub use license_management::QuantitySync;
pub use operators::{
    FirstAdmin, MAX_ORGANIZATIONS_PAGE, OpenedOrganization, OrganizationPage, OrganizationTriage,
};
pub use subscriptions::{SubscriptionItem, SubscriptionOverview};
pub use team_removal::TeamRemoval;
pub use views::{
    AddOnSeats, AssignmentPage, AssignmentRow, AuditPage, Entitlement, LicenseSummary, TeamUsage, Usage,
    UsageTotals, UserEntitlements,
};
pub use webhook_endpoints::{DisabledEndpoint, EndpointChanges, EndpointWithSecret, NewEndpoint};

/// Largest page any listing returns.
pub const MAX_PAGE: usize = 500;

/// How long seats stay usable after a payment fails, unless configured.
pub const DEFAULT_PAYMENT_GRACE_DAYS: i64 = 7;

/// The entitlement services' shared part: the store, the clock, the catalog
/// and the commit machinery. Its operations are grouped by concept
/// ([`Seats::directory`], [`Seats::allocations`], ...), each authorised for
/// its [`Actor`] and scoped to the actor's organisation.
#[derive(Debug, Clone)]
pub struct Seats {
    pub(crate) store: Arc<dyn EntitlementStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) payment_grace: chrono::Duration,
}

/// Teams and users: create, change, remove, the identity provider's sync (active, seat policy), imports, a user's notification preferences.
#[derive(Debug, Clone, Copy)]
pub struct Directory<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for Directory<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

/// Seats per team and seats per user: allocations, assignments, transfers.
#[derive(Debug, Clone, Copy)]
pub struct Allocations<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for Allocations<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

/// What was bought: the provider's subscriptions applied and reconciled, plan moves, grants, purchase confirmations, renewal reminders.
#[derive(Debug, Clone, Copy)]
pub struct Subscriptions<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for Subscriptions<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

/// What other systems hold: API keys, webhook endpoints, failed provisioning jobs.
#[derive(Debug, Clone, Copy)]
pub struct Integrations<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for Integrations<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

/// Portal sign-ins: hand-offs and sessions.
#[derive(Debug, Clone, Copy)]
pub struct SignIns<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for SignIns<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

/// Read models: licenses, add-ons, usage, assignment pages, the audit log, a user's entitlements and their token claims.
#[derive(Debug, Clone, Copy)]
pub struct Views<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for Views<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

/// Organisations: founding, reading, and the operators' console (search, triage, opening one).
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    seats: &'a Seats,
}

impl std::ops::Deref for Organizations<'_> {
    type Target = Seats;

    fn deref(&self) -> &Seats {
        self.seats
    }
}

impl From<StoreError> for SeatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AllocationFull { team, product } => Self::TeamAllocationExhausted {
                team: team.to_string(),
                product: product.to_string(),
                allocated: 0,
            },
            StoreError::PoolFull { product } => Self::NoSeatsAvailable {
                product: product.to_string(),
                purchased: 0,
                assigned: 0,
            },
            other => Self::StoreUnavailable(other.to_string()),
        }
    }
}

impl Seats {
    /// A service over `store`, telling time by `clock`, selling `catalog`.
    #[must_use]
    pub fn new(store: Arc<dyn EntitlementStore>, clock: Arc<dyn Clock>, catalog: Arc<Catalog>) -> Self {
        Self {
            store,
            clock,
            catalog,
            payment_grace: chrono::Duration::days(DEFAULT_PAYMENT_GRACE_DAYS),
        }
    }

    /// The same service with seats usable for `days` after a payment fails
    /// (then access is off until it is paid; assignments are kept).
    #[must_use]
    pub fn with_payment_grace_days(mut self, days: u32) -> Self {
        self.payment_grace = chrono::Duration::days(i64::from(days));
        self
    }

    /// Teams and users: create, change, remove, the identity provider's sync (active, seat policy), imports, a user's notification preferences.
    #[must_use]
    pub fn directory(&self) -> Directory<'_> {
        Directory { seats: self }
    }

    /// Seats per team and seats per user: allocations, assignments, transfers.
    #[must_use]
    pub fn allocations(&self) -> Allocations<'_> {
        Allocations { seats: self }
    }

    /// What was bought: the provider's subscriptions applied and reconciled, plan moves, grants, purchase confirmations, renewal reminders.
    #[must_use]
    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions { seats: self }
    }

    /// What other systems hold: API keys, webhook endpoints, failed provisioning jobs.
    #[must_use]
    pub fn integrations(&self) -> Integrations<'_> {
        Integrations { seats: self }
    }

    /// Portal sign-ins: hand-offs from the vendor's application, sessions.
    #[must_use]
    pub fn sign_ins(&self) -> SignIns<'_> {
        SignIns { seats: self }
    }

    /// Read models: licenses, add-ons, usage, assignment pages, the audit log, a user's entitlements and their token claims.
    #[must_use]
    pub fn views(&self) -> Views<'_> {
        Views { seats: self }
    }

    /// Organisations: founding, reading, and the operators' console (search, triage, opening one).
    #[must_use]
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { seats: self }
    }

    /// The catalog.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Product `id` named where a resource is addressed (a path): unknown,
    /// it is not found.
    fn product(&self, id: &ProductId) -> Result<&Product, SeatError> {
        self.catalog
            .product(id)
            .ok_or_else(|| SeatError::not_found("product", id))
    }

    /// Product `id` named in what a request asks for (a body): unknown, the
    /// request is invalid (422 `unknown_product`), not a missing resource.
    fn product_asked(&self, id: &ProductId) -> Result<&Product, SeatError> {
        self.catalog
            .product(id)
            .ok_or_else(|| SeatError::UnknownProduct(id.to_string()))
    }

    /// A user (with their seats) the caller may see, else not found (never
    /// "forbidden", so that existence is not revealed).
    async fn visible_user(&self, actor: &Actor, id: &UserId) -> Result<UserSeats, SeatError> {
        let found = self.store.holder(&actor.org, id).await?;
        Seats::visible(actor, found.as_ref(), id).cloned()
    }

    /// `found` (user `id` as read) if the caller may see them, else not found.
    fn visible<'a>(
        actor: &Actor,
        found: Option<&'a UserSeats>,
        id: &UserId,
    ) -> Result<&'a UserSeats, SeatError> {
        match found {
            Some(holder) if actor.can_see(&holder.user) => Ok(holder),
            _ => Err(SeatError::not_found("user", id)),
        }
    }

    /// User `id` from `snapshot` if the caller may change their seats: admins
    /// any, team managers members of their teams.
    fn managed<'a>(actor: &Actor, snapshot: &'a Snapshot, id: &UserId) -> Result<&'a UserSeats, SeatError> {
        let holder = Seats::visible(actor, snapshot.holder(id), id)?;
        if actor.is_admin() || holder.user.team.as_ref().is_some_and(|t| actor.manages(t)) {
            Ok(holder)
        } else {
            Err(SeatError::Forbidden(format!(
                "user '{id}' is not in a team you manage"
            )))
        }
    }

    /// Team `id` from `snapshot` if the caller manages it, else not found.
    fn managed_team<'a>(actor: &Actor, snapshot: &'a Snapshot, id: &TeamId) -> Result<&'a Team, SeatError> {
        Seats::team_if_managed(actor, snapshot.team(id), id)
    }

    /// `found` (team `id` as read) if the caller manages it, else not found.
    fn team_if_managed<'a>(
        actor: &Actor,
        found: Option<&'a Team>,
        id: &TeamId,
    ) -> Result<&'a Team, SeatError> {
        match found {
            Some(team) if actor.manages(&team.id) => Ok(team),
            _ => Err(SeatError::not_found("team", id)),
        }
    }

    async fn visible_team(&self, actor: &Actor, id: &TeamId) -> Result<Team, SeatError> {
        let found = self.store.team(&actor.org, id).await?;
        Seats::team_if_managed(actor, found.as_ref(), id).cloned()
    }
}
