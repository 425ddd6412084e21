//! Who is calling, and what they may see and do. Every operation takes an
//! [`Actor`]; its organisation scopes every read and write.

use serde::{Deserialize, Serialize};

use crate::directory::{Role, User};
use crate::error::SeatError;
use crate::ids::{ApiKeyId, OrgId, TeamId, UserId};

/// The authenticated principal behind a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Principal {
    /// A person, by user id.
    User(UserId),
    /// A machine client, by API key id.
    ApiKey(ApiKeyId),
    /// The system itself (provisioning, seeding).
    System(String),
    /// One of the vendor's support staff, by the name of their operator key.
    Operator(String),
}

/// One of the vendor's support staff: not a member of any organisation, able
/// to find and look into every one, open one with its first admin, and grant
/// or end manual seats. What they change is audited under their name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The name their key was issued under.
    pub name: String,
}

impl Operator {
    /// The operator acting on `org`, with an admin's reach there.
    #[must_use]
    pub fn acting_in(&self, org: OrgId) -> Actor {
        Actor {
            org,
            principal: Principal::Operator(self.name.clone()),
            role: Role::Admin,
            teams: Vec::new(),
            grants_admin: true,
        }
    }
}

/// An authenticated caller, scoped to one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The one organisation the caller may touch.
    pub org: OrgId,
    /// Who they are.
    pub principal: Principal,
    /// Their role. Machine clients and the system act as admins.
    pub role: Role,
    /// For team managers: the teams they manage.
    pub teams: Vec<TeamId>,
    /// Whether the caller may grant or take away the admin role, given admin
    /// rights: people and the vendor may; a machine client only with the
    /// `admins:write` scope (a key that manages users cannot make admins).
    pub grants_admin: bool,
}

impl Actor {
    /// The system acting on `org` (provisioning, seeding).
    #[must_use]
    pub fn system(org: OrgId, what: &str) -> Self {
        Self {
            org,
            principal: Principal::System(what.to_owned()),
            role: Role::Admin,
            teams: Vec::new(),
            grants_admin: true,
        }
    }

    /// Admin rights over the whole organisation.
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller manages `team` (admins manage every team).
    #[must_use]
    pub fn manages(&self, team: &TeamId) -> bool {
        self.is_admin() || (self.role == Role::TeamManager && self.teams.contains(team))
    }

    /// Whether the caller may see `user`: admins all, team managers their
    /// teams' members and themselves, members themselves.
    #[must_use]
    pub fn can_see(&self, user: &User) -> bool {
        self.is_admin()
            || self.principal == Principal::User(user.id.clone())
            || (self.role == Role::TeamManager && user.team.as_ref().is_some_and(|t| self.teams.contains(t)))
    }

    /// The user id of a person caller.
    #[must_use]
    pub fn user_id(&self) -> Option<&UserId> {
        match &self.principal {
            Principal::User(id) => Some(id),
            _ => None,
        }
    }

    /// Requires admin rights.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] naming what was refused.
    pub fn require_admin(&self, what: &str) -> Result<(), SeatError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(SeatError::Forbidden(format!(
                "only an organisation admin may {what}"
            )))
        }
    }

    /// Requires admin rights or management of a team.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] naming what was refused.
    pub fn require_admin_or_manager(&self, what: &str) -> Result<(), SeatError> {
        if self.is_admin() || self.role == Role::TeamManager {
            Ok(())
        } else {
            Err(SeatError::Forbidden(format!(
                "only an admin or team manager may {what}"
            )))
        }
    }

    /// Requires the vendor itself: the system (seeding, reconciliation) or
    /// one of the vendor's operators. Never an organisation's own
    /// admin: what it grants is not paid for.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`].
    pub fn require_vendor(&self, what: &str) -> Result<(), SeatError> {
        if matches!(self.principal, Principal::System(_) | Principal::Operator(_)) {
            Ok(())
        } else {
            Err(SeatError::Forbidden(format!("only the vendor may {what}")))
        }
    }

    /// Requires admin rights and the right to grant the admin role (see
    /// [`Actor::grants_admin`]).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] naming what was refused.
    pub fn require_admin_granter(&self, what: &str) -> Result<(), SeatError> {
        self.require_admin(what)?;
        if self.grants_admin {
            Ok(())
        } else {
            Err(SeatError::Forbidden(format!(
                "only a person admin, or an API key with the admins:write scope, may {what}"
            )))
        }
    }

    /// Requires a person admin (not a machine client): managing API keys.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`].
    pub fn require_person_admin(&self, what: &str) -> Result<(), SeatError> {
        if self.is_admin() && !matches!(self.principal, Principal::ApiKey(_)) {
            Ok(())
        } else {
            Err(SeatError::Forbidden(format!(
                "only a person with the admin role may {what}"
            )))
        }
    }
}
