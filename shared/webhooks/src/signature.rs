//! The signature of an outbound event, by the Standard Webhooks
//! specification (standardwebhooks.com), so that receivers verify with an
//! off-the-shelf library in their language. Each post carries
//! `webhook-id` (the event id), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature`: space-separated `v1,<base64>` entries, each the
//! HMAC-SHA256 of `"<id>.<timestamp>.<raw body>"` under one of the
//! endpoint's secrets (two while a rotated-out secret still overlaps). A
//! secret is `whsec_` and the base64 of its key bytes. A receiver accepts
//! the event when one `v1` matches and the timestamp is within the
//! tolerance of its clock.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the event id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the Unix seconds of signing.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How far from the receiver's clock the timestamp may be: five minutes,
/// the specification's, so a captured request cannot be replayed later.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused (or a secret cannot sign).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The secret is not `whsec_` and base64.
    #[error("the secret is not whsec_ followed by base64")]
    BadSecret,
    /// A header is missing or not as the specification says.
    #[error("the webhook-id, webhook-timestamp or webhook-signature header is missing or malformed")]
    Malformed,
    /// The timestamp is too far from now.
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// No `v1` matches the secret.
    #[error("no signature matches the secret")]
    Mismatch,
}

/// The headers of a signed post, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: &'a str,
    /// `webhook-signature`.
    pub signature: &'a str,
}

fn key(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        _ => Err(SignatureError::BadSecret),
    }
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used, reason = "HMAC accepts every key length")]
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value signing `body` as event `id` at
/// `timestamp` with each of `secrets`.
///
/// # Errors
/// [`SignatureError::BadSecret`] for a secret that is not `whsec_` base64.
pub fn sign(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignatureError> {
    let signatures = secrets
        .iter()
        .map(|secret| {
            let key = key(secret)?;
            let digest = mac(&key, id, timestamp, body).finalize().into_bytes();
            Ok(format!("v1,{}", STANDARD.encode(digest)))
        })
        .collect::<Result<Vec<_>, SignatureError>>()?;
    Ok(signatures.join(" "))
}

/// Checks `headers` over `body` with `secret` at `now` (Unix seconds),
/// allowing `tolerance` seconds either way.
///
/// # Errors
/// [`SignatureError`].
pub fn verify(
    headers: SignedHeaders<'_>,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let key = key(secret)?;
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    if headers.id.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let signatures = headers
        .signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .map(|(_, encoded)| STANDARD.decode(encoded).map_err(|_| SignatureError::Malformed))
        .collect::<Result<Vec<_>, _>>()?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.saturating_sub(timestamp).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    let expected = mac(&key, headers.id, timestamp, body);
    // `verify_slice` compares in constant time.
    if signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"seat.assigned"}"#;
    const A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const B: &str = "whsec_dGhlIG90aGVyIHNlY3JldCwgMzIgYnl0ZXMgbG9uZw==";

    fn headers<'a>(timestamp: &'a str, signature: &'a str) -> SignedHeaders<'a> {
        SignedHeaders {
            id: "evt_1",
            timestamp,
            signature,
        }
    }

    #[test]
    fn a_signature_verifies_with_its_secret_only() {
        let signature = sign(&[A], "evt_1", 1_700_000_000, BODY).unwrap();
        assert!(signature.starts_with("v1,"));
        let signed = headers("1700000000", &signature);
        assert_eq!(verify(signed, BODY, A, 1_700_000_010, 300), Ok(()));
        assert_eq!(
            verify(signed, BODY, B, 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(signed, b"{}", A, 1_700_000_010, 300),
            Err(SignatureError::Mismatch),
            "an altered body"
        );
        let other_id = SignedHeaders {
            id: "evt_2",
            ..signed
        };
        assert_eq!(
            verify(other_id, BODY, A, 1_700_000_010, 300),
            Err(SignatureError::Mismatch),
            "another event's id"
        );
        assert_eq!(
            verify(signed, BODY, A, 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(signed, BODY, A, 1_699_999_699, 300),
            Err(SignatureError::Stale),
            "ahead"
        );
        for (timestamp, signature) in [
            ("x", "v1,AAAA"),
            ("1700000000", ""),
            ("1700000000", "v1,***"),
            ("", "v1,AAAA"),
        ] {
            assert_eq!(
                verify(headers(timestamp, signature), BODY, A, 1_700_000_000, 300),
                Err(SignatureError::Malformed),
                "{timestamp} {signature}"
            );
        }
        assert_eq!(
            sign(&["whsec_***"], "evt_1", 1, BODY),
            Err(SignatureError::BadSecret)
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_verify() {
        let signature = sign(&[B, A], "evt_1", 1_700_000_000, BODY).unwrap();
        assert_eq!(signature.matches("v1,").count(), 2);
        for secret in [A, B] {
            assert_eq!(
                verify(
                    headers("1700000000", &signature),
                    BODY,
                    secret,
                    1_700_000_000,
                    300
                ),
                Ok(())
            );
        }
    }

    /// The specification's own example, also what the `standardwebhooks`
    /// Python library signs for it.
    #[test]
    fn the_specifications_example_signs_as_published() {
        assert_eq!(
            sign(
                &[A],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            )
            .unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
