//! The entitlement check and notification preferences.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{TestApp, Victim};

#[tokio::test]
async fn the_entitlement_check_follows_seats_and_subscriptions() {
    use seatflow_domain::{Mode, SubscriptionSnapshot, SubscriptionStatus};
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let key = app.api_key_for("org_victim").await;
    let (status, body) = {
        let (s, _, b) = app
            .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&key), None)
            .await;
        (s, b)
    };
    assert_eq!(status, StatusCode::OK, "{body}");
    let products: Vec<&str> = body["products"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["product"].as_str())
        .collect();
    assert_eq!(products, ["professional", "sso"]);
    assert!(
        body["products"][0]["until"].is_null(),
        "seeded seats have no subscription period"
    );
    // By email, too.
    let (status, _, by_email) = app
        .call(
            Method::GET,
            "/v1/entitlements?user=ANN@victim.example",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        (status, by_email["user"].as_str()),
        (StatusCode::OK, Some("usr_ann"))
    );
    let (_, _, by_email) = app
        .call(
            Method::GET,
            "/v1/entitlements?user=ann@victim.example",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(by_email["user"], "usr_ann");

    // A canceled subscription selling Professional turns access off; the seat stays assigned.
    let org = seatflow_domain::OrgId::parse("org_victim").expect("id");
    let admin = seatflow_domain::Actor::system(org.clone(), "test");
    let mut state = SubscriptionSnapshot {
        org,
        id: "sub_victim".parse().expect("id"),
        customer: "cus_v".into(),
        status: SubscriptionStatus::Active,
        items: [("professional".parse().expect("id"), 10)].into_iter().collect(),
        term: None,
        current_period_start: None,
        current_period_end: chrono::DateTime::from_timestamp(1_800_000_000, 0),
        cancel_at_period_end: false,
    };
    let seats = &app.state.seats;
    let at = |s| chrono::DateTime::from_timestamp(s, 0).expect("time");
    seats
        .subscriptions()
        .apply_subscription(&admin, &state, "evt_v1", at(1_790_000_000), Mode::Apply)
        .await
        .expect("applied");
    let (_, _, live) = app
        .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&key), None)
        .await;
    assert_eq!(live["products"][0]["until"], "2027-01-15T08:00:00Z");
    state.status = SubscriptionStatus::Canceled;
    seats
        .subscriptions()
        .apply_subscription(&admin, &state, "evt_v2", at(1_790_000_100), Mode::Apply)
        .await
        .expect("applied");
    let (_, _, off) = app
        .call(Method::GET, "/v1/entitlements?user=usr_ann", Some(&key), None)
        .await;
    assert_eq!(
        off["products"].as_array().map(Vec::len),
        Some(1),
        "only SSO left: {off}"
    );
    assert_eq!(off["products"][0]["product"], "sso");
    let (_, _, kept) = app.call(Method::GET, "/v1/users/usr_ann", Some(&key), None).await;
    assert_eq!(
        kept["seats"].as_array().map(Vec::len),
        Some(2),
        "assignments kept for a reactivation"
    );

    let (status, problem, _) = {
        let (s, _, b) = app
            .call(Method::GET, "/v1/entitlements?user=usr_nobody", Some(&key), None)
            .await;
        (s, b, ())
    };
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, _, problem) = app
        .call(Method::GET, "/v1/entitlements?user=not%20valid", Some(&key), None)
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("user"))
    );
    let (status, _, problem) = app.call(Method::GET, "/v1/entitlements", Some(&key), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
}

#[tokio::test]
async fn notification_preferences_are_set_and_read_by_admins_only() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, defaults) = app
        .call(Method::GET, "/v1/notifications", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(defaults["billing_contacts"], json!([]));
    assert_eq!(defaults["opted_out"], json!([]));

    let body =
        json!({"billing_contacts": ["Billing@Victim.example"], "opted_out": ["renewal", "over_limit"]});
    let (status, _, set) = app
        .call(Method::PUT, "/v1/notifications", Some(&admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["audit"]["action"], "notification_preferences_set");
    let (_, _, read) = app
        .call(Method::GET, "/v1/notifications", Some(&admin), None)
        .await;
    assert_eq!(read["billing_contacts"], json!(["billing@victim.example"]));
    assert_eq!(read["opted_out"], json!(["renewal", "over_limit"]));
    assert_eq!(read["version"], 1);

    for (bad, field) in [
        (
            json!({"billing_contacts": ["not an address"]}),
            "billing_contacts[0]",
        ),
        (
            json!({"billing_contacts": ["a@b.example", "A@b.example"]}),
            "billing_contacts",
        ),
        (
            json!({"billing_contacts": [], "opted_out": ["everything"]}),
            "opted_out[0]",
        ),
    ] {
        let (status, _, problem) = app
            .call(Method::PUT, "/v1/notifications", Some(&admin), Some(bad.clone()))
            .await;
        assert_eq!(
            (
                status,
                problem["code"].as_str(),
                problem["errors"][0]["field"].as_str()
            ),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("validation_failed"),
                Some(field)
            ),
            "{bad}: {problem}"
        );
    }
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _, _) = app
        .call(Method::GET, "/v1/notifications", Some(&member), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Each API key has its own budget of entitlement checks: past it, 429
/// `rate_limited` with `Retry-After`; another key, and people, are not held
/// back by it.
#[tokio::test]
async fn an_api_key_past_its_rate_gets_429_with_retry_after() {
    use std::num::NonZeroU32;

    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let limited = seatflow_seats_api::router(
        app.state
            .clone()
            .with_entitlement_rate(NonZeroU32::new(1).expect("1"), NonZeroU32::new(2).expect("2")),
    );
    let key = app.api_key_for("org_victim").await;
    let other = app.api_key_for("org_victim").await;
    let check = |token: String| {
        let request = axum::http::Request::get("/v1/entitlements?user=usr_ann")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .expect("request");
        let router = limited.clone();
        async move {
            use tower::ServiceExt as _;
            router.oneshot(request).await.expect("answered")
        }
    };
    assert_eq!(check(key.clone()).await.status(), StatusCode::OK);
    assert_eq!(check(key.clone()).await.status(), StatusCode::OK);
    let refused = check(key.clone()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body = http_body_util::BodyExt::collect(refused.into_body())
        .await
        .expect("body")
        .to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).expect("problem+json");
    assert_eq!(problem["code"], "rate_limited");
    assert_eq!(
        check(other).await.status(),
        StatusCode::OK,
        "another key has its own budget"
    );
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    assert_eq!(
        check(admin).await.status(),
        StatusCode::OK,
        "people are not rate limited here"
    );
}

/// Subscriptions at a glance, and each product's nearest renewal in the
/// licenses list.
#[tokio::test]
async fn subscriptions_show_their_renewal_date_and_amount() {
    use chrono::Duration;
    use seatflow_domain::{Clock as _, Mode, SubscriptionSnapshot, SubscriptionStatus, Term};

    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let f = &app.fixture;
    let now = f.clock.now();
    let snapshot = |id: &str, days: i64, cancel: bool| SubscriptionSnapshot {
        org: f.admin.org.clone(),
        id: id.parse().expect("id"),
        customer: "cus_victim".into(),
        status: SubscriptionStatus::Active,
        items: [
            (seatflow_testkit::product("professional"), 10),
            (seatflow_testkit::product("sso"), 4),
        ]
        .into(),
        term: Some(Term::Annual),
        current_period_start: Some(now - Duration::days(365 - days)),
        current_period_end: Some(now + Duration::days(days)),
        cancel_at_period_end: cancel,
    };
    for (event, state) in [
        ("evt_a", snapshot("sub_later", 40, false)),
        ("evt_b", snapshot("sub_sooner", 12, false)),
        ("evt_c", snapshot("sub_ending", 3, true)),
    ] {
        f.seats
            .subscriptions()
            .apply_subscription(&f.admin, &state, event, now, Mode::Apply)
            .await
            .expect("applied");
    }
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let (status, _, subs) = app
        .call(Method::GET, "/v1/subscriptions", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{subs}");
    let ids: Vec<&str> = subs
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        ["sub_sooner", "sub_later", "sub_ending"],
        "renewing soonest first"
    );
    let sooner = &subs[0];
    assert_eq!(sooner["plan"], "professional");
    assert_eq!(sooner["term"], "annual");
    assert_eq!(
        sooner["items"],
        json!([{"product": "professional", "quantity": 10}, {"product": "sso", "quantity": 4}])
    );
    let quote = f
        .seats
        .catalog()
        .quote(&seatflow_domain::QuoteRequest {
            plan: "professional".into(),
            term: Term::Annual,
            quantity: 10,
            add_ons: vec![seatflow_domain::AddOnRequest {
                product: "sso".into(),
                quantity: 4,
            }],
        })
        .expect("quote");
    assert_eq!(sooner["renewal_amount"]["minor"], json!(quote.total_due.minor));
    assert!(sooner["renews_at"].is_string());
    let ending = &subs[2];
    assert_eq!(ending["cancel_at_period_end"], true);
    assert!(ending["renews_at"].is_null() && ending["renewal_amount"].is_null());
    let (_, _, licenses) = app.call(Method::GET, "/v1/licenses", Some(&admin), None).await;
    let sso = licenses
        .as_array()
        .expect("list")
        .iter()
        .find(|l| l["product"] == "sso")
        .expect("sso");
    assert_eq!(sso["renews_at"], sooner["renews_at"], "the nearest renewal");
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _, _) = app
        .call(Method::GET, "/v1/subscriptions", Some(&member), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
