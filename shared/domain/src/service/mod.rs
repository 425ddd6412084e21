//! The entitlement service, [`Seats`], one module per concept. Every write
//! goes through the commit machinery in [`commit`]: decide on a snapshot,
//! commit with the versions read, decide again after a conflict, or only
//! report in a dry run; each write carries its audit entry.

use std::sync::Arc;

use crate::access::Actor;
use crate::catalog::{Catalog, Product};
use crate::clock::Clock;
use crate::directory::{Team, UserSeats};
use crate::error::SeatError;
use crate::ids::{ProductId, TeamId, UserId};
use crate::store::{EntitlementStore, Snapshot, StoreError};

mod allocations;
mod api_keys;
mod assignments;
pub(crate) mod commit;
mod confirmation;
mod directory;
mod directory_sync;
mod entitlement_tokens;
mod grants;
mod import;
mod job_failures;
mod notifications;
mod operators;
mod organizations;
mod plan_moves;
mod provider_state;
mod reminders;
mod subscriptions;
mod views;
mod webhook_endpoints;

pub use api_keys::KeyCaller;
pub use assignments::Transfer;
pub use commit::{Mode, Outcome};
pub use confirmation::{BillingLine, BillingSummary, MAX_USERS_LISTED, PurchaseConfirmation, PurchaseStatus};
pub use entitlement_tokens::EntitlementTokenClaims;
pub use import::{ImportReport, ImportRow, MAX_IMPORT_ROWS, RowResult, RowStatus};
pub use job_failures::FailedJob;
pub use operators::{
    FirstAdmin, MAX_ORGANIZATIONS_PAGE, OpenedOrganization, OrganizationPage, OrganizationTriage,
};
pub use subscriptions::{SubscriptionItem, SubscriptionOverview};
pub use views::{
    AddOnSeats, AssignmentPage, AssignmentRow, AuditPage, Entitlement, LicenseSummary, TeamUsage, Usage,
    UsageTotals, UserEntitlements,
};
pub use webhook_endpoints::{DisabledEndpoint, EndpointChanges, EndpointWithSecret, NewEndpoint};

/// Largest page any listing returns.
pub const MAX_PAGE: usize = 500;

/// How long seats stay usable after a payment fails, unless configured.
pub const DEFAULT_PAYMENT_GRACE_DAYS: i64 = 7;

/// The entitlement service: every operation on an organisation's seats, each
/// authorised for its [`Actor`] and scoped to the actor's organisation.
#[derive(Debug, Clone)]
pub struct Seats {
    pub(crate) store: Arc<dyn EntitlementStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) payment_grace: chrono::Duration,
}

impl From<StoreError> for SeatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AllocationFull { team, product } => Self::TeamAllocationExhausted {
                team: team.to_string(),
                product: product.to_string(),
                allocated: 0,
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

    fn product(&self, id: &ProductId) -> Result<&Product, SeatError> {
        self.catalog
            .product(id)
            .ok_or_else(|| SeatError::not_found("product", id))
    }

    /// A user (with their seats) the caller may see, else not found (never
    /// "forbidden", so that existence is not revealed).
    async fn visible_user(&self, actor: &Actor, id: &UserId) -> Result<UserSeats, SeatError> {
        let found = self.store.holder(&actor.org, id).await?;
        Self::visible(actor, found.as_ref(), id).cloned()
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
        let holder = Self::visible(actor, snapshot.holder(id), id)?;
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
        Self::team_if_managed(actor, snapshot.team(id), id)
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
        Self::team_if_managed(actor, found.as_ref(), id).cloned()
    }
}
