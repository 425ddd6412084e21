//! The DynamoDB store passes the same conformance suite as the in-memory
//! store, over the wire against moto server (started by `make test`, which
//! sets `AWS_ENDPOINT_URL`). Each test gets its own table.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use seatflow_dynamodb::sealing::{SEALED_PREFIX, SecretSealer};
use seatflow_testkit::StoreReads as _;
use seatflow_testkit::aws;

/// The deployment's key for endpoint secrets, as a test has it.
const SEALING_KEY: &str = "conformance-endpoint-secrets-key-0123456789";

fn sealer(key: &str) -> Arc<SecretSealer> {
    Arc::new(SecretSealer::from_secret(key).expect("a key"))
}

/// Every case runs with endpoint secrets sealed, as deployed.
async fn dynamo_store() -> Arc<dyn seatflow_testkit::Store> {
    Arc::new(
        aws::fresh_table(&aws::sdk_config().await)
            .await
            .with_sealer(sealer(SEALING_KEY)),
    )
}

// The large organisation at a size moto holds: moto copies every table for
// each transaction (to roll it back), so its time and memory grow with all
// it stores (1,000 users took 219 s and 8.8 GB of moto alone). The case
// counts the users each read lists, and on DynamoDB a page is one `Query`
// of the page whatever the size, so what it proves holds at 100,000 (the
// memory store runs it at that size; BENCHMARKS.md times the pages there).
seatflow_testkit::entitlement_store_conformance!(dynamo_store, large_organisation = 240);

async fn dynamo_ledger() -> Arc<dyn seatflow_domain::NoticeLedger> {
    let config = aws::sdk_config().await;
    let store = aws::fresh_table(&config).await;
    Arc::new(seatflow_dynamodb::DynamoNoticeLedger::new(
        aws_sdk_dynamodb::Client::new(&config),
        store.table(),
    ))
}

mod ledger {
    use super::dynamo_ledger;
    seatflow_testkit::notice_ledger_conformance!(dynamo_ledger);
}

#[tokio::test]
async fn the_table_is_created_once_per_test() {
    let store = aws::fresh_table(&aws::sdk_config().await).await;
    assert!(
        store.create_table().await.is_err(),
        "a second create of the same table is refused"
    );
}

/// Each task has its own SDK client and store, as separate Lambda instances
/// would: exactly the pool's seats are assigned, and the counter equals the
/// assignment items.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_independent_clients_never_oversell_a_pool_of_ten() {
    use seatflow_domain::{Catalog, Mode, Seats};
    use seatflow_testkit::{Fixture, product};

    let store = aws::fresh_table(&aws::sdk_config().await).await;
    let table = store.table().to_owned();
    let f = Fixture::new(Arc::new(store), "org_clients").await;
    f.buy("professional", 10).await;
    let mut users = Vec::new();
    for i in 0..64 {
        users.push(f.user(&format!("Client {i}"), None).await.id);
    }
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let tasks: Vec<_> = users
        .into_iter()
        .map(|user| {
            let (table, clock, catalog, admin) =
                (table.clone(), f.clock.clone(), catalog.clone(), f.admin.clone());
            tokio::spawn(async move {
                let own = seatflow_dynamodb::DynamoEntitlementStore::new(
                    aws_sdk_dynamodb::Client::new(&aws::sdk_config().await),
                    table,
                );
                let seats = Seats::new(Arc::new(own), clock, catalog);
                seats
                    .allocations()
                    .assign(&admin, &product("professional"), &user, Mode::Apply)
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task finished") {
            Ok(_) => won += 1,
            Err(e) => assert!(
                matches!(e.code(), "no_seats_available" | "concurrent_modification"),
                "unexpected refusal: {e}"
            ),
        }
    }
    assert_eq!(won, 10);
    let pool = f
        .store
        .pool(&f.admin.org, &product("professional"))
        .await
        .expect("read")
        .expect("pool");
    let items = f
        .store
        .assignments(&f.admin.org, None, 1000)
        .await
        .expect("assignments");
    assert_eq!(
        (pool.assigned, items.len()),
        (10, 10),
        "counter and assignment items agree"
    );
    f.assert_counters_match_assignments().await;
}

#[tokio::test]
async fn an_idempotency_key_lives_its_whole_life() {
    let config = aws::sdk_config().await;
    let store = aws::fresh_table(&config).await;
    seatflow_testkit::idempotency_cases::an_idempotency_key_lives_its_whole_life(Arc::new(
        seatflow_dynamodb::DynamoIdempotencyStore::new(aws_sdk_dynamodb::Client::new(&config), store.table()),
    ))
    .await;
}

/// The table holds endpoint secrets sealed: the item has no `whsec_`, the
/// store opens what the admin was shown, another key fails closed rather
/// than sign with rubbish, a store without the key (the relay's) reads the
/// sealed text it never signs with, and a sealed secret moved onto another
/// endpoint does not open.
#[tokio::test]
async fn endpoint_secrets_are_sealed_in_the_table() {
    use seatflow_domain::store_ports::*;
    use seatflow_domain::{EventType, Mode, NewEndpoint};

    let config = aws::sdk_config().await;
    let plain = aws::fresh_table(&config).await;
    let table = plain.table().to_owned();
    let store = Arc::new(plain.clone().with_sealer(sealer(SEALING_KEY)));
    let f = seatflow_testkit::Fixture::new(store.clone(), "org_sealed").await;
    let created = f
        .seats
        .integrations()
        .create_webhook_endpoint(
            &f.admin,
            &NewEndpoint {
                url: "https://hooks.example.com/sealed".into(),
                event_types: vec![EventType::SeatAssigned],
                allow_http: false,
            },
            Mode::Apply,
        )
        .await
        .expect("created");
    let shown = created.value.secret.clone();
    let id = created.value.endpoint.id.clone();
    assert!(shown.starts_with("whsec_"));

    let raw = aws_sdk_dynamodb::Client::new(&config)
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("scan");
    let text = format!("{:?}", raw.items());
    assert!(!text.contains("whsec_"), "no secret in the table: {text}");
    assert!(text.contains(SEALED_PREFIX));

    let read = store
        .webhook_endpoint(&f.admin.org, &id)
        .await
        .expect("read")
        .expect("endpoint");
    assert_eq!(read.secrets[0].secret, shown, "opened as shown");
    let without = plain
        .webhook_endpoint(&f.admin.org, &id)
        .await
        .expect("read")
        .expect("endpoint");
    assert!(
        without.secrets[0].secret.starts_with(SEALED_PREFIX),
        "no key: the sealed text"
    );
    let other_key = plain
        .clone()
        .with_sealer(sealer("another-deployment-key-0123456789abcdef"));
    assert!(
        other_key.webhook_endpoint(&f.admin.org, &id).await.is_err(),
        "another key fails closed"
    );
    let moved = sealer(SEALING_KEY).open("org_sealed", "we_another", &without.secrets[0].secret);
    assert!(moved.is_err(), "bound to its endpoint");
    assert!(
        SecretSealer::from_secret("short").is_err(),
        "a weak key is refused"
    );
}
