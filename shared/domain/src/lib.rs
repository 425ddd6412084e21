//! seatflow's domain: the catalog and quotes, who holds which seat, and the
//! rules that keep seat pools, team allocations and add-ons consistent. Pure:
//! no AWS, HTTP or Stripe types. Persistence, queues, payments, mail and time
//! are ports that adapters implement.
//!
//! The root is the index; every item has this one path.
//! - **Model**: identities and records (organisations, teams, users, pools,
//!   assignments, subscriptions, API keys, audit entries), the catalog,
//!   quotes and money, and the pure seat rules ([`Holdings`], [`SeatSource`]).
//! - **Ports**: [`EntitlementStore`] and [`RenewalIndex`] (persistence),
//!   [`JobQueue`], [`PaymentGateway`], [`Mailer`], [`NoticeLedger`],
//!   [`IdempotencyStore`], [`PassStore`], [`Clock`].
//! - **Services**, one type per concept, reached from [`Seats`] (which
//!   holds what they share: store, clock, catalog, the commit machinery
//!   every write goes through): [`Directory`] (teams, users, the identity
//!   provider's sync, imports), [`Allocations`] (team allocations, seat
//!   assignments, transfers), [`Subscriptions`] (what was bought, grants,
//!   confirmations, reminders), [`Integrations`] (API keys, webhook
//!   endpoints, failed jobs), [`Views`] (read models),
//!   [`Organizations`] (founding, the operators' console) and [`SignIns`]
//!   (the portal's hand-offs and sessions).
//! - **Errors**: [`SeatError`] with a stable code and kind, and the errors of
//!   each port.

mod access;
mod api_key;
mod assignment;
mod audit;
mod catalog;
mod clock;
mod directory;
mod draft;
mod error;
mod grant;
mod idempotency;
mod ids;
mod job_failure;
mod license;
mod money;
mod notification;
mod outbound;
mod payment;
mod pool;
mod provisioning;
mod quote;
mod seat_rules;
mod service;
mod sign_in;
mod store;
mod subscription;
mod webhook;

// ----- model -----
pub use access::{Actor, Operator, Principal};
pub use api_key::{ApiKey, ApiScope};
pub use assignment::Assignment;
pub use audit::{AuditAction, AuditActor, AuditEntry};
pub use catalog::{Catalog, Price, PriceTier, Product, ProductKind, Term};
pub use directory::{
    DisplayName, Email, NewUser, Organization, Role, Team, User, UserChanges, UserSeats, directory_name,
    external_id, normalized_directory_name,
};
pub use grant::{MAX_GRANT_REFERENCE, NewGrant, SeatGrant};
pub use idempotency::{IdempotencyKey, MAX_IDEMPOTENCY_KEY, Started};
pub use ids::{ApiKeyId, AuditId, EndpointId, GrantId, OrgId, ProductId, SubscriptionId, TeamId, UserId};
pub use job_failure::{JobFailure, REMEMBER_FAILURES_DAYS};
pub use license::{AUTO_PURCHASE_BILLED, AutoPurchase, AutoPurchasePolicy, LicenseManagement, LicenseMode};
pub use money::{Currency, Money, mul_div_round};
pub use notification::{
    Claim, DueNotice, NoticeKey, NoticeKind, NoticeSubject, NotificationPreferences, OutgoingEmail,
    ReminderWindows,
};
pub use outbound::{EventType, OutboundEvent};
pub use payment::{
    CheckoutLine, CheckoutSession, CheckoutStatus, ItemQuantity, NewCheckout, ORG_METADATA_KEY, PriceChange,
    ProrationBehavior, ProviderItem, ProviderSubscription, RenewalSeats, SUBSCRIPTION_PAGE, SeatIncrease,
    SubscriptionPage,
};
pub use pool::{SeatPool, TeamSeats};
pub use provisioning::{JobSubject, ProvisioningJob, QUANTITY_SYNC};
pub use quote::{AddOnRequest, ProrationPreview, Quantity, Quote, QuoteRequest};
pub use seat_rules::{Holdings, SeatSource};
pub use sign_in::{HAND_OFF_SECONDS, Pass, PassKind, SESSION_SECONDS};
pub use subscription::{
    Applied, ProcessedEvent, REMEMBER_EVENTS_DAYS, Subscription, SubscriptionSnapshot, SubscriptionStatus,
};
pub use webhook::{
    DEFAULT_DELIVERIES_PER_ORG, DELIVERY_RETRY_DAYS, DELIVERY_SLOT_SECONDS, Delivery, DeliveryAnswer,
    DeliveryJob, DeliveryStatus, EndpointSecret, MAX_ENDPOINT_URL, MAX_ENDPOINTS, MAX_SECRET_OVERLAP_HOURS,
    PublicEndpoint, SecretTimes, WebhookEndpoint, check_endpoint_url, may_deliver_to,
};

// ----- ports -----
pub use clock::{Clock, ManualClock, SystemClock};
pub use idempotency::IdempotencyStore;
pub use notification::{Mailer, NoticeLedger};
pub use outbound::Outbox;
pub use payment::PaymentGateway;
pub use provisioning::JobQueue;
pub use sign_in::PassStore;
pub use store::{
    ApiKeyReads, BillingReads, Change, CommitPort, DirectoryReads, EntitlementStore, JobFailures,
    MoveDirectoryName, MoveEmail, MoveExternalId, OrganizationReads, PoolSeatsCount, PositionMark, Put,
    Record, RemoveEndpoint, RemoveHolder, RemoveTeam, RenewalIndex, Snapshot, SnapshotKeys,
    SubscriptionOwner, TeamSeatsCount, Write,
};

/// The entitlement store's traits, to bring into scope where a store's
/// methods are called (`use seatflow_domain::store_ports::*;`).
pub mod store_ports {
    pub use crate::sign_in::PassStore;
    pub use crate::store::{
        ApiKeyReads, BillingReads, CommitPort, DirectoryReads, EntitlementStore, JobFailures,
        OrganizationReads,
    };
}
pub use webhook::{DeliveryLog, DeliveryQueue};

// ----- services -----
pub use service::{
    Activity, ActivityCounts, AddOnSeats, AssignmentPage, AssignmentRow, AuditPage, BillingLine,
    BillingSummary, DEFAULT_IDLE_DAYS, DEFAULT_PAYMENT_GRACE_DAYS, DisabledEndpoint, EndpointChanges,
    EndpointWithSecret, Entitlement, EntitlementTokenClaims, FailedJob, FirstAdmin, ImportReport, ImportRow,
    KeyCaller, LicenseSummary, MAX_IMPORT_ROWS, MAX_ORGANIZATIONS_PAGE, MAX_PAGE, MAX_USERS_LISTED, Mode,
    NewEndpoint, OpenedOrganization, OrganizationPage, OrganizationTriage, Outcome, POSITION_MARK_SECONDS,
    ProductActivity, PurchaseConfirmation, PurchaseStatus, QuantitySync, RowResult, RowStatus, Seats,
    SubscriptionItem, SubscriptionOverview, TeamActivity, TeamRemoval, TeamUsage, Transfer, Usage,
    UsageTotals, UserEntitlements,
};
pub use service::{Allocations, Directory, Integrations, Organizations, SignIns, Subscriptions, Views};

// ----- errors -----
pub use catalog::CatalogError;
pub use error::{ErrorKind, SeatError, ValidationError};
pub use notification::{LedgerError, MailError};
pub use payment::{PaymentError, SnapshotError};
pub use provisioning::QueueError;
pub use store::StoreError;
