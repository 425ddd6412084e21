//! Quotes, their problems, the checkout function's document and its sample events.

use super::*;

#[tokio::test]
async fn a_quote_shows_the_whole_breakdown() {
    let app = app();
    let (status, quote) = app
        .quote(
            json!({"plan": "professional", "term": "annual", "quantity": 60, "add_ons": [{"product": "sso", "quantity": 20}]}),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let pro = app
        .catalog
        .product(&"professional".parse().expect("id"))
        .expect("plan");
    let sso = app.catalog.product(&"sso".parse().expect("id")).expect("add-on");
    let term = seatflow_domain::Term::Annual;
    // 60 Professional seats are in the 50–249 tier; 20 SSO seats are not.
    let (pro_unit, sso_unit) = (
        pro.price(term).unit_amount_for(60).minor,
        sso.price(term).unit_amount.minor,
    );
    assert!(pro_unit < pro.price(term).unit_amount.minor);
    let list = 60 * pro.price(term).unit_amount.minor + 20 * sso_unit;
    assert_eq!(quote["price_per_seat"]["minor"].as_i64(), Some(pro_unit));
    assert_eq!(quote["subtotal"]["minor"].as_i64(), Some(list));
    assert_eq!(
        quote["total_due"]["minor"].as_i64(),
        Some(60 * pro_unit + 20 * sso_unit)
    );
    assert_eq!(
        quote["discount"]["minor"].as_i64(),
        Some(list - 60 * pro_unit - 20 * sso_unit)
    );
    assert_eq!(quote["lines"][1]["discount"]["minor"], 0);
    assert_eq!(quote["total_due"]["currency"], "USD");
    assert_eq!(quote["cadence"], "billed annually");
    assert_eq!(quote["lines"][1]["lookup_key"], "seatflow_sso_annual");
}

#[tokio::test]
async fn bad_quotes_get_specific_problems() {
    let app = app();
    let cases = [
        (
            json!({"plan": "professional", "term": "monthly", "quantity": 0}),
            "invalid_quantity",
            Some("quantity"),
        ),
        (
            json!({"plan": "professional", "term": "monthly", "quantity": -5}),
            "invalid_quantity",
            Some("quantity"),
        ),
        (
            json!({"plan": "professional", "term": "monthly", "quantity": 10_000_000}),
            "invalid_quantity",
            Some("quantity"),
        ),
        (
            json!({"plan": "platinum", "term": "monthly", "quantity": 1}),
            "unknown_plan",
            Some("plan"),
        ),
        (
            json!({"plan": "essential", "term": "monthly", "quantity": 1, "add_ons": [{"product": "jetpack", "quantity": 1}]}),
            "unknown_add_on",
            Some("add_ons"),
        ),
        (
            json!({"plan": "essential", "term": "monthly", "quantity": 2, "add_ons": [{"product": "sso", "quantity": 3}]}),
            "add_on_exceeds_base_seats",
            Some("quantity"),
        ),
        (
            json!({"plan": "essential", "term": "weekly", "quantity": 1}),
            "validation_failed",
            Some("term"),
        ),
        (
            json!({"plan": "essential", "term": "monthly", "quantity": "ten"}),
            "validation_failed",
            Some("quantity"),
        ),
        (
            json!({"plan": "essential", "term": "monthly", "quantity": 1, "coupon": "FREE"}),
            "validation_failed",
            Some("coupon"),
        ),
    ];
    for (body, code, field) in cases {
        let (status, problem) = app.quote(body.clone(), Some(&app.token)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}"
        );
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
    }
    let (status, problem) = app
        .quote(
            json!({"plan": "essential", "term": "monthly", "quantity": 1}),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

#[test]
fn the_checkout_document_lists_every_route() {
    let doc = serde_json::to_value(seatflow_checkout::openapi()).expect("serialises");
    assert!(doc["paths"]["/v1/checkout/quote"]["post"].is_object());
    assert!(doc["paths"]["/v1/checkout/sessions"]["post"].is_object());
    assert!(doc["paths"]["/v1/checkout/sessions/{id}/confirmation"]["get"].is_object());
    assert!(doc["paths"]["/v1/subscriptions/{id}/seats"]["post"].is_object());
    // Every operation says what an API key needs to call it.
    for (template, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            let method: axum::http::Method = method.to_uppercase().parse().expect("method");
            let open = template.ends_with("openapi.json");
            assert!(
                open || seatflow_http::scopes::required(&method, template).is_some(),
                "no API key scope for {method} {template}"
            );
        }
    }
}

/// Every sample in `events/checkout/` runs through `lambda_http`'s adapter
/// (the path `lambda_http::run` takes on Lambda) into the router, as the
/// sample machine client of `org_victim`.
#[tokio::test]
async fn every_sample_event_is_handled_through_the_lambda_adapter() {
    use lambda_http::lambda_runtime::{Context, LambdaEvent};
    use lambda_http::{Adapter, Service as _};

    let app = app();
    app.create_org("org_victim").await;
    let key = "sfk_sample_events_only_not_a_secret";
    let admin = seatflow_domain::Actor {
        org: OrgId::parse("org_victim").expect("id"),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_root").expect("id")),
        role: Role::Admin,
        teams: vec![],
        grants_admin: true,
    };
    let hash = seatflow_http::auth::ApiKeySecret::hash(key);
    app.state
        .seats
        .integrations()
        .create_api_key(
            &admin,
            "samples",
            &key[..12],
            &hash,
            &seatflow_domain::ApiScope::ALL,
            seatflow_domain::Mode::Apply,
        )
        .await
        .expect("key");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/checkout");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(dir).expect("events/checkout") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().expect("name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("sample");
        let request: lambda_http::request::LambdaRequest =
            serde_json::from_str(&text).expect("an API Gateway v2 event");
        let mut adapter = Adapter::from(app.router.clone());
        let response = adapter
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .expect("handled");
        let response = serde_json::to_value(&response).expect("response");
        let body: Value = serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON");
        let (status, check) = match name.as_str() {
            "quote" => (200, body["cadence"] == "billed annually"),
            "create-session" => (
                201,
                body["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("http://pay.local/checkout/")),
            ),
            // The samples name a session and a subscription that do not
            // exist, and the organisation has bought nothing to bill.
            "get-confirmation"
            | "add-seats"
            | "billing-portal"
            | "cancel-at-period-end"
            | "undo-cancellation"
            | "set-renewal-seats"
            | "change-plan" => (404, body["code"] == "not_found"),
            other => panic!("no expectation for sample {other}"),
        };
        assert_eq!(response["statusCode"], status, "{name}: {response}");
        assert!(check, "{name}: {body}");
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "add-seats",
            "billing-portal",
            "cancel-at-period-end",
            "change-plan",
            "create-session",
            "get-confirmation",
            "quote",
            "set-renewal-seats",
            "undo-cancellation"
        ],
        "a sample per route"
    );
}
