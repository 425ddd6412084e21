//! The DynamoDB store passes the same conformance suite as the in-memory
//! store, over the wire against moto server (started by `make test`, which
//! sets `AWS_ENDPOINT_URL`). Each test gets its own table.

use std::sync::Arc;

use seatflow_domain::EntitlementStore;
use seatflow_dynamodb::DynamoEntitlementStore;

async fn dynamo_store() -> Arc<dyn EntitlementStore> {
    let store = support::fresh_store().await;
    Arc::new(store)
}

mod support {
    use aws_sdk_dynamodb::config::{Credentials, Region};
    use seatflow_dynamodb::DynamoEntitlementStore;

    /// An SDK client for moto. Fails, never skips, when moto is not there.
    pub async fn client() -> aws_sdk_dynamodb::Client {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
            panic!(
                "AWS_ENDPOINT_URL is not set: these tests need moto server. Run them with `make test`, \
                 or `scripts/with-moto.sh cargo test -p seatflow-dynamodb`"
            )
        });
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(endpoint)
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&config)
    }

    /// A store on a new, uniquely named table.
    pub async fn fresh_store() -> DynamoEntitlementStore {
        let table = format!("seatflow-test-{}", uuid::Uuid::new_v4().simple());
        let store = DynamoEntitlementStore::new(client().await, table);
        store.create_table().await.unwrap_or_else(|e| {
            panic!("creating a table on moto failed ({e}); is moto running at AWS_ENDPOINT_URL?")
        });
        store
    }
}

seatflow_testkit::entitlement_store_conformance!(dynamo_store);

#[tokio::test]
async fn the_table_is_created_once_per_test() {
    let store: DynamoEntitlementStore = support::fresh_store().await;
    assert!(
        store.create_table().await.is_err(),
        "a second create of the same table is refused"
    );
}
