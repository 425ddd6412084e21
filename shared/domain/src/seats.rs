//! `Seats`: every entitlement operation. Each one reads what it needs, decides
//! in memory, and commits the decision with the versions it read; a decision
//! made on a stale read is refused by the store and made again on fresh state.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::access::{Actor, Principal};
use crate::api_key::ApiKey;
use crate::assignment::Assignment;
use crate::audit::{AuditAction, AuditActor, AuditEntry, nothing, snapshot};
use crate::catalog::{Catalog, Product, ProductKind};
use crate::clock::Clock;
use crate::directory::{DisplayName, Email, NewUser, Organization, Role, Team, User};
use crate::draft::{Draft, SeatBook, Versioned};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ApiKeyId, AuditId, OrgId, ProductId, SubscriptionId, TeamId, UserId};
use crate::notification::{NoticeKind, NotificationPreferences};
use crate::pool::{SeatPool, TeamSeats};
use crate::store::{Change, EntitlementStore, StoreError};
use crate::subscription::{
    Applied, ProcessedEvent, REMEMBER_EVENTS_DAYS, Subscription, SubscriptionSnapshot,
};

/// How many times a decision is remade after losing a race before giving up.
const MAX_ATTEMPTS: usize = 16;
/// Largest page any listing returns.
pub const MAX_PAGE: usize = 500;

/// Runs the decision `$body` (an async block yielding `(Change, T)`) and
/// commits it, deciding again on fresh state when the store reports a
/// conflict, at most `MAX_ATTEMPTS` times. A macro rather than a function
/// taking an async closure, so that the futures stay `Send` for any lifetime.
macro_rules! decide_and_commit {
    ($self:ident, $what:literal, $mode:expr, $body:block) => {{
        let mut outcome = None;
        for attempt in 0..MAX_ATTEMPTS {
            let decided: Result<(Change, _), SeatError> = async $body.await;
            if let Some(done) = $self.commit_decided($mode, decided?).await? {
                outcome = Some(done);
                break;
            }
            $self.store.pause_before_retry(u32::try_from(attempt).unwrap_or(u32::MAX)).await;
        }
        outcome.ok_or(SeatError::ConcurrentModification($what))
    }};
}

/// Whether a mutation is written or only evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Decide and persist.
    #[default]
    Apply,
    /// Decide and report, persist nothing.
    DryRun,
}

impl Mode {
    /// `DryRun` when `dry_run` is true.
    #[must_use]
    pub fn from_dry_run(dry_run: bool) -> Self {
        if dry_run { Self::DryRun } else { Self::Apply }
    }
}

/// The result of a mutation: its value, the audit entry it wrote (or would
/// write), and whether it was a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome<T> {
    /// What the operation produced.
    pub value: T,
    /// The audit entry recording it.
    pub audit: AuditEntry,
    /// True when nothing was written.
    pub dry_run: bool,
}

/// Per-product seat counts of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseSummary {
    /// Product id.
    pub product: ProductId,
    /// Product name.
    pub name: String,
    /// Plan or add-on.
    pub kind: ProductKind,
    /// Seats bought.
    pub purchased: u32,
    /// Seats allocated to teams.
    pub allocated: u32,
    /// Seats held.
    pub assigned: u32,
    /// Seats free.
    pub available: u32,
    /// More held than bought; new assignments refused.
    pub over_limit: bool,
}

/// An add-on of the catalog with the organisation's seats of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddOnSeats {
    /// The add-on.
    pub product: Product,
    /// The organisation's seats of it (zeros when none bought).
    pub seats: LicenseSummary,
}

/// A team's use of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamUsage {
    /// Team id.
    pub team: TeamId,
    /// Team name.
    pub team_name: String,
    /// Product.
    pub product: ProductId,
    /// Its allocation, if it has one.
    pub allocated: Option<u32>,
    /// Seats its members hold.
    pub assigned: u32,
}

/// Organisation-wide totals across products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageTotals {
    /// Seats bought.
    pub purchased: u32,
    /// Seats allocated to teams.
    pub allocated: u32,
    /// Seats held.
    pub assigned: u32,
    /// Seats free.
    pub available: u32,
}

/// Usage for the organisation, per product and per team. Team managers see
/// only their teams (no organisation or product figures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    /// Whole-organisation totals (admins only).
    pub organization: Option<UsageTotals>,
    /// Per product (admins only).
    pub products: Vec<LicenseSummary>,
    /// Per team and product.
    pub teams: Vec<TeamUsage>,
}

/// A user with the seats they hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSeats {
    /// The user.
    pub user: User,
    /// Their seats.
    pub seats: Vec<Assignment>,
}

/// One row of the assignments export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentRow {
    /// The holder.
    pub user: User,
    /// The seat.
    pub assignment: Assignment,
}

/// A seat moved between users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transfer {
    /// Seats taken from the giver (their add-ons too, for a last base seat).
    pub removed: Vec<Assignment>,
    /// The receiver's new seat.
    pub assigned: Assignment,
}

/// A product a user may use right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entitlement {
    /// The product.
    pub product: ProductId,
    /// Until when it is paid for (the latest billing period end); absent for
    /// seats not bought through a subscription.
    pub until: Option<DateTime<Utc>>,
}

/// What a user may use right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserEntitlements {
    /// The user.
    pub user: UserId,
    /// Their email.
    pub email: crate::directory::Email,
    /// The products they may use.
    pub products: Vec<Entitlement>,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// Entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<AuditId>,
}

/// The entitlement service.
#[derive(Debug, Clone)]
pub struct Seats {
    pub(crate) store: Arc<dyn EntitlementStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) payment_grace: chrono::Duration,
}

/// How long seats stay usable after a payment fails, unless configured.
pub const DEFAULT_PAYMENT_GRACE_DAYS: i64 = 7;

impl From<StoreError> for SeatError {
    fn from(e: StoreError) -> Self {
        Self::StoreUnavailable(e.to_string())
    }
}

impl Seats {
    /// A service over `store`, telling time by `clock`, selling `catalog`.
    #[must_use]
    pub fn new(store: Arc<dyn EntitlementStore>, clock: Arc<dyn Clock>, catalog: Arc<Catalog>) -> Self {
        Self {
            store,
            clock,
            catalog,
            payment_grace: chrono::Duration::days(DEFAULT_PAYMENT_GRACE_DAYS),
        }
    }

    /// The same service with seats usable for `days` after a payment fails
    /// (then access is off until it is paid; assignments are kept).
    #[must_use]
    pub fn with_payment_grace_days(mut self, days: u32) -> Self {
        self.payment_grace = chrono::Duration::days(i64::from(days));
        self
    }

    /// The catalog.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    fn store(&self) -> &dyn EntitlementStore {
        self.store.as_ref()
    }

    fn product(&self, id: &ProductId) -> Result<&Product, SeatError> {
        self.catalog
            .product(id)
            .ok_or_else(|| SeatError::not_found("product", id))
    }

    fn entry(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        action: AuditAction,
        target: String,
        before: Box<RawValue>,
        after: Box<RawValue>,
    ) -> AuditEntry {
        AuditEntry {
            id: AuditId::new(at),
            org: actor.org.clone(),
            actor: AuditActor {
                principal: actor.principal.clone(),
                role: actor.role,
            },
            at,
            action,
            target,
            before,
            after,
        }
    }

    /// A change creating one record, audited as `action` on `target`.
    fn create_one<T: Versioned + Serialize + Clone>(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        action: AuditAction,
        target: String,
        record: T,
    ) -> (Change, T) {
        let mut draft = Draft::new(&actor.org);
        draft.put(None, record.clone());
        let audit = self.entry(actor, now, action, target, nothing(), snapshot(&record));
        (draft.finish(audit), record)
    }

    /// Commits a decision (unless a dry run). `None`: the store saw a conflict
    /// and the decision must be made again on fresh state.
    async fn commit_decided<T>(
        &self,
        mode: Mode,
        (change, value): (Change, T),
    ) -> Result<Option<Outcome<T>>, SeatError> {
        let audit = change.audit.clone();
        if mode == Mode::DryRun {
            return Ok(Some(Outcome {
                value,
                audit,
                dry_run: true,
            }));
        }
        match self.store.commit(change).await {
            Ok(()) => Ok(Some(Outcome {
                value,
                audit,
                dry_run: false,
            })),
            Err(StoreError::Conflict) => Ok(None),
            Err(StoreError::Unavailable(e)) => Err(SeatError::StoreUnavailable(e)),
        }
    }

    /// A user the caller may see, else not found (never "forbidden", so that
    /// existence is not revealed).
    async fn visible_user(&self, actor: &Actor, id: &UserId) -> Result<User, SeatError> {
        match self.store.user(&actor.org, id).await? {
            Some(user) if actor.can_see(&user) => Ok(user),
            _ => Err(SeatError::not_found("user", id)),
        }
    }

    /// A user whose seats the caller may change: admins any, team managers
    /// members of their teams.
    async fn managed_user(&self, actor: &Actor, id: &UserId) -> Result<User, SeatError> {
        let user = self.visible_user(actor, id).await?;
        if actor.is_admin() || user.team.as_ref().is_some_and(|t| actor.manages(t)) {
            Ok(user)
        } else {
            Err(SeatError::Forbidden(format!(
                "user '{id}' is not in a team you manage"
            )))
        }
    }

    async fn visible_team(&self, actor: &Actor, id: &TeamId) -> Result<Team, SeatError> {
        match self.store.team(&actor.org, id).await? {
            Some(team) if actor.manages(&team.id) => Ok(team),
            _ => Err(SeatError::not_found("team", id)),
        }
    }

    /// Team managers hand out only seats their team has been allocated.
    fn check_manager_draws_on_allocation(
        actor: &Actor,
        book: &SeatBook,
        product: &ProductId,
        team: Option<&TeamId>,
    ) -> Result<(), SeatError> {
        if actor.is_admin() {
            return Ok(());
        }
        match team {
            Some(team) if book.team(team, product).allocated.is_some() => Ok(()),
            _ => Err(SeatError::Forbidden(format!(
                "team managers assign only from their team's {product} allocation, and the team has none"
            ))),
        }
    }

    // ----- organisation and pools (provisioning, seeding) -----

    /// Creates an organisation.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; a conflict if it exists.
    pub async fn create_organization(
        &self,
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

    /// Sets how many seats of `product` the organisation bought. Shrinking below
    /// what is assigned keeps every holder and marks the pool over-limit.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found for a product outside
    /// the catalog.
    pub async fn set_purchased(
        &self,
        actor: &Actor,
        product: &ProductId,
        purchased: u32,
        mode: Mode,
    ) -> Result<Outcome<SeatPool>, SeatError> {
        actor.require_admin("change purchased seats")?;
        self.product(product)?;
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let mut book = SeatBook::new(&actor.org);
            book.load(self.store(), &[(product.clone(), None)]).await?;
            let before = book.pool_before(product);
            book.set_purchased(product, purchased);
            let after = book.pool(product).clone();
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::PoolResized,
                format!("product/{product}"),
                snapshot(&before),
                snapshot(&after),
            );
            Ok((draft.finish(audit), after))
        })
    }

    /// Applies what a payment event says a subscription is now: exactly once
    /// per event id (recorded in the same change as its effect), and only if
    /// the event is not older than the stored state, so duplicated and
    /// reordered deliveries converge to the newest state. Each product's pool
    /// is resized to the sum of the organisation's entitling subscriptions; a
    /// decrease never unassigns anyone (the pool goes over-limit).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found for a product outside
    /// the catalog; [`SeatError::ConcurrentModification`] after too many races.
    pub async fn apply_subscription(
        &self,
        actor: &Actor,
        snapshot: &SubscriptionSnapshot,
        event_id: &str,
        event_at: DateTime<Utc>,
        mode: Mode,
    ) -> Result<Applied, SeatError> {
        actor.require_admin("apply subscriptions")?;
        if actor.org != snapshot.org {
            return Err(SeatError::Forbidden(
                "a subscription of another organisation".into(),
            ));
        }
        for product in snapshot.items.keys() {
            self.product(product)?;
        }
        let org = &snapshot.org;
        for attempt in 0..MAX_ATTEMPTS {
            // Checked on every attempt: a concurrent delivery of the same event
            // makes our commit conflict, and the retry must see it as a duplicate.
            if self.store.event_processed(event_id).await? {
                return Ok(Applied::Duplicate);
            }
            // One read: the stored state of this subscription is among the organisation's.
            let mut others = self.store.subscriptions(org).await?;
            let stored = others
                .iter()
                .position(|s| s.id == snapshot.id)
                .map(|i| others.swap_remove(i));
            if stored.as_ref().is_some_and(|s| s.state_at > event_at) {
                return Ok(Applied::Stale);
            }
            let now = self.clock.now();
            let updated = Subscription {
                org: org.clone(),
                id: snapshot.id.clone(),
                customer: snapshot.customer.clone(),
                status: snapshot.status,
                items: snapshot.items.clone(),
                term: snapshot.term,
                current_period_end: snapshot.current_period_end,
                cancel_at_period_end: snapshot.cancel_at_period_end,
                current_period_start: snapshot.current_period_start,
                state_at: event_at,
                version: stored.as_ref().map_or(0, |s| s.version),
            };
            let mut products: Vec<ProductId> = snapshot.items.keys().cloned().collect();
            products.extend(stored.iter().flat_map(|s| s.items.keys().cloned()));
            products.sort();
            products.dedup();
            let mut book = SeatBook::new(org);
            let needs: Vec<(ProductId, Option<TeamId>)> =
                products.iter().map(|p| (p.clone(), None)).collect();
            book.load(self.store(), &needs).await?;
            for product in &products {
                let bought: u32 = others
                    .iter()
                    .chain(std::iter::once(&updated))
                    .map(|s| s.entitled(product))
                    .fold(0u32, u32::saturating_add);
                book.set_purchased(product, bought);
            }
            let mut draft = Draft::new(org);
            book.write_into(&mut draft);
            draft.put(stored.as_ref(), updated.clone());
            draft.record_event(ProcessedEvent {
                id: event_id.to_owned(),
                processed_at: now,
                expires_at: now + chrono::Duration::days(REMEMBER_EVENTS_DAYS),
            });
            let audit = self.entry(
                actor,
                now,
                AuditAction::SubscriptionApplied,
                format!("subscription/{}", snapshot.id),
                stored.as_ref().map_or_else(nothing, crate::audit::snapshot),
                crate::audit::snapshot(&updated),
            );
            if let Some(outcome) = self.commit_decided(mode, (draft.finish(audit), updated)).await? {
                return Ok(Applied::Changed(Box::new(outcome)));
            }
            self.store
                .pause_before_retry(u32::try_from(attempt).unwrap_or(u32::MAX))
                .await;
        }
        Err(SeatError::ConcurrentModification("subscription"))
    }

    /// What `who` (a user id, or an email) may use right now: every product
    /// they hold a seat of, unless the subscriptions that sell it have all
    /// lapsed (canceled, unpaid, paused…): then access is off, and the seat
    /// stays assigned for when the subscription comes back.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found; validation of `who`.
    pub async fn entitlements(&self, actor: &Actor, who: &str) -> Result<UserEntitlements, SeatError> {
        actor.require_admin("check entitlements")?;
        let user = if who.contains('@') {
            let email = crate::directory::Email::parse(who).map_err(|e| e.for_field("user"))?;
            self.store.user_by_email(&actor.org, &email).await?
        } else {
            let id = UserId::parse(who).map_err(|e| e.for_field("user"))?;
            self.store.user(&actor.org, &id).await?
        }
        .ok_or_else(|| SeatError::not_found("user", who))?;
        let held = self.store.user_assignments(&actor.org, &user.id).await?;
        let subscriptions = self.store.subscriptions(&actor.org).await?;
        let mut products = Vec::new();
        for seat in held {
            let selling: Vec<&Subscription> = subscriptions
                .iter()
                .filter(|s| s.items.contains_key(&seat.product))
                .collect();
            if selling.is_empty() {
                products.push(Entitlement {
                    product: seat.product,
                    until: None,
                });
                continue;
            }
            let now = self.clock.now();
            let live: Vec<&&Subscription> = selling
                .iter()
                .filter(|s| s.usable_at(now, self.payment_grace))
                .collect();
            if !live.is_empty() {
                let until = live
                    .iter()
                    .filter_map(
                        |s| match (s.current_period_end, s.grace_ends(self.payment_grace)) {
                            (Some(end), Some(grace)) => Some(end.min(grace)),
                            (end, grace) => end.or(grace),
                        },
                    )
                    .max();
                products.push(Entitlement {
                    product: seat.product,
                    until,
                });
            }
        }
        Ok(UserEntitlements {
            user: user.id,
            email: user.email,
            products,
        })
    }

    /// A subscription of the organisation.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found.
    pub async fn subscription(&self, actor: &Actor, id: &SubscriptionId) -> Result<Subscription, SeatError> {
        actor.require_admin("see subscriptions")?;
        self.store
            .subscription(&actor.org, id)
            .await?
            .ok_or_else(|| SeatError::not_found("subscription", id))
    }

    // ----- teams and users -----

    /// Creates a team, with the id given or a fresh one.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; validation of the name;
    /// [`SeatError::AlreadyExists`] for a taken id.
    pub async fn create_team(
        &self,
        actor: &Actor,
        id: Option<&TeamId>,
        name: &str,
        mode: Mode,
    ) -> Result<Outcome<Team>, SeatError> {
        actor.require_admin("create teams")?;
        let name = DisplayName::parse(name)?;
        decide_and_commit!(self, "team", mode, {
            let now = self.clock.now();
            let id = match id {
                Some(id) if self.store.team(&actor.org, id).await?.is_some() => {
                    return Err(SeatError::AlreadyExists {
                        what: "team",
                        id: id.to_string(),
                    });
                }
                Some(id) => id.clone(),
                None => TeamId::generate(),
            };
            let team = Team {
                org: actor.org.clone(),
                id,
                name: name.clone(),
                created_at: now,
                version: 0,
            };
            Ok(self.create_one(
                actor,
                now,
                AuditAction::TeamCreated,
                format!("team/{}", team.id),
                team,
            ))
        })
    }

    /// Creates a user, optionally with a seat of `seat` in the same change.
    /// Team managers create members of their own teams only.
    ///
    /// # Errors
    /// [`SeatError::EmailTaken`], [`SeatError::AlreadyExists`] for a taken id,
    /// not found for an unknown team or product,
    /// [`SeatError::Forbidden`], and every error of [`Seats::assign`].
    pub async fn create_user(
        &self,
        actor: &Actor,
        new: NewUser,
        seat: Option<&ProductId>,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        actor.require_admin_or_manager("create users")?;
        if !actor.is_admin() {
            let own_team = new.team.as_ref().is_some_and(|t| actor.manages(t));
            if !own_team || new.role != Role::Member {
                return Err(SeatError::Forbidden(
                    "team managers create only members of a team they manage".into(),
                ));
            }
        }
        if let Some(seat) = seat
            && !self.catalog.is_plan(seat)
        {
            self.product(seat)?;
            return Err(SeatError::BaseSeatRequired {
                add_on: seat.to_string(),
                user: "(new user)".into(),
            });
        }
        decide_and_commit!(self, "user", mode, {
            let now = self.clock.now();
            if let Some(team) = &new.team {
                self.visible_team(actor, team).await?;
            }
            if self.store.user_by_email(&actor.org, &new.email).await?.is_some() {
                return Err(SeatError::EmailTaken(new.email.as_str().to_owned()));
            }
            let id = match &new.id {
                Some(id) if self.store.user(&actor.org, id).await?.is_some() => {
                    return Err(SeatError::AlreadyExists {
                        what: "user",
                        id: id.to_string(),
                    });
                }
                Some(id) => id.clone(),
                None => UserId::generate(),
            };
            let user = User {
                org: actor.org.clone(),
                id,
                name: new.name.clone(),
                email: new.email.clone(),
                role: new.role,
                team: new.team.clone(),
                created_at: now,
                version: 0,
            };
            let mut draft = Draft::new(&actor.org);
            let mut seats = Vec::new();
            if let Some(product) = seat {
                let mut book = SeatBook::new(&actor.org);
                book.load(self.store(), &[(product.clone(), user.team.clone())])
                    .await?;
                Self::check_manager_draws_on_allocation(actor, &book, product, user.team.as_ref())?;
                book.take(product, user.team.as_ref())?;
                book.write_into(&mut draft);
                let assignment = Assignment::of(&user, product, now);
                draft.put(None, assignment.clone());
                seats.push(assignment);
            }
            draft.put(None, user.clone());
            let value = UserSeats { user, seats };
            let audit = self.entry(
                actor,
                now,
                AuditAction::UserCreated,
                format!("user/{}", value.user.id),
                nothing(),
                snapshot(&value),
            );
            Ok((draft.finish(audit), value))
        })
    }

    // ----- allocations -----

    /// Sets `team`'s allocation of `product` (`None`: no allocation; members
    /// draw on the unallocated pool).
    ///
    /// # Errors
    /// [`SeatError::AllocationExceedsPool`], [`SeatError::AllocationBelowUsage`],
    /// [`SeatError::Forbidden`] for non-admins, not found.
    pub async fn set_allocation(
        &self,
        actor: &Actor,
        team: &TeamId,
        product: &ProductId,
        seats: Option<u32>,
        mode: Mode,
    ) -> Result<Outcome<TeamSeats>, SeatError> {
        actor.require_admin("allocate seats to teams")?;
        self.product(product)?;
        decide_and_commit!(self, "allocation", mode, {
            let now = self.clock.now();
            self.visible_team(actor, team).await?;
            let mut book = SeatBook::new(&actor.org);
            book.load(self.store(), &[(product.clone(), Some(team.clone()))])
                .await?;
            let before = book.team(team, product).clone();
            let pool_before = book.pool_before(product);
            book.reallocate(product, team, seats)?;
            book.pool(product)
                .check_commitment(&pool_before, seats.unwrap_or(0))?;
            let after = book.team(team, product).clone();
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::AllocationSet,
                format!("team/{team}/product/{product}"),
                snapshot(&before),
                snapshot(&after),
            );
            Ok((draft.finish(audit), after))
        })
    }

    /// Moves `seats` of `product` from one team's allocation to another's.
    /// Team managers may move between two teams they both manage.
    ///
    /// # Errors
    /// Validation (same team, zero seats, more than allocated),
    /// [`SeatError::AllocationBelowUsage`], [`SeatError::Forbidden`], not found.
    pub async fn move_allocation(
        &self,
        actor: &Actor,
        product: &ProductId,
        from: &TeamId,
        to: &TeamId,
        seats: u32,
        mode: Mode,
    ) -> Result<Outcome<Vec<TeamSeats>>, SeatError> {
        actor.require_admin_or_manager("move allocations")?;
        self.product(product)?;
        if from == to {
            return Err(ValidationError::new("to_team", "must differ from from_team").into());
        }
        if seats == 0 {
            return Err(ValidationError::new("seats", "must be at least 1").into());
        }
        decide_and_commit!(self, "allocation", mode, {
            let now = self.clock.now();
            self.visible_team(actor, from).await?;
            self.visible_team(actor, to).await?;
            let mut book = SeatBook::new(&actor.org);
            let needs = [
                (product.clone(), Some(from.clone())),
                (product.clone(), Some(to.clone())),
            ];
            book.load(self.store(), &needs).await?;
            let before = vec![book.team(from, product).clone(), book.team(to, product).clone()];
            let from_allocated = before[0].allocated.unwrap_or(0);
            if seats > from_allocated {
                return Err(ValidationError::new(
                    "seats",
                    format!("exceeds team '{from}''s allocation of {from_allocated}"),
                )
                .into());
            }
            let pool_before = book.pool_before(product);
            book.reallocate(product, from, Some(from_allocated - seats))?;
            let to_allocated = before[1].allocated.unwrap_or(0).saturating_add(seats);
            book.reallocate(product, to, Some(to_allocated))?;
            book.pool(product).check_commitment(&pool_before, seats)?;
            let after = vec![book.team(from, product).clone(), book.team(to, product).clone()];
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::AllocationMoved,
                format!("product/{product}/team/{from}/to/{to}"),
                snapshot(&before),
                snapshot(&after),
            );
            Ok((draft.finish(audit), after))
        })
    }

    // ----- assignments -----

    /// Assigns a seat of `product` to `user`: from their team's allocation when
    /// the team has one, else from the unallocated pool. An add-on needs a base
    /// seat.
    ///
    /// # Errors
    /// [`SeatError::NoSeatsAvailable`], [`SeatError::TeamAllocationExhausted`],
    /// [`SeatError::AlreadyAssigned`], [`SeatError::BaseSeatRequired`],
    /// [`SeatError::Forbidden`], not found.
    pub async fn assign(
        &self,
        actor: &Actor,
        product: &ProductId,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Assignment>, SeatError> {
        actor.require_admin_or_manager("assign seats")?;
        let kind = self.product(product)?.kind;
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let user = self.managed_user(actor, user).await?;
            let held = self.store.user_assignments(&actor.org, &user.id).await?;
            if held.iter().any(|a| &a.product == product) {
                return Err(SeatError::AlreadyAssigned {
                    user: user.id.to_string(),
                    product: product.to_string(),
                });
            }
            if kind == ProductKind::AddOn && !held.iter().any(|a| self.catalog.is_plan(&a.product)) {
                return Err(SeatError::BaseSeatRequired {
                    add_on: product.to_string(),
                    user: user.id.to_string(),
                });
            }
            let mut book = SeatBook::new(&actor.org);
            book.load(self.store(), &[(product.clone(), user.team.clone())])
                .await?;
            Self::check_manager_draws_on_allocation(actor, &book, product, user.team.as_ref())?;
            book.take(product, user.team.as_ref())?;
            let assignment = Assignment::of(&user, product, now);
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            draft.put(None, assignment.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatAssigned,
                format!("product/{product}/user/{}", user.id),
                nothing(),
                snapshot(&assignment),
            );
            Ok((draft.finish(audit), assignment))
        })
    }

    /// The seats that go when `product` is taken from a holder of `held`: the
    /// seat, and every add-on if it was their last base seat.
    fn seats_removed_with(&self, held: &[Assignment], product: &ProductId) -> Vec<Assignment> {
        let is_plan = self.catalog.is_plan(product);
        let keeps_a_base = held
            .iter()
            .any(|a| &a.product != product && self.catalog.is_plan(&a.product));
        held.iter()
            .filter(|a| {
                &a.product == product || (is_plan && !keeps_a_base && !self.catalog.is_plan(&a.product))
            })
            .cloned()
            .collect()
    }

    /// What releasing `removed` touches.
    fn needs_of(removed: &[Assignment]) -> Vec<(ProductId, Option<TeamId>)> {
        removed
            .iter()
            .map(|a| (a.product.clone(), a.team.clone()))
            .collect()
    }

    /// Writes the release of `removed` (already loaded) into `book` and `draft`.
    fn release_all(book: &mut SeatBook, draft: &mut Draft, removed: &[Assignment]) {
        for seat in removed {
            book.release(&seat.product, seat.team.as_ref());
            draft.delete_assignment(seat);
        }
    }

    /// Takes `user`'s seat of `product` (revoke). The user keeps their account
    /// and other seats, except that losing their last base seat removes their
    /// add-ons in the same change.
    ///
    /// # Errors
    /// [`SeatError::NotAssigned`], [`SeatError::Forbidden`], not found.
    pub async fn unassign(
        &self,
        actor: &Actor,
        product: &ProductId,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Vec<Assignment>>, SeatError> {
        actor.require_admin_or_manager("unassign seats")?;
        self.product(product)?;
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let user = self.managed_user(actor, user).await?;
            let held = self.store.user_assignments(&actor.org, &user.id).await?;
            if !held.iter().any(|a| &a.product == product) {
                return Err(SeatError::NotAssigned {
                    user: user.id.to_string(),
                    product: product.to_string(),
                });
            }
            let removed = self.seats_removed_with(&held, product);
            let mut book = SeatBook::new(&actor.org);
            let mut draft = Draft::new(&actor.org);
            book.load(self.store(), &Self::needs_of(&removed)).await?;
            Self::release_all(&mut book, &mut draft, &removed);
            book.write_into(&mut draft);
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatUnassigned,
                format!("product/{product}/user/{}", user.id),
                snapshot(&removed),
                nothing(),
            );
            Ok((draft.finish(audit), removed))
        })
    }

    /// Moves `from`'s seat of `product` to `to` in one change.
    ///
    /// # Errors
    /// Those of [`Seats::unassign`] for the giver and [`Seats::assign`] for the
    /// receiver; validation when both are the same user.
    pub async fn transfer(
        &self,
        actor: &Actor,
        product: &ProductId,
        from: &UserId,
        to: &UserId,
        mode: Mode,
    ) -> Result<Outcome<Transfer>, SeatError> {
        actor.require_admin_or_manager("transfer seats")?;
        let kind = self.product(product)?.kind;
        if from == to {
            return Err(ValidationError::new("to_user", "must differ from from_user").into());
        }
        decide_and_commit!(self, "seat pool", mode, {
            let now = self.clock.now();
            let giver = self.managed_user(actor, from).await?;
            let receiver = self.managed_user(actor, to).await?;
            let given = self.store.user_assignments(&actor.org, &giver.id).await?;
            let held = self.store.user_assignments(&actor.org, &receiver.id).await?;
            if !given.iter().any(|a| &a.product == product) {
                return Err(SeatError::NotAssigned {
                    user: giver.id.to_string(),
                    product: product.to_string(),
                });
            }
            if held.iter().any(|a| &a.product == product) {
                return Err(SeatError::AlreadyAssigned {
                    user: receiver.id.to_string(),
                    product: product.to_string(),
                });
            }
            if kind == ProductKind::AddOn && !held.iter().any(|a| self.catalog.is_plan(&a.product)) {
                return Err(SeatError::BaseSeatRequired {
                    add_on: product.to_string(),
                    user: receiver.id.to_string(),
                });
            }
            let removed = self.seats_removed_with(&given, product);
            let mut book = SeatBook::new(&actor.org);
            let mut draft = Draft::new(&actor.org);
            let mut needs = Self::needs_of(&removed);
            needs.push((product.clone(), receiver.team.clone()));
            book.load(self.store(), &needs).await?;
            Self::release_all(&mut book, &mut draft, &removed);
            Self::check_manager_draws_on_allocation(actor, &book, product, receiver.team.as_ref())?;
            book.take(product, receiver.team.as_ref())?;
            let assigned = Assignment::of(&receiver, product, now);
            book.write_into(&mut draft);
            draft.put(None, assigned.clone());
            let value = Transfer { removed, assigned };
            let audit = self.entry(
                actor,
                now,
                AuditAction::SeatTransferred,
                format!("product/{product}/user/{}/to/{}", giver.id, receiver.id),
                snapshot(&value.removed),
                snapshot(&value.assigned),
            );
            Ok((draft.finish(audit), value))
        })
    }

    // ----- API keys -----

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

    /// The organisation's notification preferences (the defaults if it set
    /// none).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin.
    pub async fn notification_preferences(
        &self,
        actor: &Actor,
    ) -> Result<NotificationPreferences, SeatError> {
        actor.require_admin("see notification preferences")?;
        Ok(self
            .store
            .notification_preferences(&actor.org)
            .await?
            .unwrap_or_else(|| NotificationPreferences::defaults(actor.org.clone())))
    }

    /// Sets who receives billing notices and which kinds the organisation
    /// does not want.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; [`SeatError::Validation`] for
    /// contacts given twice or too many.
    pub async fn set_notification_preferences(
        &self,
        actor: &Actor,
        billing_contacts: Vec<Email>,
        opted_out: BTreeSet<NoticeKind>,
        mode: Mode,
    ) -> Result<Outcome<NotificationPreferences>, SeatError> {
        actor.require_admin("set notification preferences")?;
        let wanted = NotificationPreferences::defaults(actor.org.clone()).with_contacts(billing_contacts)?;
        decide_and_commit!(self, "notification preferences", mode, {
            let now = self.clock.now();
            let before = self.store.notification_preferences(&actor.org).await?;
            let after = NotificationPreferences {
                opted_out: opted_out.clone(),
                ..wanted.clone()
            };
            let mut draft = Draft::new(&actor.org);
            draft.put(before.as_ref(), after.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::NotificationPreferencesSet,
                "notification_preferences".to_owned(),
                before.as_ref().map_or_else(nothing, snapshot),
                snapshot(&after),
            );
            let mut stored = after;
            stored.version = before.map_or(1, |b| b.version + 1);
            Ok((draft.finish(audit), stored))
        })
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

    // ----- reads -----

    fn summary(&self, pool: &SeatPool) -> LicenseSummary {
        let (name, kind) = self.catalog.product(&pool.product).map_or_else(
            || (pool.product.to_string(), ProductKind::Plan),
            |p| (p.name.clone(), p.kind),
        );
        LicenseSummary {
            product: pool.product.clone(),
            name,
            kind,
            purchased: pool.purchased,
            allocated: pool.allocated,
            assigned: pool.assigned,
            available: pool.available(),
            over_limit: pool.over_limit(),
        }
    }

    /// Per-product seat counts, read from the pools' counters (never counting
    /// assignments, so the cost does not grow with users).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn licenses(&self, actor: &Actor) -> Result<Vec<LicenseSummary>, SeatError> {
        actor.require_admin("see the organisation's licenses")?;
        let pools = self.store.pools(&actor.org).await?;
        Ok(pools.iter().map(|p| self.summary(p)).collect())
    }

    /// Every add-on of the catalog with the organisation's seats of it.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn add_ons(&self, actor: &Actor) -> Result<Vec<AddOnSeats>, SeatError> {
        actor.require_admin("see the organisation's add-ons")?;
        let pools = self.store.pools(&actor.org).await?;
        Ok(self
            .catalog
            .products
            .values()
            .filter(|p| p.kind == ProductKind::AddOn)
            .map(|p| {
                let pool = pools.iter().find(|pool| pool.product == p.id).cloned();
                let pool = pool.unwrap_or_else(|| SeatPool::new(actor.org.clone(), p.id.clone(), 0));
                AddOnSeats {
                    product: p.clone(),
                    seats: self.summary(&pool),
                }
            })
            .collect())
    }

    /// Teams the caller manages (all, for admins).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members.
    pub async fn teams(&self, actor: &Actor) -> Result<Vec<Team>, SeatError> {
        actor.require_admin_or_manager("list teams")?;
        let teams = self.store.teams(&actor.org).await?;
        Ok(teams.into_iter().filter(|t| actor.manages(&t.id)).collect())
    }

    /// One team the caller manages.
    ///
    /// # Errors
    /// Not found when absent or not managed by the caller.
    pub async fn team(&self, actor: &Actor, id: &TeamId) -> Result<Team, SeatError> {
        self.visible_team(actor, id).await
    }

    /// Users by id, after `after`, at most `limit` (capped at [`MAX_PAGE`]);
    /// only `team`'s when given. Team managers see their teams' members.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members; not found for a team not managed.
    pub async fn users(
        &self,
        actor: &Actor,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, SeatError> {
        actor.require_admin_or_manager("list users")?;
        let limit = limit.clamp(1, MAX_PAGE);
        if let Some(team) = team {
            self.visible_team(actor, team).await?;
            return Ok(self.store.users(&actor.org, Some(team), after, limit).await?);
        }
        if actor.is_admin() {
            return Ok(self.store.users(&actor.org, None, after, limit).await?);
        }
        let mut merged = Vec::new();
        for team in &actor.teams {
            merged.extend(self.store.users(&actor.org, Some(team), after, limit).await?);
        }
        merged.sort_by(|a, b| a.id.cmp(&b.id));
        merged.dedup_by(|a, b| a.id == b.id);
        merged.truncate(limit);
        Ok(merged)
    }

    /// A user and their seats, if the caller may see them.
    ///
    /// # Errors
    /// Not found when absent or not visible.
    pub async fn user(&self, actor: &Actor, id: &UserId) -> Result<UserSeats, SeatError> {
        let user = self.visible_user(actor, id).await?;
        let seats = self.store.user_assignments(&actor.org, &user.id).await?;
        Ok(UserSeats { user, seats })
    }

    /// The caller's own account and seats.
    ///
    /// # Errors
    /// Not found for machine clients or a token naming no user.
    pub async fn me(&self, actor: &Actor) -> Result<UserSeats, SeatError> {
        let id = actor
            .user_id()
            .ok_or_else(|| SeatError::not_found("user", "(machine client)"))?;
        self.user(actor, id).await
    }

    /// Team allocations and usage of every team the caller manages.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members.
    pub async fn allocations(&self, actor: &Actor) -> Result<Vec<TeamSeats>, SeatError> {
        actor.require_admin_or_manager("see allocations")?;
        let all = self.store.all_team_seats(&actor.org).await?;
        Ok(all.into_iter().filter(|t| actor.manages(&t.team)).collect())
    }

    /// Usage per organisation, product and team, from counters.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members.
    pub async fn usage(&self, actor: &Actor) -> Result<Usage, SeatError> {
        actor.require_admin_or_manager("see usage")?;
        let teams = self.teams(actor).await?;
        let seats = self.allocations(actor).await?;
        let team_usage = seats
            .into_iter()
            .map(|s| TeamUsage {
                team_name: teams
                    .iter()
                    .find(|t| t.id == s.team)
                    .map_or_else(String::new, |t| t.name.as_str().to_owned()),
                team: s.team,
                product: s.product,
                allocated: s.allocated,
                assigned: s.assigned,
            })
            .collect();
        if !actor.is_admin() {
            return Ok(Usage {
                organization: None,
                products: Vec::new(),
                teams: team_usage,
            });
        }
        let products = self.licenses(actor).await?;
        let totals = products.iter().fold(
            UsageTotals {
                purchased: 0,
                allocated: 0,
                assigned: 0,
                available: 0,
            },
            |t, p| UsageTotals {
                purchased: t.purchased + p.purchased,
                allocated: t.allocated + p.allocated,
                assigned: t.assigned + p.assigned,
                available: t.available + p.available,
            },
        );
        Ok(Usage {
            organization: Some(totals),
            products,
            teams: team_usage,
        })
    }

    /// Every seat with its holder, for billing and compliance exports.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn assignment_rows(&self, actor: &Actor) -> Result<Vec<AssignmentRow>, SeatError> {
        actor.require_admin("export assignments")?;
        let mut rows = Vec::new();
        let mut after: Option<UserId> = None;
        loop {
            let users = self
                .store
                .users(&actor.org, None, after.as_ref(), MAX_PAGE)
                .await?;
            let Some(last) = users.last() else { break };
            after = Some(last.id.clone());
            for user in users {
                for assignment in self.store.user_assignments(&actor.org, &user.id).await? {
                    rows.push(AssignmentRow {
                        user: user.clone(),
                        assignment,
                    });
                }
            }
        }
        Ok(rows)
    }

    /// The audit log, newest first, older than `cursor`.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn audit(
        &self,
        actor: &Actor,
        cursor: Option<&AuditId>,
        limit: usize,
    ) -> Result<AuditPage, SeatError> {
        actor.require_admin("read the audit log")?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut entries = self.store.audit(&actor.org, cursor, limit + 1).await?;
        let next_cursor = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { entries, next_cursor })
    }

    /// The organisation, if it exists.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, SeatError> {
        Ok(self.store.organization(org).await?)
    }
}
