//! Manual grants: seats given outside the payment provider (a sales contract,
//! a demo's seats). A grant is a record of its own, counted in its product's
//! pool beside the subscriptions, so that no subscription ever overwrites it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{GrantId, OrgId, ProductId};

/// Longest reference accepted (a contract number, a ticket, a note).
pub const MAX_GRANT_REFERENCE: usize = 200;

/// Seats of one product given to an organisation outside the payment provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatGrant {
    /// Owning organisation.
    pub org: OrgId,
    /// The grant.
    pub id: GrantId,
    /// The product granted.
    pub product: ProductId,
    /// Seats granted.
    pub quantity: u32,
    /// When the grant ends (`None`: until revoked).
    pub until: Option<DateTime<Utc>>,
    /// Why it exists: a contract number, a ticket, a note.
    pub reference: String,
    /// When it was granted.
    pub granted_at: DateTime<Utc>,
    /// When it was revoked or ran out; it no longer counts.
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl SeatGrant {
    /// Whether it counts: not ended.
    #[must_use]
    pub fn counts(&self) -> bool {
        self.ended_at.is_none()
    }

    /// Whether it has run out by `now` but still counts (the reconciler ends it).
    #[must_use]
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.counts() && self.until.is_some_and(|until| until <= now)
    }
}

/// What a grant gives: validated before anything is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// The product.
    pub product: ProductId,
    /// Seats, at least one.
    pub quantity: u32,
    /// When it ends, if it does.
    pub until: Option<DateTime<Utc>>,
    /// Why it exists.
    pub reference: String,
}

impl NewGrant {
    /// Checks a grant: at least one seat, a reference of 1 to 200 characters
    /// without control characters.
    ///
    /// # Errors
    /// [`ValidationError`] naming the field.
    pub fn parse(
        product: ProductId,
        quantity: u32,
        until: Option<DateTime<Utc>>,
        reference: &str,
    ) -> Result<Self, ValidationError> {
        if quantity == 0 {
            return Err(ValidationError::new(
                "quantity",
                "a grant gives at least one seat",
            ));
        }
        let reference = reference.trim();
        if reference.is_empty() || reference.chars().count() > MAX_GRANT_REFERENCE {
            return Err(ValidationError::new(
                "reference",
                "must be 1 to 200 characters: say why the seats are granted",
            ));
        }
        if reference.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "reference",
                "must not contain control characters",
            ));
        }
        Ok(Self {
            product,
            quantity,
            until,
            reference: reference.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> ProductId {
        ProductId::parse("sso").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_grant_needs_seats_and_a_reason() {
        assert_eq!(
            NewGrant::parse(product(), 0, None, "contract 7").map_err(|e| e.field),
            Err("quantity".to_owned())
        );
        assert_eq!(
            NewGrant::parse(product(), 3, None, "  ").map_err(|e| e.field),
            Err("reference".to_owned())
        );
        assert_eq!(
            NewGrant::parse(product(), 3, None, "a\u{7}b").map_err(|e| e.field),
            Err("reference".to_owned())
        );
        let grant = NewGrant::parse(product(), 3, None, " contract 7 ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(grant.reference, "contract 7");
    }
}
