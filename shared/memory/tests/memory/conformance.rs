//! The in-memory store passes the conformance suite every store adapter must pass.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use seatflow_memory::MemoryEntitlementStore;

async fn memory_store() -> Arc<dyn seatflow_testkit::Store> {
    Arc::new(MemoryEntitlementStore::new())
}

seatflow_testkit::entitlement_store_conformance!(memory_store, large_organisation = 100_000);

async fn memory_ledger() -> Arc<dyn seatflow_domain::NoticeLedger> {
    Arc::new(seatflow_memory::MemoryNoticeLedger::new())
}

mod ledger {
    use super::memory_ledger;
    seatflow_testkit::notice_ledger_conformance!(memory_ledger);
}

#[tokio::test]
async fn an_idempotency_key_lives_its_whole_life() {
    seatflow_testkit::idempotency_cases::an_idempotency_key_lives_its_whole_life(Arc::new(
        seatflow_memory::MemoryIdempotencyStore::new(),
    ))
    .await;
}
