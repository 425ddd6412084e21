//! A due notice as an email: a plain-text and an HTML body. Every value that
//! came from a user or the catalog (organisation and product names, the
//! billing link) is escaped in the HTML; the subject has no line breaks.

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute, encode_text};
use seatflow_domain::{Catalog, DueNotice, NoticeSubject, OutgoingEmail, ProductId, Subscription};

/// Renders `notice`; `billing_url` is where seats and the payment method are changed.
#[must_use]
pub fn render(notice: &DueNotice, catalog: &Catalog, billing_url: &str) -> OutgoingEmail {
    let name = |id: &ProductId| {
        catalog
            .product(id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    let org = notice.org_name.as_str();
    let (subject, lines) = match &notice.subject {
        NoticeSubject::Renewal {
            subscription,
            amount_due,
            ..
        } => {
            let end = subscription
                .current_period_end
                .map_or_else(|| "the end of this period".to_owned(), date);
            let mut lines = vec![format!("Your seatflow subscription renews on {end}.")];
            lines.extend(items(subscription, catalog, &name));
            if let Some(term) = subscription.term {
                lines.push(format!("Billing: {}", term.cadence()));
            }
            if let Some(amount) = amount_due {
                lines.push(format!(
                    "Amount due at renewal: {amount} (list prices, before tax)"
                ));
            }
            (
                format!("{org}: your seatflow subscription renews on {end}"),
                lines,
            )
        }
        NoticeSubject::PaymentFailed {
            subscription,
            grace_ends,
        } => {
            let until = date(*grace_ends);
            let mut lines = vec![
                "The latest payment for your seatflow subscription failed.".to_owned(),
                format!(
                    "Your seats stay usable until {until}; after that they are suspended until payment succeeds. Nobody loses their assignment."
                ),
            ];
            lines.extend(items(subscription, catalog, &name));
            (
                format!("{org}: payment failed, seats usable until {until}"),
                lines,
            )
        }
        NoticeSubject::AutoPurchases { product, bought, max } => {
            let product = name(product);
            let mut lines = vec![format!(
                "{bought} {product} seats were bought automatically this billing period, as people needed them. Each is billed pro rata on the subscription's next invoice."
            )];
            match max {
                Some(max) if bought >= max => lines.push(format!(
                    "That is the limit of {max} a period: from now on, someone who needs a {product} seat when none is free is refused until the next period, unless an admin raises the limit or frees a seat."
                )),
                Some(max) => lines.push(format!("Your limit is {max} a period.")),
                None => {}
            }
            (
                format!("{org}: {bought} {product} seats bought automatically this period"),
                lines,
            )
        }
        NoticeSubject::OverLimit {
            product,
            purchased,
            assigned,
        } => {
            let product = name(product);
            (
                format!("{org}: {product} has more users than seats"),
                vec![
                    format!("{product}: {assigned} seats assigned, {purchased} bought."),
                    "Everyone keeps access, but no new seat can be assigned until seats are added or users unassigned."
                        .to_owned(),
                ],
            )
        }
    };
    let link = "Change seats or the payment method:";
    let text = format!(
        "Hello {org},\n\n{}\n\n{link} {billing_url}\n\n-- \nseatflow. Notification preferences: an admin can change them in the seats API (PUT /v1/notifications).\n",
        lines.join("\n")
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello {},</p>\n<ul>\n{}</ul>\n<p>{link} <a href=\"{}\">{}</a></p>\n<p style=\"color:#666\">seatflow. Notification preferences: an admin can change them in the seats API.</p></body></html>\n",
        encode_text(org),
        lines
            .iter()
            .map(|line| format!("<li>{}</li>\n", encode_text(line)))
            .collect::<String>(),
        encode_double_quoted_attribute(billing_url),
        encode_text(billing_url),
    );
    OutgoingEmail {
        org: notice.org.clone(),
        to: notice.to.clone(),
        subject: subject.replace(char::is_control, " "),
        text,
        html,
    }
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// "Plan: Professional × 25", then one line per add-on.
fn items(subscription: &Subscription, catalog: &Catalog, name: &dyn Fn(&ProductId) -> String) -> Vec<String> {
    let (plans, add_ons): (Vec<_>, Vec<_>) = subscription.items.iter().partition(|(p, _)| catalog.is_plan(p));
    let mut lines: Vec<String> = plans
        .into_iter()
        .map(|(p, quantity)| format!("Plan: {} × {quantity} seats", name(p)))
        .collect();
    lines.extend(
        add_ons
            .into_iter()
            .map(|(p, quantity)| format!("Add-on: {} × {quantity}", name(p))),
    );
    lines
}
