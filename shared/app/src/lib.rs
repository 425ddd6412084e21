//! seatflow's application layer: the flows that span ports. A rule about
//! seats lives in the domain (`seatflow-domain`); a flow that reads the
//! payment provider, decides with the domain, asks the provider to change,
//! and applies its answer to the seats lives here, once, for every handler
//! that offers it (the checkout API and the portal).
//!
//! - [`Billing`]: checkout sessions and confirmations, seats added to a
//!   running subscription (one retry-safety strategy), plan and term changes,
//!   seats at renewal, cancellation at the period's end and its undoing, the
//!   provider's billing portal.
//! - [`provisioning::Provisioner`]: a payment event applied to the seats
//!   (the subscription read from the provider, applied once per event), and
//!   queued batches with their FIFO groups held back behind a failure.
//! - [`reconciliation::Reconciler`]: every subscription of the provider
//!   compared with what seatflow holds, drift applied, grants ended.
//!
//! Each service has its own error type ([`BillingError`]); `seatflow-http`
//! maps it to problem+json in one place.

pub mod billing;
pub mod provisioning;
pub mod reconciliation;

pub use billing::{
    AddSeats, Billing, BillingError, ChangePlan, CreatedSession, PlanChangeResult, RenewalChange,
    RenewalSeatsChange, SeatsAdded, SetRenewalSeats,
};
