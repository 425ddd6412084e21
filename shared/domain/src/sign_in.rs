//! Who is signed in to the portal, kept where seatflow can end it. A person
//! signs in either through the vendor's identity provider or with a hand-off
//! from the vendor's application; either way the portal keeps a session in
//! the store, found by a digest of the secret in the browser's cookie, until
//! it expires or the person signs out. A hand-off is its own kind of pass:
//! used once, within a minute, and never an API credential.
//!
//! The store holds digests only (the secrets stay in the browser and the
//! link), so a copy of the table opens no session.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::{OrgId, UserId};
use crate::store::StoreError;

/// How long a hand-off may wait to be used, in seconds.
pub const HAND_OFF_SECONDS: i64 = 60;
/// How long a portal session lasts at most, in seconds.
pub const SESSION_SECONDS: i64 = 8 * 3600;

/// What a pass lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PassKind {
    /// Open one session, once, within [`HAND_OFF_SECONDS`].
    HandOff,
    /// Use the portal as its person, until it expires or is ended.
    Session,
}

/// A pass for one person of one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// What it is.
    pub kind: PassKind,
    /// The person's organisation.
    pub org: OrgId,
    /// The person.
    pub user: UserId,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Where passes are kept, each under the digest of its secret.
#[async_trait]
pub trait PassStore: Send + Sync + std::fmt::Debug {
    /// Keeps `pass` under `digest`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if a pass of its kind is kept under `digest`
    /// already; [`StoreError::Unavailable`].
    async fn keep_pass(&self, digest: &str, pass: &Pass) -> Result<(), StoreError>;
    /// The pass of `kind` under `digest`, expired or not.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn pass(&self, kind: PassKind, digest: &str) -> Result<Option<Pass>, StoreError>;
    /// Removes the pass of `kind` under `digest` and returns it: of many
    /// callers taking the same pass at once, exactly one gets it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn take_pass(&self, kind: PassKind, digest: &str) -> Result<Option<Pass>, StoreError>;
}
