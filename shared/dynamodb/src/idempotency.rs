//! `DynamoIdempotencyStore`: idempotency records in the entitlement table.
//!
//! One item per organisation and key, in a partition of its own
//! (`PK = IDEMP#{org}#{key}`, `SK = IDEMP`), so that a function's IAM policy
//! can limit it to these items with `dynamodb:LeadingKeys`. It holds the
//! request's `fingerprint`, the `plan` decided first, `lease_until` (Unix
//! seconds) while in progress, then the `response`; `expires_at` (a day on)
//! lets the table's TTL forget it. Starting is one conditional `PutItem`
//! (new, or taking over an expired lease of the same request); when the
//! condition fails, one `GetItem` says why.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use seatflow_domain::{IdempotencyKey, IdempotencyStore, OrgId, Started, StoreError};

use crate::keys;
use crate::store::unavailable;

const FINGERPRINT: &str = "fingerprint";
const PLAN: &str = "plan";
const LEASE_UNTIL: &str = "lease_until";
const RESPONSE: &str = "response";
const SK: &str = "IDEMP";

/// How long a key is remembered (Stripe keeps its own for a day too).
const KEEP_HOURS: i64 = 24;

/// The idempotency store on the entitlement table.
#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn seconds(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

fn pk(org: &OrgId, key: &IdempotencyKey) -> String {
    format!("IDEMP#{org}#{key}")
}

impl DynamoIdempotencyStore {
    /// A store in `table` (the entitlement table).
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// On the table named by `TABLE_NAME` (`var` reads the settings;
    /// `seatflow-config` from the environment).
    ///
    /// # Errors
    /// [`crate::StoreConfigError::MissingTable`].
    pub async fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, crate::StoreConfigError> {
        let table = var("TABLE_NAME").ok_or(crate::StoreConfigError::MissingTable)?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(Client::new(&config), table))
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn start(
        &self,
        org: &OrgId,
        key: &IdempotencyKey,
        fingerprint: &str,
        plan: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Started, StoreError> {
        // New, or an attempt at the same request whose lease ran out and that
        // never answered: take it over, keeping the first attempt's plan.
        let started = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk(org, key)))
            .key(keys::SK, s(SK))
            .update_expression(
                "SET #fp = if_not_exists(#fp, :fp), #plan = if_not_exists(#plan, :plan), \
                 #lease = :lease, #expires = if_not_exists(#expires, :expires)",
            )
            .condition_expression(
                "attribute_not_exists(#pk) OR (#fp = :fp AND attribute_not_exists(#response) AND #lease < :now)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#fp", FINGERPRINT)
            .expression_attribute_names("#plan", PLAN)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_names("#expires", keys::EXPIRES_AT)
            .expression_attribute_names("#response", RESPONSE)
            .expression_attribute_values(":fp", s(fingerprint))
            .expression_attribute_values(":plan", s(plan))
            .expression_attribute_values(":lease", seconds(lease_until))
            .expression_attribute_values(":expires", seconds(now + Duration::hours(KEEP_HOURS)))
            .expression_attribute_values(":now", seconds(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().ok()).cloned()
        };
        match started {
            Ok(output) => Ok(match output.attributes.as_ref().and_then(|old| text(old, PLAN)) {
                Some(plan) => Started::Resumed { plan },
                None => Started::New,
            }),
            Err(error)
                if error
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .is_some_and(|code| code == "ConditionalCheckFailedException") =>
            {
                let found = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(keys::PK, s(pk(org, key)))
                    .key(keys::SK, s(SK))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(unavailable)?
                    .item
                    .unwrap_or_default();
                Ok(if text(&found, FINGERPRINT).as_deref() != Some(fingerprint) {
                    Started::Mismatch
                } else if let Some(response) = text(&found, RESPONSE) {
                    Started::Replay { response }
                } else {
                    Started::InProgress
                })
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn finish(&self, org: &OrgId, key: &IdempotencyKey, response: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk(org, key)))
            .key(keys::SK, s(SK))
            .update_expression("SET #response = :response REMOVE #lease")
            .expression_attribute_names("#response", RESPONSE)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_values(":response", s(response))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn abandon(&self, org: &OrgId, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk(org, key)))
            .key(keys::SK, s(SK))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
