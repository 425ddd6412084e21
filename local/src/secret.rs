//! The local JWT secret: `SEATFLOW_JWT_SECRET` when set, else a random secret
//! created once in the user's state directory (never in the repository), so
//! the server and the `token` command agree without configuration.

use std::path::PathBuf;

use anyhow::Context as _;
use rand::RngCore as _;
use seatflow_http::JwtConfig;
use secrecy::SecretString;

/// `SEATFLOW_STATE_DIR`, else `seatflow-local` in the user's state
/// directory. Never the shared temporary directory: other users of the
/// machine could read the secrets there, or plant their own.
fn state_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SEATFLOW_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .context(
            "no place for the local secrets: set SEATFLOW_STATE_DIR (or HOME, or XDG_STATE_HOME) to a directory only you can read",
        )?;
    Ok(base.join("seatflow-local"))
}

/// The JWT configuration of the local server.
///
/// # Errors
/// An unusable secret, or a state directory that cannot be written.
pub fn jwt_config() -> anyhow::Result<JwtConfig> {
    if std::env::var_os("SEATFLOW_JWT_SECRET").is_some() {
        return JwtConfig::from_vars(seatflow_config::env::var).context("SEATFLOW_JWT_SECRET");
    }
    let secret = stored_secret("jwt-secret", "")?;
    JwtConfig::new(SecretString::from(secret)).context("the local JWT secret")
}

/// The Stripe webhook signing secret: `STRIPE_WEBHOOK_SECRET`, else a local one.
///
/// # Errors
/// A state directory that cannot be written.
pub fn webhook_secret() -> anyhow::Result<SecretString> {
    if let Ok(secret) = std::env::var("STRIPE_WEBHOOK_SECRET") {
        return Ok(SecretString::from(secret));
    }
    Ok(SecretString::from(stored_secret(
        "stripe-webhook-secret",
        "whsec_local_",
    )?))
}

/// The key that seals webhook endpoints' secrets in DynamoDB:
/// `SEATFLOW_ENDPOINT_SECRETS_KEY`, else one kept in the state directory.
///
/// # Errors
/// A state directory that cannot be written.
#[cfg(feature = "dynamodb")]
pub fn endpoint_secrets_key() -> anyhow::Result<String> {
    if let Ok(key) = std::env::var("SEATFLOW_ENDPOINT_SECRETS_KEY") {
        return Ok(key);
    }
    stored_secret("endpoint-secrets-key", "")
}

/// The local operator key (`sfo_…`), for the vendor's `/v1/operator` routes:
/// kept in the state directory, created on first use.
///
/// # Errors
/// A state directory that cannot be written.
pub fn operator_key() -> anyhow::Result<SecretString> {
    Ok(SecretString::from(stored_secret(
        "operator-key",
        seatflow_http::auth::OPERATOR_KEY_PREFIX,
    )?))
}

/// The key of this machine's portal sign-in links (`login-url`), kept in
/// the state directory, created on first use.
///
/// # Errors
/// A state directory that cannot be written.
pub fn sign_in_key() -> anyhow::Result<String> {
    stored_secret("sign-in-key", "")
}

/// The offline entitlement tokens' signing key set:
/// `SEATFLOW_ENTITLEMENT_KEYS` when set (as on AWS), else one created once in
/// the state directory.
///
/// # Errors
/// A key set that cannot sign, or a state directory that cannot be written.
pub fn entitlement_tokens() -> anyhow::Result<seatflow_http::entitlement_tokens::EntitlementTokens> {
    if let Some(tokens) = seatflow_config::entitlement_tokens()? {
        return Ok(tokens);
    }
    let keys = stored("entitlement-keys.json", || {
        serde_json::to_string_pretty(&seatflow_http::entitlement_tokens::KeySetDocument::generate())
            .unwrap_or_default()
    })?;
    seatflow_http::entitlement_tokens::EntitlementTokens::from_key_set(
        &keys,
        "seatflow",
        seatflow_http::entitlement_tokens::DEFAULT_TOKEN_LIFETIME,
    )
    .context("the local entitlement signing keys")
}

/// A random secret kept in the state directory, created on first use.
fn stored_secret(file: &str, prefix: &str) -> anyhow::Result<String> {
    stored(file, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}{hex}")
    })
}

/// A secret kept in the state directory, made by `create` on first use.
fn stored(file: &str, create: impl FnOnce() -> String) -> anyhow::Result<String> {
    let dir = state_dir()?;
    let path = dir.join(file);
    let secret = match std::fs::read_to_string(&path) {
        Ok(secret) => secret.trim().to_owned(),
        Err(_) => {
            create_private_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let secret = create();
            write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
            secret
        }
    };
    Ok(secret)
}

#[cfg(unix)]
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(secret.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    std::fs::write(path, secret)
}
