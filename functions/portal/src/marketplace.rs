//! The Marketplace: every add-on as a card, and its detail page, from which
//! add-on licenses are bought balanced with seat licenses (the purchase
//! flow's second entry point, prefilled).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{ProductId, ProductKind, Role, Term};
use serde::de::IgnoredAny;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// An add-on as a card.
pub struct Card {
    id: String,
    name: String,
    description: String,
    annual: String,
    monthly: String,
    held: u32,
    available: u32,
}

#[derive(Template)]
#[template(path = "marketplace.html")]
struct MarketplacePage {
    layout: Layout,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    layout: Layout,
    name: String,
    description: String,
    annual: String,
    monthly: String,
    held: u32,
    assigned: u32,
    seats: u32,
    buy: String,
    buy_label: String,
}

fn admin_only(session: &Session) -> Result<(), PageError> {
    if session.actor.role == Role::Admin {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "only an organisation admin may see the organisation's licenses".into(),
        ))
    }
}

/// `GET /marketplace`.
pub async fn marketplace(session: Session, State(state): State<PortalState>) -> Result<Response, PageError> {
    admin_only(&session)?;
    let seats = &state.app.seats;
    let licenses = seats.views().licenses(&session.actor).await?;
    let cards = seats
        .catalog()
        .products
        .values()
        .filter(|p| p.kind == ProductKind::AddOn)
        .map(|p| {
            let pool = licenses.iter().find(|l| l.product == p.id);
            Card {
                id: p.id.to_string(),
                name: p.name.clone(),
                description: p.description.clone(),
                annual: p.price(Term::Annual).unit_amount.to_string(),
                monthly: p.price(Term::Monthly).unit_amount.to_string(),
                held: pool.map_or(0, |l| l.purchased),
                available: pool.map_or(0, |l| l.available),
            }
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &MarketplacePage {
            layout: Layout::signed_in(&session, "/marketplace"),
            cards,
        },
    ))
}

/// `GET /marketplace/{product}`.
pub async fn product(
    session: Session,
    State(state): State<PortalState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin_only(&session)?;
    let seats = &state.app.seats;
    let catalog = seats.catalog();
    let product = ProductId::parse(&id)
        .ok()
        .and_then(|id| catalog.product(&id))
        .filter(|p| p.kind == ProductKind::AddOn)
        .ok_or(PageError::NotFound)?;
    let licenses = seats.views().licenses(&session.actor).await?;
    let pool = licenses.iter().find(|l| l.product == product.id);
    // The plan held most, and its seats: what the add-on goes with.
    let plan = licenses
        .iter()
        .filter(|l| catalog.is_plan(&l.product))
        .max_by_key(|l| l.purchased);
    let plan_seats = plan.map_or(0, |l| l.purchased);
    // An organisation that subscribes to a plan adds the add-on to that
    // subscription, for the seats it holds (prorated, same renewal): never
    // a second subscription with its seats bought again.
    let subscribed = seats
        .subscriptions()
        .subscription_overviews(&session.actor)
        .await?
        .into_iter()
        .filter(|o| o.status.entitles() && o.plan.is_some())
        .filter_map(|o| {
            let quantity = |id: &ProductId| {
                o.items
                    .iter()
                    .find(|i| &i.product == id)
                    .map_or(0, |i| i.quantity)
            };
            let plan_quantity = o.plan.as_ref().map_or(0, quantity);
            let with_add_on = quantity(&product.id);
            Some((
                o.id.clone(),
                plan_quantity.checked_sub(with_add_on)?,
                plan_quantity,
            ))
        })
        .max_by_key(|(_, _, plan_quantity)| *plan_quantity);
    let (buy, buy_label) = match subscribed {
        Some((subscription, missing, _)) => (
            format!(
                "/subscriptions/{subscription}/seats?product={}&add={}",
                product.id,
                missing.max(1)
            ),
            format!("Add {} to your subscription", product.name),
        ),
        None => (
            format!(
                "/purchase?term=annual&plan={}&quantity={}&addon_{}={}",
                plan.map_or_else(|| "professional".to_owned(), |l| l.product.to_string()),
                plan_seats.max(1),
                product.id,
                plan_seats.max(1),
            ),
            format!("Buy {} with seats", product.name),
        ),
    };
    Ok(render(
        StatusCode::OK,
        &ProductPage {
            layout: Layout::signed_in(&session, "/marketplace"),
            name: product.name.clone(),
            description: product.description.clone(),
            annual: product.price(Term::Annual).unit_amount.to_string(),
            monthly: product.price(Term::Monthly).unit_amount.to_string(),
            held: pool.map_or(0, |l| l.purchased),
            assigned: pool.map_or(0, |l| l.assigned),
            seats: plan_seats,
            buy,
            buy_label,
        },
    ))
}

/// `POST /billing`: on to the provider's billing portal (invoices, payment
/// methods, billing details), back to Licenses afterwards.
pub async fn billing(
    State(state): State<PortalState>,
    headers: HeaderMap,
    Submitted(session, _): Submitted<IgnoredAny>,
) -> Result<Response, PageError> {
    let back = format!("{}/", crate::purchase::origin(&state, &headers));
    let url = state.billing().billing_portal(&session.actor, &back).await?;
    Ok(Redirect::to(&url).into_response())
}
