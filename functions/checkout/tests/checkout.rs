//! The checkout routes on the offline payment gateway: quotes and their
//! errors, checkout sessions, confirmations, seat increases, and the sample
//! event through the Lambda adapter. (The Stripe adapter's wire format is
//! tested against a stand-in in `seatflow-stripe`.)

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use seatflow_checkout::{CheckoutConfig, CheckoutState};
use seatflow_domain::{
    Actor, Catalog, Clock as _, ManualClock, Mode, OrgId, PaymentGateway as _, ProrationBehavior, Role,
    UserId,
};
use seatflow_http::JwtConfig;
use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use seatflow_provisioner::Provisioner;
use seatflow_seats_api::AppState;
use seatflow_stripe::wire;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct App {
    router: axum::Router,
    token: String,
    catalog: Catalog,
    state: AppState,
    clock: Arc<ManualClock>,
    gateway: OfflinePaymentGateway,
}

fn app() -> App {
    let catalog = Catalog::default_catalog().expect("catalog");
    let jwt = JwtConfig::new(SecretString::from("checkout-test-secret-at-least-32-bytes")).expect("secret");
    let clock = Arc::new(ManualClock::at(chrono_now()));
    let state = AppState::new(
        Arc::new(MemoryEntitlementStore::new()),
        clock.clone(),
        Arc::new(catalog.clone()),
        jwt,
    );
    let token = mint(&state, "org_buyer", Role::Admin);
    let gateway = OfflinePaymentGateway::new(
        Arc::new(catalog.clone()),
        clock.clone(),
        "http://pay.local/checkout/",
    );
    let checkout = CheckoutState {
        app: state.clone(),
        payments: Arc::new(gateway.clone()),
        config: Arc::new(
            CheckoutConfig::new(
                "https://app.example/done?session={CHECKOUT_SESSION_ID}",
                "https://app.example/pricing",
                ProrationBehavior::AlwaysInvoice,
            )
            .expect("config"),
        ),
    };
    App {
        router: seatflow_checkout::router(checkout),
        token,
        catalog,
        state,
        clock,
        gateway,
    }
}

fn mint(state: &AppState, org: &str, role: Role) -> String {
    state
        .auth
        .mint(
            &UserId::parse("usr_buyer").expect("id"),
            &OrgId::parse(org).expect("id"),
            role,
            &[],
            600,
        )
        .expect("token")
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("time")
}

impl App {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("ok");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn quote(&self, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::POST, "/v1/checkout/quote", Some(body), token)
            .await
    }

    async fn create_org(&self, org: &str) {
        self.state
            .seats
            .create_organization(
                &Actor::system(OrgId::parse(org).expect("id"), "test"),
                "Buyer",
                Mode::Apply,
            )
            .await
            .expect("org");
    }

    /// Pays session `id` offline and provisions the events Stripe would send.
    async fn pay_and_provision(&self, id: &str) -> String {
        let (session, sub) = self.gateway.pay(id, "cus_buyer").expect("paid");
        let provisioner = Provisioner::new(self.state.seats.clone(), Arc::new(self.gateway.clone()));
        let now = self.clock.now();
        let object = wire::checkout_session_object(&session, "cus_buyer");
        let job = seatflow_domain::ProvisioningJob {
            event_id: format!("evt_{id}"),
            event_type: "checkout.session.completed".into(),
            occurred_at: now,
            group: "cus_buyer".into(),
            object: serde_json::value::RawValue::from_string(object.to_string()).expect("JSON"),
        };
        provisioner.apply(&job).await.expect("provisioned");
        sub.id
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
fn the_checkout_document_lists_every_route() {
    let doc = serde_json::to_value(seatflow_checkout::openapi()).expect("serialises");
    assert!(doc["paths"]["/v1/checkout/quote"]["post"].is_object());
    assert!(doc["paths"]["/v1/checkout/sessions"]["post"].is_object());
    assert!(doc["paths"]["/v1/checkout/sessions/{id}/confirmation"]["get"].is_object());
    assert!(doc["paths"]["/v1/subscriptions/{id}/seats"]["post"].is_object());
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
    };
    let hash = seatflow_http::auth::ApiKeySecret::hash(key);
    app.state
        .seats
        .create_api_key(&admin, "samples", &key[..12], &hash, seatflow_domain::Mode::Apply)
        .await
        .expect("key");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/checkout");
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
            // The samples name a session and a subscription that do not exist.
            "get-confirmation" | "add-seats" => (404, body["code"] == "not_found"),
            other => panic!("no expectation for sample {other}"),
        };
        assert_eq!(response["statusCode"], status, "{name}: {response}");
        assert!(check, "{name}: {body}");
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        ["add-seats", "create-session", "get-confirmation", "quote"],
        "a sample per route"
    );
}

fn purchase() -> Value {
    json!({"plan": "professional", "term": "annual", "quantity": 12, "add_ons": [{"product": "sso", "quantity": 4}]})
}

#[tokio::test]
async fn a_checkout_session_sells_the_quote_to_the_callers_organisation() {
    let app = app();
    app.create_org("org_buyer").await;
    let (status, created) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(purchase()),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["url"], format!("http://pay.local/checkout/{id}"));
    assert_eq!(created["quote"]["quantity"], 12);
    let sold = app.gateway.open_checkout(id).expect("open session");
    assert_eq!(sold.org.as_str(), "org_buyer");
    let lines: Vec<(String, u32)> = sold
        .lines
        .iter()
        .map(|l| (l.lookup_key.clone(), l.quantity))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("seatflow_professional_annual".to_owned(), 12),
            ("seatflow_sso_annual".to_owned(), 4)
        ]
    );
    assert_eq!(
        sold.success_url,
        "https://app.example/done?session={CHECKOUT_SESSION_ID}"
    );

    // Members cannot buy; a bad quote creates no session.
    let member = mint(&app.state, "org_buyer", Role::Member);
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(purchase()),
            Some(&member),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, problem) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(json!({"plan": "essential", "term": "monthly", "quantity": 2, "add_ons": [{"product": "sso", "quantity": 3}]})),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("add_on_exceeds_base_seats")
        )
    );
    let (status, _) = app
        .call(Method::POST, "/v1/checkout/sessions", Some(purchase()), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_confirmation_is_pending_until_provisioned_then_shows_the_purchase() {
    let app = app();
    app.create_org("org_buyer").await;
    let (_, created) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(purchase()),
            Some(&app.token),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let uri = format!("/v1/checkout/sessions/{id}/confirmation");

    let (status, pending) = app.call(Method::GET, &uri, None, Some(&app.token)).await;
    assert_eq!(
        (status, pending["status"].as_str()),
        (StatusCode::OK, Some("awaiting_payment"))
    );

    // Paid, but the events are not provisioned yet.
    let (session, _) = app.gateway.pay(&id, "cus_buyer").expect("paid");
    let (status, paid) = app.call(Method::GET, &uri, None, Some(&app.token)).await;
    assert_eq!(
        (status, paid["status"].as_str()),
        (StatusCode::OK, Some("provisioning")),
        "{paid}"
    );
    assert!(paid["billing"].is_null());

    // A user created after the checkout started, then the events arrive.
    app.clock.advance(chrono::Duration::minutes(1));
    let admin = Actor {
        org: OrgId::parse("org_buyer").expect("id"),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_buyer").expect("id")),
        role: Role::Admin,
        teams: vec![],
    };
    app.state
        .seats
        .create_user(
            &admin,
            seatflow_domain::NewUser {
                id: None,
                name: seatflow_domain::DisplayName::parse("Ada").expect("name"),
                email: seatflow_domain::Email::parse("ada@buyer.example").expect("email"),
                role: Role::Member,
                team: None,
            },
            None,
            Mode::Apply,
        )
        .await
        .expect("user");
    let provisioner = Provisioner::new(app.state.seats.clone(), Arc::new(app.gateway.clone()));
    let object = wire::checkout_session_object(&session, "cus_buyer");
    provisioner
        .apply(&seatflow_domain::ProvisioningJob {
            event_id: "evt_cs_done".into(),
            event_type: "checkout.session.completed".into(),
            occurred_at: app.clock.now(),
            group: "cus_buyer".into(),
            object: serde_json::value::RawValue::from_string(object.to_string()).expect("JSON"),
        })
        .await
        .expect("provisioned");

    let (status, done) = app.call(Method::GET, &uri, None, Some(&app.token)).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (StatusCode::OK, Some("provisioned")),
        "{done}"
    );
    let licenses: Vec<(String, u64)> = done["licenses"]
        .as_array()
        .expect("licenses")
        .iter()
        .map(|l| {
            (
                l["product"].as_str().unwrap_or_default().to_owned(),
                l["purchased"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        licenses.contains(&("professional".to_owned(), 12)),
        "{licenses:?}"
    );
    assert!(licenses.contains(&("sso".to_owned(), 4)), "{licenses:?}");
    assert_eq!(done["users_created_since"], 1);
    assert_eq!(done["users"][0]["email"], "ada@buyer.example");
    let pro = app
        .catalog
        .product(&"professional".parse().expect("id"))
        .expect("plan");
    let sso = app.catalog.product(&"sso".parse().expect("id")).expect("add-on");
    let term = seatflow_domain::Term::Annual;
    assert_eq!(done["billing"]["term"], "annual");
    assert_eq!(
        done["billing"]["subtotal"]["minor"].as_i64(),
        Some(12 * pro.price(term).unit_amount.minor + 4 * sso.price(term).unit_amount.minor)
    );
    assert!(done["billing"]["renews_at"].is_string());

    // Another organisation's admin, and an unknown session: not found.
    let stranger = mint(&app.state, "org_other", Role::Admin);
    let (status, problem) = app.call(Method::GET, &uri, None, Some(&stranger)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = app
        .call(
            Method::GET,
            "/v1/checkout/sessions/cs_nope/confirmation",
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            Method::GET,
            "/v1/checkout/sessions/..%2F..%2Fx/confirmation",
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn seats_are_added_with_a_proration_preview_and_add_ons_stay_within_base_seats() {
    let app = app();
    app.create_org("org_buyer").await;
    let (_, created) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(purchase()),
            Some(&app.token),
        )
        .await;
    let sub = app.pay_and_provision(created["id"].as_str().expect("id")).await;
    let uri = format!("/v1/subscriptions/{sub}/seats");
    // A quarter of the year later.
    app.clock.advance(chrono::Duration::days(91));

    let (status, increase) = app
        .call(
            Method::POST,
            &uri,
            Some(json!({"product": "professional", "quantity": 3})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{increase}");
    assert_eq!(
        (
            increase["quantity_before"].as_u64(),
            increase["quantity_after"].as_u64()
        ),
        (Some(12), Some(15))
    );
    assert_eq!(increase["proration_behavior"], "always_invoice");
    let unit = app
        .catalog
        .product(&"professional".parse().expect("id"))
        .expect("plan")
        .price(seatflow_domain::Term::Annual)
        .unit_amount
        .minor;
    let due = increase["proration"]["amount_due"]["minor"]
        .as_i64()
        .expect("amount");
    assert!(due > 0 && due < 3 * unit, "prorated below the full price: {due}");
    let remaining = increase["proration"]["remaining_seconds"]
        .as_i64()
        .expect("seconds");
    let period = increase["proration"]["period_seconds"].as_i64().expect("seconds");
    assert_eq!(due, (3 * unit * remaining + period / 2) / period);
    let at_provider = app.gateway.subscription(&sub).await.expect("ok").expect("exists");
    let quantities: Vec<u32> = at_provider.items.iter().map(|i| i.quantity).collect();
    assert_eq!(quantities, vec![15, 4], "the provider's item quantity changed");

    // Add-on seats above the base seats, a new add-on, and bad requests.
    let (status, problem) = app
        .call(
            Method::POST,
            &uri,
            Some(json!({"product": "sso", "quantity": 12})),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("add_on_exceeds_base_seats")
        )
    );
    let (status, added) = app
        .call(
            Method::POST,
            &uri,
            Some(json!({"product": "analytics", "quantity": 15, "proration_behavior": "none"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["proration_behavior"], "none");
    for (body, code) in [
        (json!({"product": "sso", "quantity": 0}), "invalid_quantity"),
        (
            json!({"product": "enterprise", "quantity": 1}),
            "validation_failed",
        ),
        (json!({"product": "jetpack", "quantity": 1}), "unknown_product"),
        (
            json!({"product": "sso", "quantity": 1, "proration_behavior": "sometimes"}),
            "validation_failed",
        ),
    ] {
        let (status, problem) = app
            .call(Method::POST, &uri, Some(body.clone()), Some(&app.token))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}"
        );
    }

    // Another organisation's admin cannot touch it; unknown ids are not found.
    let stranger = mint(&app.state, "org_other", Role::Admin);
    let (status, problem) = app
        .call(
            Method::POST,
            &uri,
            Some(json!({"product": "professional", "quantity": 1})),
            Some(&stranger),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/v1/subscriptions/sub_missing/seats",
            Some(json!({"product": "professional", "quantity": 1})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let member = mint(&app.state, "org_buyer", Role::Member);
    let (status, _) = app
        .call(
            Method::POST,
            &uri,
            Some(json!({"product": "professional", "quantity": 1})),
            Some(&member),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unchanged = app.gateway.subscription(&sub).await.expect("ok").expect("exists");
    assert_eq!(unchanged.items[0].quantity, 15, "refused requests change nothing");
}
