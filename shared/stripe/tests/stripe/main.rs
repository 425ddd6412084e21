//! The Stripe client and gateway against a stand-in of Stripe's API.
//! One binary (one link) for the crate's integration tests.

mod client;
mod gateway;
