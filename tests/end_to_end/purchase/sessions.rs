//! Checkout sessions, confirmations and seat increases.

use super::*;

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
        grants_admin: true,
    };
    app.state
        .seats
        .directory()
        .create_user(
            &admin,
            seatflow_domain::NewUser {
                id: None,
                name: seatflow_domain::DisplayName::parse("Ada").expect("name"),
                email: Some(seatflow_domain::Email::parse("ada@buyer.example").expect("email")),
                directory: None,
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
        .apply(&seatflow_stripe::event::job_for(
            "evt_cs_done",
            "checkout.session.completed",
            app.clock.now(),
            &object.to_string(),
        ))
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

/// A new customer's admin buys with their first token: the organisation is
/// founded by that sign-in, and the payment provisions it like any other.
#[tokio::test]
async fn a_new_organisation_buys_and_is_provisioned_without_anyone_creating_it() {
    let app = app();
    let founder = app
        .state
        .auth
        .mint_founder(
            &UserId::parse("usr_founder").expect("id"),
            &OrgId::parse("org_fresh").expect("id"),
            "founder@fresh.example",
            Some("Fresh Ltd"),
            600,
        )
        .expect("token");
    let (status, created) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(purchase()),
            Some(&founder),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    app.pay_and_provision(&id).await;
    let (status, confirmation) = app
        .call(
            Method::GET,
            &format!("/v1/checkout/sessions/{id}/confirmation"),
            None,
            Some(&founder),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmation}");
    assert_eq!(confirmation["status"], "provisioned", "{confirmation}");
    let seats = app
        .state
        .seats
        .views()
        .licenses(&seatflow_domain::Actor::system(
            OrgId::parse("org_fresh").expect("id"),
            "test",
        ))
        .await
        .expect("licenses");
    assert!(
        seats
            .iter()
            .any(|l| l.product.as_str() == "professional" && l.purchased == 12),
        "{seats:?}"
    );

    // And on to the first user, with a seat, through the seats API, whose
    // entitlement check then says yes.
    let seats_api = seatflow_seats_api::router(app.state.clone());
    let request = axum::http::Request::post("/v1/users")
        .header("authorization", format!("Bearer {founder}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"id": "usr_first", "name": "First Hire", "email": "first@fresh.example", "role": "member", "seat": "professional"})
                .to_string(),
        ))
        .expect("request");
    let response = seats_api.clone().oneshot(request).await.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    let request = axum::http::Request::get("/v1/entitlements?user=usr_first")
        .header("authorization", format!("Bearer {founder}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = seats_api.oneshot(request).await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let entitlement: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert!(entitlement.to_string().contains("professional"), "{entitlement}");
}

/// The billing portal opens for an organisation that has bought, on its
/// provider customer; offline, at the local page of its invoices. Every
/// purchase of the organisation is on that one customer, so the portal shows
/// them all.
#[tokio::test]
async fn the_billing_portal_opens_on_the_organisations_one_customer() {
    let app = app();
    app.create_org("org_buyer").await;
    let (status, problem) = app
        .call(Method::POST, "/v1/billing/portal", None, Some(&app.token))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{problem}"
    );
    let (_, created) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(json!({"plan": "professional", "term": "annual", "quantity": 3})),
            Some(&app.token),
        )
        .await;
    let first = app.pay_and_provision(created["id"].as_str().expect("id")).await;
    let customer = app
        .gateway
        .subscription(&first)
        .await
        .expect("read")
        .expect("exists")
        .customer;
    // More of the same plan on the same term goes onto that subscription:
    // checkout refuses to open a second one (a dry run says so too), and the
    // seats are added to the first, prorated.
    for path in ["/v1/checkout/sessions", "/v1/checkout/sessions?dry_run=true"] {
        let (status, refused) = app
            .call(
                Method::POST,
                path,
                Some(json!({"plan": "professional", "term": "annual", "quantity": 2})),
                Some(&app.token),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["code"], "already_subscribed");
        assert!(
            refused["detail"].as_str().is_some_and(|d| d.contains(&first)),
            "{refused}"
        );
    }
    let (status, added) = app
        .call(
            Method::POST,
            &format!("/v1/subscriptions/{first}/seats"),
            Some(json!({"product": "professional", "quantity": 2})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let extended = app
        .gateway
        .subscription(&first)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        extended.items.iter().map(|i| i.quantity).sum::<u32>(),
        5,
        "{extended:?}"
    );
    let (_, again) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(json!({"plan": "essential", "term": "monthly", "quantity": 2})),
            Some(&app.token),
        )
        .await;
    let second = app.pay_and_provision(again["id"].as_str().expect("id")).await;
    assert_ne!(first, second);
    assert_eq!(
        app.gateway
            .subscription(&second)
            .await
            .expect("read")
            .expect("exists")
            .customer,
        customer,
        "the second purchase is on the organisation's customer, not a new one"
    );
    let (status, portal) = app
        .call(Method::POST, "/v1/billing/portal", None, Some(&app.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{portal}");
    assert_eq!(portal["url"], format!("http://pay.local/billing/{customer}"));
    assert_eq!(
        app.gateway.customer_invoices(&customer).len(),
        3,
        "both purchases' invoices, and the added seats' proration, in the one billing portal"
    );
    let member = mint(&app.state, "org_buyer", Role::Member);
    let (status, _) = app
        .call(Method::POST, "/v1/billing/portal", None, Some(&member))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// An admin ends a subscription at its period's end, sees it first as a
/// preview, and takes it back; the seats stay meanwhile, the provider holds
/// the same state, and each change is audited under the admin.
#[tokio::test]
async fn a_subscription_ends_at_its_period_end_and_renews_again_when_taken_back() {
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
    let uri = format!("/v1/subscriptions/{sub}/cancellation");
    let admin = seatflow_domain::Actor {
        org: OrgId::parse("org_buyer").expect("id"),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_buyer").expect("id")),
        role: Role::Admin,
        teams: vec![],
        grants_admin: true,
    };
    let overview = || async {
        app.state
            .seats
            .subscriptions()
            .subscription_overviews(&admin)
            .await
            .expect("subscriptions")
            .remove(0)
    };
    let purchased = || async {
        app.state
            .seats
            .views()
            .licenses(&admin)
            .await
            .expect("licenses")
            .iter()
            .map(|l| l.purchased)
            .sum::<u32>()
    };
    let seats_before = purchased().await;
    app.clock.advance(chrono::Duration::days(30));

    let (status, preview) = app
        .call(
            Method::POST,
            &format!("{uri}?dry_run=true"),
            None,
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (
            preview["dry_run"].as_bool(),
            preview["cancel_at_period_end"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(preview["audit"]["action"], "cancellation_scheduled");
    assert!(overview().await.renews_at.is_some(), "a preview changes nothing");
    let provider = app.gateway.subscription(&sub).await.expect("ok").expect("exists");
    assert!(!provider.cancel_at_period_end);

    let (status, cancelled) = app.call(Method::POST, &uri, None, Some(&app.token)).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["changed"], true);
    let now = overview().await;
    assert!(now.cancel_at_period_end && now.renews_at.is_none());
    assert_eq!(cancelled["ends_at"], json!(now.current_period_end));
    assert_eq!(
        purchased().await,
        seats_before,
        "seats stay until the period ends"
    );
    let provider = app.gateway.subscription(&sub).await.expect("ok").expect("exists");
    assert!(provider.cancel_at_period_end, "the provider holds the same state");
    let audit = app
        .state
        .seats
        .views()
        .audit(&admin, None, 1)
        .await
        .expect("audit");
    assert_eq!(
        audit.entries[0].action,
        seatflow_domain::AuditAction::CancellationScheduled
    );
    assert_eq!(audit.entries[0].actor.principal, admin.principal);

    // Asking again changes nothing; a member may not; nor another organisation.
    let (_, again) = app.call(Method::POST, &uri, None, Some(&app.token)).await;
    assert_eq!(
        (again["changed"].as_bool(), again["audit"].is_null()),
        (Some(false), true)
    );
    let member = mint(&app.state, "org_buyer", Role::Member);
    let (status, _) = app.call(Method::DELETE, &uri, None, Some(&member)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.create_org("org_other").await;
    let other = mint(&app.state, "org_other", Role::Admin);
    let (status, _) = app.call(Method::DELETE, &uri, None, Some(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, resumed) = app.call(Method::DELETE, &uri, None, Some(&app.token)).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["audit"]["action"], "cancellation_undone");
    let now = overview().await;
    assert!(!now.cancel_at_period_end && now.renews_at.is_some());
    let provider = app.gateway.subscription(&sub).await.expect("ok").expect("exists");
    assert!(!provider.cancel_at_period_end);

    let (status, problem) = app
        .call(Method::POST, &uri, None, Some(&app.token).map(|_| "sfk_nope"))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

/// Fewer seats from the next renewal on: never below what is assigned unless
/// the admin accepts going over the limit; the provider bills the lower
/// number from the next period; the seats paid for stay until the period
/// ends; at the renewal the pool holds the lower number, holders keep their
/// seats, and the pool shows over its limit.
#[tokio::test]
async fn seats_decrease_at_renewal_and_the_paid_ones_stay_until_then() {
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
    let admin = seatflow_domain::Actor {
        org: OrgId::parse("org_buyer").expect("id"),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_buyer").expect("id")),
        role: Role::Admin,
        teams: vec![],
        grants_admin: true,
    };
    let professional: seatflow_domain::ProductId = "professional".parse().expect("id");
    for n in 0..5 {
        let person = seatflow_domain::NewUser {
            id: None,
            name: seatflow_domain::DisplayName::parse(&format!("Holder {n}")).expect("name"),
            email: Some(seatflow_domain::Email::parse(&format!("holder{n}@buyer.example")).expect("email")),
            directory: None,
            role: Role::Member,
            team: None,
        };
        app.state
            .seats
            .directory()
            .create_user(&admin, person, Some(&professional), Mode::Apply)
            .await
            .expect("holder");
    }
    app.clock.advance(chrono::Duration::days(60));
    let uri = format!("/v1/subscriptions/{sub}/renewal-seats");
    let pool = || async {
        app.state
            .seats
            .views()
            .licenses(&admin)
            .await
            .expect("licenses")
            .into_iter()
            .find(|l| l.product == professional)
            .expect("pool")
    };

    let (status, problem) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"product": "professional", "quantity": 4})),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("decrease_below_assigned")),
        "{problem}"
    );
    let (status, problem) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"product": "professional", "quantity": 3, "accept_over_limit": true})),
            Some(&app.token),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("add_on_exceeds_base_seats")
        ),
        "4 SSO seats need 4 base seats"
    );
    let (status, problem) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"product": "professional", "quantity": 20})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let body = json!({"product": "professional", "quantity": 4, "accept_over_limit": true});
    let (status, preview) = app
        .call(
            Method::PUT,
            &format!("{uri}?dry_run=true"),
            Some(body.clone()),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (
            preview["dry_run"].as_bool(),
            preview["quantity_now"].as_u64(),
            preview["quantity_at_renewal"].as_u64()
        ),
        (Some(true), Some(12), Some(4))
    );
    assert_eq!(preview["pool_at_renewal"], 4);
    assert_eq!(preview["audit"]["action"], "renewal_seats_reduced");
    assert_eq!(
        provider_quantity(&app, &sub).await,
        12,
        "a preview changes nothing"
    );

    let (status, reduced) = app
        .call(Method::PUT, &uri, Some(body.clone()), Some(&app.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{reduced}");
    assert_eq!(
        provider_quantity(&app, &sub).await,
        4,
        "the provider bills 4 from the renewal"
    );
    assert!(
        app.gateway.invoices(&sub).len() == 1,
        "no proration: nothing is credited or charged now"
    );
    let now = pool().await;
    assert_eq!(
        (now.purchased, now.assigned, now.over_limit),
        (12, 5, false),
        "paid seats stay"
    );
    let overview = app
        .state
        .seats
        .subscriptions()
        .subscription_overviews(&admin)
        .await
        .expect("overview")
        .remove(0);
    let item = overview
        .items
        .iter()
        .find(|i| i.product == professional)
        .expect("item");
    assert_eq!((item.quantity, item.until_period_end), (4, Some(12)));
    let (_, again) = app.call(Method::PUT, &uri, Some(body), Some(&app.token)).await;
    assert_eq!(again["changed"], false);

    // The provider's own event for the change finds the seats kept.
    let provisioner_view = app.gateway.subscription(&sub).await.expect("ok").expect("exists");
    let system = seatflow_domain::Actor::system(admin.org.clone(), "provisioner");
    let snapshot = provisioner_view.snapshot(&app.catalog).expect("snapshot");
    app.clock.advance(chrono::Duration::seconds(5));
    app.state
        .seats
        .subscriptions()
        .apply_subscription(&system, &snapshot, "evt_updated", app.clock.now(), Mode::Apply)
        .await
        .expect("applied");
    assert_eq!(pool().await.purchased, 12);

    // The renewal: a new period, 4 seats; holders stay, the pool is over its limit.
    let mut renewed = provisioner_view.clone();
    for item in &mut renewed.items {
        item.current_period_start = item.current_period_end;
        item.current_period_end = item
            .current_period_end
            .map(|end| end + chrono::Duration::days(365));
    }
    app.gateway.put_subscription(renewed.clone());
    app.clock.advance(chrono::Duration::days(310));
    app.state
        .seats
        .subscriptions()
        .apply_subscription(
            &system,
            &renewed.snapshot(&app.catalog).expect("snapshot"),
            "evt_renewed",
            app.clock.now(),
            Mode::Apply,
        )
        .await
        .expect("renewal applied");
    let after = pool().await;
    assert_eq!((after.purchased, after.assigned, after.over_limit), (4, 5, true));
}

/// A plan upgrade moves the holders to the new plan and bills the
/// difference for the rest of the period; a term change starts a new period
/// now; each is previewed first, and asking again changes nothing.
#[tokio::test]
async fn a_plan_upgrade_moves_the_holders_and_a_term_change_starts_a_new_period() {
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
    let admin = seatflow_domain::Actor {
        org: OrgId::parse("org_buyer").expect("id"),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_buyer").expect("id")),
        role: Role::Admin,
        teams: vec![],
        grants_admin: true,
    };
    let professional: seatflow_domain::ProductId = "professional".parse().expect("id");
    let enterprise: seatflow_domain::ProductId = "enterprise".parse().expect("id");
    let mut holders = Vec::new();
    for n in 0..3 {
        let person = seatflow_domain::NewUser {
            id: None,
            name: seatflow_domain::DisplayName::parse(&format!("Holder {n}")).expect("name"),
            email: Some(seatflow_domain::Email::parse(&format!("holder{n}@buyer.example")).expect("email")),
            directory: None,
            role: Role::Member,
            team: None,
        };
        let created = app
            .state
            .seats
            .directory()
            .create_user(&admin, person, Some(&professional), Mode::Apply)
            .await
            .expect("holder");
        holders.push(created.value.user.id);
    }
    app.clock.advance(chrono::Duration::days(91));
    let uri = format!("/v1/subscriptions/{sub}/plan");
    let provider = || async { app.gateway.subscription(&sub).await.expect("ok").expect("exists") };
    let pool = |product: seatflow_domain::ProductId| {
        let admin = admin.clone();
        let seats = app.state.seats.clone();
        async move {
            seats
                .views()
                .licenses(&admin)
                .await
                .expect("licenses")
                .into_iter()
                .find(|l| l.product == product)
                .map(|l| (l.purchased, l.assigned))
        }
    };

    // What the upgrade costs: Enterprise for the rest of the period, less the
    // unused Professional time, as Stripe prorates it.
    let item = provider().await.items[0].clone();
    let (start, end) = (
        item.current_period_start.expect("start"),
        item.current_period_end.expect("end"),
    );
    let (remaining, period) = ((end - app.clock.now()).num_seconds(), (end - start).num_seconds());
    let price = |p: &seatflow_domain::ProductId| {
        app.catalog
            .product(p)
            .expect("plan")
            .price(seatflow_domain::Term::Annual)
            .amount_for(12)
            .expect("amount")
    };
    let expected = seatflow_domain::mul_div_round(price(&enterprise), remaining, period)
        - seatflow_domain::mul_div_round(price(&professional), remaining, period);

    let (status, preview) = app
        .call(
            Method::PUT,
            &format!("{uri}?dry_run=true"),
            Some(json!({"plan": "enterprise"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        (preview["plan_before"].as_str(), preview["plan_after"].as_str()),
        (Some("professional"), Some("enterprise"))
    );
    assert_eq!(preview["seats_moving"], 3);
    assert_eq!(preview["amount_due"]["minor"].as_i64(), Some(expected));
    assert_eq!(preview["audit"]["action"], "plan_changed");
    assert_eq!(
        provider().await.items[0].lookup_key.as_deref(),
        Some("seatflow_professional_annual")
    );

    let (status, upgraded) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"plan": "enterprise"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{upgraded}");
    assert_eq!(
        provider().await.items[0].lookup_key.as_deref(),
        Some("seatflow_enterprise_annual")
    );
    let invoice = app.gateway.invoices(&sub).pop().expect("proration invoice");
    assert_eq!(invoice.total, expected, "billed what was shown");
    assert_eq!(pool(enterprise.clone()).await, Some((12, 3)));
    assert_eq!(pool(professional.clone()).await, Some((0, 0)));
    for holder in &holders {
        let seats = app
            .state
            .seats
            .directory()
            .user(&admin, holder)
            .await
            .expect("user")
            .seats;
        assert_eq!(
            seats.iter().map(|s| s.product.as_str()).collect::<Vec<_>>(),
            ["enterprise"]
        );
    }
    let (_, again) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"plan": "enterprise"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(again["changed"], false);

    // Monthly from now on: a new period starts, billed whole, less the
    // unused annual time.
    let (status, monthly) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"term": "monthly"})),
            Some(&app.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{monthly}");
    let now = provider().await;
    assert!(
        now.items
            .iter()
            .all(|i| i.lookup_key.as_deref().is_some_and(|k| k.ends_with("_monthly")))
    );
    assert!(
        now.items
            .iter()
            .all(|i| i.current_period_start == Some(app.clock.now()))
    );
    let invoice = app.gateway.invoices(&sub).pop().expect("invoice");
    assert_eq!(Some(invoice.total), monthly["amount_due"]["minor"].as_i64());
    let overview = app
        .state
        .seats
        .subscriptions()
        .subscription_overviews(&admin)
        .await
        .expect("overview")
        .remove(0);
    assert_eq!(overview.term, Some(seatflow_domain::Term::Monthly));
    assert_eq!(
        pool(enterprise.clone()).await,
        Some((12, 3)),
        "a term change moves no seat"
    );

    let (status, problem) = app
        .call(Method::PUT, &uri, Some(json!({"plan": "sso"})), Some(&app.token))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_plan"))
    );
    let member = mint(&app.state, "org_buyer", Role::Member);
    let (status, _) = app
        .call(
            Method::PUT,
            &uri,
            Some(json!({"plan": "essential"})),
            Some(&member),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
