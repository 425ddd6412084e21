//! The composition root: every function's `main.rs` (and `seatflow-local`)
//! builds its configuration and adapters here, from the environment, and
//! fails fast at cold start on anything missing or malformed. Functions
//! depend on this crate, never on each other.
//!
//! | setting | what | default |
//! | --- | --- | --- |
//! | `SEATFLOW_STORE` | `memory` or `dynamodb` (`TABLE_NAME`) | the caller's [`StoreKind`] |
//! | `SEATFLOW_CATALOG` | path of a catalog TOML | the shipped `catalog.toml` |
//! | `PAYMENT_GRACE_DAYS` | days seats stay usable after a failed payment | 7 |
//! | `SEATFLOW_JWT_SECRET`, `SEATFLOW_GATEWAY_JWT` | bearer authentication | — |
//! | `{SECRET}_ID` (`SEATFLOW_JWT_SECRET_ID`, `STRIPE_SECRET_KEY_ID=id#field`, …) | read that secret from Secrets Manager instead ([`secrets`]) | — |
//! | `SEATFLOW_ENDPOINT_SECRETS_KEY` | seals webhook endpoints' signing secrets in DynamoDB (32+ characters; `_ID` on AWS) | not sealed |
//! | `SEATFLOW_ORIGIN_SECRET` | the HTTP functions answer only requests carrying it in `x-seatflow-origin` (CloudFront's; `_ID` on AWS) | every request answered |
//! | `SEATFLOW_SECRETS_TTL_SECONDS` | how long secrets are kept before they are read again | 300 |
//! | `STRIPE_SECRET_KEY`, `STRIPE_API_BASE` | the Stripe gateway | — |
//! | `STRIPE_WEBHOOK_SECRET` | webhook signing secret (`whsec_…`) | — |
//! | `QUEUE_URL` | the SQS FIFO provisioning queue | — |
//! | `SEATFLOW_AUTO_SEATS_SYNC_SECONDS` | at most one quantity write per subscription per this many seconds, for seats bought automatically (18 to 3600) | 60 |
//! | `WEBHOOK_QUEUE_URL` | the SQS FIFO queue of outbound webhook deliveries | — |
//! | `SENDER_ADDRESS`, `SES_CONFIGURATION_SET` | the SES mailer | — |
//! | `CHECKOUT_SUCCESS_URL`, `CHECKOUT_CANCEL_URL`, `PRORATION_BEHAVIOR` | [`CheckoutConfig`] | — |
//! | `BILLING_URL`, `REMINDER_WINDOWS` | [`ReminderConfig`] | windows 30,7,1 |
//!
//! AWS clients take region, credentials and endpoint (`AWS_ENDPOINT_URL`,
//! for moto) the SDK's usual way.

mod checkout;
pub mod env;
mod reminders;
pub mod secrets;
mod telemetry;

use std::sync::Arc;

use anyhow::Context as _;
use seatflow_domain::{
    Catalog, Clock, DEFAULT_PAYMENT_GRACE_DAYS, DeliveryLog, EntitlementStore, RenewalIndex, Seats,
    SystemClock,
};
use seatflow_http::{AppState, JwtConfig};
use secrecy::{ExposeSecret as _, SecretString};

pub use checkout::{CheckoutConfig, proration_behavior};
pub use reminders::{ConfigError as ReminderConfigError, ReminderConfig};
pub use secrets::{Refreshing, Secrets};
pub use telemetry::{METRICS_NAMESPACE, emit_metrics, init_tracing, metrics_line};

/// Which entitlement store a function uses when `SEATFLOW_STORE` is unset:
/// Lambda entry points say DynamoDB (an in-memory store there would forget
/// everything between invocations), the local server says memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The in-memory store (the local default).
    Memory,
    /// The DynamoDB store (`TABLE_NAME`; needs the `dynamodb` feature).
    DynamoDb,
}

impl StoreKind {
    /// `SEATFLOW_STORE`, else `default`.
    ///
    /// # Errors
    /// A value that names no store.
    pub fn from_env_or(default: Self) -> anyhow::Result<Self> {
        match env::var("SEATFLOW_STORE").as_deref() {
            None => Ok(default),
            Some("memory") => Ok(Self::Memory),
            Some("dynamodb") => Ok(Self::DynamoDb),
            Some(other) => anyhow::bail!("SEATFLOW_STORE={other} is not a store; use 'memory' or 'dynamodb'"),
        }
    }
}

/// The clock of every deployed function: the system's.
#[must_use]
pub fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// One store adapter seen through its two ports.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Each organisation's entitlements.
    pub entitlements: Arc<dyn EntitlementStore>,
    /// The cross-organisation reads of the scheduled notices.
    pub renewals: Arc<dyn RenewalIndex>,
    /// The outbound webhooks' delivery log.
    pub deliveries: Arc<dyn DeliveryLog>,
}

impl Stores {
    /// `store` through each of its ports.
    pub fn of<S: EntitlementStore + RenewalIndex + DeliveryLog + 'static>(store: S) -> Self {
        Self::shared(Arc::new(store))
    }

    /// A shared `store` through each of its ports.
    pub fn shared<S: EntitlementStore + RenewalIndex + DeliveryLog + 'static>(store: Arc<S>) -> Self {
        Self {
            entitlements: store.clone(),
            renewals: store.clone(),
            deliveries: store,
        }
    }
}

/// The entitlement store `SEATFLOW_STORE` names, else `default`.
///
/// # Errors
/// A store this build does not include, or its missing settings.
pub async fn entitlement_store(default: StoreKind) -> anyhow::Result<Arc<dyn EntitlementStore>> {
    Ok(stores(default).await?.entitlements)
}

/// The store `SEATFLOW_STORE` names (else `default`), through both its ports.
///
/// # Errors
/// A store this build does not include, or its missing settings.
pub async fn stores(default: StoreKind) -> anyhow::Result<Stores> {
    match StoreKind::from_env_or(default)? {
        #[cfg(feature = "memory")]
        StoreKind::Memory => Ok(Stores::of(seatflow_memory::MemoryEntitlementStore::new())),
        #[cfg(not(feature = "memory"))]
        StoreKind::Memory => no_memory(),
        #[cfg(feature = "dynamodb")]
        StoreKind::DynamoDb => {
            // The functions that sign or show endpoint secrets are given the
            // key (`SEATFLOW_ENDPOINT_SECRETS_KEY_ID`, read once at cold
            // start, while the store is made); the others read sealed
            // secrets they never use.
            let (store, secrets) = tokio::try_join!(
                async {
                    seatflow_dynamodb::DynamoEntitlementStore::from_vars(env::var)
                        .await
                        .context("DynamoDB store")
                },
                Secrets::from_env(&[ENDPOINT_SECRETS_KEY]),
            )?;
            Ok(Stores::of(match secrets.get(ENDPOINT_SECRETS_KEY) {
                Some(key) => store.with_sealer(Arc::new(
                    seatflow_dynamodb::sealing::SecretSealer::from_secret(key.expose_secret())
                        .context(ENDPOINT_SECRETS_KEY)?,
                )),
                None => store,
            }))
        }
        #[cfg(not(feature = "dynamodb"))]
        StoreKind::DynamoDb => {
            anyhow::bail!("SEATFLOW_STORE=dynamodb needs a build with the `dynamodb` feature")
        }
    }
}

#[cfg(not(feature = "memory"))]
fn no_memory<T>() -> anyhow::Result<T> {
    anyhow::bail!(
        "SEATFLOW_STORE=memory needs a build with the `memory` feature (a Lambda function forgets memory between invocations)"
    )
}

/// Delivery attempts one organisation may have in flight:
/// `SEATFLOW_DELIVERIES_PER_ORG` (1 to 16), else the domain's default.
///
/// # Errors
/// A value that is not a whole number from 1 to 16.
pub fn deliveries_per_org() -> anyhow::Result<u32> {
    match env::var("SEATFLOW_DELIVERIES_PER_ORG") {
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=16).contains(n))
            .with_context(|| format!("SEATFLOW_DELIVERIES_PER_ORG must be 1 to 16, got {text:?}")),
        None => Ok(seatflow_domain::DEFAULT_DELIVERIES_PER_ORG),
    }
}

/// How long the quantity sync of automatic license management waits
/// between two quantity writes to one subscription:
/// `SEATFLOW_AUTO_SEATS_SYNC_SECONDS` (18 to 3600), else `default` seconds.
/// Never under 18 s: Stripe allows 200 quantity updates an hour per
/// subscription.
///
/// # Errors
/// A value that is not a whole number from 18 to 3600.
pub fn quantity_sync_window(default: i64) -> anyhow::Result<chrono::Duration> {
    let seconds = match env::var("SEATFLOW_AUTO_SEATS_SYNC_SECONDS") {
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (18..=3600).contains(n))
            .with_context(|| format!("SEATFLOW_AUTO_SEATS_SYNC_SECONDS must be 18 to 3600, got {text:?}"))?,
        None => default,
    };
    Ok(chrono::Duration::seconds(seconds))
}

/// The key that seals webhook endpoints' signing secrets in the table (32
/// characters or more; the template generates one in Secrets Manager).
pub const ENDPOINT_SECRETS_KEY: &str = "SEATFLOW_ENDPOINT_SECRETS_KEY";

/// The catalog at `SEATFLOW_CATALOG`, or the one shipped in the repository.
///
/// # Errors
/// An unreadable or invalid catalog file.
pub fn catalog() -> anyhow::Result<Catalog> {
    match env::var("SEATFLOW_CATALOG") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading catalog {path}"))?;
            Catalog::from_toml(&text).with_context(|| format!("loading catalog {path}"))
        }
        None => Catalog::default_catalog().context("loading the shipped catalog"),
    }
}

/// Days seats stay usable after a payment fails: `PAYMENT_GRACE_DAYS`, else
/// the domain's default.
///
/// # Errors
/// A value that is not a whole number of days up to 365.
pub fn payment_grace_days() -> anyhow::Result<u32> {
    match env::var("PAYMENT_GRACE_DAYS") {
        Some(text) => text
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|days| *days <= 365)
            .with_context(|| format!("PAYMENT_GRACE_DAYS must be 0 to 365 days, got {text:?}")),
        None => Ok(u32::try_from(DEFAULT_PAYMENT_GRACE_DAYS).unwrap_or(7)),
    }
}

/// The entitlement service over `store`: the catalog and grace period from
/// the environment, time from `clock`.
///
/// # Errors
/// Missing or invalid configuration.
pub fn seats_over(store: Arc<dyn EntitlementStore>, clock: Arc<dyn Clock>) -> anyhow::Result<Seats> {
    let catalog = Arc::new(catalog()?);
    Ok(Seats::new(store, clock, catalog).with_payment_grace_days(payment_grace_days()?))
}

/// The entitlement service as the environment configures it, on the system
/// clock.
///
/// # Errors
/// Missing or invalid configuration.
pub async fn seats(default: StoreKind) -> anyhow::Result<Seats> {
    seats_over(entitlement_store(default).await?, clock())
}

/// The secrets an HTTP function of the seats API, portal or checkout reads:
/// the JWT secret and the entitlement signing keys (see [`secrets`]).
pub const APP_SECRETS: [&str; 2] = [JWT_SECRET, ENTITLEMENT_KEYS];
/// The HS256 secret of seatflow's own tokens.
pub const JWT_SECRET: &str = "SEATFLOW_JWT_SECRET";
/// The offline entitlement tokens' signing key set.
pub const ENTITLEMENT_KEYS: &str = "SEATFLOW_ENTITLEMENT_KEYS";
/// Stripe's API key.
pub const STRIPE_SECRET_KEY: &str = "STRIPE_SECRET_KEY";
/// Stripe's webhook signing secret.
pub const STRIPE_WEBHOOK_SECRET: &str = "STRIPE_WEBHOOK_SECRET";
/// The portal's client secret at the vendor's identity provider.
pub const PORTAL_OIDC_CLIENT_SECRET: &str = "SEATFLOW_PORTAL_OIDC_CLIENT_SECRET";
/// What CloudFront adds to every request it sends to the HTTP API; the HTTP
/// functions refuse requests without it (`seatflow_http::edge`).
pub const ORIGIN_SECRET: &str = "SEATFLOW_ORIGIN_SECRET";

/// The portal's "Sign in" with the vendor's identity provider, when
/// `SEATFLOW_PORTAL_OIDC_CLIENT_ID` names its client there (see
/// [`seatflow_http::oidc_sign_in::SignInConfig::from_vars`]); the client
/// secret from `secrets` ([`PORTAL_OIDC_CLIENT_SECRET`]).
///
/// # Errors
/// A client without a provider, or a provider configured wrongly.
pub fn portal_sign_in_with(
    secrets: &Secrets,
) -> anyhow::Result<Option<Arc<seatflow_http::oidc_sign_in::OidcSignIn>>> {
    let client_secret = secrets
        .get(PORTAL_OIDC_CLIENT_SECRET)
        .map(|s| s.expose_secret().to_owned());
    let config = seatflow_http::oidc_sign_in::SignInConfig::from_vars(|name| {
        if name == PORTAL_OIDC_CLIENT_SECRET {
            client_secret.clone()
        } else {
            env::var(name)
        }
    })
    .context("the portal's sign-in")?;
    config
        .map(|config| {
            seatflow_http::oidc_sign_in::OidcSignIn::new(config)
                .map(Arc::new)
                .context("the portal's sign-in")
        })
        .transpose()
}

/// What an HTTP function's handlers share, from the environment alone (local
/// use and tests): see [`app_state_with`].
///
/// # Errors
/// Missing or invalid configuration.
pub async fn app_state(default: StoreKind) -> anyhow::Result<AppState> {
    let secrets = Secrets::from_env(&APP_SECRETS).await?;
    app_state_with(&stores(default).await?, &secrets).await
}

/// What an HTTP function's handlers share: the service over `stores`, bearer
/// authentication with the JWT secret of `secrets` (required) and
/// `SEATFLOW_GATEWAY_JWT` (trust API Gateway's JWT authorizer), entitlement
/// tokens when `secrets` has signing keys, outbound webhooks' redelivery
/// queue when configured.
///
/// # Errors
/// Missing or invalid configuration.
pub async fn app_state_with(stores: &Stores, secrets: &Secrets) -> anyhow::Result<AppState> {
    let jwt = JwtConfig::with_secret(secrets.require(JWT_SECRET)?, env::var).context("JWT configuration")?;
    let (per_second, burst) = entitlement_rate()?;
    let seats = seats_over(stores.entitlements.clone(), clock())?;
    // Behind API Gateway's JWT authorizer, its verified claims name the caller too.
    let auth = authenticator(jwt, seats.clone())?;
    #[allow(
        unused_mut,
        reason = "only builds with the SQS queue configure outbound webhooks"
    )]
    let mut state = AppState::with_auth(seats, auth).with_entitlement_rate(per_second, burst);
    #[cfg(feature = "sqs")]
    if let Some(queue) = delivery_queue().await? {
        state = state.with_outbound(seatflow_http::Outbound {
            log: stores.deliveries.clone(),
            queue,
        });
    }
    Ok(match entitlement_tokens_with(secrets)? {
        Some(tokens) => state.with_entitlement_tokens(tokens),
        None => state,
    })
}

/// Offline entitlement tokens, when `SEATFLOW_ENTITLEMENT_KEYS` holds the
/// signing key set (JSON, from Secrets Manager on AWS): issued as
/// `SEATFLOW_ENTITLEMENT_ISSUER` (`seatflow` unless set), for
/// `SEATFLOW_ENTITLEMENT_AUDIENCE` (`seatflow-entitlements` unless set), living
/// `SEATFLOW_ENTITLEMENT_TOKEN_SECONDS` (3600 unless set, at most a week).
///
/// # Errors
/// A key set that cannot sign; a lifetime that is not a positive number.
pub fn entitlement_tokens() -> anyhow::Result<Option<seatflow_http::entitlement_tokens::EntitlementTokens>> {
    entitlement_tokens_with(&Secrets::plain_env(&[ENTITLEMENT_KEYS]))
}

/// [`entitlement_tokens`] with the key set of `secrets`.
///
/// # Errors
/// See [`entitlement_tokens`].
pub fn entitlement_tokens_with(
    secrets: &Secrets,
) -> anyhow::Result<Option<seatflow_http::entitlement_tokens::EntitlementTokens>> {
    let Some(keys) = secrets
        .get(ENTITLEMENT_KEYS)
        .map(|k| k.expose_secret().to_owned())
        .filter(|k| !k.trim().is_empty())
    else {
        return Ok(None);
    };
    let issuer = env::var("SEATFLOW_ENTITLEMENT_ISSUER").unwrap_or_else(|| "seatflow".to_owned());
    let lifetime = match env::var("SEATFLOW_ENTITLEMENT_TOKEN_SECONDS") {
        Some(text) => std::time::Duration::from_secs(
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .with_context(|| format!("SEATFLOW_ENTITLEMENT_TOKEN_SECONDS must be a positive number of seconds, got {text:?}"))?,
        ),
        None => seatflow_http::entitlement_tokens::DEFAULT_TOKEN_LIFETIME,
    };
    let audience = env::var("SEATFLOW_ENTITLEMENT_AUDIENCE")
        .unwrap_or_else(|| seatflow_http::entitlement_tokens::DEFAULT_AUDIENCE.to_owned());
    Ok(Some(
        seatflow_http::entitlement_tokens::EntitlementTokens::from_key_set(&keys, &issuer, lifetime)
            .context("SEATFLOW_ENTITLEMENT_KEYS")?
            .with_audience(&audience),
    ))
}

/// Bearer authentication: seatflow's own tokens signed with `jwt`, API keys
/// of `seats`, the vendor's operator keys (`SEATFLOW_OPERATOR_KEYS`), an OIDC identity provider's RS256/ES256 tokens when
/// `SEATFLOW_OIDC_ISSUER` names one, and claims verified by API Gateway's JWT
/// authorizer when `SEATFLOW_GATEWAY_JWT` trusts it.
///
/// # Errors
/// An identity provider configured wrongly.
pub fn authenticator(jwt: JwtConfig, seats: Seats) -> anyhow::Result<seatflow_http::Authenticator> {
    let operators = seatflow_http::OperatorKeys::from_vars(env::var).context("operator keys")?;
    let mut auth = seatflow_http::Authenticator::new(jwt, seats)
        .trusting_gateway_claims(seatflow_http::auth::trust_gateway(env::var))
        .with_operator_keys(operators);
    if let Some(provider) =
        seatflow_http::oidc::OidcConfig::from_vars(env::var).context("identity provider")?
    {
        tracing::info!(issuer = %provider.issuer, "accepting the identity provider's tokens");
        auth = auth.with_identity_provider(
            seatflow_http::oidc::OidcVerifier::new(provider).context("identity provider")?,
        );
    }
    Ok(auth)
}

/// Entitlement checks per API key and second, and burst:
/// `SEATFLOW_ENTITLEMENT_RATE` (`per_second` or `per_second,burst`), else
/// the default.
///
/// # Errors
/// A value that is not one or two positive whole numbers.
pub fn entitlement_rate() -> anyhow::Result<(std::num::NonZeroU32, std::num::NonZeroU32)> {
    let (rate, burst) = seatflow_http::DEFAULT_ENTITLEMENT_RATE;
    let text = env::var("SEATFLOW_ENTITLEMENT_RATE").unwrap_or_else(|| format!("{rate},{burst}"));
    parse_rate(&text).with_context(|| {
        format!("SEATFLOW_ENTITLEMENT_RATE must be 'per_second' or 'per_second,burst' (positive numbers), got {text:?}")
    })
}

/// `per_second` or `per_second,burst`, both positive (burst defaults to the rate).
fn parse_rate(text: &str) -> Option<(std::num::NonZeroU32, std::num::NonZeroU32)> {
    let parse = |part: &str| part.trim().parse::<std::num::NonZeroU32>().ok();
    let mut parts = text.split(',');
    let per_second = parts.next().and_then(parse)?;
    let burst = match parts.next() {
        Some(part) => parse(part)?,
        None => per_second,
    };
    parts.next().is_none().then_some((per_second, burst))
}

/// Stripe's webhook signing secret, `STRIPE_WEBHOOK_SECRET`.
///
/// # Errors
/// Unset, empty, or not a Stripe signing secret (`whsec_…`): a function that
/// cannot verify signatures must not start.
pub fn webhook_secret() -> anyhow::Result<SecretString> {
    webhook_secret_with(&Secrets::plain_env(&[STRIPE_WEBHOOK_SECRET]))
}

/// [`webhook_secret`] from `secrets`.
///
/// # Errors
/// See [`webhook_secret`].
pub fn webhook_secret_with(secrets: &Secrets) -> anyhow::Result<SecretString> {
    let secret = secrets.require(STRIPE_WEBHOOK_SECRET)?;
    webhook_secret_checked(SecretString::from(secret.expose_secret().trim().to_owned()))
}

/// `secret` if it looks like a Stripe webhook signing secret.
///
/// # Errors
/// Empty, or without the `whsec_` prefix.
pub fn webhook_secret_checked(secret: SecretString) -> anyhow::Result<SecretString> {
    let text = secret.expose_secret();
    anyhow::ensure!(
        text.len() > "whsec_".len() && text.starts_with("whsec_"),
        "STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret, starting with whsec_"
    );
    Ok(secret)
}

/// The Stripe gateway: `STRIPE_SECRET_KEY` (required) and `STRIPE_API_BASE`
/// (a stand-in's address, for tests).
///
/// # Errors
/// A missing key, or a client that cannot be built.
#[cfg(feature = "stripe")]
pub fn payment_gateway() -> anyhow::Result<Arc<dyn seatflow_domain::PaymentGateway>> {
    payment_gateway_with(&Secrets::plain_env(&[STRIPE_SECRET_KEY]))
}

/// [`payment_gateway`] with the API key of `secrets`.
///
/// # Errors
/// See [`payment_gateway`].
#[cfg(feature = "stripe")]
pub fn payment_gateway_with(secrets: &Secrets) -> anyhow::Result<Arc<dyn seatflow_domain::PaymentGateway>> {
    let key = secrets.require(STRIPE_SECRET_KEY)?;
    let base = env::var("STRIPE_API_BASE");
    Ok(Arc::new(
        seatflow_stripe::StripeGateway::new(key.expose_secret(), base.as_deref())
            .context("Stripe gateway")?,
    ))
}

/// The SQS FIFO provisioning queue at `QUEUE_URL`.
///
/// # Errors
/// A missing queue URL.
#[cfg(feature = "sqs")]
pub async fn job_queue() -> anyhow::Result<Arc<dyn seatflow_domain::JobQueue>> {
    Ok(Arc::new(sqs_job_queue().await?))
}

/// [`job_queue`] as itself: its consumer also holds messages back.
///
/// # Errors
/// A missing queue URL.
#[cfg(feature = "sqs")]
pub async fn sqs_job_queue() -> anyhow::Result<seatflow_sqs::SqsJobQueue> {
    seatflow_sqs::SqsJobQueue::from_vars(env::var)
        .await
        .context("SQS queue")
}

/// The SQS FIFO queue of outbound webhook deliveries at
/// `WEBHOOK_QUEUE_URL`; `None` when unset (no redelivery from this function).
///
/// # Errors
/// None today; a result for symmetry with the other adapters.
#[cfg(feature = "sqs")]
pub async fn delivery_queue() -> anyhow::Result<Option<Arc<seatflow_sqs::SqsDeliveryQueue>>> {
    Ok(seatflow_sqs::SqsDeliveryQueue::from_vars(env::var)
        .await
        .map(Arc::new))
}

/// The SES mailer sending as `SENDER_ADDRESS`.
///
/// # Errors
/// A missing sender.
#[cfg(feature = "ses")]
pub async fn mailer() -> anyhow::Result<Arc<dyn seatflow_domain::Mailer>> {
    Ok(Arc::new(
        seatflow_ses::SesMailer::from_vars(env::var)
            .await
            .context("SES mailer")?,
    ))
}

/// The idempotency store of money-moving requests: in the entitlement table
/// (`TABLE_NAME`) on DynamoDB, in memory otherwise.
///
/// # Errors
/// A store this build does not include, or its missing settings.
pub async fn idempotency_store(
    default: StoreKind,
) -> anyhow::Result<Arc<dyn seatflow_domain::IdempotencyStore>> {
    match StoreKind::from_env_or(default)? {
        #[cfg(feature = "memory")]
        StoreKind::Memory => Ok(Arc::new(seatflow_memory::MemoryIdempotencyStore::new())),
        #[cfg(not(feature = "memory"))]
        StoreKind::Memory => no_memory(),
        #[cfg(feature = "dynamodb")]
        StoreKind::DynamoDb => Ok(Arc::new(
            seatflow_dynamodb::DynamoIdempotencyStore::from_vars(env::var)
                .await
                .context("idempotency store")?,
        )),
        #[cfg(not(feature = "dynamodb"))]
        StoreKind::DynamoDb => {
            anyhow::bail!("SEATFLOW_STORE=dynamodb needs a build with the `dynamodb` feature")
        }
    }
}

/// The notice ledger in the entitlement table (`TABLE_NAME`).
///
/// # Errors
/// A missing table name.
#[cfg(feature = "dynamodb")]
pub async fn notice_ledger() -> anyhow::Result<Arc<dyn seatflow_domain::NoticeLedger>> {
    Ok(Arc::new(
        seatflow_dynamodb::DynamoNoticeLedger::from_vars(env::var)
            .await
            .context("notice ledger")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entitlement_rate_is_one_or_two_positive_numbers() {
        let n = |v| std::num::NonZeroU32::new(v).unwrap();
        assert_eq!(parse_rate("20"), Some((n(20), n(20))));
        assert_eq!(parse_rate("20, 50"), Some((n(20), n(50))));
        for bad in ["", "0", "20,0", "x", "1,2,3", "-1"] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_webhook_secret_must_be_a_stripe_signing_secret() {
        for refused in ["", "whsec_", "sk_test_123", "secret"] {
            let error = webhook_secret_checked(SecretString::from(refused)).expect_err(refused);
            assert!(error.to_string().contains("whsec_"), "{error}");
        }
        assert!(webhook_secret_checked(SecretString::from("whsec_abc123")).is_ok());
    }
}
