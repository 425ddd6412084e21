//! In-memory adapters: the embedded default that `seatflow-local` runs on.
//! They are product features, not test doubles, and pass the same conformance
//! suites as the AWS adapters.

mod idempotency;
mod notice;
mod payment;
mod queue;
mod store;

pub use idempotency::MemoryIdempotencyStore;
pub use notice::{MemoryNoticeLedger, MemoryOutbox};
pub use payment::{ChangeListener, InvoiceReason, OfflineInvoice, OfflineInvoiceLine, OfflinePaymentGateway};
pub use queue::MemoryJobQueue;
pub use store::MemoryEntitlementStore;
