//! `events/renewal-reminders/scheduled.json`, the EventBridge scheduled event,
//! starts a run: on the in-memory adapters (the local default), a subscription
//! renewing in 7 days gets its reminder in the outbox, text and HTML.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::{
    Catalog, Clock as _, Mode, Role, Seats, SubscriptionId, SubscriptionSnapshot, SubscriptionStatus, Term,
};
use seatflow_memory::{MemoryEntitlementStore, MemoryNoticeLedger, MemoryOutbox};
use seatflow_renewal_reminders::{ReminderConfig, Reminders};
use seatflow_testkit::{Fixture, product};

#[tokio::test]
async fn the_scheduled_event_runs_the_reminders() {
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::named(store.clone(), "org_sample", "Sample & Sons").await;
    f.user_with_role("Sam Admin", None, Role::Admin).await;
    let end = f.clock.now() + Duration::days(7) - Duration::hours(1);
    let state = SubscriptionSnapshot {
        org: f.admin.org.clone(),
        id: SubscriptionId::parse("sub_sample").expect("id"),
        customer: "cus_sample".into(),
        status: SubscriptionStatus::Active,
        items: [(product("essential"), 3)].into(),
        term: Some(Term::Monthly),
        current_period_start: Some(end - Duration::days(30)),
        current_period_end: Some(end),
        cancel_at_period_end: false,
    };
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, &state, "evt_sample", f.clock.now(), Mode::Apply)
        .await
        .expect("applied");
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let outbox = Arc::new(MemoryOutbox::new());
    let reminders = Reminders::new(
        Arc::new(Seats::new(store.clone(), f.clock.clone(), catalog)),
        store,
        Arc::new(MemoryNoticeLedger::new()),
        outbox.clone(),
        ReminderConfig::new("https://billing.example/seats").expect("config"),
    );
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/renewal-reminders/scheduled.json"
    ))
    .expect("sample");
    let event: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(event["detail-type"], "Scheduled Event");
    let report = reminders.on_schedule(&event).await.expect("run");
    assert_eq!(
        report.sent,
        ["org_sample/renewal#sub_sample#".to_owned() + &end.timestamp().to_string() + "#7d"]
    );
    let sent = outbox.messages();
    assert_eq!(sent.len(), 1);
    let email = &sent[0];
    assert_eq!(email.to[0].as_str(), "sam.admin@example.com");
    assert!(email.text.starts_with("Hello Sample & Sons,"), "{}", email.text);
    assert!(email.text.contains("Plan: Essential × 3 seats"), "{}", email.text);
    assert!(email.text.contains("billed monthly"), "{}", email.text);
    assert!(
        email.text.contains("https://billing.example/seats"),
        "{}",
        email.text
    );
    assert!(email.html.contains("Hello Sample &amp; Sons,"), "{}", email.html);
    assert_eq!(
        reminders.on_schedule(&event).await.expect("rerun").already_sent,
        1
    );
}
