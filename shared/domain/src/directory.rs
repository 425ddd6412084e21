//! Who exists in an organisation: the organisation itself, its teams and users.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::assignment::Assignment;
use crate::error::ValidationError;
use crate::ids::{OrgId, ProductId, TeamId, UserId};

/// A user's role in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the organisation.
    Admin,
    /// Their own teams' allocations and members.
    TeamManager,
    /// Their own seats.
    Member,
}

/// An email address, trimmed and lower-cased so that uniqueness is by address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a dotted domain, no
    /// spaces, at most 254 characters. Deliverability is not checked here.
    ///
    /// # Errors
    /// [`ValidationError`] on field `email`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let text = text.trim().to_lowercase();
        let ok = text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && match text.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if ok {
            Ok(Self(text))
        } else {
            Err(ValidationError::new("email", "is not a valid email address"))
        }
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// A display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a name.
    ///
    /// # Errors
    /// [`ValidationError`] on field `name`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 200 || text.chars().any(char::is_control) {
            Err(ValidationError::new(
                "name",
                "must be 1 to 200 characters without control characters",
            ))
        } else {
            Ok(Self(text.to_owned()))
        }
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<DisplayName> for String {
    fn from(n: DisplayName) -> String {
        n.0
    }
}

/// A customer organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its name.
    pub name: DisplayName,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The product a user created by the organisation's directory (SCIM) is
    /// given a seat of, when one is free; none: such users get no seat.
    #[serde(default)]
    pub directory_seat: Option<ProductId>,
    /// What happens when a user needs a seat and the pool is full.
    #[serde(default)]
    pub license_management: crate::license::LicenseManagement,
    /// Optimistic-concurrency version.
    pub version: u64,
}

/// A team inside an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    /// Owning organisation.
    pub org: OrgId,
    /// Its id.
    pub id: TeamId,
    /// Its name.
    pub name: DisplayName,
    /// The organisation's directory's id for it (SCIM `externalId`), if it
    /// gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

/// A person with an account in an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Owning organisation.
    pub org: OrgId,
    /// Its id.
    pub id: UserId,
    /// Display name.
    pub name: DisplayName,
    /// Email, unique in the organisation. None only for a user the
    /// organisation's directory (SCIM) knows by another `userName` and gave
    /// no email: they hold seats and are checked by id, but are sent nothing
    /// and cannot sign in by email.
    pub email: Option<Email>,
    /// What the organisation's directory (SCIM) last said of the user, as it
    /// said it (`userName`, `externalId`, `displayName`, `name`, `emails`):
    /// answered back to it as given. None for users it never wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub directory: Option<serde_json::Map<String, serde_json::Value>>,
    /// Role.
    pub role: Role,
    /// The team they belong to, if any.
    pub team: Option<TeamId>,
    /// False once the organisation's directory (SCIM) deactivated them: they
    /// hold no seat and cannot sign in; the account stays for a
    /// reactivation and the audit trail.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

fn active_by_default() -> bool {
    true
}

impl User {
    /// The user name the organisation's directory knows them by (its
    /// `userName`), trimmed and in lower case, since directories compare it
    /// without case: unique in the organisation, and how a directory finds
    /// the user again. None for users it never wrote.
    #[must_use]
    pub fn directory_name(&self) -> Option<String> {
        directory_name(self.directory.as_ref()?)
    }

    /// The organisation's directory's id for the user (its `externalId`),
    /// as the directory wrote it (SCIM compares it with case): how some
    /// directories find a user again. Not unique: several users may carry
    /// one. None for users it never wrote, or a blank one.
    #[must_use]
    pub fn external_id(&self) -> Option<String> {
        external_id(self.directory.as_ref()?)
    }
}

/// The directory's id in a directory's record (see [`User::external_id`]).
#[must_use]
pub fn external_id(record: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    record
        .get("externalId")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
}

/// The directory user name in a directory's record (see
/// [`User::directory_name`]).
#[must_use]
pub fn directory_name(record: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    record
        .get("userName")
        .and_then(serde_json::Value::as_str)
        .and_then(normalized_directory_name)
}

/// A directory user name as it is compared and claimed: trimmed, in lower
/// case; none when blank.
#[must_use]
pub fn normalized_directory_name(name: &str) -> Option<String> {
    Some(name.trim()).filter(|n| !n.is_empty()).map(str::to_lowercase)
}

/// What it takes to create a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The id to give the user (for example the vendor's own user id); a
    /// fresh one when `None`.
    pub id: Option<UserId>,
    /// Display name.
    pub name: DisplayName,
    /// Email; none only for a directory's user (see [`User::email`]).
    pub email: Option<Email>,
    /// What the organisation's directory said of them (see [`User::directory`]).
    pub directory: Option<serde_json::Map<String, serde_json::Value>>,
    /// Role.
    pub role: Role,
    /// Team, if any.
    pub team: Option<TeamId>,
}

/// What to change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// A new display name.
    pub name: Option<DisplayName>,
    /// A new email, unique in the organisation (`Some(None)`: none, which
    /// only a user the directory knows by its `userName` may have).
    pub email: Option<Option<Email>>,
    /// A new role.
    pub role: Option<Role>,
    /// A new team (`Some(None)`: no team). Their seats move with them.
    pub team: Option<Option<TeamId>>,
    /// What the organisation's directory now says of them (`Some(None)`:
    /// it says nothing).
    pub directory: Option<Option<serde_json::Map<String, serde_json::Value>>>,
}

/// A user with the seats they hold: stored together, so that one read
/// gives what a seat decision needs to know about the user, and the write
/// conditions on it (the user's version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSeats {
    /// The user.
    pub user: User,
    /// Their seats.
    pub seats: Vec<Assignment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").expect("valid").as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse(" Ada ").expect("valid").as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
    }
}
