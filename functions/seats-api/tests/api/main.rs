//! Router tests of the seats API: every route's happy path, every problem
//! code, authentication, organisation scoping and role limits, and dry runs.
//! One test binary (link time); each test builds its own app.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod entitlement_tokens;
mod entitlements;
mod events;
mod flows;
mod harness;
mod onboarding;
mod operators;
mod permissions;
mod problems;
mod scim;
mod sign_in;
mod webhooks;
