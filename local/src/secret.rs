//! The local JWT secret: `SEATFLOW_JWT_SECRET` when set, else a random secret
//! created once in the user's state directory (never in the repository), so
//! the server and the `token` command agree without configuration.

use std::path::PathBuf;

use anyhow::Context as _;
use rand::RngCore as _;
use seatflow_http::JwtConfig;
use secrecy::SecretString;

fn state_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SEATFLOW_STATE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("seatflow-local")
}

/// The JWT configuration of the local server.
///
/// # Errors
/// An unusable secret, or a state directory that cannot be written.
pub fn jwt_config() -> anyhow::Result<JwtConfig> {
    if std::env::var_os("SEATFLOW_JWT_SECRET").is_some() {
        return JwtConfig::from_env().context("SEATFLOW_JWT_SECRET");
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

/// A random secret kept in the state directory, created on first use.
fn stored_secret(file: &str, prefix: &str) -> anyhow::Result<String> {
    let dir = state_dir();
    let path = dir.join(file);
    let secret = match std::fs::read_to_string(&path) {
        Ok(secret) => secret.trim().to_owned(),
        Err(_) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let secret = format!("{prefix}{hex}");
            write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
            secret
        }
    };
    Ok(secret)
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
