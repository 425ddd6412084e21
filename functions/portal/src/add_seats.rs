//! Add seats to a running subscription, from Licenses: how many of its plan
//! (or an add-on), what they cost for the rest of the period (the payment
//! provider's own preview), then the change. The form carries the quantity
//! it was priced at, so a second submit, or a change made meanwhile, is
//! shown again rather than billed twice.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_app::{AddSeats, BillingError};
use seatflow_domain::{ProductKind, Role, SeatIncrease, SubscriptionId};
use serde::Deserialize;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

#[derive(Template)]
#[template(path = "add_seats.html")]
struct AddSeatsPage {
    layout: Layout,
    subscription: String,
    products: Vec<(String, String, u32)>,
    product: String,
    add: String,
    preview: Option<Preview>,
    error: Option<String>,
}

/// The increase, in words.
pub struct Preview {
    product_name: String,
    before: u32,
    after: u32,
    amount_due: String,
    billed: &'static str,
}

/// The form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct AddSeatsForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    add: String,
    /// The quantity the preview was made at (the POST only).
    #[serde(default)]
    before: Option<u32>,
}

fn admin_only(session: &Session) -> Result<(), PageError> {
    if session.actor.role == Role::Admin {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "only an organisation admin may add seats".into(),
        ))
    }
}

async fn plan(
    state: &PortalState,
    session: &Session,
    id: &str,
    submitted: &AddSeatsForm,
) -> Result<Result<SeatIncrease, String>, PageError> {
    let Ok(add) = submitted.add.trim().parse::<i64>() else {
        return Ok(Err(format!(
            "'{}' is not a number of seats: give a whole number.",
            submitted.add.trim()
        )));
    };
    match state
        .billing()
        .plan_seat_increase(&session.actor, id, &submitted.product, add, None)
        .await
    {
        Ok(increase) => Ok(Ok(increase)),
        Err(error) => match PageError::from(error) {
            PageError::Refused(_, text) => Ok(Err(text)),
            other => Err(other),
        },
    }
}

async fn page(
    state: &PortalState,
    session: &Session,
    id: &str,
    submitted: &AddSeatsForm,
    planned: Option<Result<SeatIncrease, String>>,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let subscription_id: SubscriptionId = id.parse().map_err(|_| PageError::NotFound)?;
    let catalog = seats.catalog();
    // The organisation's own subscriptions only: another's is not found.
    let overview = seats
        .subscriptions()
        .subscription_overviews(&session.actor)
        .await?
        .into_iter()
        .find(|o| o.id == subscription_id)
        .ok_or(PageError::NotFound)?;
    // Its plan, then every add-on (held or not): add-ons are bought here too.
    let mut products: Vec<(String, String, u32)> = Vec::new();
    for p in catalog.products.values() {
        let held = overview
            .items
            .iter()
            .find(|i| i.product == p.id)
            .map(|i| i.quantity);
        let offered = match p.kind {
            ProductKind::Plan => held.is_some(),
            ProductKind::AddOn => true,
        };
        if offered {
            products.push((p.id.to_string(), p.name.clone(), held.unwrap_or(0)));
        }
    }
    products.sort_by_key(|(id, _, _)| {
        (
            overview.plan.as_ref().is_none_or(|p| p.as_str() != id),
            id.clone(),
        )
    });
    let (preview, error, status) = match planned {
        None => (None, None, StatusCode::OK),
        Some(Ok(increase)) => (
            Some(Preview {
                product_name: catalog
                    .product(&increase.product)
                    .map_or_else(|| increase.product.to_string(), |p| p.name.clone()),
                before: increase.quantity_before,
                after: increase.quantity_after,
                amount_due: increase.proration.amount_due.to_string(),
                billed: match increase.proration_behavior {
                    seatflow_domain::ProrationBehavior::AlwaysInvoice => "charged now",
                    seatflow_domain::ProrationBehavior::CreateProrations => "added to your next invoice",
                    seatflow_domain::ProrationBehavior::None => "not charged for this period",
                },
            }),
            None,
            StatusCode::OK,
        ),
        Some(Err(text)) => (None, Some(text), StatusCode::UNPROCESSABLE_ENTITY),
    };
    Ok(render(
        status,
        &AddSeatsPage {
            layout: Layout::signed_in(session, "/"),
            subscription: overview.id.to_string(),
            product: if submitted.product.is_empty() {
                products.first().map(|p| p.0.clone()).unwrap_or_default()
            } else {
                submitted.product.clone()
            },
            add: if submitted.add.is_empty() {
                "1".to_owned()
            } else {
                submitted.add.clone()
            },
            products,
            preview,
            error,
        },
    ))
}

/// `GET /subscriptions/{id}/seats[?product=…&add=…]`: the form, and with
/// a choice, what it costs.
pub async fn add_seats(
    session: Session,
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Query(query): Query<AddSeatsForm>,
) -> Result<Response, PageError> {
    admin_only(&session)?;
    let planned = if query.product.is_empty() {
        None
    } else {
        Some(plan(&state, &session, &id, &query).await?)
    };
    page(&state, &session, &id, &query, planned).await
}

/// `POST /subscriptions/{id}/seats`: adds the seats priced on the page.
pub async fn confirm_add_seats(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, submitted): Submitted<AddSeatsForm>,
) -> Result<Response, PageError> {
    admin_only(&session)?;
    let (Ok(add), Some(before)) = (submitted.add.trim().parse::<i64>(), submitted.before) else {
        // Not a number, or a form that was never priced: show the price.
        let planned = plan(&state, &session, &id, &submitted).await?;
        let priced = planned.is_ok();
        let mut shown = page(&state, &session, &id, &submitted, Some(planned)).await?;
        if priced {
            *shown.status_mut() = StatusCode::CONFLICT;
        }
        return Ok(shown);
    };
    // The API's own retry safety: the seats are added only from the
    // quantity the page priced, so a second submit, or a change made
    // meanwhile, shows what adding now would cost instead of billing twice.
    let request = AddSeats {
        product: submitted.product.clone(),
        quantity: add,
        proration_behavior: None,
        quantity_before: Some(before),
    };
    match state
        .billing()
        .add_seats(&session.actor, &id, &request, None, seatflow_domain::Mode::Apply)
        .await
    {
        Ok(_) => {}
        Err(BillingError::QuantityChanged { current, .. }) => {
            let mut shown = page(&state, &session, &id, &submitted, Some(Ok(*current))).await?;
            *shown.status_mut() = StatusCode::CONFLICT;
            return Ok(shown);
        }
        Err(error) => match PageError::from(error) {
            PageError::Refused(_, text) => {
                return page(&state, &session, &id, &submitted, Some(Err(text))).await;
            }
            other => return Err(other),
        },
    }
    Ok(Redirect::to("/?notice=seats_added").into_response())
}
