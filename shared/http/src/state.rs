//! What every HTTP handler shares: the entitlement service and the
//! authenticator. Built by the composition root (`seatflow-config`) from the
//! environment, or directly by tests and the local server.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use seatflow_domain::{ApiKeyId, Catalog, Clock, EntitlementStore, Seats};

use crate::auth::{Authenticator, HasAuthenticator, JwtConfig};
use crate::entitlement_tokens::EntitlementTokens;

/// Handler state: cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The entitlement service.
    pub seats: Seats,
    /// Bearer authentication.
    pub auth: Arc<Authenticator>,
    /// Entitlement checks per API key (in this process).
    pub entitlement_checks: Arc<DefaultKeyedRateLimiter<ApiKeyId>>,
    /// Offline entitlement tokens, when signing keys are configured.
    pub entitlement_tokens: Option<Arc<EntitlementTokens>>,
    /// Outbound webhooks' delivery log and queue, when configured.
    pub outbound: Option<Outbound>,
    /// Whether webhook endpoints may be plain `http://` (local use only).
    pub allow_http_endpoints: bool,
}

/// What the API needs of outbound webhooks beyond the endpoints themselves:
/// the delivery log to show, and the queue a redelivery goes to.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The delivery log.
    pub log: Arc<dyn seatflow_domain::DeliveryLog>,
    /// The delivery queue.
    pub queue: Arc<dyn seatflow_domain::DeliveryQueue>,
}

/// Entitlement checks an API key may make per second, and in a burst, unless
/// configured (`SEATFLOW_ENTITLEMENT_RATE`).
pub const DEFAULT_ENTITLEMENT_RATE: (u32, u32) = (50, 100);

/// A limiter of `per_second` requests per key, `burst` at once.
#[must_use]
pub fn keyed_limiter(per_second: NonZeroU32, burst: NonZeroU32) -> Arc<DefaultKeyedRateLimiter<ApiKeyId>> {
    Arc::new(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
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
        let auth = Authenticator::new(jwt, seats.clone());
        Self::with_auth(seats, auth)
    }

    /// State over `seats`, authenticating with `auth`.
    #[must_use]
    pub fn with_auth(seats: Seats, auth: Authenticator) -> Self {
        let auth = Arc::new(auth);
        let (rate, burst) = DEFAULT_ENTITLEMENT_RATE;
        Self {
            seats,
            auth,
            entitlement_checks: keyed_limiter(
                NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN),
                NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
            ),
            entitlement_tokens: None,
            outbound: None,
            allow_http_endpoints: false,
        }
    }

    /// The same state showing deliveries from `outbound.log` and queueing
    /// redeliveries on `outbound.queue`.
    #[must_use]
    pub fn with_outbound(mut self, outbound: Outbound) -> Self {
        self.outbound = Some(outbound);
        self
    }

    /// The same state accepting plain `http://` webhook endpoints (local use).
    #[must_use]
    pub fn allowing_http_endpoints(mut self) -> Self {
        self.allow_http_endpoints = true;
        self
    }

    /// The same state issuing offline entitlement tokens with `tokens`.
    #[must_use]
    pub fn with_entitlement_tokens(mut self, tokens: EntitlementTokens) -> Self {
        self.entitlement_tokens = Some(Arc::new(tokens));
        self
    }

    /// The same state limiting each API key to `per_second` entitlement
    /// checks (`burst` at once).
    #[must_use]
    pub fn with_entitlement_rate(mut self, per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        self.entitlement_checks = keyed_limiter(per_second, burst);
        self
    }
}

impl HasAuthenticator for AppState {
    fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}
