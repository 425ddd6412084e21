//! The seats API: licenses, teams, users, allocations, assignments, add-ons,
//! usage, audit and API keys, under `/v1`. [`router`] builds the axum router
//! that `main.rs` runs on Lambda and `seatflow-local` serves directly.

mod routes;
mod state;

pub use routes::{openapi, router};
pub use state::{AppState, catalog_from_env, payment_grace_days_from_env, seats_from_env, store_from_env};
