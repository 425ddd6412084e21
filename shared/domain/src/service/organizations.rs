//! Organisations: creating one, founding one on its first sign-in, and
//! reading it and its subscriptions.

use super::Organizations;
use super::commit::{Mode, Outcome, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::directory::{DisplayName, Email, Organization, Role, User, UserSeats};
use crate::draft::Draft;
use crate::error::{SeatError, ValidationError};
use crate::ids::{OrgId, UserId};
use crate::store::Change;

impl Organizations<'_> {
    /// Creates an organisation.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; a conflict if it exists.
    pub async fn create_organization(
        self,
        actor: &Actor,
        name: &str,
        mode: Mode,
    ) -> Result<Outcome<Organization>, SeatError> {
        actor.require_admin("create an organisation")?;
        let name = DisplayName::parse(name)?;
        decide_and_commit!(self, "organisation", mode, {
            let now = self.clock.now();
            if let Some(existing) = self.store.organization(&actor.org).await? {
                return Err(SeatError::Validation(ValidationError::new(
                    "id",
                    format!("organisation '{}' already exists", existing.id),
                )));
            }
            let org = Organization {
                id: actor.org.clone(),
                name: name.clone(),
                created_at: now,
                directory_seat: None,
                license_management: crate::license::LicenseManagement::default(),
                version: 0,
            };
            Ok(self.create_one(
                actor,
                now,
                AuditAction::OrganizationCreated,
                format!("organization/{}", org.id),
                org,
            ))
        })
    }

    /// Founds the caller's organisation on its first sign-in, if seatflow
    /// does not know it yet (the vendor's tenant): the organisation, named
    /// `name` (else its id), with the caller as its first admin, `email`, in
    /// one audited change. `Ok(true)` when it was founded now; `Ok(false)`
    /// when it exists. Concurrent first sign-ins found it once.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] when the organisation is unknown and the
    /// caller is not a person admin; validation of the name.
    pub async fn found_organization(
        self,
        actor: &Actor,
        email: &Email,
        name: Option<&str>,
    ) -> Result<bool, SeatError> {
        let settled = decide_and_commit!(answer: self, "organisation", Mode::Apply, {
            if self.store.organization(&actor.org).await?.is_some() {
                return Ok(Decision::Answer(false));
            }
            let Some(founder) = actor.user_id().filter(|_| actor.is_admin()) else {
                return Err(SeatError::Forbidden(format!(
                    "organisation '{}' does not exist yet; an admin's sign-in founds it",
                    actor.org
                )));
            };
            let org_name = DisplayName::parse(name.unwrap_or(actor.org.as_str()))?;
            let user_name = DisplayName::parse(name_of(email))?;
            let (change, _) = self.founding(actor, org_name, founder.clone(), user_name, email.clone());
            Ok(Decision::Commit(change, true))
        })?;
        Ok(matches!(settled, Settled::Committed(_)))
    }

    /// The change that opens `actor`'s organisation with its first admin,
    /// audited as one `organization_created` entry; and the two records.
    pub(crate) fn founding(
        self,
        actor: &Actor,
        org_name: DisplayName,
        admin: UserId,
        admin_name: DisplayName,
        email: Email,
    ) -> (Change, (Organization, User)) {
        let now = self.clock.now();
        let org = Organization {
            id: actor.org.clone(),
            name: org_name,
            created_at: now,
            directory_seat: None,
            license_management: crate::license::LicenseManagement::default(),
            version: 0,
        };
        let admin = UserSeats {
            user: User {
                org: actor.org.clone(),
                id: admin,
                name: admin_name,
                email: Some(email),
                directory: None,
                role: Role::Admin,
                team: None,
                active: true,
                created_at: now,
                version: 0,
            },
            seats: Vec::new(),
        };
        let mut draft = Draft::new(&actor.org);
        draft.put(None, org.clone());
        draft.put(None, admin.clone());
        let audit = self.entry(
            actor,
            now,
            AuditAction::OrganizationCreated,
            format!("organization/{}", org.id),
            nothing(),
            snapshot(&serde_json::json!({ "organization": org, "first_admin": admin.user })),
        );
        (draft.finish(audit), (org, admin.user))
    }

    /// The organisation, if it exists.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn organization(self, org: &OrgId) -> Result<Option<Organization>, SeatError> {
        Ok(self.store.organization(org).await?)
    }
}

impl super::Seats {
    /// Organisation `org`, which must exist.
    ///
    /// # Errors
    /// Not found; the store's failures.
    pub(crate) async fn known_organization(&self, org: &OrgId) -> Result<Organization, SeatError> {
        self.store
            .organization(org)
            .await?
            .ok_or_else(|| SeatError::not_found("organization", org))
    }

    /// Changes one setting of `actor`'s organisation (`set` on its record),
    /// audited as `action` on `target` with the setting (as `setting` reads
    /// it) before and after; a dry run shows the entry.
    ///
    /// # Errors
    /// Not found; the store's failures.
    pub(crate) async fn change_organization<T: serde::Serialize>(
        &self,
        actor: &Actor,
        mode: Mode,
        (action, target): (AuditAction, String),
        setting: impl Fn(&Organization) -> T,
        set: impl Fn(&mut Organization),
    ) -> Result<Outcome<Organization>, SeatError> {
        decide_and_commit!(self, "organisation", mode, {
            let now = self.clock.now();
            let org = self.known_organization(&actor.org).await?;
            let mut after = org.clone();
            set(&mut after);
            let mut draft = Draft::new(&actor.org);
            draft.put(Some(&org), after.clone());
            let audit = self.entry(
                actor,
                now,
                action,
                target.clone(),
                snapshot(&setting(&org)),
                snapshot(&setting(&after)),
            );
            Ok((draft.finish(audit), after))
        })
    }
}

/// A display name for someone known only by their email: its local part.
fn name_of(email: &Email) -> &str {
    email.as_str().split('@').next().unwrap_or(email.as_str())
}
