//! What every handler shares: the entitlement service and the authenticator.

use std::sync::Arc;

use anyhow::Context as _;
use seatflow_domain::{Catalog, Clock, EntitlementStore, Seats, SystemClock};
use seatflow_http::{Authenticator, HasAuthenticator, JwtConfig};

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
        let seats = Seats::new(store, clock, catalog);
        let auth = Arc::new(Authenticator::new(jwt, seats.clone()));
        Self { seats, auth }
    }

    /// State from the environment, failing fast at cold start on bad
    /// configuration: `SEATFLOW_JWT_SECRET` (required), `SEATFLOW_CATALOG`
    /// (optional path), `SEATFLOW_GATEWAY_JWT` (optional, trust API Gateway's
    /// JWT authorizer), `PAYMENT_GRACE_DAYS`
    /// (optional, see [`payment_grace_days_from_env`]), and the store (see [`store_from_env`]; `default_store`
    /// when `SEATFLOW_STORE` is unset: Lambda entry points pass `dynamodb`,
    /// since an in-memory store there would forget everything between
    /// invocations).
    ///
    /// # Errors
    /// Missing or invalid configuration.
    pub async fn from_env(default_store: &str) -> anyhow::Result<Self> {
        let jwt = JwtConfig::from_env().context("JWT configuration")?;
        let seats = seats_from_env(default_store, Arc::new(SystemClock)).await?;
        // Behind API Gateway's JWT authorizer, its verified claims name the caller too.
        let auth = Authenticator::new(jwt, seats.clone())
            .trusting_gateway_claims(seatflow_http::auth::trust_gateway_from_env());
        Ok(Self {
            seats,
            auth: Arc::new(auth),
        })
    }
}

/// The entitlement service as the environment configures it: the catalog
/// ([`catalog_from_env`]), the store ([`store_from_env`], `default_store` when
/// `SEATFLOW_STORE` is unset) and the payment grace period
/// ([`payment_grace_days_from_env`]), telling time by `clock`.
///
/// # Errors
/// Missing or invalid configuration.
pub async fn seats_from_env(default_store: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Seats> {
    let catalog = Arc::new(catalog_from_env()?);
    let store = store_from_env(default_store).await?;
    Ok(Seats::new(store, clock, catalog).with_payment_grace_days(payment_grace_days_from_env()?))
}

/// The entitlement store `SEATFLOW_STORE` names (else `default`): `memory` or
/// `dynamodb` (table from `TABLE_NAME`, endpoint from the SDK's usual
/// configuration, `AWS_ENDPOINT_URL` for moto; needs the `dynamodb` feature).
///
/// # Errors
/// An unknown store, a store this build does not include, or missing settings.
pub async fn store_from_env(default: &str) -> anyhow::Result<Arc<dyn EntitlementStore>> {
    let chosen = std::env::var("SEATFLOW_STORE").unwrap_or_else(|_| default.to_owned());
    match chosen.as_str() {
        "memory" => Ok(Arc::new(seatflow_memory::MemoryEntitlementStore::new())),
        #[cfg(feature = "dynamodb")]
        "dynamodb" => {
            let store = seatflow_dynamodb::DynamoEntitlementStore::from_env()
                .await
                .context("DynamoDB store")?;
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "dynamodb"))]
        "dynamodb" => anyhow::bail!("SEATFLOW_STORE=dynamodb needs a build with the `dynamodb` feature"),
        other => anyhow::bail!("SEATFLOW_STORE={other} is not a store; use 'memory' or 'dynamodb'"),
    }
}

/// The catalog at `SEATFLOW_CATALOG`, or the one shipped in the repository.
///
/// # Errors
/// An unreadable or invalid catalog file.
pub fn catalog_from_env() -> anyhow::Result<Catalog> {
    match std::env::var("SEATFLOW_CATALOG") {
        Ok(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading catalog {path}"))?;
            Catalog::from_toml(&text).with_context(|| format!("loading catalog {path}"))
        }
        Err(_) => Catalog::default_catalog().context("loading the shipped catalog"),
    }
}

/// Days seats stay usable after a payment fails: `PAYMENT_GRACE_DAYS`, else
/// the domain's default.
///
/// # Errors
/// A value that is not a whole number of days up to 365.
pub fn payment_grace_days_from_env() -> anyhow::Result<u32> {
    match std::env::var("PAYMENT_GRACE_DAYS") {
        Ok(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|days| *days <= 365)
            .with_context(|| format!("PAYMENT_GRACE_DAYS must be 0 to 365 days, got {text:?}")),
        Err(_) => Ok(u32::try_from(seatflow_domain::DEFAULT_PAYMENT_GRACE_DAYS).unwrap_or(7)),
    }
}

impl HasAuthenticator for AppState {
    fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}
