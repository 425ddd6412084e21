//! Outbound webhooks end to end in one process: the in-memory store's
//! commits, the relay, the queue and the HTTP transport, against a receiver
//! on a local port that checks every signature the way a vendor's would.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use seatflow_domain::{
    Catalog, Clock as _, DeliveryJob, DeliveryLog as _, DeliveryQueue, DeliveryStatus, EndpointChanges,
    EventType, Mode, NewEndpoint, QueueError, Seats,
};
use seatflow_memory::{MemoryEntitlementStore, MemoryOutbox};
use seatflow_testkit::receiver::{Receiver, Signed};
use seatflow_testkit::{Fixture, product};
use seatflow_webhooks::{
    Attempted, DEFAULT_TOLERANCE_SECONDS, Deliverer, HttpTransport, LocalQueue, Relay, SignatureError,
    SignedHeaders, Transport as _, deliver_in_process, verify,
};

/// The received headers, as the verifier takes them.
fn headers(signed: &Signed) -> SignedHeaders<'_> {
    SignedHeaders {
        id: &signed.id,
        timestamp: &signed.timestamp,
        signature: &signed.signature,
    }
}

/// A queue that keeps what it is given, for tests that attempt by hand.
#[derive(Debug, Default)]
struct KeptQueue(Mutex<Vec<DeliveryJob>>);

#[async_trait]
impl DeliveryQueue for KeptQueue {
    async fn enqueue(&self, jobs: &[DeliveryJob]) -> Result<(), QueueError> {
        self.0.lock().unwrap().extend_from_slice(jobs);
        Ok(())
    }
}

impl KeptQueue {
    fn take(&self) -> Vec<DeliveryJob> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct System {
    f: Fixture,
    store: Arc<MemoryEntitlementStore>,
    relay: Relay,
    deliverer: Deliverer,
    mail: Arc<MemoryOutbox>,
}

fn system(store: Arc<MemoryEntitlementStore>, f: Fixture, queue: Arc<dyn DeliveryQueue>) -> System {
    let catalog = Arc::new(Catalog::default_catalog().unwrap());
    let seats = Arc::new(Seats::new(store.clone(), f.clock.clone(), catalog));
    let mail = Arc::new(MemoryOutbox::new());
    let deliverer = Deliverer::new(
        seats,
        store.clone(),
        store.clone(),
        Arc::new(HttpTransport::new().unwrap()),
        Some(mail.clone()),
        f.clock.clone(),
    )
    // In one process, as seatflow-local delivers: no organisation waits for
    // a place (the cap has its own test).
    .with_deliveries_per_org(16);
    let relay = Relay::new(store.clone(), store.clone(), queue);
    System {
        f,
        store,
        relay,
        deliverer,
        mail,
    }
}

async fn endpoint(f: &Fixture, url: &str, types: &[EventType]) -> (seatflow_domain::EndpointId, String) {
    let created = f
        .seats
        .integrations()
        .create_webhook_endpoint(
            &f.admin,
            &NewEndpoint {
                url: url.into(),
                event_types: types.to_vec(),
                allow_http: true,
            },
            Mode::Apply,
        )
        .await
        .unwrap();
    (created.value.endpoint.id, created.value.secret)
}

/// Starts the process's relay and delivery loop, as seatflow-local does.
fn run_in_process(
    store: &Arc<MemoryEntitlementStore>,
    relay: Relay,
    deliverer: Deliverer,
    queue: Arc<LocalQueue>,
) {
    let taken = store.clone();
    deliver_in_process(
        |hook| store.on_events(hook),
        move || taken.take_outbox(),
        relay,
        queue,
        deliverer,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_reaches_a_receiver_that_verifies_it_and_refused_changes_send_nothing() {
    let receiver = Receiver::start().await;
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_hooked").await;
    let queue = Arc::new(LocalQueue::new());
    let s = system(store.clone(), f, queue.clone());
    let (_, secret) = endpoint(&s.f, &receiver.url, &EventType::ALL).await;
    run_in_process(&s.store, s.relay.clone(), s.deliverer.clone(), queue);

    let pro = product("professional");
    s.f.buy("professional", 1).await;
    let ada = s.f.user("Ada", None).await;
    let bob = s.f.user("Bob", None).await;
    s.f.assign(&pro, &ada.id).await;
    assert_eq!(s.f.refused_assign(&pro, &bob.id).await, "no_seats_available");
    s.f.seats
        .allocations()
        .unassign(&s.f.admin, &pro, &ada.id, Mode::DryRun)
        .await
        .unwrap();
    s.f.unassign(&pro, &ada.id).await;

    let got = receiver.wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.events().len(),
        5,
        "nothing for the refused change or the dry run"
    );
    let now = s.f.clock.now().timestamp();
    for (signature, event, body) in &got {
        assert_eq!(
            verify(headers(signature), body, &secret, now, DEFAULT_TOLERANCE_SECONDS),
            Ok(()),
            "{event}"
        );
        assert_eq!(event["organization"], "org_hooked");
    }
    let mut kinds: Vec<&str> = got.iter().map(|(_, e, _)| e["type"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "pool.changed",
            "seat.assigned",
            "seat.revoked",
            "user.created",
            "user.created"
        ]
    );
    let ada_events: Vec<&str> = got
        .iter()
        .filter(|(_, e, _)| e["ordering_key"] == format!("user:{}", ada.id))
        .map(|(_, e, _)| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        ada_events,
        ["user.created", "seat.assigned", "seat.revoked"],
        "in commit order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_retried_then_failed_and_disabled_then_redelivered_by_hand() {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_failing").await;
    let queue = Arc::new(KeptQueue::default());
    let s = system(store.clone(), f, queue.clone());
    let (id, _) = endpoint(&s.f, &receiver.url, &[EventType::UserCreated]).await;
    let grace =
        s.f.user_with_role("Grace", None, seatflow_domain::Role::Admin)
            .await;
    let _ = s.store.take_outbox();
    let ada = s.f.user("Ada", None).await;
    assert_eq!(s.relay.relay(&s.store.take_outbox()).await.unwrap(), 1);
    let job = queue.take().pop().unwrap();
    let org = &s.f.admin.org;

    let Attempted::RetryIn(first) = s.deliverer.attempt(&job).await.unwrap() else {
        panic!("a 500 is retried")
    };
    assert!((15..=30).contains(&first.num_seconds()), "{first}");
    let logged = s.store.delivery(org, &id, &job.event.id).await.unwrap().unwrap();
    assert_eq!((logged.status, logged.attempts), (DeliveryStatus::Pending, 1));
    assert_eq!(logged.last_answer.as_ref().and_then(|a| a.status), Some(500));
    assert_eq!(
        logged.last_answer.as_ref().unwrap().detail,
        "",
        "of an answer that is not 2xx only the status is kept (the receiver said more)"
    );

    s.f.clock.advance(chrono::Duration::days(1));
    let Attempted::RetryIn(later) = s.deliverer.attempt(&job).await.unwrap() else {
        panic!("still within three days")
    };
    assert!(later > first, "backoff grows: {first} then {later}");
    s.f.clock.advance(chrono::Duration::days(2));
    assert_eq!(s.deliverer.attempt(&job).await.unwrap(), Attempted::Failed);
    let logged = s.store.delivery(org, &id, &job.event.id).await.unwrap().unwrap();
    assert_eq!((logged.status, logged.attempts), (DeliveryStatus::Failed, 3));
    let shown =
        s.f.seats
            .integrations()
            .webhook_endpoint(&s.f.admin, &id)
            .await
            .unwrap();
    assert!(!shown.enabled);
    assert!(
        shown
            .disabled_reason
            .unwrap()
            .starts_with("deliveries failed since")
    );
    let mail = s.mail.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, [grace.email.clone().unwrap()]);
    assert!(mail[0].text.contains(&receiver.url));
    assert_eq!(
        s.deliverer.attempt(&job).await.unwrap(),
        Attempted::Dropped,
        "settled"
    );

    // Disabled: new events are not queued for it.
    s.f.user("Bob", None).await;
    assert_eq!(s.relay.relay(&s.store.take_outbox()).await.unwrap(), 0);

    // Fixed and enabled again, the admin redelivers what it missed.
    receiver.answer(200);
    let enable = EndpointChanges {
        enabled: Some(true),
        ..EndpointChanges::default()
    };
    s.f.seats
        .integrations()
        .update_webhook_endpoint(&s.f.admin, &id, &enable, Mode::Apply)
        .await
        .unwrap();
    let again = s.relay.redeliver(org, &id, &job.event.id).await.unwrap().unwrap();
    assert_eq!((again.status, again.attempts), (DeliveryStatus::Pending, 0));
    let job = queue.take().pop().unwrap();
    assert_eq!(s.deliverer.attempt(&job).await.unwrap(), Attempted::Delivered);
    let logged = s.store.delivery(org, &id, &job.event.id).await.unwrap().unwrap();
    assert_eq!((logged.status, logged.attempts), (DeliveryStatus::Delivered, 1));
    let got = receiver.events();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1["data"]["object"]["user"]["id"], ada.id.as_str());
    assert!(
        s.relay
            .redeliver(org, &id, "evt_unknown")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_a_secret_rotation_both_secrets_verify_until_the_overlap_ends() {
    let receiver = Receiver::start().await;
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_rotating").await;
    let queue = Arc::new(KeptQueue::default());
    let s = system(store.clone(), f, queue.clone());
    let (id, old) = endpoint(&s.f, &receiver.url, &[EventType::UserCreated]).await;
    let new =
        s.f.seats
            .integrations()
            .rotate_webhook_secret(&s.f.admin, &id, 1, Mode::Apply)
            .await
            .unwrap()
            .value
            .secret;
    let _ = s.store.take_outbox();

    let deliver = async |name: &str| {
        s.f.user(name, None).await;
        s.relay.relay(&s.store.take_outbox()).await.unwrap();
        let job = queue.take().pop().unwrap();
        assert_eq!(s.deliverer.attempt(&job).await.unwrap(), Attempted::Delivered);
        let (signature, _, body) = receiver.events().pop().unwrap();
        let check = |secret: &str| {
            verify(
                headers(&signature),
                &body,
                secret,
                s.f.clock.now().timestamp(),
                300,
            )
        };
        (check(&old), check(&new))
    };
    assert_eq!(deliver("Ada").await, (Ok(()), Ok(())), "both during the overlap");
    s.f.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        deliver("Bob").await,
        (Err(SignatureError::Mismatch), Ok(())),
        "only the new one after it"
    );
}

/// Many users' seats change at once while the endpoint answers slowly: each
/// user's events arrive in the order their changes were committed (the
/// user's version rises with every change).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn order_per_user_holds_under_concurrency() {
    let receiver = Receiver::start().await;
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_busy").await;
    let queue = Arc::new(LocalQueue::new());
    let s = system(store.clone(), f, queue.clone());
    endpoint(
        &s.f,
        &receiver.url,
        &[EventType::SeatAssigned, EventType::SeatRevoked],
    )
    .await;
    s.f.buy("professional", 8).await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(s.f.user(&format!("User {i}"), None).await.id);
    }
    run_in_process(&s.store, s.relay.clone(), s.deliverer.clone(), queue.clone());
    const ROUNDS: usize = 10;
    let f = Arc::new(s.f);
    let tasks: Vec<_> = users
        .iter()
        .cloned()
        .map(|user| {
            let f = f.clone();
            tokio::spawn(async move {
                let pro = product("professional");
                // Eight users' changes race on one pool: a decision that
                // keeps losing is asked again (the events follow the commits).
                for round in 0..ROUNDS * 2 {
                    let mut tries = 0;
                    loop {
                        let done = if round % 2 == 0 {
                            f.seats
                                .allocations()
                                .assign(&f.admin, &pro, &user, Mode::Apply)
                                .await
                                .map(|_| ())
                        } else {
                            f.seats
                                .allocations()
                                .unassign(&f.admin, &pro, &user, Mode::Apply)
                                .await
                                .map(|_| ())
                        };
                        match done {
                            Ok(()) => break,
                            Err(e) if e.code() == "concurrent_modification" && tries < 20 => {
                                tries += 1;
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                            Err(e) => panic!("round {round} for {user}: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let got = receiver.wait_for(users.len() * ROUNDS * 2).await;
    let mut per_user: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for (_, event, _) in &got {
        let user = event["data"]["object"]["user"]["id"].as_str().unwrap().to_owned();
        let version = event["data"]["object"]["user"]["version"].as_u64().unwrap();
        per_user
            .entry(user)
            .or_default()
            .push((version, event["type"].as_str().unwrap().to_owned()));
    }
    assert_eq!(per_user.len(), users.len());
    for (user, events) in per_user {
        assert_eq!(events.len(), ROUNDS * 2, "{user}");
        assert!(events.windows(2).all(|w| w[0].0 < w[1].0), "{user}: {events:?}");
        assert!(
            events.iter().enumerate().all(|(i, (_, kind))| kind
                == if i % 2 == 0 {
                    "seat.assigned"
                } else {
                    "seat.revoked"
                }),
            "{user}: {events:?}"
        );
    }
    assert!(queue.is_empty());
}

/// A relay running late never sends an endpoint what was committed before
/// the endpoint existed.
#[tokio::test]
async fn an_endpoint_gets_nothing_committed_before_it_existed() {
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_late").await;
    let queue = Arc::new(KeptQueue::default());
    let s = system(store.clone(), f, queue.clone());
    s.f.user("Ada", None).await;
    s.f.clock.advance(chrono::Duration::seconds(1));
    endpoint(&s.f, "https://hooks.example.com/late", &EventType::ALL).await;
    assert_eq!(s.relay.relay(&s.store.take_outbox()).await.unwrap(), 0);
    s.f.user("Bob", None).await;
    assert_eq!(s.relay.relay(&s.store.take_outbox()).await.unwrap(), 1);
}

#[tokio::test]
async fn deliveries_reach_only_public_addresses_and_deployed_only_https_on_443() {
    let receiver = Receiver::start().await;
    let deployed = HttpTransport::public_only().unwrap();
    for url in [
        receiver.url.as_str(),
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/hook",
        "https://10.0.0.8/hook",
        "https://localhost/hook",
        "https://93.184.215.14:8443/hook",
        "http://93.184.215.14/hook",
    ] {
        let refused = deployed
            .post(url, &[], bytes::Bytes::from_static(b"{}"))
            .await
            .expect_err(url);
        assert!(
            refused.contains("refused") || refused.contains("no public address"),
            "{url}: {refused}"
        );
    }
    assert!(
        receiver.events().is_empty(),
        "nothing reached the loopback receiver"
    );

    // Locally, a development receiver on loopback is reachable; the rest of
    // the private ranges are not.
    let local = HttpTransport::new().unwrap();
    let answer = local
        .post(&receiver.url, &[], bytes::Bytes::from_static(b"{}"))
        .await
        .expect("loopback, locally");
    assert!((200..300).contains(&answer.status), "{answer:?}");
    for url in ["http://169.254.169.254/latest/meta-data/", "http://192.168.0.1/"] {
        let refused = local
            .post(url, &[], bytes::Bytes::from_static(b"{}"))
            .await
            .expect_err(url);
        assert!(refused.contains("not a public address"), "{url}: {refused}");
    }
}

/// An organisation whose places for attempts in flight are all taken waits:
/// the attempt is not made, not counted, and comes back in 5 to 15 s; once
/// a place is free it is delivered. Its endpoints never hold every delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_with_every_place_taken_waits_without_an_attempt() {
    let receiver = Receiver::start().await;
    let store = Arc::new(MemoryEntitlementStore::new());
    let f = Fixture::new(store.clone(), "org_busy").await;
    let queue = Arc::new(KeptQueue::default());
    let s = system(store.clone(), f, queue.clone());
    let deliverer = s.deliverer.clone().with_deliveries_per_org(1);
    let (id, _) = endpoint(&s.f, &receiver.url, &[EventType::UserCreated]).await;
    let _ = s.store.take_outbox();
    s.f.user("Ada", None).await;
    assert_eq!(s.relay.relay(&s.store.take_outbox()).await.unwrap(), 1);
    let job = queue.take().pop().unwrap();
    let org = &s.f.admin.org;
    let now = s.f.clock.now();
    let until = now + chrono::Duration::seconds(60);
    let place = s
        .store
        .claim_delivery_slot(org, 1, "a slow attempt", now, until)
        .await
        .unwrap()
        .expect("the one place");

    let Attempted::RetryIn(wait) = deliverer.attempt(&job).await.unwrap() else {
        panic!("no place: the attempt waits")
    };
    assert!((5..=15).contains(&wait.num_seconds()), "{wait}");
    assert!(receiver.events().is_empty(), "nothing was sent");
    let logged = s.store.delivery(org, &id, &job.event.id).await.unwrap().unwrap();
    assert_eq!(
        (logged.status, logged.attempts),
        (DeliveryStatus::Pending, 0),
        "and nothing counted"
    );

    s.store
        .release_delivery_slot(org, place, "a slow attempt")
        .await
        .unwrap();
    assert_eq!(deliverer.attempt(&job).await.unwrap(), Attempted::Delivered);
    assert_eq!(receiver.events().len(), 1);
    assert!(
        s.store
            .claim_delivery_slot(org, 1, "next", now, until)
            .await
            .unwrap()
            .is_some(),
        "the attempt gave its place back"
    );
}
