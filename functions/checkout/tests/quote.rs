//! `POST /v1/checkout/quote`: the breakdown, and each validation error.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use seatflow_domain::{Catalog, ManualClock, OrgId, Role, UserId};
use seatflow_http::JwtConfig;
use seatflow_memory::MemoryEntitlementStore;
use seatflow_seats_api::AppState;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct App {
    router: axum::Router,
    token: String,
    catalog: Catalog,
    state: AppState,
}

fn app() -> App {
    let catalog = Catalog::default_catalog().expect("catalog");
    let jwt = JwtConfig::new(SecretString::from("checkout-test-secret-at-least-32-bytes")).expect("secret");
    let clock = Arc::new(ManualClock::at(chrono_now()));
    let state = AppState::new(
        Arc::new(MemoryEntitlementStore::new()),
        clock,
        Arc::new(catalog.clone()),
        jwt,
    );
    let token = state
        .auth
        .mint(
            &UserId::parse("usr_buyer").expect("id"),
            &OrgId::parse("org_buyer").expect("id"),
            Role::Admin,
            &[],
            600,
        )
        .expect("token");
    App {
        router: seatflow_checkout::router(state.clone()),
        token,
        catalog,
        state,
    }
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("time")
}

impl App {
    async fn quote(&self, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::post("/v1/checkout/quote").header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body.to_string())).expect("request"))
            .await
            .expect("ok");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }
}

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
    let subtotal = 60 * pro.price(term).unit_amount.minor + 20 * sso.price(term).unit_amount.minor;
    assert_eq!(
        quote["price_per_seat"]["minor"].as_i64(),
        Some(pro.price(term).unit_amount.minor)
    );
    assert_eq!(quote["subtotal"]["minor"].as_i64(), Some(subtotal));
    assert_eq!(quote["discount_percent"], 5);
    assert_eq!(
        quote["total_due"]["minor"].as_i64(),
        Some(subtotal - subtotal * 5 / 100)
    );
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
fn the_checkout_document_lists_the_quote_route() {
    let doc = serde_json::to_value(seatflow_checkout::openapi()).expect("serialises");
    assert!(doc["paths"]["/v1/checkout/quote"]["post"].is_object());
}

/// `events/checkout/quote.json` runs through `lambda_http`'s adapter (the path
/// `lambda_http::run` takes on Lambda) into the router.
#[tokio::test]
async fn the_sample_event_is_handled_through_the_lambda_adapter() {
    use lambda_http::lambda_runtime::{Context, LambdaEvent};
    use lambda_http::{Adapter, Service as _};

    let app = app();
    let key = "sfk_sample_events_only_not_a_secret";
    let admin = seatflow_domain::Actor {
        org: OrgId::parse("org_victim").expect("id"),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_root").expect("id")),
        role: Role::Admin,
        teams: vec![],
    };
    let hash = seatflow_http::auth::ApiKeySecret::hash(key);
    app.state
        .seats
        .create_api_key(&admin, "samples", &key[..12], &hash, seatflow_domain::Mode::Apply)
        .await
        .expect("key");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/checkout/quote.json"
    ))
    .expect("sample");
    let request: lambda_http::request::LambdaRequest =
        serde_json::from_str(&text).expect("an API Gateway v2 event");
    let mut adapter = Adapter::from(app.router.clone());
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("handled");
    let response = serde_json::to_value(&response).expect("response");
    assert_eq!(response["statusCode"], 200, "{response}");
    let quote: Value = serde_json::from_str(response["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(quote["cadence"], "billed annually");
}
