//! Organisations and their subscriptions: creating an organisation, sizing
//! its pools, and applying what the payment provider says a subscription is
//! now. Reconciliation with the provider belongs here.

use chrono::{DateTime, Utc};

use super::Seats;
use super::commit::{Mode, Outcome, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::directory::{DisplayName, Email, Organization, Role, User, UserSeats};
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{OrgId, ProductId, SubscriptionId};
use crate::pool::SeatPool;
use crate::store::SnapshotKeys;
use crate::subscription::{
    Applied, ProcessedEvent, REMEMBER_EVENTS_DAYS, Subscription, SubscriptionSnapshot,
};

impl Seats {
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
        &self,
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
            let now = self.clock.now();
            let org_name = DisplayName::parse(name.unwrap_or(actor.org.as_str()))?;
            let user_name = DisplayName::parse(name_of(email))?;
            let org = Organization {
                id: actor.org.clone(),
                name: org_name,
                created_at: now,
                version: 0,
            };
            let admin = UserSeats {
                user: User {
                    org: actor.org.clone(),
                    id: founder.clone(),
                    name: user_name,
                    email: email.clone(),
                    role: Role::Admin,
                    team: None,
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
            Ok(Decision::Commit(draft.finish(audit), true))
        })?;
        Ok(matches!(settled, Settled::Committed(_)))
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
            let keys = SnapshotKeys {
                pools: vec![product.clone()],
                ..SnapshotKeys::default()
            };
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            let before = book.pool_before(product);
            book.set_purchased(product, purchased)?;
            let after = book.pool(product);
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

    /// Applies a subscription's state as read from the payment provider at
    /// `read_at` (taken before the read: the state is at least that new),
    /// once per triggering event id (recorded in the same change as its
    /// effect), and only if no later read is stored: an older read never
    /// overwrites a newer one, so duplicated, reordered and concurrent
    /// deliveries end in the provider's latest state. Each product's pool is
    /// resized to the sum of the organisation's entitling subscriptions; a
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
        read_at: DateTime<Utc>,
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
        let settled = decide_and_commit!(answer: self, "subscription", mode, {
            // Checked on every attempt: a concurrent delivery of the same event
            // makes our commit conflict, and the retry must see it as a duplicate.
            if self.store.event_processed(event_id).await? {
                return Ok(Decision::Answer(Applied::Duplicate));
            }
            // One read: the stored state of this subscription is among the organisation's.
            let mut others = self.store.subscriptions(org).await?;
            let stored = others
                .iter()
                .position(|s| s.id == snapshot.id)
                .map(|i| others.swap_remove(i));
            if stored.as_ref().is_some_and(|s| s.state_at > read_at) {
                return Ok(Decision::Answer(Applied::Stale));
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
                state_at: read_at,
                version: stored.as_ref().map_or(0, |s| s.version),
            };
            let mut products: Vec<ProductId> = snapshot.items.keys().cloned().collect();
            products.extend(stored.iter().flat_map(|s| s.items.keys().cloned()));
            products.sort();
            products.dedup();
            let keys = SnapshotKeys {
                pools: products.clone(),
                ..SnapshotKeys::default()
            };
            let read = self.store.snapshot(org, &keys).await?;
            let mut book = SeatBook::from_snapshot(org, &read, &products, &[]);
            for product in &products {
                let bought: u32 = others
                    .iter()
                    .chain(std::iter::once(&updated))
                    .map(|s| s.entitled(product))
                    .fold(0u32, u32::saturating_add);
                book.set_purchased(product, bought)?;
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
            Ok(Decision::Commit(draft.finish(audit), updated))
        })?;
        Ok(match settled {
            Settled::Committed(outcome) => Applied::Changed(Box::new(outcome)),
            Settled::Answered(answer) => answer,
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

    /// The organisation, if it exists.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, SeatError> {
        Ok(self.store.organization(org).await?)
    }

    /// Whether a payment event was applied before (a duplicate delivery needs
    /// no read from the provider).
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn event_applied(&self, event_id: &str) -> Result<bool, SeatError> {
        Ok(self.store.event_processed(event_id).await?)
    }
}

/// A display name for someone known only by their email: its local part.
fn name_of(email: &Email) -> &str {
    email.as_str().split('@').next().unwrap_or(email.as_str())
}
