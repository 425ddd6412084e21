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

/// An organisation's places for delivery attempts in flight: as many claims
/// as places succeed and one more waits; a released place, and one whose
/// claim ran out, are taken again; a place is released only by its holder;
/// another organisation has places of its own; 20 claims at once take
/// exactly the places there are.
pub async fn delivery_places_cap_an_organisations_attempts_in_flight(store: Arc<dyn Store>) {
    let org = crate::org("org_places");
    let other = crate::org("org_places_other");
    let now = crate::start_time();
    let until = now + Duration::seconds(seatflow_domain::DELIVERY_SLOT_SECONDS);
    let mut held = Vec::new();
    for i in 0..3 {
        let slot = store
            .claim_delivery_slot(&org, 3, &format!("attempt-{i}"), now, until)
            .await
            .expect("claim")
            .expect("a free place");
        held.push(slot);
    }
    held.sort_unstable();
    assert_eq!(held, vec![0, 1, 2], "each place once");
    assert_eq!(
        store
            .claim_delivery_slot(&org, 3, "attempt-3", now, until)
            .await
            .expect("claim"),
        None,
        "all places taken: the attempt waits"
    );
    assert!(
        store
            .claim_delivery_slot(&other, 3, "theirs", now, until)
            .await
            .expect("claim")
            .is_some(),
        "another organisation's places are its own"
    );
    // Only the holder gives a place back.
    store
        .release_delivery_slot(&org, held[0], "not-the-holder")
        .await
        .expect("release");
    assert_eq!(
        store
            .claim_delivery_slot(&org, 3, "attempt-4", now, until)
            .await
            .expect("claim"),
        None
    );
    // Places are handed out in any order: every holder releases every place
    // (only its own goes).
    for i in 0..3 {
        for slot in 0..3 {
            store
                .release_delivery_slot(&org, slot, &format!("attempt-{i}"))
                .await
                .expect("release");
        }
    }
    assert!(
        store
            .claim_delivery_slot(&org, 3, "again", now, until)
            .await
            .expect("claim")
            .is_some()
    );
    // A claim that ran out (a crashed attempt) is taken over.
    let later = until + Duration::seconds(1);
    let mut taken_over = 0;
    for i in 0..3 {
        if store
            .claim_delivery_slot(
                &org,
                3,
                &format!("later-{i}"),
                later,
                later + Duration::seconds(60),
            )
            .await
            .expect("claim")
            .is_some()
        {
            taken_over += 1;
        }
    }
    assert_eq!(taken_over, 3, "every run-out place is free again");

    // Many at once never take more places than there are.
    let fresh = crate::org("org_places_race");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, fresh) = (store.clone(), fresh.clone());
            tokio::spawn(async move {
                store
                    .claim_delivery_slot(&fresh, 4, &format!("racer-{i}"), now, until)
                    .await
                    .expect("claim")
            })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        if let Some(slot) = task.await.expect("task finished") {
            won.push(slot);
        }
    }
    won.sort_unstable();
    assert_eq!(won, vec![0, 1, 2, 3], "exactly the places, each once");
}
