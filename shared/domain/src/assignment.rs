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
    /// The day (UTC) the holder last used the product, as the entitlement
    /// check (online or as a token) saw it; `None`: not since it was
    /// assigned. Recorded at most once a day, without moving the version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub last_active_at: Option<chrono::NaiveDate>,
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
            last_active_at: None,
            version: 0,
        }
    }
}
