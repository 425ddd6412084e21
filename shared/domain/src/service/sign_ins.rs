//! Portal sign-ins: hand-offs from the vendor's application, and the
//! sessions they and the identity provider's sign-in open (see
//! [`crate::PassStore`]).

use chrono::Duration;

use super::SignIns;
use super::commit::Mode;
use crate::access::{Actor, Principal};
use crate::error::SeatError;
use crate::ids::{OrgId, UserId};
use crate::sign_in::{HAND_OFF_SECONDS, Pass, PassKind, SESSION_SECONDS};

impl SignIns<'_> {
    /// A hand-off for `actor`, a person, kept under `digest` (of a secret the
    /// HTTP edge made) for [`HAND_OFF_SECONDS`]; a dry run keeps nothing.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for a machine client: a key stands for no
    /// person to sign in.
    pub async fn hand_off(self, actor: &Actor, digest: &str, mode: Mode) -> Result<Pass, SeatError> {
        let Principal::User(user) = &actor.principal else {
            return Err(SeatError::Forbidden(
                "only a person can be handed over to the portal: sign in with the person's token, not an API key"
                    .into(),
            ));
        };
        let pass = Pass {
            kind: PassKind::HandOff,
            org: actor.org.clone(),
            user: user.clone(),
            expires_at: self.clock.now() + Duration::seconds(HAND_OFF_SECONDS),
        };
        if mode == Mode::Apply {
            self.store.keep_pass(digest, &pass).await?;
        }
        Ok(pass)
    }

    /// Uses the hand-off under `hand_off`, once: its person gets a session
    /// kept under `session` for `ttl_seconds` (at most [`SESSION_SECONDS`]).
    /// `None` when there is no such hand-off, it was used, or it expired.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn redeem(
        self,
        hand_off: &str,
        session: &str,
        ttl_seconds: u64,
    ) -> Result<Option<Pass>, SeatError> {
        let Some(handed) = self.store.take_pass(PassKind::HandOff, hand_off).await? else {
            return Ok(None);
        };
        if handed.expires_at <= self.clock.now() {
            return Ok(None);
        }
        self.open_session(&handed.org, &handed.user, session, ttl_seconds)
            .await
            .map(Some)
    }

    /// A session for `user` of `org`, kept under `digest` for `ttl_seconds`
    /// (at most [`SESSION_SECONDS`]).
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn open_session(
        self,
        org: &OrgId,
        user: &UserId,
        digest: &str,
        ttl_seconds: u64,
    ) -> Result<Pass, SeatError> {
        let ttl = i64::try_from(ttl_seconds)
            .unwrap_or(SESSION_SECONDS)
            .min(SESSION_SECONDS);
        let pass = Pass {
            kind: PassKind::Session,
            org: org.clone(),
            user: user.clone(),
            expires_at: self.clock.now() + Duration::seconds(ttl),
        };
        self.store.keep_pass(digest, &pass).await?;
        Ok(pass)
    }

    /// The session kept under `digest`, unless it expired or was ended.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn session(self, digest: &str) -> Result<Option<Pass>, SeatError> {
        let now = self.clock.now();
        Ok(self
            .store
            .pass(PassKind::Session, digest)
            .await?
            .filter(|pass| pass.expires_at > now))
    }

    /// Ends the session kept under `digest`: its cookie signs nobody in again.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn end_session(self, digest: &str) -> Result<(), SeatError> {
        self.store.take_pass(PassKind::Session, digest).await?;
        Ok(())
    }
}
