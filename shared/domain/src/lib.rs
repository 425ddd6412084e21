//! seatflow's domain: the catalog and quotes, who holds which seat, and the
//! rules that keep seat pools, team allocations and add-ons consistent. Pure:
//! no AWS, HTTP or Stripe types. Persistence and time are ports
//! ([`EntitlementStore`], [`Clock`]) that adapters implement.

pub mod access;
pub mod api_key;
pub mod assignment;
pub mod audit;
pub mod catalog;
pub mod clock;
pub mod confirmation;
pub mod directory;
mod draft;
pub mod error;
pub mod ids;
pub mod money;
pub mod notification;
pub mod payment;
pub mod pool;
pub mod provisioning;
pub mod quote;
mod reminders;
pub mod seats;
pub mod store;
pub mod subscription;

pub use access::{Actor, Principal};
pub use api_key::ApiKey;
pub use assignment::Assignment;
pub use audit::{AuditAction, AuditActor, AuditEntry};
pub use catalog::{Catalog, CatalogError, Product, ProductKind, Term};
pub use clock::{Clock, ManualClock, SystemClock};
pub use confirmation::{BillingLine, BillingSummary, PurchaseConfirmation, PurchaseStatus};
pub use directory::{DisplayName, Email, NewUser, Organization, Role, Team, User};
pub use error::{ErrorKind, SeatError, ValidationError};
pub use ids::{ApiKeyId, AuditId, OrgId, ProductId, SubscriptionId, TeamId, UserId};
pub use money::{Currency, Money};
pub use notification::{
    Claim, DueNotice, LedgerError, MailError, Mailer, NoticeKey, NoticeKind, NoticeLedger, NoticeSubject,
    NotificationPreferences, OutgoingEmail, ReminderWindows,
};
pub use payment::{
    CheckoutLine, CheckoutSession, CheckoutStatus, ItemQuantity, NewCheckout, ORG_METADATA_KEY, PaymentError,
    PaymentGateway, ProrationBehavior, ProviderItem, ProviderSubscription, SeatIncrease, SnapshotError,
};
pub use pool::{SeatPool, TeamSeats};
pub use provisioning::{JobQueue, ProvisioningJob, QueueError};
pub use quote::{AddOnRequest, ProrationPreview, Quantity, Quote, QuoteRequest};
pub use seats::{
    AddOnSeats, AssignmentRow, AuditPage, DEFAULT_PAYMENT_GRACE_DAYS, Entitlement, LicenseSummary, Mode,
    Outcome, Seats, TeamUsage, Transfer, Usage, UsageTotals, UserEntitlements, UserSeats,
};
pub use store::{Change, EntitlementStore, Put, StoreError, Write};
pub use subscription::{
    Applied, ProcessedEvent, REMEMBER_EVENTS_DAYS, Subscription, SubscriptionSnapshot, SubscriptionStatus,
};
