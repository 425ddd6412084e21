//! The Stripe client against a local stand-in of Stripe's API (wiremock):
//! what every request carries, and when a failed request is retried, with
//! which idempotency key, and when not.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use seatflow_stripe::{API_VERSION, StripeApi, StripeError};
use serde_json::json;
use stripe_client_core::{RequestBuilder, RequestStrategy, StripeMethod};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn send(api: &StripeApi, request: RequestBuilder) -> Result<serde_json::Value, StripeError> {
    api.send(request).await
}

fn client(server: &MockServer, strategy: RequestStrategy) -> StripeApi {
    StripeApi::new("sk_test_standin", Some(&format!("{}/", server.uri())), strategy).expect("client")
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording")
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn stripe_error(code: &str) -> serde_json::Value {
    json!({"error": {"type": "api_error", "code": code, "message": "try later"}})
}

#[tokio::test]
async fn a_request_carries_the_key_the_pinned_version_and_its_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "cus_1"})))
        .mount(&server)
        .await;

    send(
        &client(&server, RequestStrategy::Once),
        RequestBuilder::new(StripeMethod::Post, "/customers")
            .form(&BTreeMap::from([("email", "a@b.example")])),
    )
    .await
    .expect("sent");

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(header(request, "authorization"), Some("Bearer sk_test_standin"));
    assert_eq!(header(request, "stripe-version"), Some(API_VERSION));
    assert_eq!(
        header(request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(header(request, "user-agent").is_some_and(|a| a.starts_with("seatflow/")));
    let form: Vec<(String, String)> = form_urlencoded::parse(&request.body).into_owned().collect();
    assert_eq!(form, [("email".to_owned(), "a@b.example".to_owned())]);
    assert_eq!(header(request, "idempotency-key"), None, "Once sends no key");
}

#[tokio::test]
async fn a_failed_write_is_retried_with_the_same_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(500).set_body_json(stripe_error("api_error")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "sub_1"})))
        .mount(&server)
        .await;

    let answer = send(
        &client(&server, RequestStrategy::Retry(3)),
        RequestBuilder::new(StripeMethod::Post, "/subscriptions/sub_1")
            .form(&BTreeMap::from([("quantity", "2")])),
    )
    .await;

    assert!(answer.is_ok(), "{answer:?}");
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2, "one failure, one retry");
    let first = header(&requests[0], "idempotency-key").expect("a key");
    assert!(!first.is_empty());
    assert_eq!(
        header(&requests[1], "idempotency-key"),
        Some(first),
        "so Stripe applies it once"
    );
}

#[tokio::test]
async fn a_refusal_or_stripes_do_not_retry_ends_the_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/prices"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"type": "invalid_request_error", "code": "parameter_unknown", "message": "Received unknown parameter: x"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/invoices"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Stripe-Should-Retry", "false")
                .set_body_json(stripe_error("api_error")),
        )
        .mount(&server)
        .await;
    let api = client(&server, RequestStrategy::Retry(3));

    let refused = send(&api, RequestBuilder::new(StripeMethod::Get, "/prices")).await;
    match refused {
        Err(StripeError::Api {
            status,
            kind,
            code,
            message,
        }) => {
            assert_eq!(status, 400);
            assert_eq!(kind, "invalid_request_error");
            assert_eq!(code.as_deref(), Some("parameter_unknown"));
            assert_eq!(message.as_deref(), Some("Received unknown parameter: x"));
        }
        other => panic!("{other:?}"),
    }
    let advised = send(&api, RequestBuilder::new(StripeMethod::Get, "/invoices")).await;
    assert!(
        matches!(advised, Err(StripeError::Api { status: 503, .. })),
        "{advised:?}"
    );

    assert_eq!(received(&server).await.len(), 2, "neither was retried");
}

#[tokio::test]
async fn an_attempt_without_an_answer_times_out_and_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "balance"}))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let api = client(&server, RequestStrategy::Retry(2)).with_attempt_timeout(Duration::from_millis(200));

    let answer = send(&api, RequestBuilder::new(StripeMethod::Get, "/balance")).await;

    assert!(
        matches!(answer, Err(StripeError::Timeout(t)) if t == Duration::from_millis(200)),
        "{answer:?}"
    );
    assert_eq!(received(&server).await.len(), 2, "each attempt had its budget");
}

#[tokio::test]
async fn an_unreachable_stripe_is_a_transport_error() {
    // Port 9 (discard) on loopback: nothing listens there.
    let api = StripeApi::new(
        "sk_test_standin",
        Some("http://127.0.0.1:9/"),
        RequestStrategy::Once,
    )
    .expect("client");

    let answer = send(&api, RequestBuilder::new(StripeMethod::Get, "/balance")).await;

    assert!(matches!(answer, Err(StripeError::Transport(_))), "{answer:?}");
}
