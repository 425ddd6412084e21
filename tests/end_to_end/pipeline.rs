//! The purchase pipeline across functions, over the wire on moto: quote →
//! checkout session → payment → Stripe-signed events → webhook → SQS FIFO →
//! provisioner (as Lambda runs it: receive, apply the batch, delete what
//! succeeded) → DynamoDB → a user assigned → the entitlement check says yes.
//! And the queue's failure paths: a poison message reaches the dead-letter
//! queue after `maxReceiveCount`; a batch failing midway loses nothing.

use std::sync::Arc;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use seatflow_checkout::{CheckoutConfig, CheckoutState};
use seatflow_domain::PaymentGateway as _;
use seatflow_domain::{
    Actor, Clock, DisplayName, Email, EntitlementStore, Mode, NewUser, OrgId, ProrationBehavior, Role,
    SystemClock, UserId,
};
use seatflow_dynamodb::DynamoEntitlementStore;
use seatflow_http::AppState;
use seatflow_http::JwtConfig;
use seatflow_memory::OfflinePaymentGateway;
use seatflow_provisioner::Provisioner;
use seatflow_provisioner::batch::QueuedMessage;
use seatflow_sqs::SqsJobQueue;
use seatflow_stripe::wire;
use seatflow_stripe_webhook::WebhookState;
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::aws;
use seatflow_testkit::aws_calls::CallLog;
use seatflow_testkit::iam::{Evaluation, Stack, Template};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const WEBHOOK_SECRET: &str = "whsec_pipeline_test";

/// One poll as the Lambda event source mapping does it: receive a batch,
/// apply it, delete the messages that did not fail. Returns how many were
/// received and the failures.
async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    provisioner: &Provisioner,
) -> (usize, Vec<String>) {
    let received = sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    let batch: Vec<QueuedMessage> = received
        .iter()
        .map(|m| QueuedMessage {
            id: m.message_id.clone().unwrap_or_default(),
            group: m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId).cloned())
                .unwrap_or_default(),
            body: m.body.clone().unwrap_or_default(),
        })
        .collect();
    let failures = provisioner.apply_batch(&batch).await.failures;
    for message in &received {
        if !failures.contains(message.message_id.as_ref().expect("id")) {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle.clone().expect("handle"))
                .send()
                .await
                .expect("delete");
        }
    }
    (received.len(), failures)
}

async fn call(
    router: &axum::Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(
            request
                .body(body.map_or_else(Body::empty, Body::from))
                .expect("request"),
        )
        .await
        .expect("response");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Posts `object` as a Stripe-signed event of `kind` to the webhook.
async fn deliver(webhook: &axum::Router, id: &str, kind: &str, object: Value) {
    let now = SystemClock.now();
    let payload = wire::event(id, kind, now, object).to_string();
    let signature =
        seatflow_stripe::signature::sign(WEBHOOK_SECRET.as_bytes(), now.timestamp(), payload.as_bytes());
    let header = format!("t={},v1={signature}", now.timestamp());
    let (status, ack) = call(
        webhook,
        Method::POST,
        "/v1/stripe/webhook",
        &[
            ("stripe-signature", &header),
            ("content-type", "application/json"),
        ],
        Some(payload),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{kind}: {ack}");
}

/// Each function's AWS calls are recorded as it makes them (one client per
/// function over the same table and queue) and evaluated against its role
/// in the template at the end: moto enforces no IAM.
#[tokio::test]
async fn a_purchase_flows_from_checkout_to_an_entitlement_across_functions() {
    let config = aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue, _dlq) = aws::fresh_fifo_queue_with_dlq(&config, 5).await;
    let table = aws::fresh_table(&config).await.table().to_owned();
    let calls = CallLog::new();
    let store_of = |function: &str| -> Arc<dyn EntitlementStore> {
        Arc::new(DynamoEntitlementStore::new(
            calls.dynamodb(&config, function),
            &table,
        ))
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let catalog = Arc::new(seatflow_domain::Catalog::default_catalog().expect("catalog"));
    let jwt = || JwtConfig::new(SecretString::from("pipeline-test-secret-at-least-32-bytes")).expect("jwt");
    let state = AppState::new(
        store_of("SeatsApiFunction"),
        clock.clone(),
        catalog.clone(),
        jwt(),
    );
    let checkout_state = AppState::new(
        store_of("CheckoutFunction"),
        clock.clone(),
        catalog.clone(),
        jwt(),
    );
    let org = OrgId::parse("org_pipeline").expect("id");
    state
        .seats
        .organizations()
        .create_organization(&Actor::system(org.clone(), "test"), "Pipeline Inc", Mode::Apply)
        .await
        .expect("org");
    let owner = seatflow_domain::NewUser {
        id: Some(UserId::parse("usr_owner").expect("id")),
        name: seatflow_domain::DisplayName::parse("Owner").expect("name"),
        email: Some(seatflow_domain::Email::parse("owner@pipeline.example").expect("email")),
        directory: None,
        role: Role::Admin,
        team: None,
    };
    state
        .seats
        .directory()
        .create_user(&Actor::system(org.clone(), "test"), owner, None, Mode::Apply)
        .await
        .expect("owner");
    let token = state
        .auth
        .mint(
            &UserId::parse("usr_owner").expect("id"),
            &org,
            Role::Admin,
            &[],
            600,
        )
        .expect("token");
    let bearer = format!("Bearer {token}");
    let auth = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];

    let gateway = OfflinePaymentGateway::new(catalog.clone(), clock.clone(), "http://pay.local/checkout/");
    let checkout = seatflow_checkout::router(CheckoutState {
        app: checkout_state,
        payments: Arc::new(gateway.clone()),
        config: Arc::new(
            CheckoutConfig::new(
                "https://app.example/ok?s={CHECKOUT_SESSION_ID}",
                "https://app.example/no",
                ProrationBehavior::default(),
            )
            .expect("config"),
        ),
        idempotency: Arc::new(seatflow_dynamodb::DynamoIdempotencyStore::new(
            calls.dynamodb(&config, "CheckoutFunction"),
            &table,
        )),
    });
    let webhook = seatflow_stripe_webhook::router(WebhookState {
        secret: Arc::new(SecretString::from(WEBHOOK_SECRET)),
        queue: Arc::new(SqsJobQueue::new(
            calls.sqs(&config, "StripeWebhookFunction"),
            queue.clone(),
        )),
        clock: clock.clone(),
        on_refused_signature: seatflow_stripe_webhook::count_nothing,
    });
    let provisioner = Provisioner::new(
        seatflow_domain::Seats::new(store_of("ProvisionerFunction"), clock.clone(), catalog.clone()),
        Arc::new(gateway.clone()),
    );
    let seats_api = seatflow_seats_api::router(state.clone());

    // Quote, then session.
    let purchase = json!({"plan": "enterprise", "term": "monthly", "quantity": 3, "add_ons": [{"product": "analytics", "quantity": 2}]});
    let (status, quote) = call(
        &checkout,
        Method::POST,
        "/v1/checkout/quote",
        &auth,
        Some(purchase.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let (status, session) = call(
        &checkout,
        Method::POST,
        "/v1/checkout/sessions",
        &auth,
        Some(purchase.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let session_id = session["id"].as_str().expect("id").to_owned();

    // The buyer pays; Stripe sends its events, out of order and one twice.
    let (paid, sub) = gateway.pay(&session_id, "cus_pipeline").expect("paid");
    let now = clock.now();
    deliver(
        &webhook,
        "evt_inv",
        "invoice.paid",
        wire::invoice_object("in_1", &sub, 0, "usd"),
    )
    .await;
    deliver(
        &webhook,
        "evt_cs",
        "checkout.session.completed",
        wire::checkout_session_object(&paid, "cus_pipeline"),
    )
    .await;
    deliver(
        &webhook,
        "evt_sub",
        "customer.subscription.created",
        wire::subscription_object(&sub, now),
    )
    .await;
    deliver(
        &webhook,
        "evt_cs",
        "checkout.session.completed",
        wire::checkout_session_object(&paid, "cus_pipeline"),
    )
    .await;
    deliver(
        &webhook,
        "evt_unneeded",
        "customer.created",
        json!({"id": "cus_pipeline", "object": "customer"}),
    )
    .await;

    let (received, failures) = poll_once(&sqs, &queue, &provisioner).await;
    assert_eq!(
        received, 3,
        "three jobs: one per needed event id, none for unneeded types"
    );
    assert!(failures.is_empty(), "{failures:?}");
    let (left, _) = poll_once(&sqs, &queue, &provisioner).await;
    assert_eq!(left, 0, "everything applied was deleted");

    let confirmation_uri = format!("/v1/checkout/sessions/{session_id}/confirmation");
    let (status, confirmation) = call(&checkout, Method::GET, &confirmation_uri, &auth, None).await;
    assert_eq!(
        (status, confirmation["status"].as_str()),
        (StatusCode::OK, Some("provisioned")),
        "{confirmation}"
    );

    // Seats available; a user gets one; the entitlement check says yes.
    let licenses = state
        .seats
        .views()
        .licenses(&Actor::system(org.clone(), "test"))
        .await
        .expect("licenses");
    let bought: Vec<(String, u32)> = licenses
        .iter()
        .map(|l| (l.product.to_string(), l.purchased))
        .collect();
    assert!(
        bought.contains(&("enterprise".into(), 3)) && bought.contains(&("analytics".into(), 2)),
        "{bought:?}"
    );
    let admin = Actor {
        org: org.clone(),
        principal: seatflow_domain::Principal::User(UserId::parse("usr_owner").expect("id")),
        role: Role::Admin,
        teams: vec![],
        grants_admin: true,
    };
    // In a team with an allocation: a plan change moves her seat, and the
    // team's counters with it.
    let team = seatflow_domain::TeamId::parse("team_pipe").expect("id");
    state
        .seats
        .directory()
        .create_team(&admin, Some(&team), "Pipe", Mode::Apply)
        .await
        .expect("team");
    state
        .seats
        .allocations()
        .set_allocation(
            &admin,
            &team,
            &seatflow_domain::ProductId::parse("enterprise").expect("id"),
            Some(2),
            Mode::Apply,
        )
        .await
        .expect("allocation");
    state
        .seats
        .directory()
        .create_user(
            &admin,
            NewUser {
                id: Some(UserId::parse("usr_user").expect("id")),
                name: DisplayName::parse("Una User").expect("name"),
                email: Some(Email::parse("una@pipeline.example").expect("email")),
                directory: None,
                role: Role::Member,
                team: Some(team.clone()),
            },
            Some(&seatflow_domain::ProductId::parse("enterprise").expect("id")),
            Mode::Apply,
        )
        .await
        .expect("user with a seat");
    let (status, entitled) = call(
        &seats_api,
        Method::GET,
        "/v1/entitlements?user=una@pipeline.example",
        &auth,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{entitled}");
    assert_eq!(entitled["products"][0]["product"], "enterprise", "{entitled}");
    assert!(entitled["products"][0]["until"].is_string(), "{entitled}");

    // What an admin then changes through checkout: seats added (retry-safe),
    // seats at renewal, the plan, cancellation and its undoing; and what the
    // provisioner makes of Stripe's events about it, moving team members.
    let subscription = format!("/v1/subscriptions/{}", sub.id);
    // One change by an API key rather than a person: its use is recorded.
    let key = seatflow_http::auth::ApiKeySecret::generate();
    let key = secrecy::ExposeSecret::expose_secret(&key.secret).to_owned();
    state
        .seats
        .integrations()
        .create_api_key(
            &admin,
            "billing robot",
            &key[..12],
            &seatflow_http::auth::ApiKeySecret::hash(&key),
            &seatflow_domain::ApiScope::ALL,
            Mode::Apply,
        )
        .await
        .expect("key");
    let by_key = format!("Bearer {key}");
    // Stated against a stale count: refused, and its idempotency key freed.
    let mut headers = auth.to_vec();
    headers.push(("idempotency-key", "stale"));
    let stale = json!({"product": "enterprise", "quantity": 1, "quantity_before": 999});
    let (status, refused) = call(
        &checkout,
        Method::POST,
        &format!("{subscription}/seats"),
        &headers,
        Some(stale.to_string()),
    )
    .await;
    assert!(status.is_client_error(), "{status} {refused}");
    for (method, path, body, key) in [
        (
            Method::POST,
            format!("{subscription}/seats"),
            Some(json!({"product": "enterprise", "quantity": 2})),
            Some("add-2"),
        ),
        (
            Method::PUT,
            format!("{subscription}/renewal-seats"),
            Some(json!({"product": "enterprise", "quantity": 4})),
            None,
        ),
        (Method::POST, format!("{subscription}/cancellation"), None, None),
        (Method::DELETE, format!("{subscription}/cancellation"), None, None),
        (
            Method::PUT,
            format!("{subscription}/plan"),
            Some(json!({"plan": "professional"})),
            None,
        ),
    ] {
        let mut headers = auth.to_vec();
        if let Some(key) = key {
            headers.push(("idempotency-key", key));
        }
        if method == Method::PUT && path.ends_with("renewal-seats") {
            headers[0] = ("authorization", by_key.as_str());
        }
        let (status, answer) = call(
            &checkout,
            method.clone(),
            &path,
            &headers,
            body.map(|b| b.to_string()),
        )
        .await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
    }
    let changed = gateway
        .subscription(&sub.id)
        .await
        .expect("read")
        .expect("exists");
    deliver(
        &webhook,
        "evt_sub_updated",
        "customer.subscription.updated",
        wire::subscription_object(&changed, clock.now()),
    )
    .await;
    let (received, failures) = poll_once(&sqs, &queue, &provisioner).await;
    assert_eq!((received, failures.len()), (1, 0), "{failures:?}");

    let stack = Stack::new(Template::transformed())
        .with_table(&table)
        .with_queue(&queue, "ProvisioningQueue");
    let mut recorded = calls.calls();
    let functions = [
        "SeatsApiFunction",
        "CheckoutFunction",
        "StripeWebhookFunction",
        "ProvisionerFunction",
    ];
    for function in functions {
        assert!(
            recorded.iter().any(|c| c.function == function),
            "{function} made calls"
        );
        recorded.extend(stack.template().secret_reads(function));
    }
    let evaluation = Evaluation::of(&stack, &recorded);
    evaluation.assert_allowed();
    // The seats API's grants are proven whole by its own test; the ones
    // used here by the others must be all of theirs.
    let unused: Vec<String> = evaluation
        .unused_grants(&stack)
        .into_iter()
        .filter(|grant| !grant.starts_with("SeatsApiFunction/"))
        .collect();
    let expected: Vec<&str> = UNUSED_HERE.iter().map(|(grant, _)| *grant).collect();
    assert_eq!(unused, expected, "grants no call used");
}

/// Grants of these functions that this walk does not use, and why.
const UNUSED_HERE: [(&str, &str); 7] = [
    (
        "ProvisionerFunction/EntitlementWritesInTransactionsOnly/dynamodb:DeleteItem",
        FORGOTTEN,
    ),
    (
        "ProvisionerFunction/ProvisionerFunctionRolePolicy2[0]/sqs:ChangeMessageVisibility",
        POLLER,
    ),
    (
        "ProvisionerFunction/ProvisionerFunctionRolePolicy2[0]/sqs:ChangeMessageVisibilityBatch",
        POLLER,
    ),
    (
        "ProvisionerFunction/ProvisionerFunctionRolePolicy2[0]/sqs:DeleteMessage",
        POLLER,
    ),
    (
        "ProvisionerFunction/ProvisionerFunctionRolePolicy2[0]/sqs:DeleteMessageBatch",
        POLLER,
    ),
    (
        "ProvisionerFunction/ProvisionerFunctionRolePolicy2[0]/sqs:GetQueueAttributes",
        POLLER,
    ),
    (
        "ProvisionerFunction/ProvisionerFunctionRolePolicy2[0]/sqs:ReceiveMessage",
        POLLER,
    ),
];
/// Lambda's event source mapping polls and deletes with the function's own
/// role; the function's code never calls SQS.
const POLLER: &str = "the SQS event source polls with the function's role";
/// A job's failure record is deleted once the job succeeds: the poison
/// test's path, which checks it.
const FORGOTTEN: &str = "the poison test's path";

#[tokio::test]
async fn a_poison_message_reaches_the_dead_letter_queue_and_a_failed_batch_loses_nothing() {
    let config = aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (queue, dlq) = aws::fresh_fifo_queue_with_dlq(&config, 2).await;
    let table = aws::fresh_table(&config).await.table().to_owned();
    let store: Arc<dyn EntitlementStore> = Arc::new(DynamoEntitlementStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        &table,
    ));
    let f = seatflow_testkit::Fixture::new(store, "org_poison").await;
    let catalog = Arc::new(seatflow_domain::Catalog::default_catalog().expect("catalog"));
    let gateway = Arc::new(OfflinePaymentGateway::new(
        catalog.clone(),
        f.clock.clone(),
        "http://pay.local/checkout/",
    ));
    // The provisioner's calls recorded, for its role: failed jobs recorded,
    // then forgotten once they succeed.
    let calls = CallLog::new();
    let provisioner = Provisioner::new(
        seatflow_domain::Seats::new(
            Arc::new(DynamoEntitlementStore::new(
                calls.dynamodb(&config, "ProvisionerFunction"),
                &table,
            )),
            f.clock.clone(),
            catalog,
        ),
        gateway.clone(),
    );
    let jobs = SqsJobQueue::new(sqs.clone(), queue.clone());

    let subscription = |id: &str, org: &str, quantity: u32| {
        json!({
            "id": id, "object": "subscription", "status": "active", "customer": "cus_1",
            "metadata": {"org": org},
            "items": {"data": [{"id": "si_1", "quantity": quantity, "price": {"lookup_key": "seatflow_essential_monthly"}}]}
        })
    };
    let job = |event: &str, at: i64, object: Value| {
        seatflow_stripe::event::job_for(
            event,
            "customer.subscription.updated",
            chrono::DateTime::from_timestamp(at, 0).expect("time"),
            &object.to_string(),
        )
    };
    // Stripe's current states, which the provisioner reads.
    for state in [
        subscription("sub_ok", "org_poison", 2),
        subscription("sub_late", "org_later", 4),
    ] {
        match wire::subscription_of("customer.subscription.updated", &state.to_string()) {
            Ok(wire::SubscriptionRef::Embedded(state)) => gateway.put_subscription(*state),
            other => panic!("not a subscription: {other:?}"),
        }
    }
    use seatflow_domain::JobQueue as _;
    // sub_late names an organisation that does not exist yet: it fails, and
    // the job behind it in its group must wait, not overtake it.
    jobs.enqueue(&job("evt_ok", 100, subscription("sub_ok", "org_poison", 2)))
        .await
        .expect("sent");
    jobs.enqueue(&job("evt_late1", 100, subscription("sub_late", "org_later", 3)))
        .await
        .expect("sent");
    jobs.enqueue(&job("evt_late2", 200, subscription("sub_late", "org_later", 4)))
        .await
        .expect("sent");
    sqs.send_message()
        .queue_url(&queue)
        .message_body("{\"this is\": \"not a provisioning job\"")
        .message_group_id("poison")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .expect("sent");

    let (received, failures) = poll_once(&sqs, &queue, &provisioner).await;
    assert_eq!(received, 4);
    assert_eq!(
        failures.len(),
        3,
        "the unknown organisation, the job held behind it, the poison"
    );
    let essential = seatflow_testkit::product("essential");
    let purchased = |f: &seatflow_testkit::Fixture| {
        let store = f.store.clone();
        let org = f.admin.org.clone();
        let essential = essential.clone();
        async move {
            store
                .pool(&org, &essential)
                .await
                .expect("read")
                .map_or(0, |p| p.purchased)
        }
    };
    assert_eq!(purchased(&f).await, 2);

    // The organisation appears; redelivery applies the held jobs in order.
    f.seats
        .organizations()
        .create_organization(
            &Actor::system(OrgId::parse("org_later").expect("id"), "test"),
            "Later",
            Mode::Apply,
        )
        .await
        .expect("org");
    let mut rounds = 0;
    loop {
        let (received, _) = poll_once(&sqs, &queue, &provisioner).await;
        rounds += 1;
        if received == 0 || rounds > 10 {
            break;
        }
    }
    let later = f
        .store
        .pool(&OrgId::parse("org_later").expect("id"), &essential)
        .await
        .expect("read");
    assert_eq!(
        later.map(|p| p.purchased),
        Some(4),
        "both held jobs applied: Stripe's current state"
    );

    // The poison was received maxReceiveCount times, then moved to the DLQ.
    let parked = sqs
        .receive_message()
        .queue_url(&dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    let bodies: Vec<String> = parked.iter().filter_map(|m| m.body.clone()).collect();
    assert_eq!(
        bodies,
        vec!["{\"this is\": \"not a provisioning job\"".to_owned()],
        "only the poison is parked"
    );

    let stack = Stack::new(Template::transformed()).with_table(&table);
    let evaluation = Evaluation::of(&stack, &calls.calls());
    evaluation.assert_allowed();
    assert!(
        !evaluation.unused_grants(&stack).contains(
            &"ProvisionerFunction/EntitlementWritesInTransactionsOnly/dynamodb:DeleteItem".to_owned()
        ),
        "a failure forgotten once its job succeeds"
    );
}
