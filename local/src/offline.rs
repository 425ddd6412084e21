//! Checkout with no Stripe account: a local checkout page stands in for
//! Stripe's. Its Pay button completes the session in the offline payment
//! gateway, then signs the events Stripe would send
//! (`checkout.session.completed`, `customer.subscription.created`,
//! `invoice.paid`) with the webhook secret and posts them to the webhook
//! endpoint, so the path from payment to seats is the real one: signature
//! check, queue, provisioner. Seat increases made through the gateway are
//! announced the same way (`customer.subscription.updated`).

use std::sync::Arc;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{Request, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use seatflow_domain::{Clock, ProviderSubscription};
use seatflow_memory::OfflinePaymentGateway;
use seatflow_stripe::wire;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tower::ServiceExt as _;

/// Signs events and posts them to the webhook router in this process.
#[derive(Clone)]
pub struct EventSender {
    webhook: axum::Router,
    secret: Arc<SecretString>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EventSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSender").finish_non_exhaustive()
    }
}

impl EventSender {
    /// A sender to `webhook`, signing with `secret`.
    pub fn new(webhook: axum::Router, secret: Arc<SecretString>, clock: Arc<dyn Clock>) -> Self {
        Self {
            webhook,
            secret,
            clock,
        }
    }

    /// Signs and posts one event as Stripe would.
    ///
    /// # Errors
    /// The webhook refusing it.
    pub async fn send(&self, event_type: &str, object: serde_json::Value) -> anyhow::Result<()> {
        let now = self.clock.now();
        let id = format!("evt_offline_{}", uuid::Uuid::new_v4().simple());
        let payload = wire::event(&id, event_type, now, object).to_string();
        let signature = seatflow_stripe::signature::sign(
            self.secret.expose_secret().as_bytes(),
            now.timestamp(),
            payload.as_bytes(),
        );
        let request = Request::post("/v1/stripe/webhook")
            .header("content-type", "application/json")
            .header(
                "stripe-signature",
                format!("t={},v1={signature}", now.timestamp()),
            )
            .body(Body::from(payload))
            .context("building the webhook request")?;
        let response = self.webhook.clone().oneshot(request).await?;
        anyhow::ensure!(
            response.status() == StatusCode::OK,
            "the webhook refused {event_type} {id}: {}",
            response.status()
        );
        tracing::info!(event = %id, kind = %event_type, "offline event delivered");
        Ok(())
    }

    /// What the offline gateway calls on a quantity change.
    pub fn announce_updates(&self) -> seatflow_memory::ChangeListener {
        let sender = self.clone();
        Arc::new(move |sub: &ProviderSubscription| {
            let sender = sender.clone();
            let object = wire::subscription_object(sub, sender.clock.now());
            tokio::spawn(async move {
                if let Err(error) = sender.send("customer.subscription.updated", object).await {
                    tracing::error!(%error, "announcing a subscription change");
                }
            });
        })
    }
}

#[derive(Clone, Debug)]
struct Pages {
    gateway: OfflinePaymentGateway,
    events: EventSender,
    currency: String,
}

/// The local checkout pages: `/checkout/{id}` (the session, with a Pay
/// button), `/checkout/{id}/pay`, `/checkout/done` and `/checkout/cancelled`;
/// and `/billing/{customer}`, the stand-in for Stripe's billing portal: the
/// customer's offline invoices.
pub fn router(gateway: OfflinePaymentGateway, events: EventSender, currency: String) -> axum::Router {
    axum::Router::new()
        .route("/checkout/done", get(done))
        .route("/checkout/cancelled", get(cancelled))
        .route("/checkout/{id}", get(page))
        .route("/checkout/{id}/pay", post(pay))
        .route("/billing/{customer}", get(billing))
        .with_state(Pages {
            gateway,
            events,
            currency,
        })
}

/// Escapes text for HTML (ids here are ours, but never trust a path).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse}}td,th{{padding:.4rem .8rem;text-align:left;vertical-align:top}}\
         tr+tr td{{border-top:1px solid #ddd}}small{{color:#666}}button{{font-size:1.1rem;padding:.5rem 1.5rem}}</style>\
         </head><body><main>{body}</main></body></html>",
        title = escape(title)
    ))
}

/// Minor units as major, with the currency (`1234.50 USD`).
fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02} {}", abs / 100, abs % 100, currency.to_uppercase())
}

async fn billing(State(pages): State<Pages>, Path(customer): Path<String>) -> Response {
    if !pages.gateway.has_customer(&customer) {
        return (
            StatusCode::NOT_FOUND,
            html("Not found", "<h1>No such customer</h1>"),
        )
            .into_response();
    }
    let invoices = pages.gateway.customer_invoices(&customer);
    let currency = &pages.currency;
    let rows: String = invoices
        .iter()
        .map(|invoice| {
            let lines: String = invoice
                .lines
                .iter()
                .map(|l| {
                    format!(
                        "{} × {} at {} = {}",
                        l.quantity,
                        escape(&l.description),
                        money(l.unit_amount, currency),
                        money(l.amount, currency)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>");
            let reason = match invoice.reason {
                seatflow_memory::InvoiceReason::SubscriptionCreate => "first period",
                seatflow_memory::InvoiceReason::Proration(_) => "seats added mid-period (prorated)",
            };
            format!(
                "<tr><td>{}<br><small>{}</small></td><td>{reason}</td><td>{lines}</td><td><b>{}</b></td></tr>",
                invoice.created_at.format("%Y-%m-%d"),
                escape(&invoice.id),
                money(invoice.total, currency)
            )
        })
        .collect();
    let body = format!(
        "<h1>Billing</h1>\
         <p>No Stripe account is configured, so this page stands in for Stripe's billing portal: \
         the offline provider's invoices for customer <b>{customer}</b>, charged as Stripe would.</p>\
         {table}",
        customer = escape(&customer),
        table = if invoices.is_empty() {
            "<p>No invoices yet.</p>".to_owned()
        } else {
            format!("<table><tr><th>Date</th><th>For</th><th>Lines</th><th>Total</th></tr>{rows}</table>")
        },
    );
    html("seatflow billing", &body).into_response()
}

async fn page(State(pages): State<Pages>, Path(id): Path<String>) -> Response {
    let Some(checkout) = pages.gateway.open_checkout(&id) else {
        return (
            StatusCode::NOT_FOUND,
            html("Not found", "<h1>No open checkout with this id</h1>"),
        )
            .into_response();
    };
    let rows: String = checkout
        .lines
        .iter()
        .map(|line| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&line.lookup_key),
                line.quantity
            )
        })
        .collect();
    let body = format!(
        "<h1>seatflow offline checkout</h1>\
         <p>No Stripe account is configured, so this page stands in for Stripe Checkout. \
         Paying sends the signed events Stripe would send to the local webhook.</p>\
         <p>Organisation: <b>{org}</b> · prices in {currency}</p>\
         <table><tr><th>Price</th><th>Seats</th></tr>{rows}</table>\
         <form method=\"post\" action=\"/checkout/{id}/pay\"><button type=\"submit\">Pay</button></form>\
         <p><a href=\"{cancel}\">Cancel</a></p>",
        org = escape(checkout.org.as_str()),
        currency = escape(&pages.currency),
        id = escape(&id),
        cancel = escape(&checkout.cancel_url),
    );
    html("seatflow offline checkout", &body).into_response()
}

async fn pay(State(pages): State<Pages>, Path(id): Path<String>) -> Response {
    let Some(checkout) = pages.gateway.open_checkout(&id) else {
        return (
            StatusCode::NOT_FOUND,
            html("Not found", "<h1>No open checkout with this id</h1>"),
        )
            .into_response();
    };
    match pay_and_announce(&pages, &id).await {
        Ok(()) => Redirect::to(&checkout.success_url.replace("{CHECKOUT_SESSION_ID}", &id)).into_response(),
        Err(error) => {
            tracing::error!(%error, session = %id, "offline payment");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                html(
                    "Payment failed",
                    &format!("<h1>Payment failed</h1><p>{}</p>", escape(&error.to_string())),
                ),
            )
                .into_response()
        }
    }
}

async fn pay_and_announce(pages: &Pages, id: &str) -> anyhow::Result<()> {
    let customer = format!("cus_offline_{}", uuid::Uuid::new_v4().simple());
    let (session, sub) = pages.gateway.pay(id, &customer)?;
    let now = pages.events.clock.now();
    // What Stripe would have charged: the offline provider's first invoice.
    let amount = pages
        .gateway
        .invoices(&sub.id)
        .last()
        .map_or(0, |invoice| invoice.total);
    pages
        .events
        .send(
            "checkout.session.completed",
            wire::checkout_session_object(&session, &customer),
        )
        .await?;
    pages
        .events
        .send(
            "customer.subscription.created",
            wire::subscription_object(&sub, now),
        )
        .await?;
    let invoice = format!("in_offline_{}", uuid::Uuid::new_v4().simple());
    pages
        .events
        .send(
            "invoice.paid",
            wire::invoice_object(&invoice, &sub, amount, &pages.currency),
        )
        .await
}

#[derive(Deserialize)]
struct Done {
    session: Option<String>,
}

async fn done(Query(done): Query<Done>) -> Html<String> {
    let session = escape(done.session.as_deref().unwrap_or(""));
    html(
        "Paid",
        &format!(
            "<h1>Thank you</h1><p>Checkout session <code>{session}</code> is paid. \
             The seats are provisioned in a moment: \
             <code>GET /v1/checkout/sessions/{session}/confirmation</code> shows them.</p>"
        ),
    )
}

async fn cancelled() -> Html<String> {
    html(
        "Cancelled",
        "<h1>Checkout cancelled</h1><p>Nothing was charged.</p>",
    )
}

/// What `PUT /dev/stripe/subscriptions/{id}` needs.
#[derive(Clone)]
pub struct DevStripe {
    /// For authentication.
    pub app: seatflow_http::AppState,
    /// Stripe, offline.
    pub gateway: OfflinePaymentGateway,
    /// The webhook's sender.
    pub events: EventSender,
}

impl seatflow_http::HasAuthenticator for DevStripe {
    fn authenticator(&self) -> &seatflow_http::Authenticator {
        &self.app.auth
    }
}

/// `PUT /dev/stripe/subscriptions/{id}` (admins, their own organisation's
/// subscriptions): sets a subscription in the offline Stripe, as a change in
/// Stripe's dashboard would, and announces it with a signed
/// `customer.subscription.updated`. The body is a Stripe subscription object.
pub fn dev_router(state: DevStripe) -> axum::Router {
    axum::Router::new()
        .route(
            "/dev/stripe/subscriptions/{id}",
            axum::routing::put(put_subscription),
        )
        .with_state(state)
}

async fn put_subscription(
    seatflow_http::Caller(caller): seatflow_http::Caller,
    State(dev): State<DevStripe>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<axum::Json<serde_json::Value>, seatflow_http::ApiError> {
    use seatflow_http::ApiError;
    caller.require_person_admin("change subscriptions in the offline Stripe")?;
    let object: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed_json(e.to_string()))?;
    let state = match wire::subscription_of("customer.subscription.updated", &object.to_string()) {
        Ok(wire::SubscriptionRef::Embedded(state)) => *state,
        Ok(_) => return Err(ApiError::invalid_field("object", "must be \"subscription\"")),
        Err(e) => return Err(ApiError::invalid_field(e.what, e.detail)),
    };
    if state.id != id {
        return Err(ApiError::invalid_field("id", "must be the id in the path"));
    }
    if state.org() != Some(caller.org.as_str()) {
        return Err(ApiError::invalid_field(
            "metadata.org",
            "must be your organisation",
        ));
    }
    dev.gateway.put_subscription(state);
    dev.events
        .send("customer.subscription.updated", object.clone())
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "webhook_refused", e.to_string()))?;
    Ok(axum::Json(object))
}
