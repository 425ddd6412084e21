//! The provisioner function: SQS batches of provisioning jobs in, per-message
//! failures out. The flow (apply a payment event: read the subscription
//! from the provider, apply it to the seats once per event; batches with
//! FIFO groups held back behind a failure) is `seatflow_app::provisioning`;
//! this crate converts Lambda's SQS events (`batch::sqs`) and wires it
//! (`main.rs`).

pub mod batch;

pub use seatflow_app::provisioning::{Outcome, ProvisionError, Provisioner};
