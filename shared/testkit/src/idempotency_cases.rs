//! What every `IdempotencyStore` adapter must do, as one walk through a key's
//! life: new, in progress, taken over after its lease, answered, replayed,
//! refused for another request, forgotten when abandoned, kept apart per
//! organisation.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::{IdempotencyKey, IdempotencyStore, Started};

use crate::fixture::{org, start_time};

/// Panics on the first behaviour the store gets wrong.
pub async fn an_idempotency_key_lives_its_whole_life(store: Arc<dyn IdempotencyStore>) {
    let (a, b) = (org("org_idem_a"), org("org_idem_b"));
    // Each run has a store of its own (a fresh table on moto).
    let key = IdempotencyKey::parse("key-1").expect("key");
    let now = start_time();
    let lease = now + Duration::seconds(30);
    let start = |org, fingerprint: &'static str, plan: &'static str, at, until| {
        let (store, key) = (store.clone(), key.clone());
        async move {
            store
                .start(&org, &key, fingerprint, plan, at, until)
                .await
                .expect("start")
        }
    };
    assert_eq!(
        start(a.clone(), "req-1", "plan-1", now, lease).await,
        Started::New
    );
    assert_eq!(
        start(a.clone(), "req-1", "plan-2", now, lease).await,
        Started::InProgress,
        "another attempt holds it"
    );
    assert_eq!(
        start(a.clone(), "req-other", "plan-x", now, lease).await,
        Started::Mismatch,
        "the key was used for another request"
    );
    assert_eq!(
        start(b.clone(), "req-9", "plan-b", now, lease).await,
        Started::New,
        "another organisation's same key is its own"
    );
    let later = now + Duration::seconds(60);
    assert_eq!(
        start(a.clone(), "req-1", "plan-3", later, later + Duration::seconds(30)).await,
        Started::Resumed {
            plan: "plan-1".into()
        },
        "a dead attempt is taken over with its own plan"
    );
    store.finish(&a, &key, r#"{"answer":1}"#).await.expect("finish");
    assert_eq!(
        start(a.clone(), "req-1", "plan-4", later + Duration::hours(1), later).await,
        Started::Replay {
            response: r#"{"answer":1}"#.into()
        }
    );
    store.abandon(&b, &key).await.expect("abandon");
    assert_eq!(
        start(b.clone(), "req-10", "plan-c", now, lease).await,
        Started::New,
        "an abandoned key starts afresh"
    );
}
