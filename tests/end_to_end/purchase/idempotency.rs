//! Safe retries of a seat change: `Idempotency-Key` replays the first answer,
//! never adds seats twice, not even when the first attempt died after Stripe
//! applied the change.

use seatflow_domain::{
    CheckoutSession, ItemQuantity, NewCheckout, PaymentError, PaymentGateway, ProrationBehavior,
    ProviderSubscription,
};

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

async fn provider_quantity(app: &App, sub: &str) -> u32 {
    app.gateway
        .subscription(sub)
        .await
        .expect("read")
        .expect("exists")
        .items[0]
        .quantity
}

async fn bought(app: &App) -> String {
    app.create_org("org_buyer").await;
    let (_, created) = app
        .call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(json!({"plan": "professional", "term": "annual", "quantity": 12})),
            Some(&app.token),
        )
        .await;
    app.pay_and_provision(created["id"].as_str().expect("id")).await
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

/// Stripe, offline, that applies a change and then never answers: the
/// Lambda dies after Stripe did the work.
#[derive(Debug)]
struct DiesAfterStripe(OfflinePaymentGateway);

#[async_trait::async_trait]
impl PaymentGateway for DiesAfterStripe {
    async fn create_checkout(&self, checkout: &NewCheckout) -> Result<CheckoutSession, PaymentError> {
        self.0.create_checkout(checkout).await
    }

    async fn checkout_session(&self, id: &str) -> Result<Option<CheckoutSession>, PaymentError> {
        self.0.checkout_session(id).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<ProviderSubscription>, PaymentError> {
        self.0.subscription(id).await
    }

    async fn set_cancel_at_period_end(
        &self,
        subscription: &str,
        cancel: bool,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.0
            .set_cancel_at_period_end(subscription, cancel, idempotency_key)
            .await
    }

    async fn change_prices(
        &self,
        subscription: &str,
        changes: &[seatflow_domain::ItemQuantity],
        proration: seatflow_domain::ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.0
            .change_prices(subscription, changes, proration, idempotency_key)
            .await
    }

    async fn billing_portal(&self, customer: &str, return_url: &str) -> Result<String, PaymentError> {
        self.0.billing_portal(customer, return_url).await
    }

    async fn subscriptions_page(
        &self,
        starting_after: Option<&str>,
    ) -> Result<seatflow_domain::SubscriptionPage, PaymentError> {
        self.0.subscriptions_page(starting_after).await
    }

    async fn preview_quantity_change(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, PaymentError> {
        self.0
            .preview_quantity_change(subscription, change, proration, at)
            .await
    }

    async fn set_quantity(
        &self,
        subscription: &str,
        change: &ItemQuantity,
        proration: ProrationBehavior,
        idempotency_key: Option<&str>,
    ) -> Result<ProviderSubscription, PaymentError> {
        self.0
            .set_quantity(subscription, change, proration, idempotency_key)
            .await?;
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_retry_after_the_first_attempt_died_adds_the_seats_once() {
    let app = app();
    let sub = bought(&app).await;
    let three = json!({"product": "professional", "quantity": 3});
    let dying = seatflow_checkout::router(CheckoutState {
        payments: Arc::new(DiesAfterStripe(app.gateway.clone())),
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
