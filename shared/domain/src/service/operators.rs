//! What the vendor's operators do across tenants: find organisations, look
//! into one for support triage, and open one with its first admin. Granting
//! and ending manual seats are the grants' own operations, which an operator
//! calls acting in the organisation ([`Operator::acting_in`]).

use serde::{Deserialize, Serialize};

use super::Organizations;
use super::commit::{Mode, decide_and_commit};
use super::subscriptions::SubscriptionOverview;
use super::views::{AuditPage, LicenseSummary};
use crate::access::Operator;
use crate::directory::{DisplayName, Email, Organization, User};
use crate::error::SeatError;
use crate::grant::SeatGrant;
use crate::ids::{OrgId, SubscriptionId, UserId};

/// Largest page of organisations an operator gets at once.
pub const MAX_ORGANIZATIONS_PAGE: usize = 100;
/// How many organisations one search reads at most before it answers with
/// what it found and a cursor to go on from.
const SEARCH_READS: usize = 2_000;
/// Audit entries a triage view shows.
const TRIAGE_AUDIT_ENTRIES: usize = 20;

/// A page of organisations.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationPage {
    /// Organisations, by id.
    pub organizations: Vec<Organization>,
    /// Pass as `after` for the next page; absent when there is no more.
    pub next_after: Option<OrgId>,
}

/// One organisation, whole enough for support triage.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationTriage {
    /// The organisation.
    pub organization: Organization,
    /// Its pools: purchased, allocated, assigned, available per product.
    pub licenses: Vec<LicenseSummary>,
    /// Its subscriptions.
    pub subscriptions: Vec<SubscriptionOverview>,
    /// Manual grants, counting or ended.
    pub grants: Vec<SeatGrant>,
    /// Its admins, who to talk to.
    pub admins: Vec<User>,
    /// The newest audit entries.
    pub recent_audit: AuditPage,
    /// Provisioning jobs of the organisation failing now (seats that did
    /// not arrive): each is retried, and parked in the dead-letter queue
    /// after its last attempt.
    pub failed_jobs: Vec<crate::job_failure::JobFailure>,
}

/// The first admin of an organisation an operator opens.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FirstAdmin {
    /// Their user id: the one the vendor's identity provider signs them in
    /// as. Generated when absent.
    pub id: Option<UserId>,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
}

/// An organisation opened by an operator, and its first admin.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenedOrganization {
    /// The organisation.
    pub organization: Organization,
    /// Its first admin.
    pub admin: User,
}

impl Organizations<'_> {
    /// Organisations by id after `after`; with `query`, only those whose id
    /// or name contains it (any case), or that own the subscription it names.
    /// A search reads at most a few thousand organisations per call and then
    /// answers with a cursor.
    ///
    /// Only an operator may: the parameter says so at compile time.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn find_organizations(
        self,
        _operator: &Operator,
        query: Option<&str>,
        after: Option<&OrgId>,
        limit: usize,
    ) -> Result<OrganizationPage, SeatError> {
        let limit = limit.clamp(1, MAX_ORGANIZATIONS_PAGE);
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if let Some(owner) = match query.map(SubscriptionId::parse) {
            Some(Ok(id)) if id.as_str().starts_with("sub_") => self.store.subscription_owner(&id).await?,
            _ => None,
        } {
            let found = self.store.organization(&owner).await?;
            return Ok(OrganizationPage {
                organizations: found.into_iter().collect(),
                next_after: None,
            });
        }
        let needle = query.map(str::to_lowercase);
        let matches = |o: &Organization| {
            needle.as_ref().is_none_or(|n| {
                o.id.as_str().to_lowercase().contains(n) || o.name.as_str().to_lowercase().contains(n)
            })
        };
        let mut found = Vec::new();
        let mut cursor = after.cloned();
        let mut read = 0;
        loop {
            let batch = self
                .store
                .organizations(cursor.as_ref(), MAX_ORGANIZATIONS_PAGE)
                .await?;
            let exhausted = batch.len() < MAX_ORGANIZATIONS_PAGE;
            for org in batch {
                read += 1;
                cursor = Some(org.id.clone());
                if matches(&org) {
                    found.push(org);
                    if found.len() == limit {
                        return Ok(OrganizationPage {
                            organizations: found,
                            next_after: cursor,
                        });
                    }
                }
            }
            if exhausted {
                return Ok(OrganizationPage {
                    organizations: found,
                    next_after: None,
                });
            }
            if read >= SEARCH_READS {
                return Ok(OrganizationPage {
                    organizations: found,
                    next_after: cursor,
                });
            }
        }
    }

    /// One organisation for support triage: pools, subscriptions, grants,
    /// admins, its newest audit entries and its failing provisioning jobs.
    ///
    /// # Errors
    /// Not found; [`SeatError::StoreUnavailable`].
    pub async fn triage(self, operator: &Operator, org: &OrgId) -> Result<OrganizationTriage, SeatError> {
        let organization = self
            .store
            .organization(org)
            .await?
            .ok_or_else(|| SeatError::not_found("organization", org))?;
        let actor = operator.acting_in(org.clone());
        let admins = self
            .store
            .holders(org, None, super::MAX_PAGE)
            .await?
            .into_iter()
            .map(|h| h.user)
            .filter(|u| u.role == crate::directory::Role::Admin)
            .collect();
        Ok(OrganizationTriage {
            organization,
            licenses: self.views().licenses(&actor).await?,
            subscriptions: self.subscriptions().subscription_overviews(&actor).await?,
            grants: self.subscriptions().grants(&actor).await?,
            admins,
            recent_audit: self.views().audit(&actor, None, TRIAGE_AUDIT_ENTRIES).await?,
            failed_jobs: self.integrations().failed_jobs(operator, Some(org)).await?,
        })
    }

    /// Opens organisation `org`, named `name`, with its first admin, in one
    /// audited change under the operator's name. The admin signs in later
    /// with a token naming their user id.
    ///
    /// # Errors
    /// [`SeatError::AlreadyExists`] when the organisation exists; validation
    /// of the names and email.
    pub async fn open_organization(
        self,
        operator: &Operator,
        org: &OrgId,
        name: &str,
        admin: &FirstAdmin,
    ) -> Result<OpenedOrganization, SeatError> {
        let actor = operator.acting_in(org.clone());
        let org_name = DisplayName::parse(name)?;
        let admin_name = DisplayName::parse(&admin.name)?;
        let email = Email::parse(&admin.email)?;
        let admin_id = admin.id.clone().unwrap_or_else(UserId::generate);
        let outcome = decide_and_commit!(self, "organisation", Mode::Apply, {
            if self.store.organization(org).await?.is_some() {
                return Err(SeatError::AlreadyExists {
                    what: "organization",
                    id: org.to_string(),
                });
            }
            let (change, (organization, admin)) = self.founding(
                &actor,
                org_name.clone(),
                admin_id.clone(),
                admin_name.clone(),
                email.clone(),
            );
            Ok((change, OpenedOrganization { organization, admin }))
        })?;
        Ok(outcome.value)
    }
}
