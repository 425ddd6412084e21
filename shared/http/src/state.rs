//! What every HTTP handler shares: the entitlement service and the
//! authenticator. Built by the composition root (`seatflow-config`) from the
//! environment, or directly by tests and the local server.

use std::sync::Arc;

use seatflow_domain::{Catalog, Clock, EntitlementStore, Seats};

use crate::auth::{Authenticator, HasAuthenticator, JwtConfig};

/// Handler state: cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The entitlement service.
    pub seats: Seats,
    /// Bearer authentication.
    pub auth: Arc<Authenticator>,
}

impl AppState {
    /// State over `store`, with `clock`, `catalog` and JWT configuration.
    #[must_use]
    pub fn new(
        store: Arc<dyn EntitlementStore>,
        clock: Arc<dyn Clock>,
        catalog: Arc<Catalog>,
        jwt: JwtConfig,
    ) -> Self {
        Self::of(Seats::new(store, clock, catalog), jwt)
    }

    /// State over `seats`, authenticating with `jwt` (and API keys of `seats`).
    #[must_use]
    pub fn of(seats: Seats, jwt: JwtConfig) -> Self {
        let auth = Arc::new(Authenticator::new(jwt, seats.clone()));
        Self { seats, auth }
    }
}

impl HasAuthenticator for AppState {
    fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}
