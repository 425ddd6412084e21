//! API keys for machine clients. Only a hash of the secret is ever stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::DisplayName;
use crate::ids::{ApiKeyId, OrgId};

/// A machine client's key, scoped to one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    /// Owning organisation: the only one the key can touch.
    pub org: OrgId,
    /// Its id.
    pub id: ApiKeyId,
    /// What it is for.
    pub name: DisplayName,
    /// The first characters of the secret, to recognise it by.
    pub prefix: String,
    /// Hex SHA-256 of the secret.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nobody.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    pub version: u64,
}
