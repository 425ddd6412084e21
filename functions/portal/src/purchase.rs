//! Buying seats: the license type and plan as cards, seats and add-ons, the
//! billing breakdown before anything is paid (recomputed by the server on
//! each change, so it works without JavaScript), then the payment provider's
//! checkout; and the confirmation its success URL lands on, which shows
//! progress until the seats exist, then the summary and "create users now".

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

/// `GET /purchase`: the choices, and the breakdown of what they cost.
pub async fn purchase(
    session: Session,
    State(state): State<PortalState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&session)?;
    let choice = Choice::from_pairs(&pairs);
    let priced = (!pairs.is_empty()).then(|| state.app.seats.catalog().quote(&choice.request()));
    let (quote, error) = match priced {
        Some(Ok(quote)) => (Some(quote), None),
        Some(Err(error)) => (None, Some(error)),
        None => (state.app.seats.catalog().quote(&choice.request()).ok(), None),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &page(&session, &state, &choice, quote.as_ref(), error),
    ))
}

fn page(
    session: &Session,
    state: &PortalState,
    choice: &Choice,
    quote: Option<&Quote>,
    error: Option<SeatError>,
) -> PurchasePage {
    let catalog = state.app.seats.catalog();
    let mut plan_products: Vec<_> = catalog
        .products
        .values()
        .filter(|p| p.kind == ProductKind::Plan)
        .collect();
    // Cheapest first: Essential, Professional, Enterprise.
    plan_products.sort_by_key(|p| p.price(choice.term).unit_amount.minor);
    let plans = plan_products
        .into_iter()
        .map(|p| PlanCard {
            id: p.id.to_string(),
            name: p.name.clone(),
            price: p.price(choice.term).unit_amount.to_string(),
            cadence: choice.term.cadence(),
        })
        .collect();
    let add_ons = catalog
        .products
        .values()
        .filter(|p| p.kind == ProductKind::AddOn)
        .map(|p| AddOnField {
            id: p.id.to_string(),
            name: p.name.clone(),
            price: p.price(choice.term).unit_amount.to_string(),
            quantity: choice
                .add_ons
                .iter()
                .find(|(id, _)| *id == p.id.as_str())
                .map_or(0, |(_, q)| *q),
        })
        .collect();
    let error = error.map(|e| {
        let field = match &e {
            SeatError::UnknownPlan(_) => "plan",
            SeatError::UnknownAddOn(_) | SeatError::AddOnExceedsBaseSeats { .. } => "add_ons",
            _ => "quantity",
        };
        (field.to_owned(), e.to_string())
    });
    PurchasePage {
        layout: Layout::signed_in(session, "/purchase"),
        terms: vec![("annual", "Annual"), ("monthly", "Monthly")],
        chosen_term: term_value(choice.term),
        plans,
        chosen_plan: choice.plan.clone(),
        quantity: choice.quantity,
        max_quantity: catalog.max_quantity,
        add_ons,
        quote: quote.map(|q| QuoteView {
            lines: q
                .lines
                .iter()
                .map(|l| LineView {
                    name: l.name.clone(),
                    quantity: l.quantity.get(),
                    unit: l.unit_amount.to_string(),
                    discount: if l.discount.minor == 0 {
                        "—".to_owned()
                    } else {
                        l.discount.to_string()
                    },
                    amount: l.amount.to_string(),
                })
                .collect(),
            subtotal: q.subtotal.to_string(),
            discount: if q.discount.minor == 0 {
                "none".to_owned()
            } else {
                format!("−{}", q.discount)
            },
            total: q.total_due.to_string(),
            cadence: q.cadence.clone(),
        }),
        hidden: choice.hidden(),
        error,
    }
}

/// Where this request came from, for the provider's return URLs.
pub(crate) fn origin(state: &PortalState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// `POST /purchase`: the provider's checkout for the chosen seats.
pub async fn checkout(
    State(state): State<PortalState>,
    headers: HeaderMap,
    Submitted(session, pairs): Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    admin_only(&session)?;
    let choice = Choice::from_pairs(&pairs);
    let request = choice.request();
    if let Err(error) = state.app.seats.catalog().quote(&request) {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&session, &state, &choice, None, Some(error)),
        ));
    }
    let base = origin(&state, &headers);
    let created = state
        .billing()
        .start_checkout(
            &session.actor,
            &request,
            &format!("{base}/purchase/done?session={{CHECKOUT_SESSION_ID}}"),
            &format!("{base}/purchase"),
        )
        .await?;
    let url = created
        .url
        .ok_or_else(|| PageError::Unavailable("the checkout has no page".into()))?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Template)]
#[template(path = "confirmation.html")]
struct ConfirmationPage {
    layout: Layout,
    refresh: Option<u32>,
    heading: &'static str,
    status_text: String,
    licenses: Vec<(String, u32, u32, u32)>,
    billing: Option<String>,
    created: Vec<String>,
    back: String,
    teams: Vec<(String, String)>,
    plans: Vec<(String, String)>,
}

/// The confirmation's query.
#[derive(Debug, serde::Deserialize)]
pub struct Done {
    session: String,
}

/// `GET /purchase/done?session=…`: progress, then what was bought.
pub async fn done(
    session: Session,
    State(state): State<PortalState>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    admin_only(&session)?;
    let confirmation = state
        .billing()
        .purchase_confirmation(&session.actor, &done.session)
        .await?;
    let seats = &state.app.seats;
    let (heading, status_text, refresh) = match confirmation.status {
        PurchaseStatus::AwaitingPayment => (
            "Waiting for your payment",
            "The payment has not arrived yet. This page checks again every few seconds.".to_owned(),
            Some(3),
        ),
        PurchaseStatus::Provisioning => (
            "Setting up your seats",
            "Your payment arrived; your seats are being set up. This page checks again in a moment."
                .to_owned(),
            Some(2),
        ),
        PurchaseStatus::Expired => (
            "This checkout expired",
            "Nothing was paid. Start a new purchase from Licenses.".to_owned(),
            None,
        ),
        PurchaseStatus::Provisioned => (
            "Your seats are ready",
            "Thank you: your purchase is complete.".to_owned(),
            None,
        ),
    };
    let catalog = seats.catalog();
    let teams = seats.teams(&session.actor).await?;
    Ok(render(
        StatusCode::OK,
        &ConfirmationPage {
            layout: Layout::signed_in(&session, ""),
            refresh,
            heading,
            status_text,
            licenses: confirmation
                .licenses
                .iter()
                .map(|l| (l.name.clone(), l.purchased, l.assigned, l.available))
                .collect(),
            billing: confirmation.billing.as_ref().map(|b| {
                let renews = b
                    .renews_at
                    .map(|at| format!(", next invoice on {}", at.format("%-d %B %Y")))
                    .unwrap_or_default();
                let per = match b.term {
                    Some(Term::Monthly) => "a month",
                    Some(Term::Annual) => "a year",
                    None => "a period",
                };
                format!("You pay {} {per}{renews}.", b.subtotal)
            }),
            created: confirmation
                .users
                .iter()
                .map(|u| format!("{} ({})", u.name.as_str(), u.email.as_str()))
                .collect(),
            back: format!("/purchase/done?session={}", done.session),
            teams: teams
                .iter()
                .map(|t| (t.id.to_string(), t.name.as_str().to_owned()))
                .collect(),
            plans: confirmation
                .licenses
                .iter()
                .filter(|l| catalog.is_plan(&l.product) && l.purchased > 0)
                .map(|l| (l.product.to_string(), l.name.clone()))
                .collect(),
        },
    ))
}
