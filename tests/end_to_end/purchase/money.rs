//! What is charged is what was quoted, to the cent: for a grid of
//! quantities × both terms × with and without add-ons, the quote's amounts
//! equal what Stripe would charge for the checkout form sent to the Stripe
//! stand-in (its prices as `seatflow-admin stripe sync` created them, tiers
//! read back from the form parameters), and what the offline provider's
//! invoice shows; a seat increase across a tier is prorated alike.

use std::collections::BTreeMap;

use chrono::Duration;
use seatflow_domain::{AddOnRequest, NewCheckout, PaymentGateway, QuoteRequest, Term};
use seatflow_stripe::setup;
use seatflow_stripe::{StripeApi, StripeGateway};
use seatflow_testkit::stripe_standin::StripeStandIn;

use super::*;

const QUANTITIES: [u32; 7] = [1, 49, 50, 51, 249, 250, 10_000];

fn request(quantity: u32, term: Term, add_ons: bool) -> QuoteRequest {
    QuoteRequest {
        plan: "professional".into(),
        term,
        quantity: i64::from(quantity),
        add_ons: if add_ons {
            vec![
                AddOnRequest {
                    product: "sso".into(),
                    quantity: i64::from(quantity),
                },
                AddOnRequest {
                    product: "analytics".into(),
                    quantity: i64::from((quantity / 3).max(1)),
                },
            ]
        } else {
            Vec::new()
        },
    }
}

/// The line items of a checkout form: (price id, quantity), in order.
fn line_items(form: &BTreeMap<String, String>) -> Vec<(String, u64)> {
    (0..)
        .map_while(|i| {
            let price = form.get(&format!("line_items[{i}][price]"))?;
            let quantity = form.get(&format!("line_items[{i}][quantity]"))?.parse().ok()?;
            Some((price.clone(), quantity))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_stripe_checkout_forms_and_offline_invoices_agree_to_the_cent() {
    let catalog = Catalog::default_catalog().expect("catalog");
    let stripe = StripeStandIn::start().await;
    let api = StripeApi::new(
        "sk_test_standin",
        Some(&stripe.base_url()),
        stripe_client_core::RequestStrategy::Once,
    )
    .expect("client");
    setup::sync_catalog(&api, &catalog, false).await.expect("synced");
    let gateway = StripeGateway::new("sk_test_standin", Some(&stripe.base_url())).expect("client");
    let clock = Arc::new(ManualClock::at(chrono_now()));
    let offline = OfflinePaymentGateway::new(Arc::new(catalog.clone()), clock.clone(), "http://pay.local/");
    let org = OrgId::parse("org_money").expect("id");
    let mut cells = 0;
    for quantity in QUANTITIES {
        for term in [Term::Monthly, Term::Annual] {
            for add_ons in [false, true] {
                let cell = format!("{quantity} × {term:?}, add-ons: {add_ons}");
                let quote = catalog.quote(&request(quantity, term, add_ons)).expect("quote");
                assert_eq!(
                    quote.total_due.minor,
                    quote.subtotal.minor - quote.discount.minor,
                    "{cell}"
                );
                let checkout =
                    NewCheckout::of_quote(org.clone(), &quote, "https://s".into(), "https://c".into());

                // Stripe: the form sent, priced by the prices Stripe holds.
                gateway.create_checkout(&checkout).await.expect("session");
                let form = stripe.state().sessions.last().cloned().expect("form");
                let items = line_items(&form);
                assert_eq!(items.len(), quote.lines.len(), "{cell}");
                let charged = {
                    let state = stripe.state();
                    let mut charged = 0;
                    for ((price_id, sent_quantity), line) in items.iter().zip(&quote.lines) {
                        let price = state.price_by_id(price_id).expect("a price the sync created");
                        assert_eq!(
                            price.lookup_key.as_deref(),
                            Some(line.lookup_key.as_str()),
                            "{cell}"
                        );
                        assert_eq!(*sent_quantity, u64::from(line.quantity.get()), "{cell}");
                        let amount = price.amount_for(*sent_quantity);
                        assert_eq!(amount, line.amount.minor, "{cell}: {}", line.product);
                        charged += amount;
                    }
                    charged
                };
                assert_eq!(charged, quote.total_due.minor, "{cell}");

                // Offline: the invoice of the paid session.
                let session = offline.create_checkout(&checkout).await.expect("session");
                let (_, sub) = offline.pay(&session.id, "cus_money").expect("paid");
                let invoice = offline.invoices(&sub.id).pop().expect("invoice");
                assert_eq!(invoice.total, quote.total_due.minor, "{cell}");
                let amounts: Vec<i64> = invoice.lines.iter().map(|l| l.amount).collect();
                let quoted: Vec<i64> = quote.lines.iter().map(|l| l.amount.minor).collect();
                assert_eq!(amounts, quoted, "{cell}");

                // One more base seat, half-way through the period: the
                // preview, the offline proration invoice and Stripe's tiers agree.
                if quantity < catalog.max_quantity {
                    let at = clock.now() + Duration::days(10);
                    let increase = catalog
                        .plan_seat_increase(&sub, "professional", 1, ProrationBehavior::AlwaysInvoice, at)
                        .expect("increase");
                    clock.set(at);
                    let previewed = offline
                        .preview_quantity_change(
                            &sub.id,
                            increase.change().expect("change"),
                            ProrationBehavior::AlwaysInvoice,
                            at,
                        )
                        .await
                        .expect("preview");
                    assert_eq!(previewed, increase.proration.amount_due.minor, "{cell}");
                    offline
                        .set_quantity(
                            &sub.id,
                            increase.change().expect("change"),
                            ProrationBehavior::AlwaysInvoice,
                            None,
                        )
                        .await
                        .expect("changed");
                    let proration = offline.invoices(&sub.id).pop().expect("proration invoice");
                    assert_eq!(proration.total, increase.proration.amount_due.minor, "{cell}");
                    let state = stripe.state();
                    let price = state.price(&quote.lines[0].lookup_key).expect("price");
                    let full =
                        price.amount_for(u64::from(quantity) + 1) - price.amount_for(u64::from(quantity));
                    let (remaining, period) = (
                        increase.proration.remaining_seconds,
                        increase.proration.period_seconds,
                    );
                    let prorated = (full * remaining * 2 + period * full.signum()) / (2 * period);
                    assert_eq!(prorated, increase.proration.amount_due.minor, "{cell}");
                    clock.set(chrono_now());
                }
                cells += 1;
            }
        }
    }
    assert_eq!(cells, QUANTITIES.len() * 4);
}
