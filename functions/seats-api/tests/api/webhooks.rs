//! Outbound webhook endpoints through the API: HTTPS only, the secret shown
//! once, keys need `settings:write`, the delivery log and redelivery.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, Victim};

#[tokio::test]
async fn admins_manage_endpoints_see_deliveries_and_redeliver() {
    let app = TestApp::new().await;
    let victim = Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let call = |m: Method, p: String, b: Option<Value>| {
        let (app, admin) = (&app, admin.clone());
        async move { app.call(m, &p, Some(&admin), b).await }
    };

    let (status, _, refused) = call(
        Method::POST,
        "/v1/webhook-endpoints".into(),
        Some(json!({"url": "http://hooks.example.com/x", "event_types": ["seat.assigned"]})),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("https://"),
        "{refused}"
    );
    let (status, _, refused) = call(
        Method::POST,
        "/v1/webhook-endpoints".into(),
        Some(json!({"url": "https://hooks.example.com/x", "event_types": ["seat.stolen"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    let (status, _, created) = call(
        Method::POST,
        "/v1/webhook-endpoints".into(),
        Some(json!({"url": "https://hooks.example.com/seatflow", "event_types": ["seat.assigned", "seat.revoked"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["result"]["secret"].as_str().unwrap().to_owned();
    let id = created["result"]["endpoint"]["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(
        !created["audit"].to_string().contains(&secret),
        "the audit entry holds no secret"
    );
    let (_, _, listed) = call(Method::GET, "/v1/webhook-endpoints".into(), None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(
        !listed.to_string().contains("whsec_"),
        "secrets are shown once: {listed}"
    );

    // A seat change, relayed as the stream would: a pending delivery.
    let _ = app.memory.take_outbox();
    let (status, _, _) = call(
        Method::DELETE,
        "/v1/assignments/professional/usr_ann".into(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let relay = seatflow_webhooks::Relay::new(app.memory.clone(), app.memory.clone(), app.deliveries.clone());
    assert_eq!(
        relay.relay(&app.memory.take_outbox()).await.unwrap(),
        4,
        "2 endpoints × (sso and professional revoked)"
    );
    let (status, _, log) = call(
        Method::GET,
        format!("/v1/webhook-endpoints/{id}/deliveries?limit=10"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter()
            .all(|d| d["status"] == "pending" && d["event_type"] == "seat.revoked")
    );
    let event = log[0]["event_id"].as_str().unwrap();
    let (status, _, refused) = call(
        Method::GET,
        format!("/v1/webhook-endpoints/{id}/deliveries?limit=0"),
        None,
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query")),
        "{refused}"
    );

    let queued = app.deliveries.len();
    let (status, _, again) = call(
        Method::POST,
        format!("/v1/webhook-endpoints/{id}/deliveries/{event}/redeliver"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(
        (again["status"].as_str(), again["attempts"].as_u64()),
        (Some("pending"), Some(0))
    );
    assert_eq!(app.deliveries.len(), queued + 1);
    let (status, _, missing) = call(
        Method::POST,
        format!("/v1/webhook-endpoints/{id}/deliveries/evt_nothing/redeliver"),
        None,
    )
    .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    let (status, _, disabled) = call(
        Method::PATCH,
        format!("/v1/webhook-endpoints/{id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(
        (status, disabled["result"]["enabled"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let (status, _, refused) = call(
        Method::POST,
        format!("/v1/webhook-endpoints/{id}/deliveries/{event}/redeliver"),
        None,
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("endpoint_disabled"))
    );

    let (status, _, rotated) = call(
        Method::POST,
        format!("/v1/webhook-endpoints/{id}/secret"),
        Some(json!({"overlap_hours": 200})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rotated}");
    let (status, _, rotated) = call(
        Method::POST,
        format!("/v1/webhook-endpoints/{id}/secret"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["result"]["secret"].as_str(), Some(secret.as_str()));
    assert_eq!(
        rotated["result"]["endpoint"]["secrets"].as_array().unwrap().len(),
        2,
        "the old one overlaps"
    );

    let (status, _, _) = call(
        Method::DELETE,
        format!("/v1/webhook-endpoints/{}", victim.endpoint_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(
        Method::GET,
        format!("/v1/webhook-endpoints/{}", victim.endpoint_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn keys_need_settings_write_and_members_get_nothing() {
    let app = TestApp::new().await;
    Victim::seed(&app).await;
    let admin = app.token("usr_admin", "org_victim", seatflow_domain::Role::Admin, &[]);
    let mut keys = Vec::new();
    for scopes in [json!(["seats:write", "users:write"]), json!(["settings:write"])] {
        let (_, _, created) = app
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(&admin),
                Some(json!({"name": "integration", "scopes": scopes})),
            )
            .await;
        keys.push(created["result"]["secret"].as_str().unwrap().to_owned());
    }
    let (status, _, problem) = app
        .call(Method::GET, "/v1/webhook-endpoints", Some(&keys[0]), None)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    let (status, _, listed) = app
        .call(Method::GET, "/v1/webhook-endpoints", Some(&keys[1]), None)
        .await;
    assert_eq!(
        (status, listed.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let member = app.token("usr_cat", "org_victim", seatflow_domain::Role::Member, &[]);
    let (status, _, _) = app
        .call(Method::GET, "/v1/webhook-endpoints", Some(&member), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
