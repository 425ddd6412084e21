//! Licenses (the admins' home) and My seats (everyone else's).

use super::*;

/// A license row, in words.
pub struct LicenseRow {
    name: String,
    kind: &'static str,
    purchased: u32,
    allocated: u32,
    assigned: u32,
    available: u32,
    over_limit: bool,
    renews: String,
}

#[derive(Template)]
#[template(path = "licenses.html")]
struct LicensesPage {
    layout: Layout,
    notice: Option<&'static str>,
    subscriptions: Vec<SubscriptionRow>,
    has_billing: bool,
    any_over_limit: bool,
    licenses: Vec<LicenseRow>,
}

/// A subscription, in words, with its Add seats link.
pub struct SubscriptionRow {
    id: String,
    plan: String,
    seats: String,
    status: &'static str,
    renews: String,
    can_add: bool,
}

/// The home page's query: what was just done.
#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "my_seats.html")]
struct MySeatsPage {
    layout: Layout,
    products: Vec<String>,
}

/// `GET /`: Licenses for admins; everyone else's own seats.
pub async fn home(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<HomeQuery>,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    if session.actor.role != Role::Admin {
        let me = seats.directory().me(&session.actor).await?;
        let products = me
            .seats
            .iter()
            .map(|s| product_name(&state, &s.product))
            .collect();
        return Ok(render(
            StatusCode::OK,
            &MySeatsPage {
                layout: Layout::signed_in(&session, "/"),
                products,
            },
        ));
    }
    let licenses = seats
        .views()
        .licenses(&session.actor)
        .await?
        .into_iter()
        .map(|l| LicenseRow {
            kind: match l.kind {
                ProductKind::Plan => "plan",
                ProductKind::AddOn => "add-on",
            },
            renews: l
                .renews_at
                .map_or_else(|| "—".to_owned(), |at| at.format("%-d %B %Y").to_string()),
            name: l.name,
            purchased: l.purchased,
            allocated: l.allocated,
            assigned: l.assigned,
            available: l.available,
            over_limit: l.over_limit,
        })
        .collect::<Vec<_>>();
    let catalog = seats.catalog();
    let name_of = |p: &ProductId| {
        catalog
            .product(p)
            .map_or_else(|| p.to_string(), |p| p.name.clone())
    };
    let subscriptions = seats
        .subscriptions()
        .subscription_overviews(&session.actor)
        .await?
        .into_iter()
        .map(|o| SubscriptionRow {
            id: o.id.to_string(),
            plan: format!(
                "{}{}",
                o.plan.as_ref().map_or_else(|| "No plan".to_owned(), &name_of),
                match o.term {
                    Some(Term::Monthly) => ", monthly",
                    Some(Term::Annual) => ", annual",
                    None => "",
                }
            ),
            seats: o
                .items
                .iter()
                .map(|i| format!("{} × {}", i.quantity, name_of(&i.product)))
                .collect::<Vec<_>>()
                .join(", "),
            status: match o.status {
                SubscriptionStatus::Active | SubscriptionStatus::Trialing if o.cancel_at_period_end => {
                    "ends at the period's end"
                }
                SubscriptionStatus::Active => "active",
                SubscriptionStatus::Trialing => "trial",
                SubscriptionStatus::PastDue => "payment overdue",
                SubscriptionStatus::Unpaid => "unpaid",
                SubscriptionStatus::Canceled => "ended",
                SubscriptionStatus::Paused => "paused",
                SubscriptionStatus::Incomplete | SubscriptionStatus::IncompleteExpired => "not paid",
            },
            renews: match (o.renews_at, o.renewal_amount) {
                (Some(at), Some(amount)) => format!("{} for {amount}", at.format("%-d %B %Y")),
                (Some(at), None) => at.format("%-d %B %Y").to_string(),
                _ => "—".to_owned(),
            },
            can_add: matches!(
                o.status,
                SubscriptionStatus::Active | SubscriptionStatus::Trialing
            ) && o.plan.is_some(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &LicensesPage {
            layout: Layout::signed_in(&session, "/"),
            notice: (query.notice.as_deref() == Some("seats_added")).then_some(
                "Seats added. They can be given out as soon as the payment provider confirms the change, usually within seconds.",
            ),
            subscriptions,
            any_over_limit: licenses.iter().any(|l| l.over_limit),
            has_billing: seats.subscriptions().billing_customer(&session.actor).await.is_ok(),
            licenses,
        },
    ))
}
