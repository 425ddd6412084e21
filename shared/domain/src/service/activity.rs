//! Who really uses their seat: per product and team, the seats whose holder
//! used the product within the last `idle_days` (active), before that
//! (idle), or never since the seat was assigned — from each seat's
//! `last_active_at`, which the entitlement check records.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{MAX_PAGE, Views};
use crate::access::Actor;
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, TeamId, UserId};

/// The idle threshold unless asked otherwise.
pub const DEFAULT_IDLE_DAYS: u32 = 30;

/// Seats by how recently their holders used them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityCounts {
    /// Used within the last `idle_days`.
    pub active: u32,
    /// Used, but not within the last `idle_days`.
    pub idle: u32,
    /// Not used since the seat was assigned.
    pub never_used: u32,
}

impl ActivityCounts {
    fn count(&mut self, last: Option<NaiveDate>, active_since: NaiveDate) {
        match last {
            Some(day) if day >= active_since => self.active += 1,
            Some(_) => self.idle += 1,
            None => self.never_used += 1,
        }
    }
}

/// One team's seats of a product by activity (`team: null`: holders in no
/// team).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamActivity {
    /// The team the seat counts against, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub team: Option<TeamId>,
    /// Its seats by activity.
    #[serde(flatten)]
    pub seats: ActivityCounts,
}

/// A product's seats by activity, and per team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductActivity {
    /// The product.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub product: ProductId,
    /// Its seats by activity.
    #[serde(flatten)]
    pub seats: ActivityCounts,
    /// The same per team.
    pub teams: Vec<TeamActivity>,
}

/// Active, idle and never-used seats per product and team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    /// The day (UTC) the report is for.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub as_of: NaiveDate,
    /// A seat used within this many days is active.
    pub idle_days: u32,
    /// Per product held.
    pub products: Vec<ProductActivity>,
}

impl Views<'_> {
    /// Every seat of the organisation (a team manager: of their teams) by
    /// how recently its holder used it, `idle_days` (1 to 365) being the
    /// line between active and idle. Reads the holders page by page.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members; validation of `idle_days`; the
    /// store's failures.
    pub async fn activity(self, actor: &Actor, idle_days: u32) -> Result<Activity, SeatError> {
        actor.require_admin_or_manager("see seat activity")?;
        if !(1..=365).contains(&idle_days) {
            return Err(ValidationError::new("idle_days", "must be 1 to 365").into());
        }
        let as_of = self.clock.now().date_naive();
        let active_since = as_of - chrono::Duration::days(i64::from(idle_days) - 1);
        let mut counts: BTreeMap<ProductId, (ActivityCounts, BTreeMap<Option<TeamId>, ActivityCounts>)> =
            BTreeMap::new();
        let mut after: Option<UserId> = None;
        loop {
            let page = self.store.holders(&actor.org, after.as_ref(), MAX_PAGE).await?;
            for seat in page.iter().flat_map(|h| &h.seats) {
                if !actor.is_admin() && !seat.team.as_ref().is_some_and(|t| actor.manages(t)) {
                    continue;
                }
                let (product, teams) = counts.entry(seat.product.clone()).or_default();
                product.count(seat.last_active_at, active_since);
                teams
                    .entry(seat.team.clone())
                    .or_default()
                    .count(seat.last_active_at, active_since);
            }
            match page.last() {
                Some(last) if page.len() == MAX_PAGE => after = Some(last.user.id.clone()),
                _ => break,
            }
        }
        Ok(Activity {
            as_of,
            idle_days,
            products: counts
                .into_iter()
                .map(|(product, (seats, teams))| ProductActivity {
                    product,
                    seats,
                    teams: teams
                        .into_iter()
                        .map(|(team, seats)| TeamActivity { team, seats })
                        .collect(),
                })
                .collect(),
        })
    }
}
