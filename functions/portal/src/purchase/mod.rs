//! Buying seats: the license type and plan as cards, seats and add-ons, the
//! billing breakdown before anything is paid (recomputed by the server on
//! each change, so it works without JavaScript), then the payment provider's
//! checkout; and the confirmation its success URL lands on, which shows
//! progress until the seats exist, then the summary and "create users now".
//! The choices and the checkout are one module, the confirmation another.

mod choose;
mod confirmation;

pub(crate) use choose::origin;
pub use choose::{checkout, purchase};
pub use confirmation::done;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{
    AddOnRequest, ProductKind, PurchaseStatus, Quote, QuoteRequest, Role, SeatError, Term,
};

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// A plan as a card.
pub struct PlanCard {
    id: String,
    name: String,
    price: String,
    cadence: &'static str,
}

/// An add-on's field.
pub struct AddOnField {
    id: String,
    name: String,
    price: String,
    quantity: i64,
}

/// A breakdown line, in words.
pub struct LineView {
    name: String,
    quantity: u32,
    unit: String,
    discount: String,
    amount: String,
}

/// The breakdown, in words.
pub struct QuoteView {
    lines: Vec<LineView>,
    subtotal: String,
    discount: String,
    total: String,
    cadence: String,
}

#[derive(Template)]
#[template(path = "purchase.html")]
struct PurchasePage {
    layout: Layout,
    terms: Vec<(&'static str, &'static str)>,
    chosen_term: &'static str,
    plans: Vec<PlanCard>,
    chosen_plan: String,
    quantity: i64,
    max_quantity: u32,
    add_ons: Vec<AddOnField>,
    quote: Option<QuoteView>,
    hidden: Vec<(String, String)>,
    error: Option<(String, String)>,
}

impl PurchasePage {
    fn error_on(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| f == field)
            .map(|(_, text)| text.as_str())
    }
}

/// What the purchase form says, from a query or a form body.
struct Choice {
    term: Term,
    plan: String,
    quantity: i64,
    add_ons: Vec<(String, i64)>,
}

impl Choice {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        Self {
            term: if get("term") == Some("monthly") {
                Term::Monthly
            } else {
                Term::Annual
            },
            plan: get("plan").unwrap_or("professional").to_owned(),
            quantity: get("quantity").and_then(|q| q.trim().parse().ok()).unwrap_or(5),
            add_ons: pairs
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.strip_prefix("addon_")?.to_owned(),
                        v.trim().parse().unwrap_or(0),
                    ))
                })
                .collect(),
        }
    }

    fn request(&self) -> QuoteRequest {
        QuoteRequest {
            plan: self.plan.clone(),
            term: self.term,
            quantity: self.quantity,
            add_ons: self
                .add_ons
                .iter()
                .filter(|(_, q)| *q != 0)
                .map(|(product, quantity)| AddOnRequest {
                    product: product.clone(),
                    quantity: *quantity,
                })
                .collect(),
        }
    }

    fn hidden(&self) -> Vec<(String, String)> {
        let mut fields = vec![
            ("term".to_owned(), term_value(self.term).to_owned()),
            ("plan".to_owned(), self.plan.clone()),
            ("quantity".to_owned(), self.quantity.to_string()),
        ];
        fields.extend(
            self.add_ons
                .iter()
                .map(|(id, q)| (format!("addon_{id}"), q.to_string())),
        );
        fields
    }
}

fn term_value(term: Term) -> &'static str {
    match term {
        Term::Monthly => "monthly",
        Term::Annual => "annual",
    }
}

fn admin_only(session: &Session) -> Result<(), PageError> {
    if session.actor.role == Role::Admin {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "only an organisation admin may buy seats".into(),
        ))
    }
}
