//! The conformance cases, by concept. Each takes a fresh store and panics on
//! a violation.

mod batches;
mod concurrency;
mod licenses;
mod outbound;
mod positions;
mod records;
mod seats;
mod sources;
mod subscriptions;

pub use batches::*;
pub use concurrency::*;
pub use licenses::*;
pub use outbound::*;
pub use positions::*;
pub use records::*;
pub use seats::*;
pub use sources::*;
pub use subscriptions::*;
