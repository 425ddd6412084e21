//! Webhook endpoints' signing secrets, sealed at rest: AES-256-GCM with a
//! fresh random nonce each time, under a key derived (HKDF-SHA256) from a
//! deployment secret in Secrets Manager, and bound to its endpoint (the
//! organisation and endpoint ids are the associated data, so a sealed secret
//! copied onto another endpoint does not open). The table, its backups and
//! exports, and every role that may read it then hold no secret a customer's
//! receiver would trust; only the functions given the key (the API, the
//! portal, the delivering function) can sign. A secret stored before
//! sealing was configured reads as it is and is sealed at its next write.

use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// How a sealed secret starts (and says which scheme sealed it).
pub const SEALED_PREFIX: &str = "sealed:v1:";
/// The shortest deployment secret accepted: 32 characters.
pub const MIN_KEY_SECRET: usize = 32;

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The deployment secret is too short to derive a key from.
    #[error("the endpoint secrets key must be at least {MIN_KEY_SECRET} characters")]
    WeakKey,
    /// Not sealed by this scheme, altered, sealed for another endpoint, or
    /// under another key.
    #[error("a sealed endpoint secret does not open with this key")]
    Unopenable,
}

/// Seals and opens endpoint secrets under one deployment key.
pub struct SecretSealer {
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSealer(..)")
    }
}

fn aad(org: &str, endpoint: &str) -> Vec<u8> {
    format!("seatflow webhook endpoint {org}/{endpoint}").into_bytes()
}

impl SecretSealer {
    /// A sealer whose key is derived from `secret`, the deployment's.
    ///
    /// # Errors
    /// [`SealError::WeakKey`] for a secret shorter than 32 characters.
    pub fn from_secret(secret: &str) -> Result<Self, SealError> {
        if secret.trim().chars().count() < MIN_KEY_SECRET {
            return Err(SealError::WeakKey);
        }
        let mut bytes = [0_u8; 32];
        Salt::new(HKDF_SHA256, b"seatflow endpoint secrets")
            .extract(secret.trim().as_bytes())
            .expand(&[b"v1"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut bytes))
            .map_err(|_| SealError::WeakKey)?;
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| SealError::WeakKey)?;
        Ok(Self { key })
    }

    /// `secret` sealed for endpoint `endpoint` of organisation `org`.
    #[must_use]
    pub fn seal(&self, org: &str, endpoint: &str, secret: &str) -> String {
        let mut sealed = secret.as_bytes().to_vec();
        // Sealing with a fresh random nonce fails only if the system's
        // random source does, which nothing here can recover from.
        #[allow(clippy::expect_used, reason = "the OS random source is gone")]
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad(org, endpoint)), &mut sealed)
            .expect("sealing with a random nonce");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// The secret in `text` if sealed, else `text` as it is (stored before
    /// sealing was configured).
    ///
    /// # Errors
    /// [`SealError::Unopenable`]: altered, another endpoint's, another key's.
    pub fn open(&self, org: &str, endpoint: &str, text: &str) -> Result<String, SealError> {
        let Some(sealed) = text.strip_prefix(SEALED_PREFIX) else {
            return Ok(text.to_owned());
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Unopenable)?;
        if bytes.len() < 12 {
            return Err(SealError::Unopenable);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Unopenable)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad(org, endpoint)), &mut in_out)
            .map_err(|_| SealError::Unopenable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Unopenable)
    }
}
