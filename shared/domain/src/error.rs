//! Domain errors. Each has a stable `code()` and a `kind()`; the HTTP edge maps
//! the kind to a status in one place.

use serde::Serialize;

/// What sort of failure an error is, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong; retrying it unchanged cannot succeed.
    Invalid,
    /// The thing named does not exist (or is not visible to the caller).
    NotFound,
    /// The request conflicts with the current state (no seats left, duplicate…).
    Conflict,
    /// The caller may not do this.
    Forbidden,
    /// A dependency failed; retrying later may succeed.
    Unavailable,
}

/// One invalid field: which, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field} {message}")]
pub struct ValidationError {
    /// The field (or value kind) at fault.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ValidationError {
    /// A validation failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same failure attributed to another field name (ids parsed from a body).
    #[must_use]
    pub fn for_field(mut self, field: &str) -> Self {
        self.field = field.to_owned();
        self
    }
}

/// Every way a seat-licensing operation can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeatError {
    /// A field of the request is invalid.
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// A quantity outside 1..=max.
    #[error("quantity must be between 1 and {max}, got {got}")]
    InvalidQuantity {
        /// The quantity asked for.
        got: i64,
        /// The largest accepted.
        max: u32,
    },
    /// A plan the catalog does not list.
    #[error("unknown plan '{0}'")]
    UnknownPlan(String),
    /// An add-on the catalog does not list.
    #[error("unknown add-on '{0}'")]
    UnknownAddOn(String),
    /// A product the catalog does not list.
    #[error("unknown product '{0}'")]
    UnknownProduct(String),
    /// More add-on seats than base seats.
    #[error("add-on '{add_on}' quantity {quantity} exceeds the {base} base seats")]
    AddOnExceedsBaseSeats {
        /// The add-on.
        add_on: String,
        /// Its quantity.
        quantity: u32,
        /// The base seat quantity.
        base: u32,
    },
    /// Proration asked for a moment outside the billing period.
    #[error("the billing period {start} to {end} does not contain {at}")]
    OutsideBillingPeriod {
        /// Period start.
        start: String,
        /// Period end.
        end: String,
        /// The moment asked for.
        at: String,
    },
    /// The named thing does not exist in the caller's organisation.
    #[error("{what} '{id}' not found")]
    NotFound {
        /// Kind of thing (`user`, `team`…).
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The caller's role does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The pool has no free seat (including an over-limit pool).
    #[error("no {product} seats available: {purchased} purchased, {assigned} assigned")]
    NoSeatsAvailable {
        /// The product.
        product: String,
        /// Seats bought.
        purchased: u32,
        /// Seats held.
        assigned: u32,
    },
    /// Automatic license management would buy a seat, but no subscription
    /// of the organisation counts seats of the product to buy it on.
    #[error(
        "no {product} seats are free, and the organisation has no running subscription of {product} to buy one on: buy {product} first (POST /v1/checkout-sessions)"
    )]
    NoSubscriptionToBuyOn {
        /// The product.
        product: String,
    },
    /// Automatic license management has bought as many seats of the product
    /// this billing period as the organisation allows.
    #[error(
        "no {product} seats are free, and {max} seats of {product} were already bought automatically this billing period, the organisation's limit: raise max_auto_seats_per_period (PUT /v1/license-management) or free a seat"
    )]
    AutoSeatBudgetExhausted {
        /// The product.
        product: String,
        /// The organisation's limit per period.
        max: u32,
    },
    /// The user's team has used its whole allocation of the product.
    #[error("team '{team}' has used all {allocated} of its {product} seats")]
    TeamAllocationExhausted {
        /// The team.
        team: String,
        /// The product.
        product: String,
        /// Its allocation.
        allocated: u32,
    },
    /// The user already holds a seat of the product.
    #[error("user '{user}' already holds a {product} seat")]
    AlreadyAssigned {
        /// The user.
        user: String,
        /// The product.
        product: String,
    },
    /// The user holds no seat of the product.
    #[error("user '{user}' holds no {product} seat")]
    NotAssigned {
        /// The user.
        user: String,
        /// The product.
        product: String,
    },
    /// An add-on for a user without a base seat.
    #[error("add-on '{add_on}' needs a base seat, and user '{user}' holds none")]
    BaseSeatRequired {
        /// The add-on.
        add_on: String,
        /// The user.
        user: String,
    },
    /// Allocations would exceed the seats the organisation bought.
    #[error(
        "allocating {requested} {product} seats exceeds the pool: {purchased} purchased, {committed} already allocated or assigned outside teams"
    )]
    AllocationExceedsPool {
        /// The product.
        product: String,
        /// Seats asked for.
        requested: u32,
        /// Seats bought.
        purchased: u32,
        /// Seats already committed elsewhere.
        committed: u32,
    },
    /// A record with the id the caller chose already exists.
    #[error("{what} '{id}' already exists")]
    AlreadyExists {
        /// Kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Fewer seats at renewal than are assigned, without the admin accepting
    /// the pool going over its limit.
    #[error(
        "{assigned} seats of '{product}' are assigned, and {at_renewal} would remain at renewal: revoke seats first, or accept the pool going over its limit (accept_over_limit)"
    )]
    DecreaseBelowAssigned {
        /// The product.
        product: String,
        /// Seats assigned now.
        assigned: u32,
        /// Seats the pool would hold after the renewal.
        at_renewal: u32,
    },
    /// The change would leave the organisation without an active admin.
    #[error("'{0}' is the organisation's last admin: make someone else an admin first")]
    LastAdmin(String),
    /// Another user already has this email in the organisation.
    #[error("a user with email '{0}' already exists")]
    EmailTaken(String),
    /// Another user already has this directory user name (SCIM `userName`,
    /// compared without case) in the organisation.
    #[error("another user has the user name '{0}'")]
    UserNameTaken(String),
    /// A webhook endpoint that is off is sent nothing, a redelivery included.
    #[error("the endpoint '{0}' is off: turn it on first, then send the event again")]
    EndpointDisabled(String),
    /// Optimistic concurrency kept losing; the caller may retry.
    #[error("the {0} changed concurrently too often; retry")]
    ConcurrentModification(&'static str),
    /// The store could not be reached or failed.
    #[error("entitlement store unavailable: {0}")]
    StoreUnavailable(String),
}

impl SeatError {
    /// Whether this refusal only means that no seat is free (in the pool,
    /// or in the team's allocation): a change that takes a seat only when
    /// one is free goes on without it.
    #[must_use]
    pub fn means_no_seat_free(&self) -> bool {
        matches!(
            self,
            Self::NoSeatsAvailable { .. }
                | Self::TeamAllocationExhausted { .. }
                | Self::NoSubscriptionToBuyOn { .. }
                | Self::AutoSeatBudgetExhausted { .. }
        )
    }

    /// Stable machine-readable code; part of the API contract.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::InvalidQuantity { .. } => "invalid_quantity",
            Self::UnknownPlan(_) => "unknown_plan",
            Self::UnknownAddOn(_) => "unknown_add_on",
            Self::UnknownProduct(_) => "unknown_product",
            Self::AddOnExceedsBaseSeats { .. } => "add_on_exceeds_base_seats",
            Self::OutsideBillingPeriod { .. } => "outside_billing_period",
            Self::NotFound { .. } => "not_found",
            Self::Forbidden(_) => "forbidden",
            Self::NoSeatsAvailable { .. } => "no_seats_available",
            Self::TeamAllocationExhausted { .. } => "team_allocation_exhausted",
            Self::NoSubscriptionToBuyOn { .. } => "no_subscription_for_product",
            Self::AutoSeatBudgetExhausted { .. } => "auto_seat_budget_exhausted",
            Self::AlreadyAssigned { .. } => "already_assigned",
            Self::NotAssigned { .. } => "not_assigned",
            Self::BaseSeatRequired { .. } => "base_seat_required",
            Self::AllocationExceedsPool { .. } => "allocation_exceeds_pool",
            Self::AlreadyExists { .. } => "already_exists",
            Self::EmailTaken(_) => "email_taken",
            Self::UserNameTaken(_) => "user_name_taken",
            Self::LastAdmin(_) => "last_admin",
            Self::EndpointDisabled(_) => "endpoint_disabled",
            Self::DecreaseBelowAssigned { .. } => "decrease_below_assigned",
            Self::ConcurrentModification(_) => "concurrent_modification",
            Self::StoreUnavailable(_) => "store_unavailable",
        }
    }

    /// What sort of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Validation(_)
            | Self::InvalidQuantity { .. }
            | Self::UnknownPlan(_)
            | Self::UnknownAddOn(_)
            | Self::UnknownProduct(_)
            | Self::AddOnExceedsBaseSeats { .. }
            | Self::OutsideBillingPeriod { .. } => ErrorKind::Invalid,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::NoSeatsAvailable { .. }
            | Self::TeamAllocationExhausted { .. }
            | Self::NoSubscriptionToBuyOn { .. }
            | Self::AutoSeatBudgetExhausted { .. }
            | Self::AlreadyAssigned { .. }
            | Self::NotAssigned { .. }
            | Self::BaseSeatRequired { .. }
            | Self::AllocationExceedsPool { .. }
            | Self::AlreadyExists { .. }
            | Self::EmailTaken(_)
            | Self::UserNameTaken(_)
            | Self::LastAdmin(_)
            | Self::EndpointDisabled(_)
            | Self::DecreaseBelowAssigned { .. }
            | Self::ConcurrentModification(_) => ErrorKind::Conflict,
            Self::StoreUnavailable(_) => ErrorKind::Unavailable,
        }
    }

    /// The invalid field, for validation failures.
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation(v) => Some(&v.field),
            Self::InvalidQuantity { .. } | Self::AddOnExceedsBaseSeats { .. } => Some("quantity"),
            Self::UnknownPlan(_) => Some("plan"),
            Self::UnknownAddOn(_) => Some("add_ons"),
            _ => None,
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }
}
