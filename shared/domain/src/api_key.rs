//! API keys for machine clients. Only a hash of the secret is ever stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::DisplayName;
use crate::ids::{ApiKeyId, OrgId};

/// What a key may do. A key acts only within its scopes; a person's token
/// is not scoped (their role decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApiScope {
    /// Check entitlements (`GET /v1/entitlements`): what a vendor's
    /// application needs, and a new key's default.
    #[serde(rename = "entitlements:read")]
    EntitlementsRead,
    /// Read users and teams.
    #[serde(rename = "users:read")]
    UsersRead,
    /// Create, change and remove users and teams.
    #[serde(rename = "users:write")]
    UsersWrite,
    /// Read licenses, allocations, assignments, usage and subscriptions.
    #[serde(rename = "seats:read")]
    SeatsRead,
    /// Assign, revoke and transfer seats and add-ons; set allocations.
    #[serde(rename = "seats:write")]
    SeatsWrite,
    /// Read checkout sessions and confirmations.
    #[serde(rename = "billing:read")]
    BillingRead,
    /// Start purchases and add seats to subscriptions (moves money).
    #[serde(rename = "billing:write")]
    BillingWrite,
    /// Read the audit log.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Change the organisation's settings (notification preferences).
    #[serde(rename = "settings:write")]
    SettingsWrite,
    /// Provision users and teams from the organisation's identity provider
    /// (`/scim/v2`): create, change, deactivate and remove users, and move
    /// them between teams, seats following the directory's seat policy.
    #[serde(rename = "scim")]
    Scim,
    /// Grant and take away the admin role (with `users:write` or `scim`):
    /// without it, a key may not make, unmake or remove an admin.
    #[serde(rename = "admins:write")]
    AdminsWrite,
}

impl ApiScope {
    /// Every scope.
    pub const ALL: [Self; 11] = [
        Self::EntitlementsRead,
        Self::UsersRead,
        Self::UsersWrite,
        Self::SeatsRead,
        Self::SeatsWrite,
        Self::BillingRead,
        Self::BillingWrite,
        Self::AuditRead,
        Self::SettingsWrite,
        Self::Scim,
        Self::AdminsWrite,
    ];

    /// A new key's scopes when none are asked for: the narrowest useful one.
    pub const DEFAULT: [Self; 1] = [Self::EntitlementsRead];

    /// The scope as written in the API (`seats:write`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EntitlementsRead => "entitlements:read",
            Self::UsersRead => "users:read",
            Self::UsersWrite => "users:write",
            Self::SeatsRead => "seats:read",
            Self::SeatsWrite => "seats:write",
            Self::BillingRead => "billing:read",
            Self::BillingWrite => "billing:write",
            Self::AuditRead => "audit:read",
            Self::SettingsWrite => "settings:write",
            Self::Scim => "scim",
            Self::AdminsWrite => "admins:write",
        }
    }
}

impl std::fmt::Display for ApiScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_scopes() -> Vec<ApiScope> {
    ApiScope::DEFAULT.to_vec()
}

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
    /// What it may do.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<ApiScope>,
    /// When it was last used, to the hour.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    pub version: u64,
}
