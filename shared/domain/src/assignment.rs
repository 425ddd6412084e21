//! Seat assignments: a user holding a seat of a product.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
