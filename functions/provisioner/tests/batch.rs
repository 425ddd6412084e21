//! Batches as SQS delivers them: per-message failures, FIFO groups held back
//! behind a failure, nothing dropped.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use seatflow_memory::MemoryEntitlementStore;
use seatflow_provisioner::Provisioner;
use seatflow_provisioner::batch::QueuedMessage;
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::{Fixture, product};
use serde_json::json;

fn message(id: &str, group: &str, event: &str, org: &str, quantity: u32) -> QueuedMessage {
    let job = json!({
        "event_id": event,
        "event_type": "customer.subscription.updated",
        "occurred_at": "2026-11-22T14:00:00Z",
        "group": group,
        "object": {
            "id": group, "object": "subscription", "status": "active", "customer": "cus_1",
            "metadata": { "org": org },
            "items": { "data": [{ "quantity": quantity, "price": { "lookup_key": "seatflow_essential_monthly" } }] }
        }
    });
    QueuedMessage {
        id: id.into(),
        group: group.into(),
        body: job.to_string(),
    }
}

#[tokio::test]
async fn a_failure_holds_back_the_rest_of_its_group_and_only_that() {
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_batch").await;
    let provisioner = Provisioner::new(f.seats.clone(), offline(&f));
    let batch = [
        message("m1", "sub_a", "evt_a1", "org_batch", 2),
        message("m2", "sub_a", "evt_a2", "org_unknown", 3),
        message("m3", "sub_a", "evt_a3", "org_batch", 4),
        message("m4", "sub_b", "evt_b1", "org_batch", 5),
        QueuedMessage {
            id: "m5".into(),
            group: "sub_c".into(),
            body: "{not json".into(),
        },
    ];
    let failures = provisioner.apply_batch(&batch).await;
    assert_eq!(
        failures,
        ["m2", "m3", "m5"],
        "the failure, the message behind it, the malformed one"
    );
    // sub_a stopped at 2 seats (m3 was not applied past the failure); sub_b applied.
    let pool = f
        .store
        .pool(&f.admin.org, &product("essential"))
        .await
        .expect("read")
        .expect("pool");
    assert_eq!(pool.purchased, 2 + 5);
    // Redelivered, the applied ones are duplicates and change nothing.
    let again = provisioner.apply_batch(&batch[..1]).await;
    assert!(again.is_empty());
    assert_eq!(
        f.store
            .pool(&f.admin.org, &product("essential"))
            .await
            .expect("read")
            .expect("pool")
            .purchased,
        7
    );
}

#[cfg(feature = "lambda")]
#[tokio::test]
async fn the_sample_sqs_event_is_read_and_applied_in_order() {
    use aws_lambda_events::event::sqs::SqsEvent;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/provisioner/sqs-batch.json"
    );
    let event: SqsEvent =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("an SQS event");
    let messages = seatflow_provisioner::batch::sqs::messages(event);
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].group.as_str()),
        ("msg-1", "sub_sample")
    );
    let f = Fixture::new(Arc::new(MemoryEntitlementStore::new()), "org_sample").await;
    let provisioner = Provisioner::new(f.seats.clone(), offline(&f));
    let failures = provisioner.apply_batch(&messages).await;
    let response = serde_json::to_value(seatflow_provisioner::batch::sqs::response(failures)).expect("JSON");
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let pool = f
        .store
        .pool(&f.admin.org, &product("professional"))
        .await
        .expect("read")
        .expect("pool");
    assert_eq!(pool.purchased, 25, "the newer update wins");
    let failed = seatflow_provisioner::batch::sqs::response(vec!["msg-2".into()]);
    assert_eq!(
        serde_json::to_value(failed).expect("JSON"),
        json!({ "batchItemFailures": [{ "itemIdentifier": "msg-2" }] })
    );
}

/// The offline payment gateway on the fixture's clock.
fn offline(f: &Fixture) -> std::sync::Arc<seatflow_memory::OfflinePaymentGateway> {
    let catalog = std::sync::Arc::new(seatflow_domain::Catalog::default_catalog().expect("catalog"));
    std::sync::Arc::new(seatflow_memory::OfflinePaymentGateway::new(
        catalog,
        f.clock.clone(),
        "http://local/checkout/",
    ))
}
