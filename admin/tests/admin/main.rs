//! `seatflow-admin` run as a vendor runs it: operator keys, signing keys, the Stripe account set up against a stand-in.
//! One binary (one link) for the crate's integration tests.

mod operator;
mod signing_key;
mod stripe;
