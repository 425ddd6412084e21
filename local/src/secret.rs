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
    let dir = state_dir();
    let path = dir.join("jwt-secret");
    let secret = match std::fs::read_to_string(&path) {
        Ok(secret) => secret.trim().to_owned(),
        Err(_) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
            secret
        }
    };
    JwtConfig::new(SecretString::from(secret)).with_context(|| format!("secret in {}", path.display()))
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
