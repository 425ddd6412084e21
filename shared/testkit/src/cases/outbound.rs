//! Outbound events and webhook endpoints: events are committed with their
//! change (never for a refused or dry-run one); endpoints and their delivery
//! log are kept per organisation.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::{
    Clock as _, Delivery, DeliveryStatus, EndpointChanges, EventType, Mode, NewEndpoint, OutboundEvent,
};

use crate::fixture::{Fixture, product};
use crate::reads::Store;

async fn committed(store: &dyn Store, f: &Fixture) -> Vec<OutboundEvent> {
    store.outbox(&f.admin.org, 1000).await.expect("outbox")
}

fn kinds(events: &[OutboundEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.kind).collect()
}

/// Each committed change leaves its events in the outbox, in commit order;
/// a refused change, a lost race and a dry run leave none.
pub async fn a_change_emits_its_events_with_it_and_a_refused_one_none(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), "org_outbox").await;
    let pro = product("professional");
    // A second between changes: the outbox reads in change-time order.
    let tick = || f.clock.advance(Duration::seconds(1));
    f.buy("professional", 1).await;
    tick();
    let ada = f.user("Ada", None).await;
    tick();
    let bob = f.user("Bob", None).await;
    tick();
    let before = committed(&*store, &f).await;
    assert_eq!(
        kinds(&before),
        [
            EventType::PoolChanged,
            EventType::UserCreated,
            EventType::UserCreated
        ],
        "{before:#?}"
    );
    assert!(
        before
            .iter()
            .all(|e| e.organization == f.admin.org && e.id.starts_with("evt_"))
    );

    f.assign(&pro, &ada.id).await;
    assert_eq!(f.refused_assign(&pro, &bob.id).await, "no_seats_available");
    f.seats
        .allocations()
        .assign(&f.admin, &pro, &ada.id, Mode::DryRun)
        .await
        .expect_err("already held");
    f.seats
        .allocations()
        .unassign(&f.admin, &pro, &ada.id, Mode::DryRun)
        .await
        .expect("dry run");
    let after_assign = committed(&*store, &f).await;
    let new = &after_assign[before.len()..];
    assert_eq!(kinds(new), [EventType::SeatAssigned], "{new:#?}");
    assert_eq!(new[0].ordering_key, format!("user:{}", ada.id));
    assert_eq!(new[0].data["product"], "professional");
    assert_eq!(new[0].data["object"]["user"]["id"], ada.id.as_str());

    tick();
    f.seats
        .directory()
        .remove_user(&f.admin, &ada.id, Mode::Apply)
        .await
        .expect("removed");
    let all = committed(&*store, &f).await;
    assert_eq!(
        kinds(&all[after_assign.len()..]),
        [EventType::SeatRevoked, EventType::UserDeleted]
    );
    let times: Vec<_> = all.iter().map(|e| e.created_at).collect();
    assert!(times.is_sorted(), "commit order: {times:?}");
}

/// Endpoints keep their secrets out of what is shown, rotate with an
/// overlap, and are another organisation's to see never; the delivery log
/// reads newest first.
pub async fn webhook_endpoints_and_their_delivery_log_are_kept_per_organisation(store: Arc<dyn Store>) {
    let f = Fixture::new(store.clone(), "org_hooks").await;
    let other = Fixture::new(store.clone(), "org_hooks_other").await;
    let new = NewEndpoint {
        url: "https://hooks.example.com/seatflow".into(),
        event_types: vec![EventType::SeatAssigned, EventType::SeatRevoked],
        allow_http: false,
    };
    let created = f
        .seats
        .integrations()
        .create_webhook_endpoint(&f.admin, &new, Mode::Apply)
        .await
        .expect("created");
    let id = created.value.endpoint.id.clone();
    assert!(created.value.secret.starts_with("whsec_"));
    assert!(
        !created.audit.after.get().contains("whsec_"),
        "the audit log never holds a secret"
    );
    let insecure = NewEndpoint {
        url: "http://hooks.example.com/".into(),
        ..new.clone()
    };
    let refused = f
        .seats
        .integrations()
        .create_webhook_endpoint(&f.admin, &insecure, Mode::Apply)
        .await
        .expect_err("plain http");
    assert_eq!(refused.code(), "validation_failed");

    f.clock.advance(Duration::minutes(5));
    let rotated = f
        .seats
        .integrations()
        .rotate_webhook_secret(&f.admin, &id, 24, Mode::Apply)
        .await
        .expect("rotated");
    assert_ne!(rotated.value.secret, created.value.secret);
    let stored = store
        .webhook_endpoint(&f.admin.org, &id)
        .await
        .expect("read")
        .expect("stored");
    let now = f.clock.now();
    assert_eq!(
        stored.signing_secrets(now),
        [rotated.value.secret.as_str(), created.value.secret.as_str()]
    );
    assert_eq!(
        stored.signing_secrets(now + Duration::hours(24)),
        [rotated.value.secret.as_str()]
    );

    let disabled = f
        .seats
        .integrations()
        .update_webhook_endpoint(
            &f.admin,
            &id,
            &EndpointChanges {
                enabled: Some(false),
                ..EndpointChanges::default()
            },
            Mode::Apply,
        )
        .await
        .expect("disabled");
    assert!(!disabled.value.enabled);
    assert!(
        other
            .seats
            .integrations()
            .webhook_endpoints(&other.admin)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        other
            .seats
            .integrations()
            .webhook_endpoint(&other.admin, &id)
            .await
            .is_err_and(|e| e.code() == "not_found")
    );

    for (i, status) in [
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Pending,
    ]
    .into_iter()
    .enumerate()
    {
        let at = now + Duration::seconds(i64::try_from(i).expect("small"));
        let event = OutboundEvent {
            id: format!("evt_{}", seatflow_domain::AuditId::new(at)),
            kind: EventType::SeatAssigned,
            created_at: at,
            organization: f.admin.org.clone(),
            ordering_key: "user:usr_x".into(),
            data: serde_json::json!({ "n": i }),
        };
        let mut delivery = Delivery::pending(id.clone(), event);
        delivery.status = status;
        store
            .record_delivery(&f.admin.org, &delivery)
            .await
            .expect("recorded");
    }
    let log = store.deliveries(&f.admin.org, &id, 2).await.expect("log");
    assert_eq!(
        log.iter().map(|d| d.status).collect::<Vec<_>>(),
        [DeliveryStatus::Pending, DeliveryStatus::Failed],
        "newest first"
    );
    let one = store
        .delivery(&f.admin.org, &id, &log[1].event.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(one, log[1]);
    assert!(
        store
            .deliveries(&other.admin.org, &id, 10)
            .await
            .expect("log")
            .is_empty()
    );

    f.seats
        .integrations()
        .delete_webhook_endpoint(&f.admin, &id, Mode::Apply)
        .await
        .expect("deleted");
    assert!(
        f.seats
            .integrations()
            .webhook_endpoints(&f.admin)
            .await
            .expect("list")
            .is_empty()
    );
}
