//! What an offline entitlement token says: a user's entitlements now, for
//! the vendor's application to check while seatflow is out of reach. The
//! token lives a short, configured time, and never past the paid period
//! (plus the payment grace) of any product it names, so a lapsed
//! subscription cannot be stretched by holding on to a token.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::{Actor, Entitlement, OrgId, SeatError, UserId};

use super::Views;

/// The contents of an offline entitlement token (signing is the edge's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntitlementTokenClaims {
    /// The organisation.
    pub org: OrgId,
    /// The user.
    pub user: UserId,
    /// What they may use, each until when it is paid for.
    pub products: Vec<Entitlement>,
    /// When the token was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

impl Views<'_> {
    /// The token contents for `who` (a user id or an email), valid for
    /// `lifetime` from now, and never past any product's paid period plus
    /// the payment grace.
    ///
    /// # Errors
    /// As [`Views::entitlements`]: forbidden, not found, validation, store.
    pub async fn entitlement_token_claims(
        self,
        actor: &Actor,
        who: &str,
        lifetime: Duration,
    ) -> Result<EntitlementTokenClaims, SeatError> {
        let entitlements = self.entitlements(actor, who).await?;
        let issued_at = self.clock.now();
        let paid_until = entitlements
            .products
            .iter()
            .filter_map(|p| p.until)
            .map(|until| until + self.payment_grace)
            .min();
        let wanted = issued_at + lifetime;
        let expires_at = paid_until.map_or(wanted, |paid| paid.min(wanted)).max(issued_at);
        Ok(EntitlementTokenClaims {
            org: actor.org.clone(),
            user: entitlements.user,
            products: entitlements.products,
            issued_at,
            expires_at,
        })
    }
}
