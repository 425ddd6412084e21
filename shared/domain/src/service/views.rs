//! Read models: licenses per product, add-ons, usage per organisation,
//! product and team, the assignment export, the audit log, and what a user
//! may use right now. Counts come from counters, never from counting items.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{MAX_PAGE, Views};
use crate::access::Actor;
use crate::assignment::Assignment;
use crate::audit::AuditEntry;
use crate::catalog::{Product, ProductKind};
use crate::directory::{Email, User, UserSeats};
use crate::error::SeatError;
use crate::ids::{AuditId, ProductId, TeamId, UserId};
use crate::pool::SeatPool;
use crate::subscription::Subscription;

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
    /// Seats free outside the teams' allocations: what a user in no team
    /// with an allocation can still be given.
    pub unallocated_available: u32,
    /// More held than bought; new assignments refused.
    pub over_limit: bool,
    /// The nearest renewal of a subscription selling it (in the licenses
    /// list; absent elsewhere, and when nothing renews).
    pub renews_at: Option<DateTime<Utc>>,
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
    /// Its members hold more than its allocation (set below their use): they
    /// keep their seats, and the team takes no new one until there is room.
    pub over_limit: bool,
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

/// One page of the assignments export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentPage {
    /// Every seat of the page's holders.
    pub rows: Vec<AssignmentRow>,
    /// The last holder of the page, when more may follow.
    pub next: Option<UserId>,
}

/// One row of the assignments export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentRow {
    /// The holder.
    pub user: User,
    /// The seat.
    pub assignment: Assignment,
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
    /// Their email, if they have one.
    pub email: Option<Email>,
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

impl Views<'_> {
    fn summary(self, pool: &SeatPool) -> LicenseSummary {
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
            unallocated_available: pool.unallocated_free(),
            over_limit: pool.over_limit(),
            renews_at: None,
        }
    }

    /// Per-product seat counts, read from the pools' counters (never counting
    /// assignments, so the cost does not grow with users).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn licenses(self, actor: &Actor) -> Result<Vec<LicenseSummary>, SeatError> {
        actor.require_admin("see the organisation's licenses")?;
        let pools = self.store.pools(&actor.org).await?;
        let subscriptions = self.store.subscriptions(&actor.org).await?;
        Ok(pools
            .iter()
            .map(|p| LicenseSummary {
                renews_at: subscriptions
                    .iter()
                    .filter(|s| s.renews() && s.items.contains_key(&p.product))
                    .filter_map(|s| s.current_period_end)
                    .min(),
                ..self.summary(p)
            })
            .collect())
    }

    /// Every add-on of the catalog with the organisation's seats of it.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn add_ons(self, actor: &Actor) -> Result<Vec<AddOnSeats>, SeatError> {
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

    /// Usage per organisation, product and team, from counters.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members.
    pub async fn usage(self, actor: &Actor) -> Result<Usage, SeatError> {
        actor.require_admin_or_manager("see usage")?;
        let teams = self.directory().teams(actor).await?;
        let seats = self.allocations().list(actor).await?;
        let team_usage = seats
            .into_iter()
            .map(|s| TeamUsage {
                over_limit: s.over_limit(),
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
        // Counters only: usage has no use for renewal dates.
        let pools = self.store.pools(&actor.org).await?;
        let products: Vec<LicenseSummary> = pools.iter().map(|p| self.summary(p)).collect();
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

    /// One page of every seat with its holder, for billing and compliance
    /// exports: the holders after `after` (by id), at most `limit` of them
    /// (capped at [`MAX_PAGE`]), read with one paged query. Pass `next` back as
    /// `after` for the following page; `None` after the last.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn assignment_page(
        self,
        actor: &Actor,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<AssignmentPage, SeatError> {
        actor.require_admin("export assignments")?;
        let limit = limit.clamp(1, MAX_PAGE);
        let holders = self.store.holders(&actor.org, after, limit).await?;
        let next = (holders.len() == limit)
            .then(|| holders.last().map(|h| h.user.id.clone()))
            .flatten();
        let rows = holders
            .into_iter()
            .flat_map(|h| {
                let user = h.user;
                h.seats.into_iter().map(move |assignment| AssignmentRow {
                    user: user.clone(),
                    assignment,
                })
            })
            .collect();
        Ok(AssignmentPage { rows, next })
    }

    /// Every seat with its holder, page after page (see
    /// [`Views::assignment_page`]; exports stream the pages instead).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn assignment_rows(self, actor: &Actor) -> Result<Vec<AssignmentRow>, SeatError> {
        let mut rows = Vec::new();
        let mut after: Option<UserId> = None;
        loop {
            let page = self.assignment_page(actor, after.as_ref(), MAX_PAGE).await?;
            rows.extend(page.rows);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(rows),
            }
        }
    }

    /// The audit log, newest first, older than `cursor`.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins.
    pub async fn audit(
        self,
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

    /// What `who` (a user id, or an email) may use right now: every product
    /// they hold a seat of, unless the subscriptions that sell it have all
    /// lapsed (canceled, unpaid, paused…): then access is off, and the seat
    /// stays assigned for when the subscription comes back.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; not found; validation of `who`.
    pub async fn entitlements(self, actor: &Actor, who: &str) -> Result<UserEntitlements, SeatError> {
        actor.require_admin("check entitlements")?;
        let UserSeats { user, seats: held } = if who.contains('@') {
            let email = Email::parse(who).map_err(|e| e.for_field("user"))?;
            self.store.holder_by_email(&actor.org, &email).await?
        } else {
            let id = UserId::parse(who).map_err(|e| e.for_field("user"))?;
            self.store.holder(&actor.org, &id).await?
        }
        .ok_or_else(|| SeatError::not_found("user", who))?;
        let subscriptions = self.store.subscriptions(&actor.org).await?;
        let now = self.clock.now();
        let mut products = Vec::new();
        for seat in &held {
            let selling: Vec<&Subscription> = subscriptions
                .iter()
                .filter(|s| s.items.contains_key(&seat.product))
                .collect();
            if selling.is_empty() {
                products.push(Entitlement {
                    product: seat.product.clone(),
                    until: None,
                });
                continue;
            }
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
                    product: seat.product.clone(),
                    until,
                });
            }
        }
        // Who really uses their seat: each product used today is recorded
        // once a day (the read above says whether it was already); a
        // failure only leaves the day older, never fails the check.
        let today = now.date_naive();
        for seat in held.iter().filter(|seat| {
            seat.last_active_at.is_none_or(|day| day < today)
                && products.iter().any(|p| p.product == seat.product)
        }) {
            let _older = self
                .store
                .record(crate::store::Record::SeatUsed {
                    org: actor.org.clone(),
                    user: user.id.clone(),
                    product: seat.product.clone(),
                    on: today,
                })
                .await;
        }
        Ok(UserEntitlements {
            user: user.id,
            email: user.email,
            products,
        })
    }
}
