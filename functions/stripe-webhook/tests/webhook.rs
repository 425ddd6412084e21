//! The webhook router: Stripe's signature scheme on real event shapes (built
//! from Stripe's own fixture objects), what gets queued, and what is refused.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use seatflow_domain::{Clock, ManualClock};
use seatflow_memory::MemoryJobQueue;
use seatflow_stripe_webhook::{WebhookState, router, signature};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const SECRET: &str = "whsec_test_0123456789abcdef";

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/stripe/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// An event envelope shaped like Stripe's, around `object`.
fn event(id: &str, kind: &str, object: Value) -> Value {
    let mut event = fixture("event");
    event["id"] = json!(id);
    event["type"] = json!(kind);
    event["created"] = json!(1_790_000_000);
    event["api_version"] = json!("2026-09-30.endive");
    event["data"] = json!({ "object": object });
    event
}

fn subscription(id: &str, customer: &str) -> Value {
    let mut sub = fixture("subscription");
    sub["id"] = json!(id);
    sub["customer"] = json!(customer);
    sub["metadata"] = json!({ "org": "org_acme" });
    sub
}

/// Signatures refused by every harness of this binary (the hook is a plain
/// function, as the Lambda entry point's metric is).
static REFUSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn count_refusal() {
    REFUSED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

struct Harness {
    queue: Arc<MemoryJobQueue>,
    clock: Arc<ManualClock>,
    router: axum::Router,
}

fn harness() -> Harness {
    let queue = Arc::new(MemoryJobQueue::new());
    let clock = Arc::new(ManualClock::at(
        chrono::DateTime::from_timestamp(1_790_000_100, 0).expect("time"),
    ));
    let state = WebhookState {
        secret: Arc::new(SecretString::from(SECRET)),
        queue: queue.clone(),
        clock: clock.clone(),
        on_refused_signature: count_refusal,
    };
    Harness {
        queue,
        clock: clock.clone(),
        router: router(state),
    }
}

impl Harness {
    fn signature(&self, body: &[u8], secret: &str) -> String {
        let t = self.clock.now().timestamp();
        format!("t={t},v1={}", signature::sign(secret.as_bytes(), t, body))
    }

    async fn post(&self, body: &[u8], signature: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::post("/v1/stripe/webhook").header("content-type", "application/json");
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body.to_vec())).expect("request"))
            .await
            .expect("ok");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_signed_subscription_event_queues_one_job_in_its_subscription_group() {
    let h = harness();
    let body = event(
        "evt_sub_1",
        "customer.subscription.updated",
        subscription("sub_123", "cus_9"),
    )
    .to_string();
    let sig = h.signature(body.as_bytes(), SECRET);
    let (status, ack) = h.post(body.as_bytes(), Some(&sig)).await;
    assert_eq!((status, ack["queued"].as_bool()), (StatusCode::OK, Some(true)));
    // Stripe delivers at least once: the same event again queues nothing more.
    let (status, _) = h.post(body.as_bytes(), Some(&sig)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.queue.len(), 1);
    let job = h.queue.pop().expect("queued");
    assert_eq!(
        (job.event_id.as_str(), job.group.as_str()),
        ("evt_sub_1", "sub_123")
    );
    assert_eq!(job.event_type, "customer.subscription.updated");
    assert_eq!(job.occurred_at.timestamp(), 1_790_000_000);
    assert_eq!(
        job.subject,
        seatflow_domain::JobSubject::Subscription {
            id: "sub_123".into(),
            org: Some("org_acme".into())
        },
        "what it is about travels, read once: nothing later parses Stripe's JSON"
    );
}

#[tokio::test]
async fn invoices_are_grouped_by_their_subscription_and_sessions_by_customer_until_one_exists() {
    let h = harness();
    let mut invoice = fixture("invoice");
    invoice["id"] = json!("in_1");
    invoice["customer"] = json!("cus_9");
    invoice["parent"] = json!({ "type": "subscription_details", "subscription_details": { "subscription": "sub_777", "metadata": {} } });
    let mut session = fixture("checkout_session");
    session["id"] = json!("cs_1");
    session["customer"] = json!("cus_42");
    session["subscription"] = Value::Null;
    for (id, kind, object, group) in [
        ("evt_in", "invoice.paid", invoice, "sub_777"),
        ("evt_cs", "checkout.session.completed", session, "cus_42"),
    ] {
        let body = event(id, kind, object).to_string();
        let (status, _) = h
            .post(body.as_bytes(), Some(&h.signature(body.as_bytes(), SECRET)))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h.queue.pop().expect("queued").group, group, "{kind}");
    }
}

#[tokio::test]
async fn unknown_types_and_api_versions_are_acknowledged_and_not_queued() {
    let h = harness();
    let mut future = event(
        "evt_future",
        "customer.hologram.materialized",
        json!({ "id": "holo_1" }),
    );
    future["api_version"] = json!("2099-01-01.unreleased");
    future["brand_new_field"] = json!({ "nested": [1, 2, 3] });
    for body in [fixture("event").to_string(), future.to_string()] {
        let (status, ack) = h
            .post(body.as_bytes(), Some(&h.signature(body.as_bytes(), SECRET)))
            .await;
        assert_eq!(
            (status, ack["received"].as_bool(), ack["queued"].as_bool()),
            (StatusCode::OK, Some(true), Some(false))
        );
    }
    assert!(h.queue.is_empty());
}

#[tokio::test]
async fn bad_missing_and_stale_signatures_are_refused_with_400_and_nothing_queued() {
    let h = harness();
    let body = event("evt_x", "invoice.paid", fixture("invoice")).to_string();
    let good = h.signature(body.as_bytes(), SECRET);
    let tampered = body.replace("evt_x", "evt_y");
    let t = h.clock.now().timestamp() - 301;
    let stale = format!(
        "t={t},v1={}",
        signature::sign(SECRET.as_bytes(), t, body.as_bytes())
    );
    let cases: [(&str, &[u8], Option<String>); 5] = [
        ("tampered body", tampered.as_bytes(), Some(good.clone())),
        (
            "wrong secret",
            body.as_bytes(),
            Some(h.signature(body.as_bytes(), "whsec_wrong")),
        ),
        ("stale timestamp", body.as_bytes(), Some(stale)),
        ("missing header", body.as_bytes(), None),
        ("garbage header", body.as_bytes(), Some("nonsense".into())),
    ];
    for (what, payload, signature) in cases {
        let (status, problem) = h.post(payload, signature.as_deref()).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_signature")),
            "{what}"
        );
    }
    assert!(h.queue.is_empty(), "nothing queued for a refused webhook");
}

#[tokio::test]
async fn during_secret_rotation_any_matching_v1_signature_passes() {
    let h = harness();
    let body = event(
        "evt_rot",
        "customer.subscription.created",
        subscription("sub_1", "cus_1"),
    )
    .to_string();
    let t = h.clock.now().timestamp();
    let header = format!(
        "t={t},v1={},v1={}",
        signature::sign(b"whsec_old_secret", t, body.as_bytes()),
        signature::sign(SECRET.as_bytes(), t, body.as_bytes())
    );
    let (status, _) = h.post(body.as_bytes(), Some(&header)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.queue.len(), 1);
}

#[tokio::test]
async fn a_verified_body_that_is_not_an_event_is_refused() {
    let h = harness();
    let body = br#"{"hello":"world"}"#;
    let (status, problem) = h.post(body, Some(&h.signature(body, SECRET))).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_event"))
    );
}

/// `events/stripe-webhook/*.json` are API Gateway requests signed (by
/// `scripts/sign-webhook-sample.py`) with the documented sample secret at the
/// sample's own time: through `lambda_http`'s adapter, each queues its job;
/// five minutes and a second later the same request is stale and refused.
#[tokio::test]
async fn every_sample_event_is_verified_and_queued_through_the_lambda_adapter() {
    use lambda_http::lambda_runtime::{Context, LambdaEvent};
    use lambda_http::{Adapter, Service as _};

    const SAMPLE_SECRET: &str = "whsec_seatflow_sample_events_only_not_a_secret";
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/stripe-webhook");
    let mut samples = 0;
    for entry in std::fs::read_dir(dir).expect("events/stripe-webhook") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("sample");
        let sample: Value = serde_json::from_str(&text).expect("JSON");
        let t: i64 = sample["headers"]["stripe-signature"]
            .as_str()
            .and_then(|h| h.strip_prefix("t="))
            .and_then(|h| h.split(',').next())
            .and_then(|t| t.parse().ok())
            .expect("a signed sample");
        let event: Value = serde_json::from_str(sample["body"].as_str().expect("body")).expect("an event");
        for (delay, status) in [(10, 200), (301, 400)] {
            let queue = Arc::new(MemoryJobQueue::new());
            let clock = Arc::new(ManualClock::at(
                chrono::DateTime::from_timestamp(t + delay, 0).expect("time"),
            ));
            let app = router(WebhookState {
                secret: Arc::new(SecretString::from(SAMPLE_SECRET)),
                queue: queue.clone(),
                clock,
                on_refused_signature: seatflow_stripe_webhook::count_nothing,
            });
            let request: lambda_http::request::LambdaRequest =
                serde_json::from_value(sample.clone()).expect("an API Gateway v2 event");
            let response = Adapter::from(app)
                .call(LambdaEvent::new(request, Context::default()))
                .await
                .expect("handled");
            let response = serde_json::to_value(&response).expect("response");
            assert_eq!(response["statusCode"], status, "{delay} s later: {response}");
            if status == 200 {
                let job = queue.pop().expect("one job queued");
                assert_eq!(job.event_id, event["id"].as_str().expect("id"));
                assert_eq!(
                    job.group,
                    event["data"]["object"]["id"].as_str().expect("subscription")
                );
            }
            assert!(queue.is_empty());
        }
        samples += 1;
    }
    assert!(samples >= 1);
}

#[tokio::test]
async fn a_refused_signature_is_counted_and_an_accepted_one_is_not() {
    let h = harness();
    let body = event(
        "evt_count",
        "customer.subscription.updated",
        subscription("sub_c", "cus_c"),
    )
    .to_string();
    let forged = h.signature(body.as_bytes(), "whsec_not_the_secret");
    let before = REFUSED.load(std::sync::atomic::Ordering::SeqCst);
    let (status, _) = h.post(body.as_bytes(), Some(&forged)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Other tests of this binary refuse signatures concurrently: at least ours.
    assert!(REFUSED.load(std::sync::atomic::Ordering::SeqCst) > before);
    let good = h.signature(body.as_bytes(), SECRET);
    let (status, _) = h.post(body.as_bytes(), Some(&good)).await;
    assert_eq!(status, StatusCode::OK);
}
