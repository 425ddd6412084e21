//! Batches: an import decides and commits many rows per change, reports
//! every row as it would alone, and falls back to rows one by one when the
//! store refuses a batch as a whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use seatflow_domain::store_ports::CommitPort;
use seatflow_domain::{
    Change, EntitlementStore, ImportRow, OrgId, Record, RowStatus, Snapshot, SnapshotKeys, StoreError,
};

use crate::fixture::{Fixture, product};

/// A store that counts its snapshots and commits.
#[derive(Debug)]
struct CountingCalls {
    inner: Arc<dyn EntitlementStore>,
    snapshots: AtomicUsize,
    commits: AtomicUsize,
}

impl CountingCalls {
    /// Snapshots and commits since the last call.
    fn taken(&self) -> (usize, usize) {
        (
            self.snapshots.swap(0, Ordering::SeqCst),
            self.commits.swap(0, Ordering::SeqCst),
        )
    }
}

#[async_trait]
impl CommitPort for CountingCalls {
    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        self.snapshots.fetch_add(1, Ordering::SeqCst);
        self.inner.snapshot(org, keys).await
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(change).await
    }

    async fn record(&self, record: Record) -> Result<(), StoreError> {
        self.inner.record(record).await
    }

    async fn pause_before_retry(&self, attempt: u32) {
        self.inner.pause_before_retry(attempt).await;
    }
}

crate::forward_store_reads!(CountingCalls => inner; OrganizationReads, DirectoryReads, ApiKeyReads, BillingReads, JobFailures, PassStore);

fn row(name: &str, email: &str, seat: Option<&str>, team: Option<&str>) -> ImportRow {
    ImportRow {
        name: name.into(),
        email: email.into(),
        seat: seat.map(Into::into),
        team: team.map(Into::into),
        ..ImportRow::default()
    }
}

/// 44 rows, of which 40 new with a seat, 1 whose email the organisation
/// has, and 3 refused (a bad email, an email twice, an unknown team): 42
/// rows reach the store in 3 batches of at most 20, one read and one commit
/// each; every new user holds a seat and has an audit entry of their own.
pub async fn an_import_commits_its_rows_in_batches_and_reports_each(store: Arc<dyn EntitlementStore>) {
    let counting = Arc::new(CountingCalls {
        inner: store.clone(),
        snapshots: AtomicUsize::new(0),
        commits: AtomicUsize::new(0),
    });
    let f = Fixture::new(counting.clone(), "org_batches").await;
    let p = product("professional");
    f.buy("professional", 50).await;
    let known = f.user("Known", None).await;
    let known_email = known.email.clone().expect("fixture users have an email");
    let mut rows: Vec<ImportRow> = (0..40)
        .map(|i| {
            row(
                &format!("New {i}"),
                &format!("new{i}@example.com"),
                Some("professional"),
                None,
            )
        })
        .collect();
    rows.insert(
        5,
        row(
            "Known again",
            &known_email.as_str().to_uppercase(),
            Some("professional"),
            None,
        ),
    );
    rows.insert(12, row("Bad", "not an email", None, None));
    rows.insert(20, row("Twice", "new3@example.com", None, None));
    rows.insert(33, row("Lost", "lost@example.com", None, Some("no_such_team")));
    let audit_before = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    counting.taken();

    let report = f.import(&rows).await;

    let (snapshots, commits) = counting.taken();
    assert_eq!(
        (snapshots, commits),
        (3, 3),
        "42 rows that reach the store: 3 batches"
    );
    assert_eq!((report.created, report.existing, report.failed), (40, 1, 3));
    assert_eq!(report.rows.len(), 44);
    let code = |n: usize| report.rows[n].code;
    assert_eq!(
        code(12),
        Some("validation_failed"),
        "the bad email, on its own row"
    );
    assert_eq!(code(20), Some("validation_failed"), "the second use of an email");
    assert_eq!(code(33), Some("not_found"), "the unknown team");
    assert_eq!(
        report.rows[5].status,
        RowStatus::Exists,
        "emails match whatever their case"
    );
    assert_eq!(report.rows[5].user.as_ref(), Some(&known.id));
    for created in report.rows.iter().filter(|r| r.status == RowStatus::Created) {
        let user = created.user.as_ref().expect("a created row names its user");
        let holder = store
            .holder(&f.admin.org, user)
            .await
            .expect("read")
            .expect("created");
        assert_eq!(
            holder.seats.len(),
            1,
            "{} holds the seat of their row",
            created.email
        );
    }
    assert_eq!(f.pool(&p).await.assigned, 40);
    f.assert_counters_match_assignments().await;
    let audit_after = store.audit(&f.admin.org, None, 500).await.expect("audit").len();
    assert_eq!(audit_after - audit_before, 40, "one entry per user created");
}

/// A batch that passes a team's allocation is refused by the store as a
/// whole; its rows are then applied one by one, and the report says which
/// got a seat and which did not, as five single creations would.
pub async fn a_batch_refused_as_a_whole_is_applied_row_by_row(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_batch_refused").await;
    let p = product("professional");
    f.buy("professional", 10).await;
    let red = f.team("Red").await;
    f.allocate(&red, &p, Some(2)).await;
    let rows: Vec<ImportRow> = (0..5)
        .map(|i| {
            row(
                &format!("Red {i}"),
                &format!("red{i}@example.com"),
                Some("professional"),
                Some(&red.to_string()),
            )
        })
        .collect();

    let report = f.import(&rows).await;

    assert_eq!((report.created, report.failed), (2, 3));
    for failed in report.rows.iter().filter(|r| r.status == RowStatus::Failed) {
        assert_eq!(failed.code, Some("team_allocation_exhausted"), "{}", failed.email);
    }
    let pool = f.pool(&p).await;
    assert_eq!((pool.assigned, pool.assigned_in_allocations), (2, 2));
    f.assert_counters_match_assignments().await;
}
