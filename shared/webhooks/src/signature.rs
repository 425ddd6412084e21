//! The signature of an outbound event, shaped like Stripe's: the header
//! `Seatflow-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1`
//! the HMAC-SHA256 of `"<t>.<raw body>"` under one of the endpoint's
//! secrets (two while a rotated-out secret still overlaps). A receiver
//! accepts the event when one `v1` matches its secret and `t` is within the
//! tolerance of its clock.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Seatflow-Signature";

/// How far from the receiver's clock `t` may be: five minutes, Stripe's
/// default, so a captured request cannot be replayed later.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    #[allow(clippy::expect_used, reason = "HMAC accepts every key length")]
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `timestamp` with each of `secrets`.
#[must_use]
pub fn sign(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(mac(secret, timestamp, body).finalize().into_bytes()));
    }
    header
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=…,v1=…`.
    #[error("the signature header is not t=<seconds>,v1=<hex>")]
    Malformed,
    /// `t` is too far from now.
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// No `v1` matches the secret.
    #[error("no signature matches the secret")]
    Mismatch,
}

/// Checks `header` over `body` with `secret` at `now` (Unix seconds).
///
/// # Errors
/// [`SignatureError`].
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", hex)) => signatures.push(hex::decode(hex).map_err(|_| SignatureError::Malformed)?),
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
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

    #[test]
    fn a_signature_verifies_with_its_secret_only() {
        let header = sign(&["whsec_a"], 1_700_000_000, BODY);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(&header, BODY, "whsec_a", 1_700_000_010, 300), Ok(()));
        assert_eq!(
            verify(&header, BODY, "whsec_b", 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"{}", "whsec_a", 1_700_000_010, 300),
            Err(SignatureError::Mismatch),
            "an altered body"
        );
        assert_eq!(
            verify(&header, BODY, "whsec_a", 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        for bad in [
            "",
            "t=x,v1=00",
            "v1=00",
            "t=1700000000",
            "t=1700000000,v1=zz",
            "junk",
        ] {
            assert_eq!(
                verify(bad, BODY, "whsec_a", 1_700_000_000, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn during_a_rotation_both_secrets_verify() {
        let header = sign(&["whsec_new", "whsec_old"], 1_700_000_000, BODY);
        assert_eq!(header.matches("v1=").count(), 2);
        for secret in ["whsec_new", "whsec_old"] {
            assert_eq!(verify(&header, BODY, secret, 1_700_000_000, 300), Ok(()));
        }
    }

    /// A known answer, computed independently with Python's `hmac` module:
    /// `hmac.new(b"whsec_test", b"1.{}", hashlib.sha256).hexdigest()`.
    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        assert_eq!(
            sign(&["whsec_test"], 1, b"{}"),
            "t=1,v1=7500d5d4be4b3ef07af1fe56f7d522d135cdaa7530de557e67cc1049c52de094"
        );
    }
}
