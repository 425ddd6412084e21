//! The pages: Licenses (home for admins), My seats (home for everyone
//! else), and Users with its forms. Each calls the domain service in
//! process, as the API does, with the same authorisation. What the pages
//! share (the add-user form, the Users query, names in words) is here; each
//! page is a module.

mod licenses;
mod user;
mod user_seats;
mod users;

pub use licenses::home;
pub use user::{remove_user, transfer, update_user, user};
pub use user_seats::{assign, create_user, revoke};
pub use users::users;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{
    DisplayName, Email, LicenseSummary, Mode, NewUser, ProductId, ProductKind, Role, SeatError,
    SubscriptionStatus, TeamId, Term, UserId,
};
use serde::Deserialize;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// Users shown per page.
pub const USERS_PER_PAGE: usize = 50;

fn product_name(state: &PortalState, product: &ProductId) -> String {
    state
        .app
        .seats
        .catalog()
        .product(product)
        .map_or_else(|| product.to_string(), |p| p.name.clone())
}

/// What the add-user form holds, to show again with its error.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    seat: String,
    /// Where to go once added (the purchase confirmation's "create users now").
    #[serde(default)]
    back: String,
    #[serde(skip)]
    error: Option<(String, String)>,
}

impl UserForm {
    /// Whether the error is about `field` (`""`: about the form as a whole).
    fn error_on(&self, field: &str) -> bool {
        self.error.as_ref().is_some_and(|(f, _)| {
            if field.is_empty() {
                !["name", "email", "seat"].contains(&f.as_str())
            } else {
                f == field
            }
        })
    }

    fn error_text(&self) -> &str {
        self.error.as_ref().map_or("", |(_, text)| text.as_str())
    }
}

/// The Users page's query.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
    notice: Option<String>,
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::TeamManager => "Team manager",
        Role::Member => "Member",
    }
}

/// The user the form describes, and the seat it asks for. An empty email
/// is no email here; creating someone needs one (see [`new_user`]).
fn described_user(form: &UserForm) -> Result<(NewUser, Option<ProductId>), SeatError> {
    let role = match form.role.as_str() {
        "" | "member" => Role::Member,
        "team_manager" => Role::TeamManager,
        "admin" => Role::Admin,
        other => {
            return Err(SeatError::Validation(seatflow_domain::ValidationError::new(
                "role",
                format!("'{other}' is not a role"),
            )));
        }
    };
    let team = Some(form.team.as_str())
        .filter(|t| !t.is_empty())
        .map(TeamId::parse)
        .transpose()?;
    let seat = Some(form.seat.as_str())
        .filter(|s| !s.is_empty())
        .map(ProductId::parse)
        .transpose()?;
    Ok((
        NewUser {
            id: None,
            name: DisplayName::parse(&form.name)?,
            email: Some(form.email.trim())
                .filter(|e| !e.is_empty())
                .map(Email::parse)
                .transpose()?,
            directory: None,
            role,
            team,
        },
        seat,
    ))
}

/// The person the add-user form creates, with the seat it asks for: an
/// email is required (the portal's people sign in and are told things).
fn new_user(form: &UserForm) -> Result<(NewUser, Option<ProductId>), SeatError> {
    let (user, seat) = described_user(form)?;
    if user.email.is_none() {
        return Err(SeatError::Validation(seatflow_domain::ValidationError::new(
            "email",
            "is required",
        )));
    }
    Ok((user, seat))
}
