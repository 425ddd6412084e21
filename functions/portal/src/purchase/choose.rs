//! The purchase page: choices, the breakdown, on to the provider's checkout.

use super::*;

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
            SeatError::Validation(v) if v.field == "add_ons" => "add_ons",
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
    let quote = match state.app.seats.catalog().quote(&request) {
        Ok(quote) => quote,
        Err(error) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&session, &state, &choice, None, Some(error)),
            ));
        }
    };
    // More of a plan the organisation subscribes to on this term goes onto
    // that subscription (prorated, same renewal date): the add-seats page
    // previews and confirms it.
    let running = state
        .app
        .seats
        .subscriptions()
        .running_subscription_of(&session.actor, &quote.plan, quote.term)
        .await?;
    if let Some(subscription) = running {
        if !request.add_ons.is_empty() {
            let error = SeatError::Validation(seatflow_domain::ValidationError::new(
                "add_ons",
                format!(
                    "you already subscribe to {} ({}): add its seats first, then add-ons from the Marketplace",
                    quote.lines[0].name, quote.cadence
                ),
            ));
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&session, &state, &choice, Some(&quote), Some(error)),
            ));
        }
        return Ok(Redirect::to(&format!(
            "/subscriptions/{subscription}/seats?product={}&add={}",
            quote.plan,
            quote.quantity.get()
        ))
        .into_response());
    }
    let base = origin(&state, &headers);
    let created = state
        .billing()
        .start_checkout(
            &session.actor,
            &request,
            (
                &format!("{base}/purchase/done?session={{CHECKOUT_SESSION_ID}}"),
                &format!("{base}/purchase"),
            ),
            seatflow_domain::Mode::Apply,
        )
        .await?;
    let url = created
        .url
        .ok_or_else(|| PageError::Unavailable("the checkout has no page".into()))?;
    Ok(Redirect::to(&url).into_response())
}
