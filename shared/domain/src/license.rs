//! Automatic license management: what happens when a user should get a seat
//! and the pool is full. In `manual` mode (the default) the pool is a hard
//! cap. In `automatic` mode the seat is assigned at once and bought on the
//! organisation's subscription for the product: the pool counts it as
//! purchased straight away (as seats *owed* to that subscription), and the
//! quantity sync later brings the provider's quantity up to cover what is
//! owed, one write per subscription per window.

use serde::{Deserialize, Serialize};

use crate::ids::{ProductId, SubscriptionId};
use crate::money::Money;

/// How an organisation gets seats when a pool is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LicenseMode {
    /// The pool is a hard cap: a user who would need a seat more than it
    /// holds is refused (`no_seats_available`).
    #[default]
    Manual,
    /// A user who needs a seat more than the pool holds gets one, bought on
    /// the organisation's subscription for the product (prorated).
    Automatic,
}

/// The organisation's license management settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseManagement {
    /// Manual (a hard cap) or automatic (buy a seat when none is free).
    pub mode: LicenseMode,
    /// The most seats of each product bought automatically in one billing
    /// period; `None`: no limit. Past it an add is refused with
    /// `auto_seat_budget_exhausted`.
    pub max_auto_seats_per_period: Option<u32>,
    /// Whether the admins and billing contacts are told of automatic
    /// purchases and refusals.
    pub notify: bool,
}

impl Default for LicenseManagement {
    fn default() -> Self {
        Self {
            mode: LicenseMode::Manual,
            max_auto_seats_per_period: None,
            notify: true,
        }
    }
}

impl LicenseManagement {
    /// The policy a seat decision follows when the pool is full: `None` in
    /// manual mode.
    #[must_use]
    pub fn auto_purchase(&self) -> Option<AutoPurchasePolicy> {
        (self.mode == LicenseMode::Automatic).then_some(AutoPurchasePolicy {
            max_per_period: self.max_auto_seats_per_period,
        })
    }
}

/// What a seat decision may buy when the pool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoPurchasePolicy {
    /// The most seats of a product bought automatically in one period.
    pub max_per_period: Option<u32>,
}

/// Seats one decision bought automatically: on which subscription, and the
/// quantity the provider will be asked to hold for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoPurchase {
    /// The product.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub product: ProductId,
    /// The subscription the seats are bought on.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub subscription: SubscriptionId,
    /// Seats bought.
    pub seats: u32,
    /// The subscription's quantity of the product once they are billed.
    pub quantity_after: u32,
    /// What one seat costs for one term at that quantity (the catalog's
    /// price for the subscription's term, before proration and tax), when
    /// the term is known.
    pub unit_price: Option<Money>,
    /// How it is billed.
    pub billed: &'static str,
}

/// How an automatically bought seat is billed: prorated, on the
/// subscription's next invoice (the provider is told within the quantity
/// sync's window).
pub const AUTO_PURCHASE_BILLED: &str = "prorated on the subscription's next invoice";
