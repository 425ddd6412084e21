//! Seat assignments: a user holding a seat of a product.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::User;
use crate::ids::{OrgId, ProductId, TeamId, UserId};

/// A user's seat of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    /// Owning organisation.
    pub org: OrgId,
    /// The holder.
    pub user: UserId,
    /// The product.
    pub product: ProductId,
    /// The team whose counters count this seat (the user's team when assigned).
    pub team: Option<TeamId>,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl Assignment {
    /// A new seat of `product` for `user`, counted against their current team.
    #[must_use]
    pub fn of(user: &User, product: &ProductId, at: DateTime<Utc>) -> Self {
        Self {
            org: user.org.clone(),
            user: user.id.clone(),
            product: product.clone(),
            team: user.team.clone(),
            assigned_at: at,
            version: 0,
        }
    }
}
