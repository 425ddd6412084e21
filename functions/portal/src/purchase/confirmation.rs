//! The confirmation the provider's success URL lands on.

use super::*;

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
    let teams = seats.directory().teams(&session.actor).await?;
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
                .map(|u| match &u.email {
                    Some(email) => format!("{} ({})", u.name.as_str(), email.as_str()),
                    None => u.name.as_str().to_owned(),
                })
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
