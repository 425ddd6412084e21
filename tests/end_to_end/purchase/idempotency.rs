//! Safe retries of a seat change: `Idempotency-Key` replays the first answer,
//! never adds seats twice, not even when the first attempt died after Stripe
//! applied the change.

use seatflow_testkit::HeldPayments;

use super::*;

/// Sends a seat change to `router` with `key`.
async fn add_seats(
    router: &axum::Router,
    token: &str,
    sub: &str,
    body: Value,
    key: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/subscriptions/{sub}/seats"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("answered");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn bought(app: &App) -> String {
    app.subscribe("professional", "annual", 12).await
}

#[tokio::test]
async fn the_same_key_replays_the_first_answer_and_adds_the_seats_once() {
    let app = app();
    let sub = bought(&app).await;
    let three = json!({"product": "professional", "quantity": 3});
    let (status, headers, first) = add_seats(&app.router, &app.token, &sub, three.clone(), Some("k-1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    let (status, headers, again) = add_seats(&app.router, &app.token, &sub, three.clone(), Some("k-1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first, "the first answer, replayed");
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(provider_quantity(&app, &sub).await, 15, "added once: 12 + 3");

    // The key with another request is refused; a fresh key acts again.
    let (status, _, problem) = add_seats(
        &app.router,
        &app.token,
        &sub,
        json!({"product": "professional", "quantity": 4}),
        Some("k-1"),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused"))
    );
    let (status, _, _) = add_seats(&app.router, &app.token, &sub, three, Some("k-2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(provider_quantity(&app, &sub).await, 18);
    for bad in ["", "has space", &"x".repeat(201)] {
        let (status, _, problem) = add_seats(
            &app.router,
            &app.token,
            &sub,
            json!({"product": "professional", "quantity": 1}),
            Some(bad),
        )
        .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_idempotency_key")),
            "{bad:?}"
        );
    }
    assert_eq!(
        provider_quantity(&app, &sub).await,
        18,
        "refused requests change nothing"
    );
}

#[tokio::test]
async fn a_retry_after_the_first_attempt_died_adds_the_seats_once() {
    let app = app();
    let sub = bought(&app).await;
    let three = json!({"product": "professional", "quantity": 3});
    let dying = seatflow_checkout::router(CheckoutState {
        payments: Arc::new(HeldPayments::dies_after_change(Arc::new(app.gateway.clone()))),
        ..app.checkout.clone()
    });
    let killed = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        add_seats(&dying, &app.token, &sub, three.clone(), Some("k-crash")),
    )
    .await;
    assert!(killed.is_err(), "the first attempt never answered");
    assert_eq!(provider_quantity(&app, &sub).await, 15, "Stripe applied it");

    // At once, the key is still held by the dead attempt.
    let (status, _, problem) = add_seats(&app.router, &app.token, &sub, three.clone(), Some("k-crash")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_key_in_use"))
    );
    // After the lease, the retry carries out the first attempt's plan with
    // the same key at Stripe: answered, and applied once.
    app.clock.advance(chrono::Duration::minutes(2));
    let (status, _, answer) = add_seats(&app.router, &app.token, &sub, three, Some("k-crash")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (
            answer["quantity_before"].as_u64(),
            answer["quantity_after"].as_u64()
        ),
        (Some(12), Some(15)),
        "the first attempt's plan"
    );
    assert_eq!(provider_quantity(&app, &sub).await, 15, "not 18");
}

/// The one retry strategy without a key: the client states the quantity it
/// saw, so a retry of a request that was carried out adds nothing.
#[tokio::test]
async fn stating_the_quantity_seen_adds_the_seats_once_without_a_key() {
    let app = app();
    let sub = bought(&app).await;
    let from_12 = json!({"product": "professional", "quantity": 3, "quantity_before": 12});
    let (status, _, first) = add_seats(&app.router, &app.token, &sub, from_12.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["quantity_after"], 15);
    let (status, _, problem) = add_seats(&app.router, &app.token, &sub, from_12.clone(), None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("quantity_changed")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("15") && d.contains("12")),
        "{problem}"
    );
    assert_eq!(provider_quantity(&app, &sub).await, 15, "added once");

    // From the quantity it holds now, the client adds again.
    let from_15 = json!({"product": "professional", "quantity": 3, "quantity_before": 15});
    let (status, _, answer) = add_seats(&app.router, &app.token, &sub, from_15, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(provider_quantity(&app, &sub).await, 18);
}

#[tokio::test]
async fn a_retry_after_the_first_attempt_died_adds_the_seats_once_without_a_key() {
    let app = app();
    let sub = bought(&app).await;
    let from_12 = json!({"product": "professional", "quantity": 3, "quantity_before": 12});
    let dying = seatflow_checkout::router(CheckoutState {
        payments: Arc::new(HeldPayments::dies_after_change(Arc::new(app.gateway.clone()))),
        ..app.checkout.clone()
    });
    let killed = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        add_seats(&dying, &app.token, &sub, from_12.clone(), None),
    )
    .await;
    assert!(killed.is_err(), "the first attempt never answered");
    assert_eq!(provider_quantity(&app, &sub).await, 15, "Stripe applied it");
    let (status, _, problem) = add_seats(&app.router, &app.token, &sub, from_12, None).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("quantity_changed")),
        "{problem}"
    );
    assert_eq!(provider_quantity(&app, &sub).await, 15, "not 18");
}

/// Two attempts of one request that both priced from 12 reach Stripe
/// together: they carry the same derived key, so Stripe changes once.
#[tokio::test]
async fn attempts_racing_to_stripe_from_the_same_quantity_add_the_seats_once() {
    let app = app();
    let sub = bought(&app).await;
    let from_12 = json!({"product": "professional", "quantity": 3, "quantity_before": 12});
    let racing = seatflow_checkout::router(CheckoutState {
        payments: Arc::new(HeldPayments::racing(Arc::new(app.gateway.clone()), 2)),
        ..app.checkout.clone()
    });
    let (a, b) = tokio::join!(
        add_seats(&racing, &app.token, &sub, from_12.clone(), None),
        add_seats(&racing, &app.token, &sub, from_12, None),
    );
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{} {}", a.2, b.2);
    assert_eq!(provider_quantity(&app, &sub).await, 15, "one change at Stripe");
}

/// With a key too, a request priced from another quantity is refused, and
/// the key stays free for the corrected request.
#[tokio::test]
async fn a_key_with_a_stale_quantity_is_refused_and_freed() {
    let app = app();
    let sub = bought(&app).await;
    let stale = json!({"product": "professional", "quantity": 3, "quantity_before": 10});
    let (status, _, problem) = add_seats(&app.router, &app.token, &sub, stale, Some("k-q")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("quantity_changed")),
        "{problem}"
    );
    assert_eq!(provider_quantity(&app, &sub).await, 12, "nothing changed");
    let fresh = json!({"product": "professional", "quantity": 3, "quantity_before": 12});
    let (status, _, answer) = add_seats(&app.router, &app.token, &sub, fresh.clone(), Some("k-q")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, headers, again) = add_seats(&app.router, &app.token, &sub, fresh, Some("k-q")).await;
    assert_eq!((status, &again), (StatusCode::OK, &answer));
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(provider_quantity(&app, &sub).await, 15, "added once");
}
