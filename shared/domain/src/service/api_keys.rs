//! API keys for machine clients, and authenticating a caller by one.

use super::Seats;
use super::commit::{Mode, Outcome, decide_and_commit};
use crate::access::{Actor, Principal};
use crate::api_key::ApiKey;
use crate::audit::{AuditAction, snapshot};
use crate::directory::{DisplayName, Role};
use crate::draft::Draft;
use crate::error::SeatError;
use crate::ids::ApiKeyId;

impl Seats {
    /// Records a new API key for the caller's organisation. The caller (the
    /// HTTP edge) generated the secret and passes only its hash.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless a person admin; validation of the name.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        name: &str,
        prefix: &str,
        secret_hash: &str,
        mode: Mode,
    ) -> Result<Outcome<ApiKey>, SeatError> {
        actor.require_person_admin("create API keys")?;
        let name = DisplayName::parse(name)?;
        decide_and_commit!(self, "API key", mode, {
            let now = self.clock.now();
            let key = ApiKey {
                org: actor.org.clone(),
                id: ApiKeyId::generate(),
                name: name.clone(),
                prefix: prefix.to_owned(),
                secret_hash: secret_hash.to_owned(),
                created_at: now,
                revoked_at: None,
                version: 0,
            };
            Ok(self.create_one(
                actor,
                now,
                AuditAction::ApiKeyCreated,
                format!("api_key/{}", key.id),
                key,
            ))
        })
    }

    /// Revokes an API key; it authenticates nobody from then on.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless a person admin; not found.
    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        id: &ApiKeyId,
        mode: Mode,
    ) -> Result<Outcome<ApiKey>, SeatError> {
        actor.require_person_admin("revoke API keys")?;
        decide_and_commit!(self, "API key", mode, {
            let now = self.clock.now();
            let before = self
                .store
                .api_key(&actor.org, id)
                .await?
                .ok_or_else(|| SeatError::not_found("API key", id))?;
            let mut after = before.clone();
            after.revoked_at.get_or_insert(now);
            let mut draft = Draft::new(&actor.org);
            draft.put(Some(&before), after.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::ApiKeyRevoked,
                format!("api_key/{id}"),
                snapshot(&before),
                snapshot(&after),
            );
            Ok((draft.finish(audit), after))
        })
    }

    /// The API keys of the caller's organisation (never their secrets).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless a person admin.
    pub async fn api_keys(&self, actor: &Actor) -> Result<Vec<ApiKey>, SeatError> {
        actor.require_person_admin("list API keys")?;
        Ok(self.store.api_keys(&actor.org).await?)
    }

    /// The machine-client actor of an unrevoked key whose secret hashes to
    /// `secret_hash`; `None` for an unknown or revoked key.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn authenticate_api_key(&self, secret_hash: &str) -> Result<Option<Actor>, SeatError> {
        let key = self.store.api_key_by_hash(secret_hash).await?;
        Ok(key.filter(|k| k.revoked_at.is_none()).map(|k| Actor {
            org: k.org,
            principal: Principal::ApiKey(k.id),
            role: Role::Admin,
            teams: Vec::new(),
        }))
    }
}
