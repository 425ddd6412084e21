//! The in-memory adapters' tests: the store conformance suite, and the seat invariants under generated operations.
//! One binary (one link) for the crate's integration tests.

mod conformance;
mod invariants;
