//! API keys for machine clients, and authenticating a caller by one.

use super::Integrations;
use super::commit::{Mode, Outcome, decide_and_commit};
use crate::access::{Actor, Principal};
use crate::api_key::{ApiKey, ApiScope};

/// A machine client, authenticated: acting as an admin of its organisation
/// within its key's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCaller {
    /// The key's actor.
    pub actor: Actor,
    /// What the key may do.
    pub scopes: Vec<ApiScope>,
    /// When the key was last used, as recorded (to the hour).
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}
use crate::audit::{AuditAction, snapshot};
use crate::directory::{DisplayName, Role};
use crate::draft::Draft;
use crate::error::SeatError;
use crate::ids::ApiKeyId;

impl Integrations<'_> {
    /// Records a new API key for the caller's organisation. The caller (the
    /// HTTP edge) generated the secret and passes only its hash.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless a person admin; validation of the name.
    pub async fn create_api_key(
        self,
        actor: &Actor,
        name: &str,
        prefix: &str,
        secret_hash: &str,
        scopes: &[ApiScope],
        mode: Mode,
    ) -> Result<Outcome<ApiKey>, SeatError> {
        actor.require_person_admin("create API keys")?;
        let name = DisplayName::parse(name)?;
        let mut scopes = if scopes.is_empty() {
            ApiScope::DEFAULT.to_vec()
        } else {
            scopes.to_vec()
        };
        scopes.sort_unstable();
        scopes.dedup();
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
                scopes: scopes.clone(),
                last_used_at: None,
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
        self,
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
    pub async fn api_keys(self, actor: &Actor) -> Result<Vec<ApiKey>, SeatError> {
        actor.require_person_admin("list API keys")?;
        Ok(self.store.api_keys(&actor.org).await?)
    }

    /// The machine client of an unrevoked key whose secret hashes to
    /// `secret_hash`, with the key's scopes; `None` for an unknown or revoked
    /// key.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn authenticate_api_key(self, secret_hash: &str) -> Result<Option<KeyCaller>, SeatError> {
        let Some(key) = self
            .store
            .api_key_by_hash(secret_hash)
            .await?
            .filter(|k| k.revoked_at.is_none())
        else {
            return Ok(None);
        };
        Ok(Some(KeyCaller {
            actor: Actor {
                org: key.org,
                principal: Principal::ApiKey(key.id),
                role: Role::Admin,
                teams: Vec::new(),
                grants_admin: key.scopes.contains(&ApiScope::AdminsWrite),
            },
            scopes: key.scopes,
            last_used_at: key.last_used_at,
        }))
    }

    /// Records a key's use now, at most once an hour (no version moves, no
    /// audit entry): what the key list shows as its last use.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`] when the store refuses; the caller may
    /// go on, the figure only stays older.
    pub async fn record_api_key_use(self, caller: &KeyCaller) -> Result<(), SeatError> {
        let now = self.clock.now();
        let Principal::ApiKey(id) = &caller.actor.principal else {
            return Ok(());
        };
        if caller
            .last_used_at
            .is_some_and(|at| now - at < chrono::Duration::hours(1))
        {
            return Ok(());
        }
        Ok(self
            .store
            .record(crate::store::Record::KeyUsed {
                org: caller.actor.org.clone(),
                id: id.clone(),
                at: now,
            })
            .await?)
    }
}
