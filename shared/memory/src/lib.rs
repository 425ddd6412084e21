//! In-memory adapters: the embedded default that `seatflow-local` runs on.
//! They are product features, not test doubles, and pass the same conformance
//! suite as the DynamoDB adapters.

mod store;

pub use store::MemoryEntitlementStore;
