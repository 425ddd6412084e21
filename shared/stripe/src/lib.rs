//! Stripe for seatflow: the [`PaymentGateway`](seatflow_domain::PaymentGateway)
//! adapter on `async-stripe` ([`StripeGateway`]), and Stripe's JSON read and
//! written by hand for the few fields the provisioner needs ([`wire`]).

mod gateway;
pub mod wire;

pub use gateway::StripeGateway;

/// The Stripe API version the rendered events claim (the one `async-stripe`
/// rc.10 pins). The reader does not depend on it.
pub const API_VERSION: &str = "2026-09-30.endive";
