//! The provisioner: jobs applied from payment events, and batches as SQS delivers them.
//! One binary (one link) for the crate's integration tests.

mod batch;
mod provision;
