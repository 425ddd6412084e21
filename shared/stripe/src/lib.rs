//! Stripe for seatflow, Stripe's wire format in one adapter: the
//! [`PaymentGateway`](seatflow_domain::PaymentGateway) adapter
//! ([`StripeGateway`]) on a Stripe client built on async-stripe's client
//! core ([`StripeApi`]); webhook signatures ([`signature`]) and events read
//! into provisioning jobs ([`event`]); Stripe's JSON read and written by hand
//! for the few fields the provisioner needs ([`wire`]); and setting a Stripe
//! account up from the catalog ([`setup`]).

mod client;
pub mod event;
mod gateway;
pub mod setup;
pub mod signature;
pub mod wire;

pub use client::{StripeApi, StripeError};
pub use gateway::StripeGateway;

/// The Stripe API version the rendered events claim (the one
/// `async-stripe-client-core` rc.10 pins, and so the one requests send). The
/// reader does not depend on it.
pub const API_VERSION: &str = "2026-09-30.endive";
