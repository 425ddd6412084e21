//! The rules that decide which seat a user may take and what leaves with a
//! seat, as pure functions of what the user holds: no store, no clock. The
//! service reads the holdings, asks these rules, and commits what they say.

use crate::assignment::Assignment;
use crate::catalog::{Catalog, ProductKind};
use crate::error::SeatError;
use crate::ids::{ProductId, TeamId, UserId};

/// The seats one user holds, read against the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Holdings<'a> {
    user: &'a UserId,
    held: &'a [Assignment],
    catalog: &'a Catalog,
}

impl<'a> Holdings<'a> {
    /// `user`'s seats `held`, judged by `catalog` (which products are plans).
    #[must_use]
    pub fn new(user: &'a UserId, held: &'a [Assignment], catalog: &'a Catalog) -> Self {
        Self { user, held, catalog }
    }

    /// Whether the user holds a seat of `product`.
    #[must_use]
    pub fn holds(&self, product: &ProductId) -> bool {
        self.held.iter().any(|a| &a.product == product)
    }

    /// Whether the user holds a seat of any plan (a base seat).
    #[must_use]
    pub fn holds_base_seat(&self) -> bool {
        self.held.iter().any(|a| self.catalog.is_plan(&a.product))
    }

    /// Whether the user may take a seat of `product`, a product of `kind`:
    /// not one they already hold, and an add-on only on top of a base seat.
    ///
    /// # Errors
    /// [`SeatError::AlreadyAssigned`], [`SeatError::BaseSeatRequired`].
    pub fn check_can_take(&self, product: &ProductId, kind: ProductKind) -> Result<(), SeatError> {
        if self.holds(product) {
            return Err(SeatError::AlreadyAssigned {
                user: self.user.to_string(),
                product: product.to_string(),
            });
        }
        if kind == ProductKind::AddOn && !self.holds_base_seat() {
            return Err(SeatError::BaseSeatRequired {
                add_on: product.to_string(),
                user: self.user.to_string(),
            });
        }
        Ok(())
    }

    /// Whether the user holds a seat of `product` that can be taken away.
    ///
    /// # Errors
    /// [`SeatError::NotAssigned`].
    pub fn check_holds(&self, product: &ProductId) -> Result<(), SeatError> {
        if self.holds(product) {
            Ok(())
        } else {
            Err(SeatError::NotAssigned {
                user: self.user.to_string(),
                product: product.to_string(),
            })
        }
    }

    /// The seats that go when `product` is taken away: that seat, and every
    /// add-on when it was the user's last base seat.
    #[must_use]
    pub fn removed_with(&self, product: &ProductId) -> Vec<Assignment> {
        let is_plan = self.catalog.is_plan(product);
        let keeps_a_base = self
            .held
            .iter()
            .any(|a| &a.product != product && self.catalog.is_plan(&a.product));
        self.held
            .iter()
            .filter(|a| {
                &a.product == product || (is_plan && !keeps_a_base && !self.catalog.is_plan(&a.product))
            })
            .cloned()
            .collect()
    }
}

/// Where a new seat of a product is drawn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatSource {
    /// The allocation of the holder's team.
    TeamAllocation(TeamId),
    /// The part of the pool no team has been allocated.
    Unallocated,
}

impl SeatSource {
    /// A member of `team` draws on the team's allocation when the team has one
    /// of the product (`team_allocated`), else on the unallocated pool.
    #[must_use]
    pub fn for_member(team: Option<&TeamId>, team_allocated: bool) -> Self {
        match team {
            Some(team) if team_allocated => Self::TeamAllocation(team.clone()),
            _ => Self::Unallocated,
        }
    }

    /// Team managers hand out only seats their team has been allocated;
    /// admins draw on either source.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for a manager drawing on the unallocated pool.
    pub fn check_drawable(&self, by_admin: bool, product: &ProductId) -> Result<(), SeatError> {
        match self {
            _ if by_admin => Ok(()),
            Self::TeamAllocation(_) => Ok(()),
            Self::Unallocated => Err(SeatError::Forbidden(format!(
                "team managers assign only from their team's {product} allocation, and the team has none"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::ids::OrgId;

    fn id(text: &str) -> ProductId {
        ProductId::parse(text).unwrap()
    }

    fn seat(product: &str) -> Assignment {
        Assignment {
            org: OrgId::parse("org_rules").unwrap(),
            user: UserId::parse("usr_ada").unwrap(),
            product: id(product),
            team: None,
            assigned_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            last_active_at: None,
            version: 1,
        }
    }

    fn products(seats: &[Assignment]) -> Vec<String> {
        seats.iter().map(|a| a.product.to_string()).collect()
    }

    fn with_holdings(held: &[Assignment], check: impl FnOnce(Holdings<'_>)) {
        let catalog = Catalog::default_catalog().unwrap();
        let user = UserId::parse("usr_ada").unwrap();
        check(Holdings::new(&user, held, &catalog));
    }

    #[test]
    fn an_add_on_needs_a_base_seat() {
        with_holdings(&[], |h| {
            let refused = h.check_can_take(&id("sso"), ProductKind::AddOn).unwrap_err();
            assert_eq!(refused.code(), "base_seat_required");
        });
        with_holdings(&[seat("professional")], |h| {
            assert!(h.check_can_take(&id("sso"), ProductKind::AddOn).is_ok());
        });
    }

    #[test]
    fn a_seat_already_held_cannot_be_taken_again() {
        with_holdings(&[seat("professional")], |h| {
            let refused = h
                .check_can_take(&id("professional"), ProductKind::Plan)
                .unwrap_err();
            assert_eq!(refused.code(), "already_assigned");
            assert!(h.check_can_take(&id("enterprise"), ProductKind::Plan).is_ok());
        });
    }

    #[test]
    fn only_a_held_seat_can_be_taken_away() {
        with_holdings(&[seat("professional")], |h| {
            assert!(h.check_holds(&id("professional")).is_ok());
            assert_eq!(h.check_holds(&id("sso")).unwrap_err().code(), "not_assigned");
        });
    }

    #[test]
    fn add_ons_leave_with_the_last_base_seat() {
        let held = [seat("professional"), seat("sso"), seat("analytics")];
        with_holdings(&held, |h| {
            assert_eq!(
                products(&h.removed_with(&id("professional"))),
                ["professional", "sso", "analytics"]
            );
        });
    }

    #[test]
    fn add_ons_stay_while_another_base_seat_is_held() {
        let held = [seat("professional"), seat("enterprise"), seat("sso")];
        with_holdings(&held, |h| {
            assert_eq!(products(&h.removed_with(&id("professional"))), ["professional"]);
        });
    }

    #[test]
    fn removing_an_add_on_removes_only_that_add_on() {
        let held = [seat("professional"), seat("sso"), seat("analytics")];
        with_holdings(&held, |h| {
            assert_eq!(products(&h.removed_with(&id("sso"))), ["sso"]);
        });
    }

    #[test]
    fn a_team_member_draws_on_the_team_allocation_when_there_is_one() {
        let team = TeamId::parse("team_eng").unwrap();
        assert_eq!(
            SeatSource::for_member(Some(&team), true),
            SeatSource::TeamAllocation(team.clone())
        );
        assert_eq!(
            SeatSource::for_member(Some(&team), false),
            SeatSource::Unallocated
        );
        assert_eq!(SeatSource::for_member(None, false), SeatSource::Unallocated);
    }

    #[test]
    fn managers_draw_only_on_their_team_allocation() {
        let team = TeamId::parse("team_eng").unwrap();
        let product = id("professional");
        let allocated = SeatSource::TeamAllocation(team);
        assert!(allocated.check_drawable(false, &product).is_ok());
        let refused = SeatSource::Unallocated
            .check_drawable(false, &product)
            .unwrap_err();
        assert_eq!(refused.code(), "forbidden");
        assert!(SeatSource::Unallocated.check_drawable(true, &product).is_ok());
    }
}
