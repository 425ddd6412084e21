//! `DynamoNoticeLedger`: which notices went out, in the entitlement table.
//!
//! One item per notice, `PK = NOTICE#{org}`, `SK = NOTICE#{key}`, in one of two
//! states: `claimed` (with the claiming run's `token` and `lease_until`, Unix
//! seconds) or `sent` (with `sent_at`, and `expires_at` a year and more later
//! for the table's TTL: by then its period is long over). A claim is one
//! conditional `PutItem`, so of concurrent runs exactly one sends; completing
//! and releasing are conditioned on the token, so a run whose lease expired
//! and was taken over cannot undo the new claim.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use seatflow_domain::{Claim, LedgerError, NoticeKey, NoticeLedger, OrgId};

use crate::keys;

const STATE: &str = "state";
const TOKEN: &str = "token";
const LEASE_UNTIL: &str = "lease_until";
const CLAIMED: &str = "claimed";
const SENT: &str = "sent";

/// How long a sent marker is kept (past the longest billing term).
const KEEP_SENT_DAYS: i64 = 400;

/// The notice ledger on the entitlement table.
#[derive(Debug, Clone)]
pub struct DynamoNoticeLedger {
    client: Client,
    table: String,
}

impl DynamoNoticeLedger {
    /// A ledger in `table` (the entitlement table).
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

fn unavailable<E: std::error::Error + 'static>(error: E) -> LedgerError {
    LedgerError::Unavailable(DisplayErrorContext(error).to_string())
}

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn seconds(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

fn condition_failed<E: ProvideErrorMetadata>(error: &aws_sdk_dynamodb::error::SdkError<E>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// A write conditioned on the claim's token failed: the claim was lost, or the table failed.
fn claim_write_failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: aws_sdk_dynamodb::error::SdkError<E>,
) -> LedgerError {
    if condition_failed(&error) {
        LedgerError::ClaimLost
    } else {
        unavailable(error)
    }
}

#[async_trait]
impl NoticeLedger for DynamoNoticeLedger {
    async fn claim(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let token = uuid::Uuid::new_v4().to_string();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::notice_ledger(org)))
            .item(keys::SK, s(keys::notice(key)))
            .item(STATE, s(CLAIMED))
            .item(TOKEN, s(token.clone()))
            .item(LEASE_UNTIL, seconds(lease_until))
            .condition_expression("attribute_not_exists(#pk) OR (#state = :claimed AND #lease < :now)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_values(":claimed", s(CLAIMED))
            .expression_attribute_values(":now", seconds(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Claimed { token }),
            Err(e) if condition_failed(&e) => {
                let current = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::notice_ledger(org)))
                    .key(keys::SK, s(keys::notice(key)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(unavailable)?;
                let state = current
                    .item
                    .as_ref()
                    .and_then(|item| item.get(STATE))
                    .and_then(|v| v.as_s().ok())
                    .cloned();
                Ok(if state.as_deref() == Some(SENT) {
                    Claim::AlreadySent
                } else {
                    Claim::Held
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        token: &str,
        sent_at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::notice_ledger(org)))
            .key(keys::SK, s(keys::notice(key)))
            .update_expression("SET #state = :sent, sent_at = :at, #expires = :expires REMOVE #token, #lease")
            .condition_expression("#token = :token")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#lease", LEASE_UNTIL)
            .expression_attribute_names("#expires", keys::EXPIRES_AT)
            .expression_attribute_values(":sent", s(SENT))
            .expression_attribute_values(":at", s(sent_at.to_rfc3339()))
            .expression_attribute_values(":expires", seconds(sent_at + Duration::days(KEEP_SENT_DAYS)))
            .expression_attribute_values(":token", s(token))
            .send()
            .await
            .map(|_| ())
            .map_err(claim_write_failed)
    }

    async fn release(&self, org: &OrgId, key: &NoticeKey, token: &str) -> Result<(), LedgerError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::notice_ledger(org)))
            .key(keys::SK, s(keys::notice(key)))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_values(":token", s(token))
            .send()
            .await
            .map(|_| ())
            .map_err(claim_write_failed)
    }
}
