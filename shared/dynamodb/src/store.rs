//! `DynamoEntitlementStore`: the `EntitlementStore` port on one DynamoDB table.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Get, Put, ReturnConsumedCapacity, TransactGetItem, TransactWriteItem, Update,
};
use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};
use rand::Rng as _;
use seatflow_domain::store_ports::{
    ApiKeyReads, BillingReads, CommitPort, DirectoryReads, JobFailures, OrganizationReads, PassStore,
};
use seatflow_domain::{
    ApiKey, ApiKeyId, AuditEntry, AuditId, Change, Delivery, DeliveryLog, Email, EndpointId, GrantId,
    NotificationPreferences, OrgId, Organization, Pass, PassKind, PoolSeatsCount, PositionMark, ProductId,
    Record, RenewalIndex, SeatGrant, SeatPool, Snapshot, SnapshotKeys, StoreError, Subscription,
    SubscriptionId, SubscriptionOwner, Team, TeamId, TeamSeats, TeamSeatsCount, User, UserId, UserSeats,
    WebhookEndpoint, Write,
};
use serde::de::DeserializeOwned;

use crate::capacity::{self, CapacityMeter};
use crate::items::{self, Item, Stored};
use crate::keys;
use crate::sealing::SecretSealer;

/// Where a query reads: the table (consistently) or one of its indexes.
#[derive(Clone, Copy)]
enum On {
    Table,
    Gsi1,
    Gsi2,
}

impl On {
    /// The index's name, and its partition and sort key attributes.
    fn names(self) -> (Option<&'static str>, &'static str, &'static str) {
        match self {
            Self::Table => (None, keys::PK, keys::SK),
            Self::Gsi1 => (Some(keys::GSI1), keys::GSI1PK, keys::GSI1SK),
            Self::Gsi2 => (Some(keys::GSI2), keys::GSI2PK, keys::GSI2SK),
        }
    }
}

/// Which sort keys a query reads.
enum SortKeys {
    Any,
    Prefix(String),
    Between(String, String),
}

/// Transient failures (throttling, a transaction colliding with another in
/// flight) are retried this many times with jittered exponential backoff.
const TRANSIENT_ATTEMPTS: u32 = 6;

/// The DynamoDB entitlement store.
#[derive(Debug, Clone)]
pub struct DynamoEntitlementStore {
    client: Client,
    table: String,
    meter: Option<Arc<CapacityMeter>>,
    /// Seals webhook endpoints' signing secrets at rest, when configured.
    sealer: Option<Arc<SecretSealer>>,
}

/// Why the store could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum StoreConfigError {
    /// `TABLE_NAME` is not set.
    #[error("TABLE_NAME is not set")]
    MissingTable,
}

pub(crate) fn unavailable<E>(error: E) -> StoreError
where
    E: std::error::Error + 'static,
{
    StoreError::Unavailable(DisplayErrorContext(error).to_string())
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(number: u64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// A transaction item that adds to a count within its cap: a failed
/// condition there means the cap is reached.
#[derive(Debug, Clone)]
struct Capped {
    item: usize,
    cap: Cap,
}

/// Whose cap a [`Capped`] item checks.
#[derive(Debug, Clone)]
enum Cap {
    /// A team's allocation of a product.
    Team(TeamId, ProductId),
    /// A pool's seats.
    Pool(ProductId),
}

/// How many of the nearest position marks one read looks through for one
/// that has not expired.
const POSITION_MARKS_READ: usize = 16;

/// What a failed transaction means for the caller.
enum Failure {
    /// A condition failed: the decision was made on stale state.
    Stale,
    /// Only a count's cap failed: the allocation or pool is used up.
    Full(Cap),
    /// Throttled, or collided with another transaction in flight: try again.
    Transient(String),
    /// Anything else.
    Fatal(String),
}

/// What a failed transaction means, given which of its items are capped
/// counts.
fn classify(error: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>, capped: &[Capped]) -> Failure {
    let text = DisplayErrorContext(&error).to_string();
    match error.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            let reasons = cancelled.cancellation_reasons();
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
            // Only a cap failed: the allocation or pool is used up. Any stale
            // version besides: decide again on fresh state first.
            let full = failed
                .iter()
                .map(|i| capped.iter().find(|c| c.item == *i).cloned())
                .collect::<Option<Vec<_>>>();
            if let Some(cap) = full.and_then(|f| f.into_iter().next()) {
                Failure::Full(cap.cap)
            } else if !failed.is_empty() {
                Failure::Stale
            } else if codes.iter().any(|c| {
                matches!(
                    *c,
                    "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                )
            }) {
                Failure::Transient(text)
            } else {
                Failure::Fatal(text)
            }
        }
        TransactWriteItemsError::TransactionInProgressException(_)
        | TransactWriteItemsError::ProvisionedThroughputExceededException(_)
        | TransactWriteItemsError::RequestLimitExceeded(_)
        | TransactWriteItemsError::ThrottlingException(_) => Failure::Transient(text),
        other if other.code() == Some("ThrottlingException") => Failure::Transient(text),
        _ => Failure::Fatal(text),
    }
}

fn is_transient_read(error: &aws_sdk_dynamodb::error::SdkError<TransactGetItemsError>) -> bool {
    matches!(
        error.as_service_error(),
        Some(
            TransactGetItemsError::TransactionCanceledException(_)
                | TransactGetItemsError::ProvisionedThroughputExceededException(_)
                | TransactGetItemsError::RequestLimitExceeded(_)
                | TransactGetItemsError::ThrottlingException(_)
        )
    )
}

async fn backoff(attempt: u32) {
    let cap_ms = 10u64 << attempt.min(6);
    let ms = rand::rng().random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl DynamoEntitlementStore {
    /// A store over `table`, reached through `client`.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            meter: None,
            sealer: None,
        }
    }

    /// Seals webhook endpoints' signing secrets with `sealer` when written,
    /// and opens them when read (see [`crate::sealing`]).
    #[must_use]
    pub fn with_sealer(mut self, sealer: Arc<SecretSealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// `endpoint` as written: its secrets sealed (those sealed already kept).
    /// Without a sealer, as it is: a function without the key (the relay)
    /// writes back the sealed secrets it read.
    fn sealed(&self, mut endpoint: WebhookEndpoint) -> WebhookEndpoint {
        if let Some(sealer) = &self.sealer {
            let (org, id) = (endpoint.org.to_string(), endpoint.id.to_string());
            for secret in &mut endpoint.secrets {
                if !secret.secret.starts_with(crate::sealing::SEALED_PREFIX) {
                    secret.secret = sealer.seal(&org, &id, &secret.secret);
                }
            }
        }
        endpoint
    }

    /// `endpoint` as read: its secrets opened. Without a sealer, as stored:
    /// a function without the key reads sealed secrets it never signs with.
    fn opened(&self, mut endpoint: WebhookEndpoint) -> Result<WebhookEndpoint, StoreError> {
        if let Some(sealer) = &self.sealer {
            let (org, id) = (endpoint.org.to_string(), endpoint.id.to_string());
            for secret in &mut endpoint.secrets {
                secret.secret = sealer
                    .open(&org, &id, &secret.secret)
                    .map_err(|e| StoreError::Unavailable(format!("endpoint {id}: {e}")))?;
            }
        }
        Ok(endpoint)
    }

    /// Records the capacity of every request in `meter` (benchmarks, metrics).
    #[must_use]
    pub fn with_meter(mut self, meter: Arc<CapacityMeter>) -> Self {
        self.meter = Some(meter);
        self
    }

    fn capacity_mode(&self) -> Option<ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| ReturnConsumedCapacity::Total)
    }

    /// A store from its settings (`var` reads them; `seatflow-config` from
    /// the environment): the table from `TABLE_NAME`; region,
    /// credentials and endpoint (`AWS_ENDPOINT_URL`, for moto) the SDK's way.
    ///
    /// # Errors
    /// [`StoreConfigError::MissingTable`].
    pub async fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, StoreConfigError> {
        let table = var("TABLE_NAME").ok_or(StoreConfigError::MissingTable)?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(Client::new(&config), table))
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The table this store uses.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .set_return_consumed_capacity(self.capacity_mode())
            .send()
            .await
            .map_err(unavailable)?;
        if let Some(meter) = &self.meter {
            meter.reported(output.consumed_capacity.iter());
            meter.consistent_read(output.item.iter(), true);
        }
        Ok(output.item)
    }

    async fn get_record<T: DeserializeOwned>(&self, pk: String, sk: String) -> Result<Option<T>, StoreError> {
        self.get(pk, sk).await?.map(items::from_item).transpose()
    }

    /// The items of `pk` under `sort_keys` (absent ones left out), read with
    /// `TransactGetItems`: one serialisable snapshot, retried while a write
    /// transaction on the same items is in flight. At most 100 keys.
    async fn transact_get(&self, pk: &str, sort_keys: Vec<String>) -> Result<Vec<Item>, StoreError> {
        if sort_keys.is_empty() {
            return Ok(Vec::new());
        }
        let gets = sort_keys
            .into_iter()
            .map(|sk| {
                Get::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(pk))
                    .key(keys::SK, s(sk))
                    .build()
                    .map(|get| TransactGetItem::builder().get(get).build())
                    .map_err(|e| StoreError::Unavailable(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0;
        let output = loop {
            match self
                .client
                .transact_get_items()
                .set_transact_items(Some(gets.clone()))
                .set_return_consumed_capacity(self.capacity_mode())
                .send()
                .await
            {
                Ok(output) => break output,
                Err(e) if attempt + 1 < TRANSIENT_ATTEMPTS && is_transient_read(&e) => {
                    backoff(attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(unavailable(e)),
            }
        };
        if let Some(meter) = &self.meter {
            meter.reported(output.consumed_capacity.iter().flatten());
            meter.transactional_read(output.responses.iter().flatten().filter_map(|r| r.item.as_ref()));
        }
        Ok(output
            .responses
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.item)
            .collect())
    }

    /// Items of `pk` whose sort key starts with `prefix`, every page.
    async fn query_prefix(&self, pk: String, prefix: String) -> Result<Vec<Item>, StoreError> {
        self.query_all(On::Table, pk, SortKeys::Prefix(prefix)).await
    }

    /// Every item of `pk` (read `on` the table or an index) whose sort key
    /// matches, every page.
    async fn query_all(&self, on: On, pk: String, sort: SortKeys) -> Result<Vec<Item>, StoreError> {
        let (index, pk_name, sk_name) = on.names();
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_return_consumed_capacity(self.capacity_mode())
                .set_exclusive_start_key(start);
            query = match &sort {
                SortKeys::Any => query.key_condition_expression("#pk = :pk"),
                SortKeys::Prefix(prefix) => query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", sk_name)
                    .expression_attribute_values(":prefix", s(prefix.clone())),
                SortKeys::Between(low, high) => query
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                    .expression_attribute_names("#sk", sk_name)
                    .expression_attribute_values(":low", s(low.clone()))
                    .expression_attribute_values(":high", s(high.clone())),
            };
            query = match index {
                Some(index) => query.index_name(index),
                None => query.consistent_read(true),
            };
            let output = query.send().await.map_err(unavailable)?;
            if let Some(meter) = &self.meter {
                meter.reported(output.consumed_capacity.iter());
                meter.consistent_read(output.items.iter().flatten(), index.is_none());
            }
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    /// Up to `limit` items with `low < sort key ≤ high` (on `GSI1` when
    /// `index`), ascending or descending. `low` itself is skipped.
    async fn query_range(
        &self,
        index: bool,
        pk: String,
        low: String,
        high: String,
        descending_from_high: bool,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let (pk_name, sk_name) = if index {
            (keys::GSI1PK, keys::GSI1SK)
        } else {
            (keys::PK, keys::SK)
        };
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":low", s(low.clone()))
                .expression_attribute_values(":high", s(high.clone()))
                .scan_index_forward(!descending_from_high)
                .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                .set_return_consumed_capacity(self.capacity_mode())
                .set_exclusive_start_key(start);
            if index {
                query = query.index_name(keys::GSI1);
            } else {
                query = query.consistent_read(true);
            }
            let output = query.send().await.map_err(unavailable)?;
            if let Some(meter) = &self.meter {
                meter.reported(output.consumed_capacity.iter());
                meter.consistent_read(output.items.iter().flatten(), !index);
            }
            for item in output.items.unwrap_or_default() {
                let sort = item
                    .get(sk_name)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let excluded = if descending_from_high {
                    sort == high
                } else {
                    sort == low
                };
                if !excluded && found.len() < limit {
                    found.push(item);
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && found.len() < limit => start = Some(key),
                _ => return Ok(found),
            }
        }
    }

    fn put(item: Item, expected: Option<u64>, table: &str) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(table).set_item(Some(item));
        put = match expected {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(v) => put
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(v)),
        };
        let put = put.build().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes `item` (replacing what was there), forgotten by the table's TTL
    /// after `expires`. In a transaction of one, as every write of the
    /// functions: their policies allow item writes inside transactions only.
    async fn put_expiring(&self, mut item: Item, expires: DateTime<Utc>) -> Result<(), StoreError> {
        item.insert(
            keys::EXPIRES_AT.into(),
            AttributeValue::N(expires.timestamp().to_string()),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The user a claim item (an email's, a directory user name's) names.
    async fn holder_by_claim(&self, org: &OrgId, sort_key: String) -> Result<Option<UserSeats>, StoreError> {
        let Some(claim) = self.get(keys::org(org), sort_key).await? else {
            return Ok(None);
        };
        let Some(id) = claim.get("user").and_then(|v| v.as_s().ok()) else {
            return Ok(None);
        };
        let Ok(id) = UserId::parse(id.as_str()) else {
            return Ok(None);
        };
        self.holder(org, &id).await
    }

    fn put_record<T: Stored>(
        &self,
        record: &T,
        expected: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        Self::put(record.item()?, expected, &self.table)
    }

    /// Deletes `pk`/`sk` in a transaction, on the version read when given.
    fn delete(&self, pk: String, sk: String, expected: Option<u64>) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk));
        if let Some(version) = expected {
            delete = delete
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(version));
        }
        let delete = delete
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The claim of which organisation counts a subscription, conditioned
    /// on the claim the decision read.
    fn owner_put(&self, claim: &SubscriptionOwner) -> Result<TransactWriteItem, StoreError> {
        let mut item = Item::new();
        item.insert(keys::PK.into(), s(keys::subscription_owner(&claim.subscription)));
        item.insert(keys::SK.into(), s(keys::SUBSCRIPTION_OWNER_SK.to_owned()));
        item.insert("org".into(), s(claim.owner.to_string()));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match &claim.expected {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(org) => put
                .condition_expression("#org = :expected")
                .expression_attribute_names("#org", "org")
                .expression_attribute_values(":expected", s(org.to_string())),
        };
        let put = put.build().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A blind change of a team's count (see [`TeamSeatsCount`]): created if
    /// missing; `headroom` kept and, for a positive delta, conditioned on.
    fn count_update(&self, org: &OrgId, count: &TeamSeatsCount) -> Result<TransactWriteItem, StoreError> {
        let mut set = vec![
            "#assigned = if_not_exists(#assigned, :zero) + :delta",
            "#v = if_not_exists(#v, :zero) + :one",
            "#org = if_not_exists(#org, :org)",
            "#team = if_not_exists(#team, :team)",
            "#product = if_not_exists(#product, :product)",
        ];
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::team_seats(&count.team, &count.product)))
            .expression_attribute_names("#assigned", "assigned")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_names("#org", "org")
            .expression_attribute_names("#team", "team")
            .expression_attribute_names("#product", "product")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":delta", AttributeValue::N(count.delta.to_string()))
            .expression_attribute_values(":org", s(org.to_string()))
            .expression_attribute_values(":team", s(count.team.to_string()))
            .expression_attribute_values(":product", s(count.product.to_string()));
        if count.allocated {
            set.push("#headroom = #headroom - :delta");
            update = update.expression_attribute_names("#headroom", keys::HEADROOM);
            if count.delta > 0 {
                update = update.condition_expression("#headroom >= :delta");
            }
        }
        let update = update
            .update_expression(format!("SET {}", set.join(", ")))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A blind change of a pool's counts (see [`PoolSeatsCount`]): the pool
    /// must exist, and a positive delta is conditioned on `free` (and, outside
    /// allocations, `unallocated_free`) covering it.
    fn pool_count_update(
        &self,
        org: &OrgId,
        count: &PoolSeatsCount,
    ) -> Result<TransactWriteItem, StoreError> {
        let total = count.total();
        let mut conditions = vec!["attribute_exists(#pk)"];
        if total > 0 {
            conditions.push("#free >= :total");
        }
        if count.unallocated > 0 {
            conditions.push("#unallocated_free >= :unallocated");
        }
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::pool(&count.product)))
            .update_expression(
                "SET #assigned = #assigned + :total, \
                 #in_allocations = #in_allocations + :in_allocations, \
                 #free = #free - :total, \
                 #unallocated_free = #unallocated_free - :unallocated, \
                 #v = #v + :one",
            )
            .condition_expression(conditions.join(" AND "))
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#assigned", "assigned")
            .expression_attribute_names("#in_allocations", "assigned_in_allocations")
            .expression_attribute_names("#free", keys::FREE)
            .expression_attribute_names("#unallocated_free", keys::UNALLOCATED_FREE)
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":total", AttributeValue::N(total.to_string()))
            .expression_attribute_values(
                ":in_allocations",
                AttributeValue::N(count.in_allocations.to_string()),
            )
            .expression_attribute_values(":unallocated", AttributeValue::N(count.unallocated.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// What `change` does to the organisation's user count, as an update of
    /// one counter shard picked at random; nothing when it creates and
    /// removes no user (or as many as it removes).
    fn user_count_update(&self, change: &Change) -> Result<Option<TransactWriteItem>, StoreError> {
        let delta: i64 = change
            .writes
            .iter()
            .map(|write| match write {
                Write::Holder(put) if put.expected.is_none() => 1,
                Write::RemoveHolder(_) => -1,
                _ => 0,
            })
            .sum();
        if delta == 0 {
            return Ok(None);
        }
        let shard = rand::random_range(0..keys::USER_COUNT_SHARDS);
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(&change.org)))
            .key(keys::SK, s(keys::user_count(shard)))
            .update_expression("ADD #users :delta")
            .expression_attribute_names("#users", "users")
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }

    /// The transaction items of a change, and which of them are capped team
    /// counts.
    fn transaction(&self, change: &Change) -> Result<(Vec<TransactWriteItem>, Vec<Capped>), StoreError> {
        let mut items = Vec::with_capacity(change.writes.len() + 2);
        let mut capped = Vec::new();
        for write in &change.writes {
            match write {
                Write::TeamSeatsCount(count) => {
                    if count.allocated && count.delta > 0 {
                        capped.push(Capped {
                            item: items.len(),
                            cap: Cap::Team(count.team.clone(), count.product.clone()),
                        });
                    }
                    items.push(self.count_update(&change.org, count)?);
                }
                Write::PoolSeatsCount(count) => {
                    capped.push(Capped {
                        item: items.len(),
                        cap: Cap::Pool(count.product.clone()),
                    });
                    items.push(self.pool_count_update(&change.org, count)?);
                }
                Write::Organization(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::Team(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::Pool(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::TeamSeats(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::Subscription(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::Grant(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::MoveEmail(moved) => {
                    if let Some(from) = &moved.from {
                        items.push(self.delete(keys::org(&change.org), keys::email(from), None)?);
                    }
                    if let Some(to) = &moved.to {
                        let claim = claim(&change.org, keys::email(to), &moved.user);
                        items.push(Self::put(claim, None, &self.table)?);
                    }
                }
                Write::MoveDirectoryName(moved) => {
                    if let Some(from) = &moved.from {
                        items.push(self.delete(keys::org(&change.org), keys::directory_name(from), None)?);
                    }
                    if let Some(to) = &moved.to {
                        let claim = claim(&change.org, keys::directory_name(to), &moved.user);
                        items.push(Self::put(claim, None, &self.table)?);
                    }
                }
                Write::MoveExternalId(moved) => {
                    if let Some(from) = &moved.from {
                        let entry = keys::external_id(from, &moved.user);
                        items.push(self.delete(keys::org(&change.org), entry, None)?);
                    }
                    if let Some(to) = &moved.to {
                        let entry = claim(&change.org, keys::external_id(to, &moved.user), &moved.user);
                        items.push(Self::put(entry, None, &self.table)?);
                    }
                }
                Write::RemoveHolder(removal) => {
                    let pk = keys::org(&change.org);
                    items.push(self.delete(pk.clone(), keys::user(&removal.user), Some(removal.expected))?);
                    if let Some(email) = &removal.email {
                        items.push(self.delete(pk.clone(), keys::email(email), None)?);
                    }
                    if let Some(name) = &removal.directory_name {
                        items.push(self.delete(pk.clone(), keys::directory_name(name), None)?);
                    }
                    if let Some(id) = &removal.external_id {
                        items.push(self.delete(pk, keys::external_id(id, &removal.user), None)?);
                    }
                }
                Write::SubscriptionOwner(claim) => items.push(self.owner_put(claim)?),
                Write::NotificationPreferences(put) => items.push(self.put_record(&put.value, put.expected)?),
                Write::WebhookEndpoint(put) => {
                    items.push(self.put_record(&self.sealed(put.value.clone()), put.expected)?);
                }
                Write::RemoveTeam(removal) => {
                    let pk = keys::org(&change.org);
                    items.push(self.delete(pk.clone(), keys::team(&removal.team), Some(removal.expected))?);
                    for (product, version) in &removal.counters {
                        let sk = keys::team_seats(&removal.team, product);
                        items.push(self.delete(pk.clone(), sk, Some(*version))?);
                    }
                }
                Write::RemoveWebhookEndpoint(removal) => items.push(self.delete(
                    keys::org(&change.org),
                    keys::webhook_endpoint(&removal.id),
                    Some(removal.expected),
                )?),
                Write::ProcessedEvent(event) => {
                    items.push(Self::put(items::event_item(event), None, &self.table)?)
                }
                Write::Holder(put) => {
                    items.push(Self::put(
                        items::holder_item(&put.value)?,
                        put.expected,
                        &self.table,
                    )?);
                    let user = &put.value.user;
                    if put.expected.is_none()
                        && let Some(email) = &user.email
                    {
                        items.push(Self::put(
                            claim(&user.org, keys::email(email), &user.id),
                            None,
                            &self.table,
                        )?);
                    }
                    if put.expected.is_none()
                        && let Some(name) = user.directory_name()
                    {
                        items.push(Self::put(
                            claim(&user.org, keys::directory_name(&name), &user.id),
                            None,
                            &self.table,
                        )?);
                    }
                    if put.expected.is_none()
                        && let Some(id) = user.external_id()
                    {
                        items.push(Self::put(
                            claim(&user.org, keys::external_id(&id, &user.id), &user.id),
                            None,
                            &self.table,
                        )?);
                    }
                }
                Write::ApiKey(put) => {
                    items.push(Self::put(
                        items::api_key_item(&put.value)?,
                        put.expected,
                        &self.table,
                    )?);
                    if put.expected.is_none() {
                        let mut by_hash = Item::new();
                        by_hash.insert(keys::PK.into(), s(keys::api_key_hash(&put.value.secret_hash)));
                        by_hash.insert(keys::SK.into(), s(keys::API_KEY_HASH_SK));
                        by_hash.insert("org".into(), s(put.value.org.to_string()));
                        by_hash.insert("key".into(), s(put.value.id.to_string()));
                        items.push(Self::put(by_hash, None, &self.table)?);
                    }
                }
            }
        }
        if let Some(update) = self.user_count_update(change)? {
            items.push(update);
        }
        for entry in std::iter::once(&change.audit).chain(&change.further_audit) {
            items.push(Self::put(items::audit_item(entry)?, None, &self.table)?);
        }
        // The outbox: written by the same transaction, so its events exist
        // exactly when the change does (the stream reader relays them).
        if !change.events.is_empty() {
            items.push(Self::put(items::outbox_item(change)?, None, &self.table)?);
        }
        Ok((items, capped))
    }
}

/// The item claiming a unique key of `org` (`sort_key`: an email's or a
/// directory user name's) for `user`.
fn claim(org: &OrgId, sort_key: String, user: &UserId) -> Item {
    let mut claim = Item::new();
    claim.insert(keys::PK.into(), s(keys::org(org)));
    claim.insert(keys::SK.into(), s(sort_key));
    claim.insert("user".into(), s(user.to_string()));
    claim
}

/// The first instant of the month after `at`'s.
fn next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if at.month() == 12 {
        (at.year() + 1, 1)
    } else {
        (at.year(), at.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(at + chrono::Duration::days(31))
}

/// A failed job as stored: its `expires_at` is the TTL's Unix seconds.
fn job_failure_of(mut item: Item) -> Result<seatflow_domain::JobFailure, StoreError> {
    if let Some(AttributeValue::N(seconds)) = item.get(keys::EXPIRES_AT) {
        let at = seconds
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .ok_or_else(|| {
                StoreError::Unavailable(format!("a failed job's expiry is not a time: {seconds}"))
            })?;
        item.insert(
            keys::EXPIRES_AT.into(),
            AttributeValue::S(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
    }
    items::from_item(item)
}

#[async_trait]
impl CommitPort for DynamoEntitlementStore {
    async fn record(&self, record: Record) -> Result<(), StoreError> {
        match record {
            Record::JobFailed(failure) => self.record_job_failure(&failure).await,
            Record::JobSucceeded { event_id } => self.forget_job_failure(&event_id).await,
            Record::KeyUsed { org, id, at } => self.touch_api_key(&org, &id, at).await,
            Record::SeatUsed {
                org,
                user,
                product,
                on,
            } => self.touch_seat(&org, &user, &product, on).await,
            Record::PositionMark(mark) => {
                let mut item = Item::new();
                item.insert(keys::PK.into(), s(keys::position_marks(&mark.org)));
                item.insert(keys::SK.into(), s(keys::position(mark.position)));
                item.insert("user".into(), s(mark.user.to_string()));
                self.put_expiring(item, mark.expires_at).await
            }
        }
    }

    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        let pk = keys::org(org);
        let sort_keys: Vec<String> = keys
            .organization
            .then(|| keys::ORG_SK.to_owned())
            .into_iter()
            .chain(keys.holders.iter().map(keys::user))
            .chain(keys.emails.iter().map(keys::email))
            .chain(keys.directory_names.iter().map(|n| keys::directory_name(n)))
            .chain(keys.teams.iter().map(keys::team))
            .chain(keys.pools.iter().map(keys::pool))
            .chain(keys.team_seats.iter().map(|(t, p)| keys::team_seats(t, p)))
            .collect();
        let mut read = Snapshot::default();
        for item in self.transact_get(&pk, sort_keys).await? {
            let sort = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            match sort.split('#').next().unwrap_or_default() {
                "USER" => read.holders.push(items::holder_from_item(item)?),
                "EMAIL" => {
                    let user = item.get("user").and_then(|v| v.as_s().ok());
                    let email = keys.emails.iter().find(|e| keys::email(e) == sort);
                    if let (Some(user), Some(email)) = (user, email) {
                        let user = UserId::parse(user).map_err(|e| StoreError::Unavailable(e.to_string()))?;
                        read.emails.push((email.clone(), user));
                    }
                }
                "DNAME" => {
                    let user = item.get("user").and_then(|v| v.as_s().ok());
                    let name = keys
                        .directory_names
                        .iter()
                        .find(|n| keys::directory_name(n) == sort);
                    if let (Some(user), Some(name)) = (user, name) {
                        let user = UserId::parse(user).map_err(|e| StoreError::Unavailable(e.to_string()))?;
                        read.directory_names.push((name.clone(), user));
                    }
                }
                "TEAM" => read.teams.push(items::from_item(item)?),
                "POOL" => read.pools.push(items::from_item(item)?),
                keys::ORG_SK => read.organization = Some(items::from_item(item)?),
                _ => read.team_seats.push(items::from_item(item)?),
            }
        }
        Ok(read)
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let (items, capped) = self.transaction(&change)?;
        // A delete is billed by the deleted item's size; assignments are under 1 KB.
        let sizes: Vec<usize> = items
            .iter()
            .map(|i| i.put().map_or(1, |p| capacity::item_size(p.item())))
            .collect();
        let mut last = String::new();
        for attempt in 0..TRANSIENT_ATTEMPTS {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .set_return_consumed_capacity(self.capacity_mode())
                .send()
                .await;
            if let Some(meter) = &self.meter {
                // Refused transactions are billed too.
                meter.transactional_write(sizes.iter().copied());
                if let Ok(output) = &sent {
                    meter.reported(output.consumed_capacity.iter().flatten());
                }
            }
            match sent.map_err(|e| classify(e, &capped)) {
                Ok(_) => return Ok(()),
                Err(Failure::Stale) => return Err(StoreError::Conflict),
                Err(Failure::Full(Cap::Team(team, product))) => {
                    return Err(StoreError::AllocationFull { team, product });
                }
                Err(Failure::Full(Cap::Pool(product))) => return Err(StoreError::PoolFull { product }),
                Err(Failure::Fatal(text)) => return Err(StoreError::Unavailable(text)),
                Err(Failure::Transient(text)) => {
                    tracing::debug!(attempt, error = %text, "transient DynamoDB failure; retrying");
                    last = text;
                    backoff(attempt).await;
                }
            }
        }
        // Still colliding: let the domain decide again on fresh state.
        if last.contains("TransactionConflict") {
            Err(StoreError::Conflict)
        } else {
            Err(StoreError::Unavailable(last))
        }
    }

    async fn pause_before_retry(&self, attempt: u32) {
        backoff(attempt.min(4)).await;
    }
}

#[async_trait]
impl OrganizationReads for DynamoEntitlementStore {
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.get_record(keys::org(org), keys::ORG_SK.into()).await
    }

    async fn organizations(
        &self,
        after: Option<&OrgId>,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError> {
        // Ids are letters, digits, '_' and '-': '!' sorts before every one.
        let low = after.map_or_else(|| "!".to_owned(), ToString::to_string);
        let items = self
            .query_range(true, keys::ORGS.into(), low, "~".into(), false, limit)
            .await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn audit(
        &self,
        org: &OrgId,
        before: Option<&AuditId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let high = before.map_or_else(|| "AUDIT$".to_owned(), keys::audit);
        let items = self
            .query_range(false, keys::org(org), "AUDIT#".into(), high, true, limit)
            .await?;
        items.into_iter().map(items::audit_from_item).collect()
    }

    async fn webhook_endpoint(
        &self,
        org: &OrgId,
        id: &EndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.get_record(keys::org(org), keys::webhook_endpoint(id))
            .await?
            .map(|endpoint| self.opened(endpoint))
            .transpose()
    }

    async fn webhook_endpoints(&self, org: &OrgId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let items = self
            .query_prefix(keys::org(org), keys::WEBHOOK_ENDPOINTS.into())
            .await?;
        items
            .into_iter()
            .map(|item| self.opened(items::from_item(item)?))
            .collect()
    }

    async fn notification_preferences(
        &self,
        org: &OrgId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        self.get_record(keys::org(org), keys::NOTIFY_SK.into()).await
    }
}

#[async_trait]
impl DirectoryReads for DynamoEntitlementStore {
    async fn pools(&self, org: &OrgId) -> Result<Vec<SeatPool>, StoreError> {
        let items = self.query_prefix(keys::org(org), "POOL#".into()).await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn team(&self, org: &OrgId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        self.get_record(keys::org(org), keys::team(team)).await
    }

    async fn teams(&self, org: &OrgId) -> Result<Vec<Team>, StoreError> {
        let items = self.query_prefix(keys::org(org), "TEAM#".into()).await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn all_team_seats(&self, org: &OrgId) -> Result<Vec<TeamSeats>, StoreError> {
        let items = self.query_prefix(keys::org(org), "TSEATS#".into()).await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn holder(&self, org: &OrgId, user: &UserId) -> Result<Option<UserSeats>, StoreError> {
        self.get(keys::org(org), keys::user(user))
            .await?
            .map(items::holder_from_item)
            .transpose()
    }

    async fn holder_by_email(&self, org: &OrgId, email: &Email) -> Result<Option<UserSeats>, StoreError> {
        self.holder_by_claim(org, keys::email(email)).await
    }

    async fn holder_by_directory_name(
        &self,
        org: &OrgId,
        name: &str,
    ) -> Result<Option<UserSeats>, StoreError> {
        self.holder_by_claim(org, keys::directory_name(name)).await
    }

    async fn holders_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
    ) -> Result<Vec<UserSeats>, StoreError> {
        let entries = self
            .query_all(
                On::Table,
                keys::org(org),
                SortKeys::Prefix(keys::external_ids(external_id)),
            )
            .await?;
        let mut found = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(id) = entry
                .get("user")
                .and_then(|v| v.as_s().ok())
                .and_then(|id| UserId::parse(id).ok())
            else {
                continue;
            };
            // An entry is written and removed with its user; the check
            // guards against a user changed by hand in the table.
            if let Some(holder) = self.holder(org, &id).await?
                && holder.user.external_id().as_deref() == Some(external_id)
            {
                found.push(holder);
            }
        }
        Ok(found)
    }

    async fn users(
        &self,
        org: &OrgId,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let low = after.map_or_else(|| "USER#".to_owned(), keys::user);
        let items = match team {
            Some(team) => {
                self.query_range(
                    true,
                    keys::team_members(org, team),
                    low,
                    "USER$".into(),
                    false,
                    limit,
                )
                .await?
            }
            None => {
                self.query_range(false, keys::org(org), low, "USER$".into(), false, limit)
                    .await?
            }
        };
        items
            .into_iter()
            .map(|item| items::holder_from_item(item).map(|h| h.user))
            .collect()
    }

    async fn holders(
        &self,
        org: &OrgId,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<UserSeats>, StoreError> {
        let low = after.map_or_else(|| "USER#".to_owned(), keys::user);
        let items = self
            .query_range(false, keys::org(org), low, "USER$".into(), false, limit)
            .await?;
        items.into_iter().map(items::holder_from_item).collect()
    }

    async fn admins(&self, org: &OrgId) -> Result<Vec<User>, StoreError> {
        self.query_all(On::Gsi2, keys::admins(org), SortKeys::Any)
            .await?
            .into_iter()
            .map(|item| items::holder_from_item(item).map(|holder| holder.user))
            .collect()
    }

    async fn user_count(&self, org: &OrgId) -> Result<u64, StoreError> {
        let shards = self.query_prefix(keys::org(org), keys::USER_COUNT.into()).await?;
        let sum: i64 = shards
            .iter()
            .filter_map(|item| item.get("users").and_then(|v| v.as_n().ok()))
            .filter_map(|n| n.parse::<i64>().ok())
            .sum();
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    async fn position_mark(
        &self,
        org: &OrgId,
        position: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<PositionMark>, StoreError> {
        // The nearest marks below, newest position first; TTL removes
        // expired ones late, so they are passed over here.
        let items = self
            .query_range(
                false,
                keys::position_marks(org),
                keys::position(0),
                keys::position(position.saturating_add(1)),
                true,
                POSITION_MARKS_READ,
            )
            .await?;
        for item in items {
            let number = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
            };
            let Some(expires_at) = number(keys::EXPIRES_AT).and_then(|at| DateTime::from_timestamp(at, 0))
            else {
                continue;
            };
            let at = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.parse::<u64>().ok());
            let user = item
                .get("user")
                .and_then(|v| v.as_s().ok())
                .and_then(|u| UserId::parse(u).ok());
            if let (Some(at), Some(user)) = (at, user)
                && expires_at > now
            {
                return Ok(Some(PositionMark {
                    org: org.clone(),
                    position: at,
                    user,
                    expires_at,
                }));
            }
        }
        Ok(None)
    }
}

#[async_trait]
impl ApiKeyReads for DynamoEntitlementStore {
    async fn api_key(&self, org: &OrgId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        self.get_record(keys::org(org), keys::api_key(id)).await
    }

    async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, StoreError> {
        let items = self.query_prefix(keys::org(org), "KEY#".into()).await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let Some(found) = self
            .get(keys::api_key_hash(secret_hash), keys::API_KEY_HASH_SK.into())
            .await?
        else {
            return Ok(None);
        };
        let text = |name: &str| found.get(name).and_then(|v| v.as_s().ok()).cloned();
        let (Some(org), Some(key)) = (text("org"), text("key")) else {
            return Ok(None);
        };
        let (Ok(org), Ok(key)) = (OrgId::parse(org), ApiKeyId::parse(key)) else {
            return Ok(None);
        };
        self.get_record(keys::org(&org), keys::api_key(&key)).await
    }
}

/// A pass as its item holds it (`org`, `user`, `expires_at` in Unix
/// seconds, which the table's TTL also reads).
fn pass_from(kind: PassKind, item: &Item) -> Option<Pass> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let expires = item
        .get(keys::EXPIRES_AT)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .and_then(|n| Utc.timestamp_opt(n, 0).single())?;
    Some(Pass {
        kind,
        org: OrgId::parse(text("org")?).ok()?,
        user: UserId::parse(text("user")?).ok()?,
        expires_at: expires,
    })
}

#[async_trait]
impl PassStore for DynamoEntitlementStore {
    async fn keep_pass(&self, digest: &str, pass: &Pass) -> Result<(), StoreError> {
        let kept = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::pass(pass.kind, digest)))
            .item(keys::SK, s(keys::PASS_SK))
            .item("org", s(pass.org.to_string()))
            .item("user", s(pass.user.to_string()))
            .item(
                keys::EXPIRES_AT,
                AttributeValue::N(pass.expires_at.timestamp().to_string()),
            )
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match kept {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .is_some_and(|code| code == "ConditionalCheckFailedException") =>
            {
                Err(StoreError::Conflict)
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn pass(&self, kind: PassKind, digest: &str) -> Result<Option<Pass>, StoreError> {
        Ok(self
            .get(keys::pass(kind, digest), keys::PASS_SK.into())
            .await?
            .and_then(|item| pass_from(kind, &item)))
    }

    async fn take_pass(&self, kind: PassKind, digest: &str) -> Result<Option<Pass>, StoreError> {
        // One delete returning what it removed: of two takers, only the one
        // whose delete found the item gets it.
        let taken = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::pass(kind, digest)))
            .key(keys::SK, s(keys::PASS_SK))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(taken.attributes.and_then(|item| pass_from(kind, &item)))
    }
}

#[async_trait]
impl BillingReads for DynamoEntitlementStore {
    async fn subscription(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError> {
        self.get_record(keys::org(org), keys::subscription(id)).await
    }

    async fn subscriptions(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
        let items = self.query_prefix(keys::org(org), "SUB#".into()).await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn subscription_owner(&self, id: &SubscriptionId) -> Result<Option<OrgId>, StoreError> {
        let Some(item) = self
            .get(keys::subscription_owner(id), keys::SUBSCRIPTION_OWNER_SK.into())
            .await?
        else {
            return Ok(None);
        };
        let org = item
            .get("org")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::Unavailable(format!("the owner item of {id} has no org")))?;
        OrgId::parse(org.as_str())
            .map(Some)
            .map_err(|e| StoreError::Unavailable(format!("the owner item of {id}: {e}")))
    }

    async fn grant(&self, org: &OrgId, id: &GrantId) -> Result<Option<SeatGrant>, StoreError> {
        self.get_record(keys::org(org), keys::grant(id)).await
    }

    async fn grants(&self, org: &OrgId) -> Result<Vec<SeatGrant>, StoreError> {
        let items = self.query_prefix(keys::org(org), "GRANT#".into()).await?;
        items.into_iter().map(items::from_item).collect()
    }

    async fn event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .get(keys::event(event_id), keys::EVENT_SK.into())
            .await?
            .is_some())
    }
}

#[async_trait]
impl JobFailures for DynamoEntitlementStore {
    async fn job_failure(&self, event_id: &str) -> Result<Option<seatflow_domain::JobFailure>, StoreError> {
        self.get(keys::JOB_FAILURES.into(), event_id.to_owned())
            .await?
            .map(job_failure_of)
            .transpose()
    }

    async fn job_failures(&self, limit: usize) -> Result<Vec<seatflow_domain::JobFailure>, StoreError> {
        let items = self
            .query_range(
                false,
                keys::JOB_FAILURES.into(),
                "!".into(),
                "~".into(),
                false,
                limit,
            )
            .await?;
        items.into_iter().map(job_failure_of).collect()
    }
}

#[async_trait]
impl seatflow_domain::Outbox for DynamoEntitlementStore {
    async fn outbox(
        &self,
        org: &OrgId,
        limit: usize,
    ) -> Result<Vec<seatflow_domain::OutboundEvent>, StoreError> {
        let items = self
            .query_range(
                false,
                keys::org(org),
                keys::OUTBOX.into(),
                format!("{}~", keys::OUTBOX),
                false,
                limit,
            )
            .await?;
        let mut events = Vec::new();
        for item in items {
            events.extend(items::outbox_events(&item)?);
        }
        events.truncate(limit);
        Ok(events)
    }
}

#[async_trait]
impl DeliveryLog for DynamoEntitlementStore {
    async fn record_delivery(&self, org: &OrgId, delivery: &Delivery) -> Result<(), StoreError> {
        let item = items::to_item(
            delivery,
            keys::org(org),
            keys::delivery(&delivery.endpoint, &delivery.event.id),
        )?;
        let expires = delivery.event.created_at + chrono::Duration::days(items::DELIVERY_KEEP_DAYS);
        self.put_expiring(item, expires).await
    }

    async fn delivery(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        event: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        self.get_record(keys::org(org), keys::delivery(endpoint, event))
            .await
    }

    async fn deliveries(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let prefix = keys::deliveries(endpoint);
        let items = self
            .query_range(
                false,
                keys::org(org),
                prefix.clone(),
                format!("{prefix}~"),
                true,
                limit,
            )
            .await?;
        items.into_iter().take(limit).map(items::from_item).collect()
    }

    async fn claim_delivery_slot(
        &self,
        org: &OrgId,
        slots: u32,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError> {
        // Start at a random place, so that concurrent claims spread out.
        let start = rand::rng().random_range(0..slots.max(1));
        for offset in 0..slots {
            let slot = (start + offset) % slots;
            let put = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::org(org)))
                .item(keys::SK, s(keys::delivery_slot(slot)))
                .item("holder", s(holder))
                .item("until", AttributeValue::N(until.timestamp().to_string()))
                // Gone by the table's TTL once long run out.
                .item(
                    keys::EXPIRES_AT,
                    AttributeValue::N((until + chrono::Duration::days(1)).timestamp().to_string()),
                )
                .condition_expression("attribute_not_exists(#pk) OR #until < :now")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let claimed = self
                .write_one(TransactWriteItem::builder().put(put).build())
                .await;
            match claimed {
                Ok(()) => return Ok(Some(slot)),
                Err(error) => match classify(error, &[]) {
                    // Held by another attempt (or racing one): the next place.
                    Failure::Stale | Failure::Transient(_) | Failure::Full(..) => {}
                    Failure::Fatal(why) => return Err(StoreError::Unavailable(why)),
                },
            }
        }
        Ok(None)
    }

    async fn release_delivery_slot(&self, org: &OrgId, slot: u32, holder: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::delivery_slot(slot)))
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":holder", s(holder))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        match self
            .write_one(TransactWriteItem::builder().delete(delete).build())
            .await
        {
            Ok(()) => Ok(()),
            Err(error) => match classify(error, &[]) {
                // Ran out and taken over, or gone: nothing of ours to give back.
                Failure::Stale | Failure::Full(..) => Ok(()),
                Failure::Transient(why) | Failure::Fatal(why) => Err(StoreError::Unavailable(why)),
            },
        }
    }
}

#[async_trait]
impl RenewalIndex for DynamoEntitlementStore {
    async fn renewing_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Subscription>, StoreError> {
        let mut found = Vec::new();
        let mut month = from;
        // One query per calendar month the range touches.
        while keys::renewal_month(month) <= keys::renewal_month(to) {
            let items = self
                .query_all(
                    On::Gsi1,
                    keys::renewal_month(month),
                    SortKeys::Between(keys::renewal_at(from), keys::renewal_at(to)),
                )
                .await?;
            for item in items {
                let subscription: Subscription = items::from_item(item)?;
                // The index is eventually consistent: keep only what still holds.
                if subscription.renews_between(from, to) {
                    found.push(subscription);
                }
            }
            month = next_month(month);
        }
        Ok(found)
    }

    async fn payment_failing_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let items = self
            .query_all(On::Gsi1, keys::PAYMENT_FAILING.into(), SortKeys::Any)
            .await?;
        let found: Vec<Subscription> = items
            .into_iter()
            .map(items::from_item)
            .collect::<Result<_, _>>()?;
        Ok(found.into_iter().filter(Subscription::payment_failing).collect())
    }

    async fn grants_run_out_by(&self, at: DateTime<Utc>) -> Result<Vec<SeatGrant>, StoreError> {
        // Every entry's sort key starts with its end; `~` sorts after `#`.
        let items = self
            .query_all(
                On::Gsi1,
                keys::GRANT_UNTIL.into(),
                SortKeys::Between("0".into(), format!("{}~", keys::renewal_at(at))),
            )
            .await?;
        let found: Vec<SeatGrant> = items
            .into_iter()
            .map(items::from_item)
            .collect::<Result<_, _>>()?;
        // The index is eventually consistent: keep only what still holds.
        Ok(found.into_iter().filter(|g| g.expired_at(at)).collect())
    }

    async fn over_limit_pools(&self) -> Result<Vec<SeatPool>, StoreError> {
        let items = self
            .query_all(On::Gsi1, keys::OVER_LIMIT.into(), SortKeys::Any)
            .await?;
        let found: Vec<SeatPool> = items
            .into_iter()
            .map(items::from_item)
            .collect::<Result<_, _>>()?;
        Ok(found.into_iter().filter(SeatPool::over_limit).collect())
    }

    async fn auto_buying_pools(&self) -> Result<Vec<SeatPool>, StoreError> {
        let items = self
            .query_all(On::Gsi1, keys::AUTO_BOUGHT.into(), SortKeys::Any)
            .await?;
        let found: Vec<SeatPool> = items
            .into_iter()
            .map(items::from_item)
            .collect::<Result<_, _>>()?;
        Ok(found.into_iter().filter(|p| p.auto_bought > 0).collect())
    }
}

/// The writes of [`Record`]s.
impl DynamoEntitlementStore {
    /// Writes `item` as a transaction of one: the functions may write
    /// outside a commit only inside transactions (their IAM policy's
    /// `dynamodb:EnclosingOperation`).
    async fn write_one(
        &self,
        item: TransactWriteItem,
    ) -> Result<(), aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>> {
        self.client
            .transact_write_items()
            .transact_items(item)
            .send()
            .await
            .map(drop)
    }

    async fn touch_api_key(&self, org: &OrgId, id: &ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::api_key(id)))
            .update_expression("SET #used = :at")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#used", "last_used_at")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":at", s(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.write_one(TransactWriteItem::builder().update(update).build())
            .await
            .map_err(unavailable)
    }

    /// The day `user` last used `product`: an attribute of the user's item
    /// (`ACTIVE#{product}`), set without moving its version, never back.
    async fn touch_seat(
        &self,
        org: &OrgId,
        user: &UserId,
        product: &ProductId,
        on: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::user(user)))
            .update_expression("SET #day = :day")
            .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#day) OR #day < :day)")
            .expression_attribute_names("#day", keys::active(product))
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":day", s(on.to_string()))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        match self
            .write_one(TransactWriteItem::builder().update(update).build())
            .await
        {
            Ok(()) => Ok(()),
            Err(error) => match classify(error, &[]) {
                // Gone, or a later day recorded meanwhile: nothing to do.
                Failure::Stale | Failure::Full(..) => Ok(()),
                Failure::Transient(why) | Failure::Fatal(why) => Err(StoreError::Unavailable(why)),
            },
        }
    }

    async fn record_job_failure(&self, failure: &seatflow_domain::JobFailure) -> Result<(), StoreError> {
        let item = items::to_item(failure, keys::JOB_FAILURES.into(), failure.event_id.clone())?;
        self.put_expiring(item, failure.expires_at).await
    }

    async fn forget_job_failure(&self, event_id: &str) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::JOB_FAILURES))
            .key(keys::SK, s(event_id))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.write_one(TransactWriteItem::builder().delete(delete).build())
            .await
            .map_err(unavailable)
    }
}
