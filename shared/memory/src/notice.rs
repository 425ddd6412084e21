//! The in-memory outbox (a [`Mailer`] that keeps what it sends, shown by
//! `seatflow-local`) and notice ledger.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use seatflow_domain::{Claim, LedgerError, MailError, Mailer, NoticeKey, NoticeLedger, OrgId, OutgoingEmail};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update below is a single insert or remove: a panic elsewhere
    // cannot leave the map half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps every email sent, newest last, instead of delivering it.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    sent: Mutex<Vec<OutgoingEmail>>,
}

impl MemoryOutbox {
    /// An empty outbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every email sent so far, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<OutgoingEmail> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl Mailer for MemoryOutbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        lock(&self.sent).push(email.clone());
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Record {
    Claimed {
        token: String,
        lease_until: DateTime<Utc>,
    },
    Sent,
}

/// The notice ledger in memory.
#[derive(Debug, Default)]
pub struct MemoryNoticeLedger {
    records: Mutex<HashMap<(OrgId, NoticeKey), Record>>,
}

impl MemoryNoticeLedger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with_claim(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        token: &str,
        then: Option<Record>,
    ) -> Result<(), LedgerError> {
        let mut records = lock(&self.records);
        let id = (org.clone(), key.clone());
        match records.get(&id) {
            Some(Record::Claimed { token: held, .. }) if held == token => {
                match then {
                    Some(record) => records.insert(id, record),
                    None => records.remove(&id),
                };
                Ok(())
            }
            _ => Err(LedgerError::ClaimLost),
        }
    }
}

#[async_trait]
impl NoticeLedger for MemoryNoticeLedger {
    async fn claim(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, LedgerError> {
        let mut records = lock(&self.records);
        let id = (org.clone(), key.clone());
        match records.get(&id) {
            Some(Record::Sent) => Ok(Claim::AlreadySent),
            Some(Record::Claimed { lease_until, .. }) if *lease_until > now => Ok(Claim::Held),
            _ => {
                let token = uuid::Uuid::new_v4().to_string();
                records.insert(
                    id,
                    Record::Claimed {
                        token: token.clone(),
                        lease_until,
                    },
                );
                Ok(Claim::Claimed { token })
            }
        }
    }

    async fn complete(
        &self,
        org: &OrgId,
        key: &NoticeKey,
        token: &str,
        _sent_at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.with_claim(org, key, token, Some(Record::Sent))
    }

    async fn release(&self, org: &OrgId, key: &NoticeKey, token: &str) -> Result<(), LedgerError> {
        self.with_claim(org, key, token, None)
    }
}
