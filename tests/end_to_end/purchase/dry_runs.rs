//! Every mutating route of the checkout function takes `?dry_run=true`,
//! answers what it would do, and writes nothing: not to the entitlements,
//! not to the payment provider.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use seatflow_domain::PaymentGateway as _;
use seatflow_testkit::CountedPayments;
use serde_json::{Value, json};

use super::{App, app};

/// Routes that write nothing, so have no dry run, and why.
const NOT_MUTATIONS: [(&str, &str); 2] = [
    // A price computed from the catalog.
    ("POST", "/v1/checkout/quote"),
    // Opens a session at the provider's billing portal, where the admin
    // changes things themselves; nothing changes by opening it.
    ("POST", "/v1/billing/portal"),
];

/// A request body each mutating route accepts for a subscription of 12
/// professional seats.
fn body(method: &str, template: &str) -> Option<Value> {
    match (method, template) {
        // Another term: more of the annual plan goes onto its subscription.
        ("POST", "/v1/checkout/sessions") => {
            Some(json!({"plan": "professional", "term": "monthly", "quantity": 3}))
        }
        ("POST", "/v1/subscriptions/{id}/seats") => Some(json!({"product": "professional", "quantity": 2})),
        ("PUT", "/v1/subscriptions/{id}/renewal-seats") => {
            Some(json!({"product": "professional", "quantity": 10}))
        }
        ("PUT", "/v1/subscriptions/{id}/plan") => Some(json!({"plan": "enterprise"})),
        ("POST" | "DELETE", "/v1/subscriptions/{id}/cancellation") => None,
        other => panic!("no body for {other:?}: a new mutating route needs one here, and a dry run"),
    }
}

async fn state_of(app: &App, sub: &str) -> (String, Value) {
    let provider = app
        .gateway
        .subscription(sub)
        .await
        .expect("read")
        .expect("exists");
    let admin = app.admin();
    let licenses = app.state.seats.views().licenses(&admin).await.expect("licenses");
    (
        format!("{provider:?}"),
        serde_json::to_value(licenses).expect("json"),
    )
}

#[tokio::test]
async fn every_checkout_mutation_can_be_a_dry_run_that_writes_nothing_here_or_at_the_provider() {
    let mut app = app();
    let sub = app.subscribe("professional", "annual", 12).await;
    let counted = Arc::new(CountedPayments::new(Arc::new(app.gateway.clone())));
    let mut checkout = app.checkout.clone();
    checkout.payments = counted.clone();
    app.router = seatflow_checkout::router(checkout);
    let before = state_of(&app, &sub).await;

    let mut tried = Vec::new();
    for (template, item) in &seatflow_checkout::openapi().paths.paths {
        let operations = [
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in operations {
            if !present || NOT_MUTATIONS.contains(&(method, template.as_str())) {
                continue;
            }
            let path = template.replace("{id}", &sub);
            let (status, answer) = app
                .call(
                    Method::from_bytes(method.as_bytes()).expect("method"),
                    &format!("{path}?dry_run=true"),
                    body(method, template),
                    Some(&app.token),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{method} {template}: {answer}");
            assert_eq!(answer["dry_run"], true, "{method} {template}: {answer}");
            tried.push(format!("{method} {template}"));
        }
    }
    tried.sort();
    assert_eq!(
        tried,
        [
            "DELETE /v1/subscriptions/{id}/cancellation",
            "POST /v1/checkout/sessions",
            "POST /v1/subscriptions/{id}/cancellation",
            "POST /v1/subscriptions/{id}/seats",
            "PUT /v1/subscriptions/{id}/plan",
            "PUT /v1/subscriptions/{id}/renewal-seats",
        ]
    );
    assert_eq!(
        counted.writes(),
        Vec::<String>::new(),
        "no write reached the provider"
    );
    assert_eq!(
        state_of(&app, &sub).await,
        before,
        "the provider and the seats are as they were"
    );

    // The same request without the flag does change the provider: the
    // dry run was not refused for another reason.
    let (status, added) = app
        .call(
            Method::POST,
            &format!("/v1/subscriptions/{sub}/seats"),
            body("POST", "/v1/subscriptions/{id}/seats"),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        (status, added["dry_run"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{added}"
    );
    assert_eq!(counted.writes(), ["set_quantity"]);
}
