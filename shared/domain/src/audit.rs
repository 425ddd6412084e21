//! The audit log: who changed what, when, with the state before and after.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::access::Principal;
use crate::directory::Role;
use crate::ids::{AuditId, OrgId};

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// An organisation was created.
    OrganizationCreated,
    /// A pool's purchased seats were set (purchase, increment, downgrade).
    PoolResized,
    /// A team was created.
    TeamCreated,
    /// A team's name changed (its id, members and allocations stay).
    TeamRenamed,
    /// A team's directory id (SCIM `externalId`) was set or cleared.
    TeamUpdated,
    /// Members of a team being removed left it with their seats, and its
    /// allocations went back to the pool (one batch).
    TeamEmptied,
    /// A team was removed (its members and allocations had left it).
    TeamRemoved,
    /// A user was created (possibly with a seat).
    UserCreated,
    /// A user's name, email, role or team changed (their seats move with a team).
    UserUpdated,
    /// A user was removed, their seats and add-ons given back.
    UserRemoved,
    /// A team's allocation of a product was set.
    AllocationSet,
    /// Seats of a product were moved from one team's allocation to another's.
    AllocationMoved,
    /// A seat was assigned to a user.
    SeatAssigned,
    /// Seats were bought automatically because a pool was full (automatic
    /// license management), with what they will cost.
    SeatsAutoPurchased,
    /// The organisation's license management settings changed.
    LicenseManagementSet,
    /// The quantity sync asked the payment provider to hold the seats bought
    /// automatically on a subscription.
    SeatQuantitySynced,
    /// A seat was taken from a user (with their add-ons, for a base seat).
    SeatUnassigned,
    /// A seat moved from one user to another.
    SeatTransferred,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// A payment event changed a subscription and the pools it sizes.
    SubscriptionApplied,
    /// The provider's metadata moved a subscription to another organisation:
    /// this one stopped counting it.
    SubscriptionMoved,
    /// Reconciliation with the provider corrected a subscription that had
    /// drifted (a missed or dead-lettered event).
    Reconciled,
    /// An admin asked for the subscription to end at its period's end.
    CancellationScheduled,
    /// An admin took back a cancellation at the period's end: it renews again.
    CancellationUndone,
    /// An admin renewed a subscription with fewer seats from the next period
    /// on; the seats paid for this period stay until it ends.
    RenewalSeatsReduced,
    /// An admin moved a subscription to another plan or term.
    PlanChanged,
    /// Holders of a plan that no longer counts any seat moved to the
    /// subscription's new plan, with the teams' allocations (one batch).
    PlanSeatsMoved,
    /// Seats were granted outside the payment provider.
    SeatsGranted,
    /// A manual grant was revoked, or ran out; its seats stopped counting.
    GrantEnded,
    /// The organisation's notification preferences were set.
    NotificationPreferencesSet,
    /// The organisation's directory (SCIM) deactivated a user: their seats
    /// were given back, the account kept.
    UserDeactivated,
    /// The organisation's directory (SCIM) reactivated a user.
    UserReactivated,
    /// The product users from the organisation's directory get a seat of was set.
    DirectorySeatSet,
    /// An outbound webhook endpoint was added.
    WebhookEndpointCreated,
    /// An outbound webhook endpoint's URL, event types or state changed.
    WebhookEndpointUpdated,
    /// An outbound webhook endpoint got a new signing secret.
    WebhookSecretRotated,
    /// seatflow disabled an outbound webhook endpoint that kept failing.
    WebhookEndpointDisabled,
    /// An outbound webhook endpoint was removed.
    WebhookEndpointDeleted,
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    /// The principal.
    #[serde(flatten)]
    pub principal: Principal,
    /// Their role at the time.
    pub role: Role,
}

/// One recorded change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Time-ordered id.
    pub id: AuditId,
    /// Organisation the change belongs to.
    pub org: OrgId,
    /// Who.
    pub actor: AuditActor,
    /// When (from the injected clock).
    pub at: DateTime<Utc>,
    /// What.
    pub action: AuditAction,
    /// What it was done to (`product/professional/user/usr_…`).
    pub target: String,
    /// State before (null when created), as JSON. Serialised once when the
    /// change is decided: entries are written far more than they are read.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: Box<RawValue>,
    /// State after (null when removed), as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: Box<RawValue>,
    /// What ties the change to the logs: for a change a payment provider's
    /// event caused, that event's id (`evt_…`), which the webhook's and the
    /// provisioner's log lines carry as `event`. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl PartialEq for AuditEntry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.org == other.org
            && self.actor == other.actor
            && self.at == other.at
            && self.action == other.action
            && self.target == other.target
            && self.before.get() == other.before.get()
            && self.after.get() == other.after.get()
            && self.correlation_id == other.correlation_id
    }
}

impl Eq for AuditEntry {}

/// JSON `null`, for the side of a change where nothing exists.
#[must_use]
#[allow(clippy::expect_used, reason = "the literal `null` is JSON")]
pub fn nothing() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}

/// `value` as JSON (`null` if it cannot be serialised, which domain types always can).
#[must_use]
pub fn snapshot<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| nothing())
}
