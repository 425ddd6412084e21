//! The seats API: licenses, teams, users, allocations, assignments, add-ons,
//! usage, audit and API keys, under `/v1`. [`router`] builds the axum router
//! that `main.rs` runs on Lambda and `seatflow-local` serves directly.

mod routes;
mod scim;

pub use routes::{openapi, router};
