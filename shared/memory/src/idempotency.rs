//! `MemoryIdempotencyStore`: idempotency records in a map under one lock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use seatflow_domain::{IdempotencyKey, IdempotencyStore, OrgId, Started, StoreError};

#[derive(Debug, Clone)]
struct Record {
    fingerprint: String,
    plan: String,
    lease_until: DateTime<Utc>,
    response: Option<String>,
}

/// The in-memory idempotency store (records are kept for the process's life).
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<(OrgId, IdempotencyKey), Record>>,
}

impl MemoryIdempotencyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn start(
        &self,
        org: &OrgId,
        key: &IdempotencyKey,
        fingerprint: &str,
        plan: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Started, StoreError> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = (org.clone(), key.clone());
        match records.get_mut(&slot) {
            None => {
                records.insert(
                    slot,
                    Record {
                        fingerprint: fingerprint.to_owned(),
                        plan: plan.to_owned(),
                        lease_until,
                        response: None,
                    },
                );
                Ok(Started::New)
            }
            Some(record) if record.fingerprint != fingerprint => Ok(Started::Mismatch),
            Some(Record {
                response: Some(response),
                ..
            }) => Ok(Started::Replay {
                response: response.clone(),
            }),
            Some(record) if record.lease_until > now => Ok(Started::InProgress),
            Some(record) => {
                record.lease_until = lease_until;
                Ok(Started::Resumed {
                    plan: record.plan.clone(),
                })
            }
        }
    }

    async fn finish(&self, org: &OrgId, key: &IdempotencyKey, response: &str) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(record) = records.get_mut(&(org.clone(), key.clone())) {
            record.response = Some(response.to_owned());
        }
        Ok(())
    }

    async fn abandon(&self, org: &OrgId, key: &IdempotencyKey) -> Result<(), StoreError> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.remove(&(org.clone(), key.clone()));
        Ok(())
    }
}
