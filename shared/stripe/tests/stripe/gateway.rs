//! The real Stripe client ([`seatflow_stripe::StripeApi`]) against a local stand-in of Stripe's API
//! (wiremock) answering with Stripe's own fixture objects: the form
//! parameters sent for session creation and quantity updates are asserted,
//! and Stripe's answers and errors are mapped as the domain expects.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use seatflow_domain::{
    CheckoutLine, CheckoutStatus, ItemQuantity, NewCheckout, OrgId, PaymentError, PaymentGateway,
    ProrationBehavior,
};
use seatflow_stripe::StripeGateway;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/stripe/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn price(id: &str, lookup_key: &str) -> Value {
    let mut price = fixture("price");
    price["id"] = json!(id);
    price["lookup_key"] = json!(lookup_key);
    price
}

fn list(data: Vec<Value>, url: &str) -> Value {
    json!({"object": "list", "data": data, "has_more": false, "url": url})
}

fn subscription(items: &[(&str, &str, u64)]) -> Value {
    let mut sub = fixture("subscription");
    let template = sub["items"]["data"][0].clone();
    sub["id"] = json!("sub_1");
    sub["status"] = json!("active");
    sub["customer"] = json!("cus_1");
    sub["metadata"] = json!({"org": "org_buyer"});
    sub["items"]["data"] = items
        .iter()
        .map(|(id, key, quantity)| {
            let mut item = template.clone();
            item["id"] = json!(id);
            item["price"]["lookup_key"] = json!(key);
            item["quantity"] = json!(quantity);
            item["current_period_start"] = json!(1_790_000_000);
            item["current_period_end"] = json!(1_800_000_000);
            item
        })
        .collect();
    sub
}

/// The decoded form body of a request, key → value.
fn form(request: &Request) -> BTreeMap<String, String> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

fn query(request: &Request) -> Vec<(String, String)> {
    request.url.query_pairs().into_owned().collect()
}

async fn stripe_with_prices() -> (MockServer, StripeGateway) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/prices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![
                price("price_pro_annual", "seatflow_professional_annual"),
                price("price_sso_annual", "seatflow_sso_annual"),
            ],
            "/v1/prices",
        )))
        .mount(&server)
        .await;
    let gateway = StripeGateway::new("sk_test_standin", Some(&format!("{}/", server.uri()))).expect("client");
    (server, gateway)
}

async fn requests_to(server: &MockServer, verb: &str, route: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("recording")
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .collect()
}

#[tokio::test]
async fn a_checkout_session_is_created_with_catalog_prices_org_and_urls() {
    let (server, gateway) = stripe_with_prices().await;
    let mut session = fixture("checkout_session");
    session["id"] = json!("cs_test_1");
    session["url"] = json!("https://checkout.stripe.com/c/pay/cs_test_1");
    session["client_reference_id"] = json!("org_buyer");
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session))
        .mount(&server)
        .await;

    let checkout = NewCheckout {
        org: OrgId::parse("org_buyer").expect("id"),
        lines: vec![
            CheckoutLine {
                lookup_key: "seatflow_professional_annual".into(),
                quantity: 25,
            },
            CheckoutLine {
                lookup_key: "seatflow_sso_annual".into(),
                quantity: 10,
            },
        ],
        success_url: "https://app.example/done?session={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://app.example/pricing".into(),
        customer: Some("cus_org_buyer".into()),
    };
    let created = gateway.create_checkout(&checkout).await.expect("created");
    assert_eq!(created.id, "cs_test_1");
    assert_eq!(
        created.url.as_deref(),
        Some("https://checkout.stripe.com/c/pay/cs_test_1")
    );
    assert_eq!(created.org.as_deref(), Some("org_buyer"));
    assert_eq!(created.status, CheckoutStatus::Open);

    let lookups = requests_to(&server, "GET", "/v1/prices").await;
    assert_eq!(lookups.len(), 1);
    let asked = query(&lookups[0]);
    assert!(asked.contains(&("active".into(), "true".into())), "{asked:?}");
    for key in ["seatflow_professional_annual", "seatflow_sso_annual"] {
        assert!(
            asked
                .iter()
                .any(|(k, v)| k.starts_with("lookup_keys[") && v == key),
            "{key} in {asked:?}"
        );
    }

    let posts = requests_to(&server, "POST", "/v1/checkout/sessions").await;
    assert_eq!(posts.len(), 1);
    let sent = form(&posts[0]);
    let expected = [
        ("mode", "subscription"),
        ("customer", "cus_org_buyer"),
        ("line_items[0][price]", "price_pro_annual"),
        ("line_items[0][quantity]", "25"),
        ("line_items[1][price]", "price_sso_annual"),
        ("line_items[1][quantity]", "10"),
        ("client_reference_id", "org_buyer"),
        ("metadata[org]", "org_buyer"),
        ("subscription_data[metadata][org]", "org_buyer"),
        ("allow_promotion_codes", "true"),
        (
            "success_url",
            "https://app.example/done?session={CHECKOUT_SESSION_ID}",
        ),
        ("cancel_url", "https://app.example/pricing"),
    ];
    for (key, value) in expected {
        assert_eq!(
            sent.get(key).map(String::as_str),
            Some(value),
            "{key} in {sent:?}"
        );
    }
    assert!(
        posts[0].headers.get("idempotency-key").is_some(),
        "writes carry an idempotency key, so a retry cannot create a second session"
    );
    assert_eq!(
        posts[0]
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("Bearer sk_test_standin")
    );
}

#[tokio::test]
async fn an_organisation_has_one_customer_found_by_its_metadata_or_created_once() {
    let (server, gateway) = stripe_with_prices().await;
    let org = OrgId::parse("org_buyer").expect("id");
    Mock::given(method("GET"))
        .and(path("/v1/customers/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "search_result", "data": [], "has_more": false})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "cus_new", "object": "customer"})),
        )
        .mount(&server)
        .await;
    assert_eq!(gateway.customer_for(&org).await.expect("created"), "cus_new");
    let searches = requests_to(&server, "GET", "/v1/customers/search").await;
    assert!(
        query(&searches[0]).contains(&("query".into(), "metadata['org']:'org_buyer'".into())),
        "{:?}",
        query(&searches[0])
    );
    let created = requests_to(&server, "POST", "/v1/customers").await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        form(&created[0]).get("metadata[org]").map(String::as_str),
        Some("org_buyer")
    );
    assert_eq!(
        created[0]
            .headers
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("seatflow:org_buyer:customer"),
        "two first purchases at once create one customer"
    );

    // Found by its metadata from then on: nothing more is created.
    Mock::given(method("GET"))
        .and(path("/v1/customers/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "search_result", "data": [{"id": "cus_new", "object": "customer"}], "has_more": false}),
        ))
        .mount(&server)
        .await;
    assert_eq!(gateway.customer_for(&org).await.expect("found"), "cus_new");
    assert_eq!(requests_to(&server, "POST", "/v1/customers").await.len(), 1);
}

#[tokio::test]
async fn a_price_missing_from_stripe_is_named_and_nothing_is_created() {
    let (server, gateway) = stripe_with_prices().await;
    let checkout = NewCheckout {
        org: OrgId::parse("org_buyer").expect("id"),
        lines: vec![CheckoutLine {
            lookup_key: "seatflow_enterprise_monthly".into(),
            quantity: 1,
        }],
        success_url: "https://app.example/done".into(),
        cancel_url: "https://app.example/pricing".into(),
        customer: None,
    };
    assert_eq!(
        gateway.create_checkout(&checkout).await,
        Err(PaymentError::MissingPrice("seatflow_enterprise_monthly".into()))
    );
    assert!(
        requests_to(&server, "POST", "/v1/checkout/sessions")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn subscriptions_are_fetched_and_quantities_updated_with_proration() {
    let (server, gateway) = stripe_with_prices().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(&[(
            "si_base",
            "seatflow_professional_annual",
            10,
        )])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(&[
            ("si_base", "seatflow_professional_annual", 15),
            ("si_sso", "seatflow_sso_annual", 4),
        ])))
        .mount(&server)
        .await;

    let fetched = gateway
        .subscription("sub_1")
        .await
        .expect("reachable")
        .expect("exists");
    assert_eq!(fetched.org(), Some("org_buyer"));
    assert_eq!(fetched.customer, "cus_1");
    assert_eq!(fetched.items.len(), 1);
    assert_eq!(fetched.items[0].id, "si_base");
    assert_eq!(
        fetched.items[0].lookup_key.as_deref(),
        Some("seatflow_professional_annual")
    );
    assert_eq!(fetched.items[0].quantity, 10);
    assert_eq!(
        fetched.items[0].current_period_end.map(|t| t.timestamp()),
        Some(1_800_000_000)
    );

    let more = ItemQuantity {
        item: Some("si_base".into()),
        lookup_key: "seatflow_professional_annual".into(),
        quantity: 15,
    };
    let updated = gateway
        .set_quantity(
            "sub_1",
            &more,
            ProrationBehavior::AlwaysInvoice,
            Some("seatflow:org_buyer:seats:retry-me"),
        )
        .await
        .expect("updated");
    assert_eq!(updated.items[0].quantity, 15);
    let add_on = ItemQuantity {
        item: None,
        lookup_key: "seatflow_sso_annual".into(),
        quantity: 4,
    };
    gateway
        .set_quantity("sub_1", &add_on, ProrationBehavior::CreateProrations, None)
        .await
        .expect("updated");

    let posts = requests_to(&server, "POST", "/v1/subscriptions/sub_1").await;
    assert_eq!(posts.len(), 2);
    let key = |request: &wiremock::Request| {
        request
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        key(&posts[0]).as_deref(),
        Some("seatflow:org_buyer:seats:retry-me"),
        "the caller's key reaches Stripe, so a retry after a crash is applied once"
    );
    assert!(
        key(&posts[1]).is_some_and(|k| !k.starts_with("seatflow:")),
        "without one, a fresh key per request"
    );
    let first = form(&posts[0]);
    assert_eq!(first.get("items[0][id]").map(String::as_str), Some("si_base"));
    assert_eq!(first.get("items[0][quantity]").map(String::as_str), Some("15"));
    assert_eq!(
        first.get("proration_behavior").map(String::as_str),
        Some("always_invoice")
    );
    assert!(!first.contains_key("items[0][price]"), "{first:?}");
    let second = form(&posts[1]);
    assert_eq!(
        second.get("items[0][price]").map(String::as_str),
        Some("price_sso_annual")
    );
    assert_eq!(second.get("items[0][quantity]").map(String::as_str), Some("4"));
    assert_eq!(
        second.get("proration_behavior").map(String::as_str),
        Some("create_prorations")
    );
    assert!(!second.contains_key("items[0][id]"), "{second:?}");
}

#[tokio::test]
async fn stripe_errors_map_to_absent_refused_or_unavailable() {
    let server = MockServer::start().await;
    let error = |code: &str, message: &str| json!({"error": {"type": "invalid_request_error", "code": code, "message": message}});
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_gone"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(error("resource_missing", "No such subscription")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(error("parameter_invalid_integer", "Invalid quantity")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_down"))
        .respond_with(ResponseTemplate::new(500).set_body_json(error("api_error", "down")))
        .mount(&server)
        .await;
    let gateway = StripeGateway::new("sk_test_standin", Some(&format!("{}/", server.uri()))).expect("client");

    assert_eq!(gateway.subscription("sub_gone").await, Ok(None));
    let refused = gateway
        .set_quantity(
            "sub_1",
            &ItemQuantity {
                item: Some("si_1".into()),
                lookup_key: "seatflow_essential_monthly".into(),
                quantity: 2,
            },
            ProrationBehavior::None,
            None,
        )
        .await;
    assert!(
        matches!(&refused, Err(PaymentError::Rejected { code, message }) if code == "parameter_invalid_integer" && message == "Invalid quantity"),
        "{refused:?}"
    );
    let down = gateway.checkout_session("cs_down").await;
    assert!(matches!(down, Err(PaymentError::Unavailable(_))), "{down:?}");
}

/// A seat change's price comes from Stripe's own invoice preview: the sum of
/// its proration lines (whichever field the API version marks them with),
/// nothing else on the invoice; no proration asks Stripe nothing.
#[tokio::test]
async fn a_proration_preview_is_stripes_own_invoice_preview() {
    let (server, gateway) = stripe_with_prices().await;
    Mock::given(method("POST"))
        .and(path("/v1/invoices/create_preview"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "invoice", "amount_due": 291_500,
            "lines": {"object": "list", "has_more": false, "data": [
                {"amount": -1_000, "proration": true},
                {"amount": 2_500, "parent": {"subscription_item_details": {"proration": true}}},
                {"amount": 290_000, "proration": false},
            ]},
        })))
        .mount(&server)
        .await;
    let at = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("time");
    let change = ItemQuantity {
        item: Some("si_base".into()),
        lookup_key: "seatflow_professional_annual".into(),
        quantity: 15,
    };
    let amount = gateway
        .preview_quantity_change("sub_1", &change, ProrationBehavior::AlwaysInvoice, at)
        .await
        .expect("previewed");
    assert_eq!(amount, 1_500);
    let sent = requests_to(&server, "POST", "/v1/invoices/create_preview").await;
    assert_eq!(sent.len(), 1);
    let form = form(&sent[0]);
    assert_eq!(form["subscription"], "sub_1");
    assert_eq!(form["subscription_details[items][0][id]"], "si_base");
    assert_eq!(form["subscription_details[items][0][quantity]"], "15");
    assert_eq!(form["subscription_details[proration_behavior]"], "always_invoice");
    assert_eq!(form["subscription_details[proration_date]"], "1795000000");

    // A new add-on item goes by its price.
    let new_item = ItemQuantity {
        item: None,
        lookup_key: "seatflow_sso_annual".into(),
        quantity: 3,
    };
    gateway
        .preview_quantity_change("sub_1", &new_item, ProrationBehavior::CreateProrations, at)
        .await
        .expect("previewed");
    let sent = requests_to(&server, "POST", "/v1/invoices/create_preview").await;
    let form = self::form(&sent[1]);
    assert_eq!(form["subscription_details[items][0][price]"], "price_sso_annual");
    assert_eq!(
        form["subscription_details[proration_behavior]"],
        "create_prorations"
    );

    let none = gateway
        .preview_quantity_change("sub_1", &change, ProrationBehavior::None, at)
        .await
        .expect("nothing to ask");
    assert_eq!(none, 0);
    assert_eq!(
        requests_to(&server, "POST", "/v1/invoices/create_preview")
            .await
            .len(),
        2
    );
}

/// A billing portal session is Stripe's, for the customer, returning to the app.
#[tokio::test]
async fn a_billing_portal_session_is_created_for_the_customer() {
    let (server, gateway) = stripe_with_prices().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bps_1", "object": "billing_portal.session", "customer": "cus_1",
            "url": "https://billing.stripe.com/p/session/test_1",
        })))
        .mount(&server)
        .await;
    let url = gateway
        .billing_portal("cus_1", "https://app.example/billing")
        .await
        .expect("session");
    assert_eq!(url, "https://billing.stripe.com/p/session/test_1");
    let sent = requests_to(&server, "POST", "/v1/billing_portal/sessions").await;
    let form = form(&sent[0]);
    assert_eq!(form["customer"], "cus_1");
    assert_eq!(form["return_url"], "https://app.example/billing");
    let refused = gateway.billing_portal("cus_1/../x", "https://app.example").await;
    assert!(matches!(refused, Err(PaymentError::Rejected { .. })));
}

#[tokio::test]
async fn a_cancellation_at_period_end_and_its_undoing_are_one_field_of_the_subscription() {
    let (server, gateway) = stripe_with_prices().await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json({
            let mut body = subscription(&[("si_base", "seatflow_professional_annual", 10)]);
            body["cancel_at_period_end"] = serde_json::json!(true);
            body
        }))
        .mount(&server)
        .await;
    let updated = gateway
        .set_cancel_at_period_end("sub_1", true, Some("seatflow:org_buyer:cancel:k1"))
        .await
        .expect("updated");
    assert!(updated.cancel_at_period_end);
    gateway
        .set_cancel_at_period_end("sub_1", false, None)
        .await
        .expect("updated");
    let posts = requests_to(&server, "POST", "/v1/subscriptions/sub_1").await;
    let forms: Vec<_> = posts.iter().map(form).collect();
    assert_eq!(
        forms[0].get("cancel_at_period_end").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        forms[1].get("cancel_at_period_end").map(String::as_str),
        Some("false")
    );
    assert_eq!(forms[0].len(), 1, "nothing else changes: {:?}", forms[0]);
    assert_eq!(
        posts[0]
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
        Some("seatflow:org_buyer:cancel:k1")
    );
    let refused = gateway.set_cancel_at_period_end("../customers", true, None).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn new_prices_go_to_stripe_item_by_item_in_one_update() {
    let (server, gateway) = stripe_with_prices().await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(&[
            ("si_base", "seatflow_professional_annual", 10),
            ("si_sso", "seatflow_sso_annual", 4),
        ])))
        .mount(&server)
        .await;
    let changes = [
        ItemQuantity {
            item: Some("si_base".into()),
            lookup_key: "seatflow_professional_annual".into(),
            quantity: 10,
        },
        ItemQuantity {
            item: Some("si_sso".into()),
            lookup_key: "seatflow_sso_annual".into(),
            quantity: 4,
        },
    ];
    let updated = gateway
        .change_prices(
            "sub_1",
            &changes,
            ProrationBehavior::CreateProrations,
            Some("seatflow:org_buyer:plan:k"),
        )
        .await
        .expect("updated");
    assert_eq!(updated.items.len(), 2);
    let posts = requests_to(&server, "POST", "/v1/subscriptions/sub_1").await;
    let sent = form(&posts[0]);
    for (field, value) in [
        ("items[0][id]", "si_base"),
        ("items[0][price]", "price_pro_annual"),
        ("items[0][quantity]", "10"),
        ("items[1][id]", "si_sso"),
        ("items[1][price]", "price_sso_annual"),
        ("items[1][quantity]", "4"),
        ("proration_behavior", "create_prorations"),
    ] {
        assert_eq!(
            sent.get(field).map(String::as_str),
            Some(value),
            "{field}: {sent:?}"
        );
    }
    let missing = [ItemQuantity {
        item: Some("si_base".into()),
        lookup_key: "seatflow_enterprise_annual".into(),
        quantity: 10,
    }];
    let refused = gateway
        .change_prices("sub_1", &missing, ProrationBehavior::CreateProrations, None)
        .await;
    assert!(
        matches!(refused, Err(seatflow_domain::PaymentError::MissingPrice(_))),
        "{refused:?}"
    );
    assert_eq!(
        requests_to(&server, "POST", "/v1/subscriptions/sub_1")
            .await
            .len(),
        1,
        "nothing sent without a price"
    );
}
