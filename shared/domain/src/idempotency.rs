//! Safe retries for requests that move money: the client's `Idempotency-Key`
//! makes a repeated request replay the first one's answer, and never act
//! twice. The [`IdempotencyStore`] port keeps, per organisation and key, the
//! request's fingerprint, the plan decided the first time (so a retry after a
//! crash carries out the same change, not a recomputed one), and the answer.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::OrgId;
use crate::store::StoreError;

/// Longest key accepted (Stripe's own keys go up to 255 characters, and the
/// provider's key is derived from ours with a short prefix).
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// A client's idempotency key: 1 to 200 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as the client sent it.
    ///
    /// # Errors
    /// [`ValidationError`] for an empty, too long or non-printable key.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY {
            return Err(ValidationError::new(
                "Idempotency-Key",
                format!("must be 1 to {MAX_IDEMPOTENCY_KEY} characters"),
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "Idempotency-Key",
                "must be printable ASCII without spaces",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The key as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key to send the payment provider for this request of `org`: the
    /// same for every retry of the request, different for any other
    /// organisation's same key.
    #[must_use]
    pub fn provider_key(&self, org: &OrgId, operation: &str) -> String {
        format!("seatflow:{org}:{operation}:{}", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What starting a request under a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The first request under this key: carry out `plan` (the one given).
    New,
    /// An earlier attempt with this key died before it finished: carry out its
    /// plan (JSON), not a new one, so the change is the same change.
    Resumed {
        /// The plan the first attempt decided.
        plan: String,
    },
    /// The request was carried out: answer with its response (JSON).
    Replay {
        /// The first answer.
        response: String,
    },
    /// Another attempt with this key is under way.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Per organisation and key: what a money-moving request decided and
/// answered. Adapters keep records for at least a day.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + fmt::Debug {
    /// Starts the request `fingerprint` under `key`, holding it until
    /// `lease_until`: records `plan` when it is new; takes over an attempt
    /// whose lease ran out (same request).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn start(
        &self,
        org: &OrgId,
        key: &IdempotencyKey,
        fingerprint: &str,
        plan: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Started, StoreError>;

    /// Records the request's answer; later requests under `key` replay it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn finish(&self, org: &OrgId, key: &IdempotencyKey, response: &str) -> Result<(), StoreError>;

    /// Forgets a request that failed before it changed anything, so that the
    /// client may try again with the same key.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn abandon(&self, org: &OrgId, key: &IdempotencyKey) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_and_bounded() {
        assert!(IdempotencyKey::parse("a1b2-c3_d4:e5").is_ok());
        for bad in ["", "with space", "tab\t", &"x".repeat(201), "é"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_provider_key_differs_per_organisation_and_operation() {
        let key = IdempotencyKey::parse("k1").unwrap();
        let a = OrgId::parse("org_a").unwrap();
        let b = OrgId::parse("org_b").unwrap();
        assert_ne!(key.provider_key(&a, "seats"), key.provider_key(&b, "seats"));
        assert_ne!(key.provider_key(&a, "seats"), key.provider_key(&a, "plan"));
        assert_eq!(key.provider_key(&a, "seats"), key.provider_key(&a, "seats"));
    }
}
