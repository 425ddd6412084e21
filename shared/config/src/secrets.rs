//! Secrets at runtime. Deployed, a function's environment only names its
//! secrets (`SEATFLOW_JWT_SECRET_ID=seatflow/jwt`,
//! `STRIPE_SECRET_KEY_ID=seatflow/stripe#secret_key` for one field of a JSON
//! secret): they are read from Secrets Manager at cold start, once per
//! secret, kept for `SEATFLOW_SECRETS_TTL_SECONDS` (300 unless set) and then
//! read again, so a rotation reaches running functions without a redeploy,
//! and nobody who can read a function's configuration can read a secret.
//! Locally, and in tests, the variable itself (`SEATFLOW_JWT_SECRET`) holds
//! the value.
//!
//! [`Refreshing`] keeps what a function builds from its secrets (its router,
//! its provisioner), and builds it again when a read after the TTL finds
//! different values.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long secrets are kept before they are read again, unless
/// `SEATFLOW_SECRETS_TTL_SECONDS` says otherwise.
pub const DEFAULT_SECRETS_TTL: Duration = Duration::from_secs(300);

/// Where a secret is kept: a Secrets Manager secret, or one field of a JSON one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    id: String,
    field: Option<String>,
}

impl Reference {
    fn parse(text: &str) -> Self {
        match text.split_once('#') {
            Some((id, field)) => Self {
                id: id.to_owned(),
                field: Some(field.to_owned()),
            },
            None => Self {
                id: text.to_owned(),
                field: None,
            },
        }
    }
}

/// Reads a secret's value by id.
#[async_trait::async_trait]
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The secret's current string value.
    ///
    /// # Errors
    /// The secret cannot be read.
    async fn read(&self, id: &str) -> anyhow::Result<SecretString>;
}

/// One reading of a function's secrets.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// Reads `names`: each from the store when `{NAME}_ID` names a secret
    /// (`env` gives the variables), else from `{NAME}` itself; absent when
    /// neither is set. One read per secret, however many names use it.
    ///
    /// # Errors
    /// A named secret that cannot be read, or a field missing from it.
    pub async fn read(
        names: &[&str],
        env: impl Fn(&str) -> Option<String>,
        store: Option<&dyn SecretStore>,
    ) -> anyhow::Result<Self> {
        let references: Vec<(&str, Option<Reference>)> = names
            .iter()
            .map(|name| {
                let reference = env(&format!("{name}_ID"))
                    .filter(|id| !id.trim().is_empty())
                    .map(|id| Reference::parse(id.trim()));
                (*name, reference)
            })
            .collect();
        let fetched = Self::fetch(&references, store).await?;
        let mut values = BTreeMap::new();
        for (name, reference) in references {
            let value = match reference {
                Some(reference) => {
                    let whole = &fetched[&reference.id];
                    Some(match &reference.field {
                        None => whole.clone(),
                        Some(field) => field_of(whole, field).with_context(|| {
                            format!(
                                "secret {} has no string field {field:?} ({name}_ID)",
                                reference.id
                            )
                        })?,
                    })
                }
                None => env(name).map(SecretString::from),
            };
            if let Some(value) = value {
                values.insert(name.to_owned(), value);
            }
        }
        Ok(Self { values })
    }

    /// Each secret the references name, read once and all at the same
    /// time: a cold start waits for one round trip, not one per secret.
    async fn fetch(
        references: &[(&str, Option<Reference>)],
        store: Option<&dyn SecretStore>,
    ) -> anyhow::Result<BTreeMap<String, SecretString>> {
        let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, reference) in references {
            if let Some(reference) = reference {
                wanted.entry(reference.id.as_str()).or_insert(name);
            }
        }
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let first = wanted.values().next().copied().unwrap_or_default();
        let store =
            store.with_context(|| format!("{first}_ID is set, but this build reads no Secrets Manager"))?;
        let reads = wanted.into_iter().map(|(id, name)| async move {
            let secret = store
                .read(id)
                .await
                .with_context(|| format!("reading secret {id} ({name}_ID)"))?;
            anyhow::Ok((id.to_owned(), secret))
        });
        Ok(futures_util::future::try_join_all(reads)
            .await?
            .into_iter()
            .collect())
    }

    /// From the process environment, reading named secrets from Secrets
    /// Manager (when this build includes it).
    ///
    /// # Errors
    /// See [`Secrets::read`].
    pub async fn from_env(names: &[&str]) -> anyhow::Result<Self> {
        let env = |name: &str| crate::env::var(name);
        let wants_store = names.iter().any(|n| env(&format!("{n}_ID")).is_some());
        if !wants_store {
            return Self::read(names, env, None).await;
        }
        let store = default_store().await?;
        Self::read(names, env, Some(store.as_ref())).await
    }

    /// `names` from the process environment's values only (no `*_ID`
    /// lookups): what local use and synchronous callers read.
    #[must_use]
    pub fn plain_env(names: &[&str]) -> Self {
        let values = names
            .iter()
            .filter_map(|name| crate::env::var(name).map(|v| ((*name).to_owned(), SecretString::from(v))))
            .collect();
        Self { values }
    }

    /// The value of `name`, if it has one.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// When it has none: neither `{name}` nor `{name}_ID` is set.
    pub fn require(&self, name: &str) -> anyhow::Result<SecretString> {
        self.get(name).cloned().with_context(|| {
            format!("{name} is not set (nor {name}_ID, a Secrets Manager secret holding it)")
        })
    }

    fn same_as(&self, other: &Self) -> bool {
        self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|((a, x), (b, y))| a == b && x.expose_secret() == y.expose_secret())
    }
}

fn field_of(secret: &SecretString, field: &str) -> Option<SecretString> {
    let json: serde_json::Value = serde_json::from_str(secret.expose_secret()).ok()?;
    json.get(field)?
        .as_str()
        .map(|s| SecretString::from(s.to_owned()))
}

/// How long secrets are kept: `SEATFLOW_SECRETS_TTL_SECONDS`, else 300 s.
///
/// # Errors
/// A value that is not a whole number of seconds.
pub fn secrets_ttl() -> anyhow::Result<Duration> {
    match crate::env::var("SEATFLOW_SECRETS_TTL_SECONDS") {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map(Duration::from_secs)
            .with_context(|| {
                format!("SEATFLOW_SECRETS_TTL_SECONDS must be a whole number of seconds, got {text:?}")
            }),
        None => Ok(DEFAULT_SECRETS_TTL),
    }
}

#[cfg(feature = "secretsmanager")]
async fn default_store() -> anyhow::Result<Arc<dyn SecretStore>> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(Arc::new(SecretsManager::new(
        aws_sdk_secretsmanager::Client::new(&config),
    )))
}

#[cfg(not(feature = "secretsmanager"))]
async fn default_store() -> anyhow::Result<Arc<dyn SecretStore>> {
    anyhow::bail!(
        "a *_ID variable names a Secrets Manager secret, but this build has no `secretsmanager` feature"
    )
}

/// Secrets Manager.
#[cfg(feature = "secretsmanager")]
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

#[cfg(feature = "secretsmanager")]
impl SecretsManager {
    /// Reads through `client`.
    #[must_use]
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

#[cfg(feature = "secretsmanager")]
#[async_trait::async_trait]
impl SecretStore for SecretsManager {
    async fn read(&self, id: &str) -> anyhow::Result<SecretString> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))?;
        output
            .secret_string
            .map(SecretString::from)
            .with_context(|| format!("secret {id} holds no string"))
    }
}

fn read_from_env(names: Vec<String>) -> BoxFuture<'static, anyhow::Result<Secrets>> {
    Box::pin(async move {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Secrets::from_env(&names).await
    })
}

/// Builds `T` from secrets (a router, a provisioner).
pub type Build<T> = Box<dyn Fn(Secrets) -> BoxFuture<'static, anyhow::Result<T>> + Send + Sync>;

struct Current<T> {
    secrets: Secrets,
    read_at: Instant,
    built: Arc<T>,
}

/// What a function built from its secrets, built again when they change.
pub struct Refreshing<T> {
    names: Vec<String>,
    ttl: Duration,
    read: Box<dyn Fn(Vec<String>) -> BoxFuture<'static, anyhow::Result<Secrets>> + Send + Sync>,
    build: Build<T>,
    current: Mutex<Current<T>>,
}

impl<T> std::fmt::Debug for Refreshing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshing")
            .field("names", &self.names)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Refreshing<T> {
    /// Reads `names` with `read` (the cold start's one read of each
    /// secret), builds with `build`, and keeps both for `ttl`.
    ///
    /// # Errors
    /// The first read or build failed: the function cannot start.
    pub async fn new(
        names: &[&str],
        ttl: Duration,
        read: impl Fn(Vec<String>) -> BoxFuture<'static, anyhow::Result<Secrets>> + Send + Sync + 'static,
        build: Build<T>,
    ) -> anyhow::Result<Self> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let secrets = read(names.clone()).await?;
        Self::with_first(names, ttl, Box::new(read), secrets, build).await
    }

    async fn with_first(
        names: Vec<String>,
        ttl: Duration,
        read: Box<dyn Fn(Vec<String>) -> BoxFuture<'static, anyhow::Result<Secrets>> + Send + Sync>,
        secrets: Secrets,
        build: Build<T>,
    ) -> anyhow::Result<Self> {
        let built = Arc::new(build(secrets.clone()).await?);
        Ok(Self {
            names,
            ttl,
            read,
            build,
            current: Mutex::new(Current {
                secrets,
                read_at: Instant::now(),
                built,
            }),
        })
    }

    /// From the process environment and Secrets Manager, with the TTL of
    /// [`secrets_ttl`], starting from `first`: the cold start's reading of
    /// `names` ([`Secrets::from_env`]), made while other start-up work (the
    /// stores) went on.
    ///
    /// # Errors
    /// The TTL is not a number, or the build failed: the function cannot start.
    pub async fn from_env_with_first(
        names: &[&str],
        first: Secrets,
        build: Build<T>,
    ) -> anyhow::Result<Self> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        Self::with_first(names, secrets_ttl()?, Box::new(read_from_env), first, build).await
    }

    /// What was built from the current secrets: after the TTL they are read
    /// again, and built again if they changed. A failed read or build keeps
    /// what was built (logged), and is tried again at the next call.
    pub async fn get(&self) -> Arc<T> {
        let mut current = self.current.lock().await;
        if current.read_at.elapsed() < self.ttl {
            return current.built.clone();
        }
        match (self.read)(self.names.clone()).await {
            Ok(secrets) if secrets.same_as(&current.secrets) => current.read_at = Instant::now(),
            Ok(secrets) => match (self.build)(secrets.clone()).await {
                Ok(built) => {
                    tracing::info!(names = ?self.names, "secrets changed: rebuilt with the new values");
                    *current = Current {
                        secrets,
                        read_at: Instant::now(),
                        built: Arc::new(built),
                    };
                }
                Err(e) => {
                    tracing::error!(error = %e, "secrets changed, but rebuilding failed; keeping the old ones")
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "reading secrets again failed; keeping the ones read before")
            }
        }
        current.built.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_a_secret_or_a_field_of_one() {
        assert_eq!(
            Reference::parse("seatflow/stripe#secret_key"),
            Reference {
                id: "seatflow/stripe".into(),
                field: Some("secret_key".into())
            }
        );
        assert_eq!(Reference::parse("seatflow/jwt").field, None);
    }

    /// Answers a read only once `readers` reads are waiting at the same time.
    #[derive(Debug)]
    struct TogetherOnly {
        readers: tokio::sync::Barrier,
    }

    #[async_trait::async_trait]
    impl SecretStore for TogetherOnly {
        async fn read(&self, id: &str) -> anyhow::Result<SecretString> {
            self.readers.wait().await;
            Ok(SecretString::from(format!(r#"{{"value":"{id}"}}"#)))
        }
    }

    #[tokio::test]
    async fn the_secrets_of_a_cold_start_are_read_at_the_same_time() {
        // Three secrets, four names: read one after another, the first read
        // would wait for the others for ever.
        let store = TogetherOnly {
            readers: tokio::sync::Barrier::new(3),
        };
        let env = |name: &str| match name {
            "A_ID" => Some("one#value".to_owned()),
            "B_ID" => Some("two#value".to_owned()),
            "C_ID" => Some("one".to_owned()),
            "D_ID" => Some("three#value".to_owned()),
            _ => None,
        };
        let read = Secrets::read(&["A", "B", "C", "D", "E"], env, Some(&store));
        let secrets = tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the reads waited for each other")
            .expect("read");
        let value = |name: &str| secrets.get(name).map(|s| s.expose_secret().to_owned());
        assert_eq!(value("A").as_deref(), Some("one"));
        assert_eq!(value("B").as_deref(), Some("two"));
        assert_eq!(value("C").as_deref(), Some(r#"{"value":"one"}"#));
        assert_eq!(value("D").as_deref(), Some("three"));
        assert_eq!(value("E"), None);
    }
}
