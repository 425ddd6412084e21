//! The seats API function's AWS calls, recorded on the wire as it makes them
//! on moto (DynamoDB through its store, SQS through its redelivery queue),
//! are every one allowed by its role in `infra/template.yaml` as SAM
//! deploys it (`seatflow_testkit::iam`). moto enforces no IAM; this is what
//! would see the deployed function denied. Every sample event runs (a
//! request per route), then what the samples cannot reach: an admin's
//! endpoint, keys and people, a redelivery, SCIM users and groups.

use std::sync::Arc;

use axum::http::Method;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _};
use seatflow_domain::{Outbox as _, Role};
use seatflow_dynamodb::DynamoEntitlementStore;
use seatflow_testkit::aws;
use seatflow_testkit::aws_calls::CallLog;
use seatflow_testkit::iam::{Evaluation, Stack, Template};
use serde_json::{Value, json};

use crate::events::{SAMPLE_KEY, samples};
use crate::harness::{TestApp, Victim};

const FUNCTION: &str = "SeatsApiFunction";

/// Grants no call of this test uses, and why they stay.
const UNUSED_ON_PURPOSE: [(&str, &str); 0] = [];

#[tokio::test]
async fn every_aws_call_of_the_seats_api_is_allowed_by_its_role() {
    let config = aws::sdk_config().await;
    let seeding = aws::fresh_table(&config).await;
    let table = seeding.table().to_owned();
    let calls = CallLog::new();
    let store = Arc::new(DynamoEntitlementStore::new(
        calls.dynamodb(&config, FUNCTION),
        &table,
    ));
    let queue_url = aws::fresh_fifo_queue(&config).await;
    let queue = Arc::new(seatflow_sqs::SqsDeliveryQueue::new(
        calls.sqs(&config, FUNCTION),
        &queue_url,
    ));
    let seeding = Arc::new(seeding);
    let app = TestApp::on(
        seeding.clone(),
        store.clone(),
        store,
        queue,
        Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
        Arc::new(seatflow_webhooks::LocalQueue::new()),
    )
    .await;
    let victim = Victim::seed(&app).await;
    app.seed_api_key("org_victim", SAMPLE_KEY).await;

    for (name, event) in samples() {
        let request: LambdaRequest = serde_json::from_value(event).expect("an API Gateway v2 event");
        let response = Adapter::from(app.router.clone())
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .expect("handled");
        let response = serde_json::to_value(&response).expect("response");
        assert!(
            response["statusCode"].as_u64().is_some_and(|s| s < 500),
            "{name}: {response}"
        );
    }

    let admin = app.token("usr_admin", "org_victim", Role::Admin, &[]);
    let endpoint = format!("/v1/webhook-endpoints/{}", victim.endpoint_id);
    // A change, relayed as the stream would (not by this function): a
    // delivery in the log to show and to redeliver.
    let org = seatflow_domain::OrgId::parse("org_victim").expect("id");
    let events = seeding.outbox(&org, 50).await.expect("outbox");
    seatflow_webhooks::Relay::new(
        seeding.clone(),
        seeding.clone(),
        Arc::new(seatflow_webhooks::LocalQueue::new()),
    )
    .relay(&events)
    .await
    .expect("relayed");
    let (_, _, log) = app
        .call(Method::GET, &format!("{endpoint}/deliveries"), Some(&admin), None)
        .await;
    let steps: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PATCH, endpoint.clone(), Some(json!({"enabled": true}))),
        (
            Method::POST,
            format!("{endpoint}/secret"),
            Some(json!({"overlap_hours": 24})),
        ),
        (
            Method::POST,
            format!(
                "{endpoint}/deliveries/{}/redeliver",
                log[0]["event_id"].as_str().unwrap_or("evt_none")
            ),
            None,
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"name": "ci", "scopes": ["seats:read"]})),
        ),
        (
            Method::PATCH,
            "/v1/users/usr_ann".into(),
            Some(json!({"email": "ann.new@victim.example"})),
        ),
        (Method::DELETE, "/v1/users/usr_ben".into(), None),
        (Method::DELETE, endpoint.clone(), None),
        (Method::POST, "/v1/portal/hand-offs".into(), None),
    ];
    for (method, path, body) in steps {
        let (status, _, answer) = app.call(method.clone(), &path, Some(&admin), body).await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
    }
    let (_, _, key) = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "gone", "scopes": ["seats:read"]})),
        )
        .await;
    let key_id = key["result"]["key"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("key id in {key}"));
    let (status, _, _) = app
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{key_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(status.is_success(), "revoke: {status}");
    scim_lifecycle(&app, &admin).await;

    // Offline entitlement tokens configured: the function reads their keys too.
    let template =
        Template::transformed().with_parameter("EntitlementKeysSecretName", "seatflow/entitlement-keys");
    let mut recorded = calls.calls();
    recorded.extend(template.secret_reads(FUNCTION));
    let stack = Stack::new(template)
        .with_table(&table)
        .with_queue(&queue_url, "WebhookDeliveryQueue");
    assert!(
        recorded.iter().any(|c| c.operation.starts_with("SendMessage")),
        "the redelivery was queued"
    );
    let evaluation = Evaluation::of(&stack, &recorded);
    evaluation.assert_allowed();
    evaluation.assert_unused_are(&stack, &UNUSED_ON_PURPOSE);

    // The evaluator refuses what a role does not grant: the same calls made
    // by the reminders function, which may only read and write notices.
    let borrowed: Vec<_> = recorded
        .iter()
        .filter(|c| c.service == "dynamodb")
        .map(|c| seatflow_testkit::aws_calls::AwsCall {
            function: "RenewalRemindersFunction".into(),
            ..c.clone()
        })
        .collect();
    let refused = Evaluation::of(&stack, &borrowed).denied;
    for action in ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] {
        assert!(
            refused
                .iter()
                .any(|(_, r)| r.starts_with(action) && r.contains("ORG#")),
            "{action} on an organisation's items is refused to the reminders: {refused:?}"
        );
    }
}

/// A directory's key provisions a user and a group, changes both, removes both.
async fn scim_lifecycle(app: &TestApp, admin: &str) {
    let (_, _, key) = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(admin),
            Some(json!({"name": "idp", "scopes": ["scim"]})),
        )
        .await;
    let key = key["result"]["secret"].as_str().expect("secret").to_owned();
    let patch = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    let (status, _, user) = app
        .call(
            Method::POST,
            "/scim/v2/Users",
            Some(&key),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dora@victim.example",
                "externalId": "okta-dora", "name": {"givenName": "Dora", "familyName": "Sample"}, "active": true})),
        )
        .await;
    assert!(status.is_success(), "SCIM create: {status} {user}");
    let user = user["id"].as_str().expect("id").to_owned();
    let (status, _, group) = app
        .call(
            Method::POST,
            "/scim/v2/Groups",
            Some(&key),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Green",
                "members": [{"value": user}]}),
            ),
        )
        .await;
    assert!(status.is_success(), "SCIM group: {status} {group}");
    let group = group["id"].as_str().expect("id").to_owned();
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/scim/v2/Users/{user}"),
            Some(
                json!({"schemas": [patch], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Groups/{group}"),
            Some(
                json!({"schemas": [patch], "Operations": [{"op": "replace", "path": "displayName", "value": "Teal"}]}),
            ),
        ),
        (Method::DELETE, format!("/scim/v2/Groups/{group}"), None),
        (Method::DELETE, format!("/scim/v2/Users/{user}"), None),
    ] {
        let (status, _, answer) = app.call(method.clone(), &path, Some(&key), body).await;
        assert!(status.is_success(), "SCIM {method} {path}: {status} {answer}");
    }
}
