//! The conformance cases of a `NoticeLedger`: each takes a fresh ledger and
//! panics on a violation.

use std::sync::Arc;

use chrono::Duration;
use seatflow_domain::{Claim, LedgerError, NoticeKey, NoticeLedger, OrgId, SubscriptionId};

use crate::fixture::{org, start_time};

fn key(n: u32) -> NoticeKey {
    NoticeKey::renewal(&SubscriptionId::parse("sub_ledger").expect("id"), start_time(), n)
}

fn token(claim: Claim) -> String {
    match claim {
        Claim::Claimed { token } => token,
        other => panic!("expected a claim, got {other:?}"),
    }
}

/// Claimed, then sent: never claimable again, by anyone, at any time.
pub async fn a_sent_notice_is_never_claimed_again(ledger: Arc<dyn NoticeLedger>) {
    let (o, k, now) = (org("org_ledger"), key(30), start_time());
    let t = token(
        ledger
            .claim(&o, &k, now, now + Duration::minutes(15))
            .await
            .expect("claim"),
    );
    ledger.complete(&o, &k, &t, now).await.expect("complete");
    let later = now + Duration::days(3);
    assert_eq!(
        ledger
            .claim(&o, &k, later, later + Duration::minutes(15))
            .await
            .expect("claim"),
        Claim::AlreadySent
    );
    // Another organisation's notice with the same key is its own.
    let other: OrgId = org("org_ledger_other");
    assert!(matches!(
        ledger
            .claim(&other, &k, now, now + Duration::minutes(15))
            .await
            .expect("claim"),
        Claim::Claimed { .. }
    ));
}

/// A released claim (the send failed) is claimed again by the next run.
pub async fn a_released_notice_is_claimed_again(ledger: Arc<dyn NoticeLedger>) {
    let (o, k, now) = (org("org_ledger"), key(7), start_time());
    let t = token(
        ledger
            .claim(&o, &k, now, now + Duration::minutes(15))
            .await
            .expect("claim"),
    );
    ledger.release(&o, &k, &t).await.expect("release");
    let again = token(
        ledger
            .claim(&o, &k, now, now + Duration::minutes(15))
            .await
            .expect("claim"),
    );
    assert_ne!(again, t);
    assert_eq!(
        ledger.release(&o, &k, &t).await,
        Err(LedgerError::ClaimLost),
        "an old token undoes nothing"
    );
    ledger.complete(&o, &k, &again, now).await.expect("complete");
}

/// A claim is held until its lease expires (a run that died), then taken over;
/// the dead run's token can neither complete nor release it.
pub async fn an_expired_claim_is_taken_over(ledger: Arc<dyn NoticeLedger>) {
    let (o, k, now) = (org("org_ledger"), key(1), start_time());
    let lease = now + Duration::minutes(15);
    let dead = token(ledger.claim(&o, &k, now, lease).await.expect("claim"));
    assert_eq!(
        ledger
            .claim(&o, &k, now + Duration::minutes(5), lease)
            .await
            .expect("claim"),
        Claim::Held
    );
    let later = lease + Duration::seconds(1);
    let live = token(
        ledger
            .claim(&o, &k, later, later + Duration::minutes(15))
            .await
            .expect("claim"),
    );
    assert_eq!(
        ledger.complete(&o, &k, &dead, later).await,
        Err(LedgerError::ClaimLost)
    );
    assert_eq!(ledger.release(&o, &k, &dead).await, Err(LedgerError::ClaimLost));
    ledger.complete(&o, &k, &live, later).await.expect("complete");
}

/// Of many concurrent claims of one notice, exactly one wins.
pub async fn concurrent_claims_have_one_winner(ledger: Arc<dyn NoticeLedger>) {
    let (o, k, now) = (org("org_ledger"), key(14), start_time());
    let claims = (0..8).map(|_| {
        let (ledger, o, k) = (ledger.clone(), o.clone(), k.clone());
        tokio::spawn(async move { ledger.claim(&o, &k, now, now + Duration::minutes(15)).await })
    });
    let mut winners = 0;
    for claim in claims {
        match claim.await.expect("joined").expect("claim") {
            Claim::Claimed { .. } => winners += 1,
            Claim::Held => {}
            Claim::AlreadySent => panic!("nothing was sent"),
        }
    }
    assert_eq!(winners, 1);
}
