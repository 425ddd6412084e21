//! seatflow-local as people use it, each test against its own running binary: the portal in Chromium, the README's walkthrough and its webhook receiver, a SCIM compliance suite, and the security review's findings tried from outside.
//! One binary (one link) for the crate's integration tests.

mod browser;
mod common;
mod probe;
mod readme_receiver;
mod readme_walkthrough;
mod scim_compliance;
