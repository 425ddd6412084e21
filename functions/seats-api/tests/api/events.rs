//! Every sample event in `events/seats-api/` runs through `lambda_http`'s
//! adapter (the path `lambda_http::run` takes on Lambda) into the router, on
//! a freshly seeded app, and produces the expected API Gateway response.

use std::collections::BTreeMap;

use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _};
use serde_json::Value;

use crate::harness::{TestApp, Victim};

pub(crate) const SAMPLE_KEY: &str = "sfk_sample_events_only_not_a_secret";

pub(crate) fn samples() -> BTreeMap<String, Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/seats-api");
    std::fs::read_dir(dir)
        .expect("events/seats-api exists")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path.file_stem().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("readable");
            (name, serde_json::from_str(&text).expect("JSON"))
        })
        .collect()
}

fn expected_status(name: &str) -> u16 {
    match name {
        "create-team"
        | "create-user"
        | "assign-seat"
        | "assign-add-on"
        | "operator-open-organization"
        | "operator-grant-seats" => 201,
        // No such grant.
        "operator-end-grant" => 404,
        "create-webhook-endpoint" => 201,
        // No such endpoint.
        "get-webhook-endpoint"
        | "update-webhook-endpoint"
        | "delete-webhook-endpoint"
        | "rotate-webhook-secret"
        | "list-webhook-deliveries"
        | "redeliver-webhook-event" => 404,
        // The samples authenticate as a machine client, which may not manage keys.
        "list-api-keys" | "create-api-key" | "revoke-api-key" => 403,
        // A machine client is no person to sign in to the portal.
        "create-portal-hand-off" => 403,
        // A machine client has no user of its own.
        "get-me" => 404,
        _ => 200,
    }
}

#[tokio::test]
async fn every_sample_event_is_handled_through_the_lambda_adapter() {
    let samples = samples();
    assert!(samples.len() >= 26, "a sample per route");
    for (name, event) in &samples {
        let app = TestApp::new().await;
        Victim::seed(&app).await;
        app.seed_api_key("org_victim", SAMPLE_KEY).await;
        let request: LambdaRequest = serde_json::from_value(event.clone()).expect("an API Gateway v2 event");
        let mut adapter = Adapter::from(app.router.clone());
        let response = adapter
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .expect("handled");
        let response = serde_json::to_value(&response).expect("an API Gateway response");
        assert_eq!(
            response["statusCode"].as_u64(),
            Some(u64::from(expected_status(name))),
            "{name}: {response}"
        );
        let body = response["body"].as_str().unwrap_or_default();
        let content_type = response["headers"]["content-type"].as_str().unwrap_or_default();
        if content_type.contains("json") {
            serde_json::from_str::<Value>(body)
                .unwrap_or_else(|e| panic!("{name}: body is not JSON ({e}): {body}"));
        } else {
            assert!(content_type.starts_with("text/csv"), "{name}: {content_type}");
            assert!(body.contains(','), "{name}: a CSV body");
        }
    }
}

#[test]
fn every_documented_operation_has_a_sample_event() {
    let samples = samples();
    let doc = serde_json::to_value(seatflow_seats_api::openapi()).expect("document");
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let pattern: Vec<&str> = template.split('/').collect();
        for method in item.as_object().expect("operations").keys() {
            let covered = samples.values().any(|event| {
                let path = event["rawPath"].as_str().unwrap_or_default();
                let parts: Vec<&str> = path.split('/').collect();
                event["requestContext"]["http"]["method"].as_str() == Some(&method.to_uppercase())
                    && parts.len() == pattern.len()
                    && parts
                        .iter()
                        .zip(&pattern)
                        .all(|(p, t)| t.starts_with('{') || p == t)
            });
            assert!(
                covered,
                "no sample event for {} {template}",
                method.to_uppercase()
            );
        }
    }
}

/// Behind API Gateway's JWT authorizer (the template's `JwtIssuerUrl`
/// option), the claims the gateway verified name the caller: through the
/// Lambda entry point's layer, with `SEATFLOW_GATEWAY_JWT` on. With it off, or
/// without the layer, the same request is unauthenticated.
#[tokio::test]
async fn gateway_verified_claims_authenticate_only_when_trusted() {
    let mut event = samples()["get-licenses"].clone();
    event["headers"].as_object_mut().expect("headers").insert(
        "authorization".into(),
        Value::String("Bearer idp-token-checked-by-the-gateway".into()),
    );
    event["requestContext"]["authorizer"] = serde_json::json!({
        "jwt": {
            "claims": {"sub": "idp|4f2a", "seatflow_user": "usr_admin", "org": "org_victim", "role": "admin",
                "iss": "https://idp.example/", "aud": "seatflow"},
            "scopes": null
        }
    });
    for (trust, layer, status) in [(true, true, 200), (false, true, 401), (true, false, 401)] {
        let mut app = TestApp::new().await;
        Victim::seed(&app).await;
        let auth = seatflow_http::Authenticator::new(
            seatflow_http::JwtConfig::new(secrecy::SecretString::from("x".repeat(32))).expect("config"),
            app.state.seats.clone(),
        )
        .trusting_gateway_claims(trust);
        app.state.auth = std::sync::Arc::new(auth);
        let router = seatflow_seats_api::router(app.state.clone());
        let router = if layer {
            seatflow_http::lambda::with_gateway_claims(router)
        } else {
            router
        };
        let request: LambdaRequest = serde_json::from_value(event.clone()).expect("an API Gateway v2 event");
        let response = Adapter::from(router)
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .expect("handled");
        let response = serde_json::to_value(&response).expect("response");
        assert_eq!(
            response["statusCode"], status,
            "trust {trust}, layer {layer}: {response}"
        );
        if status == 200 {
            assert!(
                response["body"]
                    .as_str()
                    .expect("body")
                    .contains("\"product\":\"professional\"")
            );
        }
    }
}
