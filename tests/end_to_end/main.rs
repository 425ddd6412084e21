//! Tests across functions, as one binary (one link): each module drives two
//! or more functions together, the way they meet on AWS.
//!
//! - `pipeline`: checkout → signed Stripe events → webhook → SQS FIFO (moto)
//!   → provisioner → DynamoDB (moto) → assignment → entitlement check; the
//!   poison message in the dead-letter queue; held FIFO jobs applied in order.
//! - `storm`: Stripe changes subscriptions while their events arrive
//!   duplicated, shuffled and concurrently at provisioners killed at random;
//!   every pool ends equal to Stripe's final state (memory and moto).
//! - `purchase`: the checkout function's routes, with payments provisioned
//!   by the provisioner: quotes, sessions, confirmations, seat increases.
//! - `operator_cli`: `seatflow-admin operator …` against the seats API.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod operator_cli;
mod pipeline;
mod purchase;
mod storm;
