//! Offline entitlement tokens: what a user may use, as a compact JWS
//! (ES256) that the vendor's application verifies with any JOSE library
//! against the public keys at `/.well-known/jwks.json`, while seatflow is
//! out of reach.
//!
//! The signing keys are a key set (JSON) kept as one secret: the first key
//! signs, every key is published. A rotation puts a new key first and keeps
//! the old one until every token it signed has expired (at most the token
//! lifetime), then drops it; `seatflow-admin signing-key rotate` does the
//! first step. ES256 rather than EdDSA: every mainstream JOSE library
//! verifies it (PyJWT, jose, Nimbus, System.IdentityModel), and it is what
//! KMS could sign with later.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore as _;
use seatflow_domain::EntitlementTokenClaims;
use serde::{Deserialize, Serialize};

/// Token lifetime unless configured (`SEATFLOW_ENTITLEMENT_TOKEN_SECONDS`).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// The longest lifetime allowed: a revoked seat stays usable offline at most
/// this long.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// The tokens' audience unless configured (`SEATFLOW_ENTITLEMENT_AUDIENCE`):
/// the vendor's application, which checks it, so a token made for one use
/// is not taken for another.
pub const DEFAULT_AUDIENCE: &str = "seatflow-entitlements";
/// The JOSE header's `typ` (RFC 8725's explicit typing): a verifier that
/// checks it never takes another JWT of the same keys for an entitlement.
pub const TOKEN_TYPE: &str = "entitlement+jwt";

/// Why a key set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// Not the key set's JSON.
    #[error("the entitlement signing key set is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// No key in it.
    #[error("the entitlement signing key set has no key")]
    Empty,
    /// A key that is not a base64 PKCS#8 P-256 private key.
    #[error("entitlement signing key '{kid}' is not a base64 PKCS#8 P-256 private key")]
    BadKey {
        /// The key's id.
        kid: String,
    },
    /// Two keys with one id.
    #[error("entitlement signing key id '{0}' appears twice")]
    DuplicateKid(String),
}

/// The key set as stored: newest first.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeySetDocument {
    /// The keys; the first signs.
    pub keys: Vec<StoredKey>,
}

/// One stored key.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredKey {
    /// Its id, as tokens name it (`kid`).
    pub kid: String,
    /// The P-256 private key, PKCS#8 DER in standard base64.
    pub private_key: String,
}

impl KeySetDocument {
    /// A key set of one new key.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            keys: vec![StoredKey::generate()],
        }
    }

    /// This key set with a new signing key first, and only the one before
    /// it kept (still published, so its tokens verify until they expire).
    #[must_use]
    pub fn rotated(mut self) -> Self {
        self.keys.truncate(1);
        self.keys.insert(0, StoredKey::generate());
        self
    }
}

impl StoredKey {
    /// A new random P-256 key with a random id.
    ///
    /// # Panics
    /// When the system's random source fails, which nothing here can
    /// recover from.
    #[must_use]
    #[allow(clippy::expect_used, reason = "the OS random source is gone")]
    pub fn generate() -> Self {
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("a key from the system's random source");
        let mut id = [0_u8; 8];
        rand::rng().fill_bytes(&mut id);
        Self {
            kid: format!("ek_{}", URL_SAFE_NO_PAD.encode(id)),
            private_key: STANDARD.encode(der.as_ref()),
        }
    }
}

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public: serde_json::Value,
}

/// Signs entitlement tokens with the key set's first key, and publishes
/// every key's public half.
pub struct EntitlementTokens {
    keys: Vec<SigningKey>,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl std::fmt::Debug for EntitlementTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntitlementTokens")
            .field("kids", &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// The claims as signed.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Who issued it (`SEATFLOW_ENTITLEMENT_ISSUER`, `seatflow` by default).
    pub iss: String,
    /// Whom it is for (`SEATFLOW_ENTITLEMENT_AUDIENCE`, [`DEFAULT_AUDIENCE`]).
    pub aud: String,
    /// The user, unique across organisations: `{org}/{user}` (user ids are
    /// unique only within their organisation).
    pub sub: String,
    /// The organisation.
    pub org: String,
    /// The user's id in the organisation.
    pub user: String,
    /// What the user may use: each product and until when it is paid for
    /// (seconds since the epoch; absent for seats not bought through a
    /// subscription).
    pub products: Vec<TokenProduct>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// A product in a token.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenProduct {
    /// The product id.
    pub product: String,
    /// Paid until (seconds since the epoch), when bought through a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

impl EntitlementTokens {
    /// From the key set's JSON, naming `issuer`, living `lifetime` (at most
    /// [`MAX_TOKEN_LIFETIME`]).
    ///
    /// # Errors
    /// [`KeySetError`] for a key set that cannot sign.
    pub fn from_key_set(json: &str, issuer: &str, lifetime: Duration) -> Result<Self, KeySetError> {
        let document: KeySetDocument = serde_json::from_str(json)?;
        if document.keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        let mut keys: Vec<SigningKey> = Vec::with_capacity(document.keys.len());
        for stored in document.keys {
            if keys.iter().any(|k| k.kid == stored.kid) {
                return Err(KeySetError::DuplicateKid(stored.kid));
            }
            let bad = || KeySetError::BadKey {
                kid: stored.kid.clone(),
            };
            let der = STANDARD.decode(stored.private_key.trim()).map_err(|_| bad())?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).map_err(|_| bad())?;
            // The public key as an uncompressed point: 0x04, x, y.
            let point = pair.public_key().as_ref();
            let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                return Err(bad());
            };
            keys.push(SigningKey {
                public: serde_json::json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                    "kid": stored.kid,
                    "use": "sig",
                    "alg": "ES256",
                }),
                encoding: EncodingKey::from_ec_der(&der),
                kid: stored.kid,
            });
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            lifetime: lifetime.min(MAX_TOKEN_LIFETIME),
        })
    }

    /// The same signer, for tokens whose audience is `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: &str) -> Self {
        audience.clone_into(&mut self.audience);
        self
    }

    /// How long a token lives at most.
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The id of the key that signs.
    #[must_use]
    pub fn signing_kid(&self) -> &str {
        self.keys.first().map_or("", |k| k.kid.as_str())
    }

    /// `claims` as a compact JWS signed with the first key.
    ///
    /// # Errors
    /// The signer's failure (not expected with a key that loaded).
    pub fn sign(&self, claims: &EntitlementTokenClaims) -> Result<String, jsonwebtoken::errors::Error> {
        let key = self.keys.first().ok_or_else(|| {
            jsonwebtoken::errors::Error::from(jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey)
        })?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        header.typ = Some(TOKEN_TYPE.to_owned());
        let body = TokenClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: format!("{}/{}", claims.org, claims.user),
            org: claims.org.to_string(),
            user: claims.user.to_string(),
            products: claims
                .products
                .iter()
                .map(|p| TokenProduct {
                    product: p.product.to_string(),
                    until: p.until.map(|u| u.timestamp()),
                })
                .collect(),
            iat: claims.issued_at.timestamp(),
            exp: claims.expires_at.timestamp(),
        };
        jsonwebtoken::encode(&header, &body, &key.encoding)
    }

    /// Every key's public half, as a JWK Set.
    #[must_use]
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>() })
    }
}
