//! Users by position (SCIM's `startIndex`): the count without reading the
//! users, and pages that read the page, not every user before it; and users
//! by their directory user name, found by one read.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use seatflow_domain::store_ports::{CommitPort, DirectoryReads};
use seatflow_domain::{
    Change, DisplayName, Email, EntitlementStore, Mode, NewUser, OrgId, PositionMark, Record, Role, SeatPool,
    Snapshot, SnapshotKeys, StoreError, Team, TeamId, TeamSeats, User, UserChanges, UserId, UserSeats,
};

use crate::fixture::Fixture;

/// A store that counts the users its user listings hand out.
#[derive(Debug)]
struct CountingUsers {
    inner: Arc<dyn EntitlementStore>,
    users_read: AtomicUsize,
}

impl CountingUsers {
    fn taken(&self) -> usize {
        self.users_read.swap(0, Ordering::SeqCst)
    }
}

#[async_trait]
impl CommitPort for CountingUsers {
    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        self.inner.snapshot(org, keys).await
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.inner.commit(change).await
    }

    async fn record(&self, record: Record) -> Result<(), StoreError> {
        self.inner.record(record).await
    }

    async fn pause_before_retry(&self, attempt: u32) {
        self.inner.pause_before_retry(attempt).await;
    }
}

#[async_trait]
impl DirectoryReads for CountingUsers {
    async fn pools(&self, org: &OrgId) -> Result<Vec<SeatPool>, StoreError> {
        self.inner.pools(org).await
    }

    async fn team(&self, org: &OrgId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        self.inner.team(org, team).await
    }

    async fn teams(&self, org: &OrgId) -> Result<Vec<Team>, StoreError> {
        self.inner.teams(org).await
    }

    async fn all_team_seats(&self, org: &OrgId) -> Result<Vec<TeamSeats>, StoreError> {
        self.inner.all_team_seats(org).await
    }

    async fn holder(&self, org: &OrgId, user: &UserId) -> Result<Option<UserSeats>, StoreError> {
        self.inner.holder(org, user).await
    }

    async fn holder_by_email(&self, org: &OrgId, email: &Email) -> Result<Option<UserSeats>, StoreError> {
        self.inner.holder_by_email(org, email).await
    }

    async fn holder_by_directory_name(
        &self,
        org: &OrgId,
        name: &str,
    ) -> Result<Option<UserSeats>, StoreError> {
        self.inner.holder_by_directory_name(org, name).await
    }

    async fn holders_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
    ) -> Result<Vec<UserSeats>, StoreError> {
        self.inner.holders_by_external_id(org, external_id).await
    }

    async fn users(
        &self,
        org: &OrgId,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let users = self.inner.users(org, team, after, limit).await?;
        self.users_read.fetch_add(users.len(), Ordering::SeqCst);
        Ok(users)
    }

    async fn holders(
        &self,
        org: &OrgId,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<UserSeats>, StoreError> {
        let holders = self.inner.holders(org, after, limit).await?;
        self.users_read.fetch_add(holders.len(), Ordering::SeqCst);
        Ok(holders)
    }

    async fn admins(&self, org: &OrgId) -> Result<Vec<User>, StoreError> {
        self.inner.admins(org).await
    }

    async fn user_count(&self, org: &OrgId) -> Result<u64, StoreError> {
        self.inner.user_count(org).await
    }

    async fn position_mark(
        &self,
        org: &OrgId,
        position: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<PositionMark>, StoreError> {
        self.inner.position_mark(org, position, now).await
    }
}

crate::forward_store_reads!(CountingUsers => inner; OrganizationReads, ApiKeyReads, BillingReads, JobFailures, PassStore);

/// Every user in id order, read whole (the reference).
async fn everyone(f: &Fixture) -> Vec<UserId> {
    f.seats
        .directory()
        .users(&f.admin, None, None, 500)
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect()
}

/// Reading page after page by position reads each user once, and answers
/// the count without reading anyone; a page far from any mark reads the
/// users from the nearest one; an expired mark is passed over.
pub async fn pages_by_position_read_the_page_not_the_users_before_it(store: Arc<dyn EntitlementStore>) {
    let counting = Arc::new(CountingUsers {
        inner: store,
        users_read: AtomicUsize::new(0),
    });
    let f = Fixture::new(counting.clone(), "org_positions").await;
    for i in 0..23 {
        f.user(&format!("Person {i:02}"), None).await;
    }
    let all = everyone(&f).await;
    let total = all.len() as u64;
    assert!(total >= 23, "{total}");
    let directory = f.seats.directory();
    counting.taken();

    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let (page, count) = directory.people_at(&f.admin, start, 5).await.expect("page");
        assert_eq!(count, total, "the count at start {start}");
        if page.is_empty() {
            break;
        }
        start += page.len() as u64;
        seen.extend(page.into_iter().map(|h| h.user.id));
    }
    assert_eq!(seen, all, "every user once, in id order");
    assert_eq!(
        counting.taken(),
        all.len(),
        "each user read once over the whole walk"
    );

    // Position 13: the mark at 10 is the nearest; users 11 and 12 are read
    // on the way, then the page.
    let (page, _) = directory.people_at(&f.admin, 13, 5).await.expect("page");
    assert_eq!(
        page.iter().map(|h| h.user.id.clone()).collect::<Vec<_>>(),
        all[12..17]
    );
    assert_eq!(counting.taken(), 2 + 5);

    // Marks are forgotten: from the first user again.
    f.clock
        .advance(Duration::seconds(seatflow_domain::POSITION_MARK_SECONDS + 1));
    let (page, _) = directory.people_at(&f.admin, 13, 5).await.expect("page");
    assert_eq!(
        page.iter().map(|h| h.user.id.clone()).collect::<Vec<_>>(),
        all[12..17]
    );
    assert_eq!(counting.taken(), 12 + 5);
    // The walk left a mark where the page starts: asked again (a retry),
    // the page alone is read.
    let (again, _) = directory.people_at(&f.admin, 13, 5).await.expect("page");
    assert_eq!(again, page);
    assert_eq!(counting.taken(), 5);

    // Past the end: nothing, and the count.
    let (page, count) = directory.people_at(&f.admin, total + 1, 5).await.expect("page");
    assert!(page.is_empty());
    assert_eq!(count, total);
    assert!(
        directory.people_at(&f.manager(&[]), 1, 5).await.is_err(),
        "admins only"
    );
}

/// The count follows users created and removed, one at a time and many at
/// once.
pub async fn the_user_count_follows_creations_and_removals(store: Arc<dyn EntitlementStore>) {
    let f = Fixture::new(store.clone(), "org_user_count").await;
    let before = store.user_count(&f.admin.org).await.expect("count");
    let first = f.user("Counted One", None).await;
    f.user("Counted Two", None).await;
    assert_eq!(store.user_count(&f.admin.org).await.expect("count"), before + 2);
    f.seats
        .directory()
        .remove_user(&f.admin, &first.id, Mode::Apply)
        .await
        .expect("removed");
    assert_eq!(store.user_count(&f.admin.org).await.expect("count"), before + 1);

    let racers: Vec<_> = (0..16)
        .map(|i| {
            let f = f.clone();
            tokio::spawn(async move { f.user(&format!("Racer {i:02}"), None).await })
        })
        .collect();
    for racer in racers {
        racer.await.expect("created");
    }
    let count = store.user_count(&f.admin.org).await.expect("count");
    assert_eq!(count, before + 17);
    assert_eq!(
        count,
        everyone(&f).await.len() as u64,
        "the count is the users there are"
    );
    let other = Fixture::new(store.clone(), "org_user_count_other").await;
    assert_eq!(
        store.user_count(&other.admin.org).await.expect("count"),
        before,
        "another organisation's users are its own"
    );
}

/// The active admins are found without reading every user, and follow
/// promotions, demotions, deactivation and removal.
pub async fn the_admins_are_found_without_reading_every_user(store: Arc<dyn EntitlementStore>) {
    use seatflow_domain::{Role, UserChanges};
    let f = Fixture::new(store.clone(), "org_admin_index").await;
    let org = f.admin.org.clone();
    let admins = || async {
        let mut ids: Vec<UserId> = store
            .admins(&org)
            .await
            .expect("admins")
            .into_iter()
            .map(|u| u.id)
            .collect();
        ids.sort();
        ids
    };
    let before = admins().await;
    let first = f.user_with_role("Index Admin", None, Role::Admin).await;
    let second = f.user_with_role("Index Second", None, Role::Admin).await;
    let member = f.user("Index Member", None).await;
    for i in 0..5 {
        f.user_with_role(&format!("Index Manager {i}"), None, Role::TeamManager)
            .await;
    }
    let with = |extra: &[&UserId]| {
        let mut ids = before.clone();
        ids.extend(extra.iter().map(|id| (*id).clone()));
        ids.sort();
        ids
    };
    assert_eq!(admins().await, with(&[&first.id, &second.id]));

    let directory = f.seats.directory();
    let role = |role| UserChanges {
        role: Some(role),
        ..UserChanges::default()
    };
    directory
        .update_user(&f.admin, &member.id, &role(Role::Admin), Mode::Apply)
        .await
        .expect("promoted");
    directory
        .update_user(&f.admin, &first.id, &role(Role::Member), Mode::Apply)
        .await
        .expect("demoted");
    assert_eq!(admins().await, with(&[&second.id, &member.id]));
    directory
        .remove_user(&f.admin, &member.id, Mode::Apply)
        .await
        .expect("removed");
    assert_eq!(admins().await, with(&[&second.id]));
    let other = Fixture::new(store.clone(), "org_admin_index_other").await;
    assert!(
        store
            .admins(&other.admin.org)
            .await
            .expect("admins")
            .iter()
            .all(|u| u.org == other.admin.org),
        "another organisation's admins are its own"
    );
}

/// A directory's user name (SCIM `userName`) is claimed like an email: found
/// by one read whatever its case and however many users there are, refused
/// to a second user (also when eight directories race for it), moved when
/// the directory renames the user, and freed when the user is removed.
pub async fn directory_user_names_are_claimed_found_moved_and_freed(store: Arc<dyn EntitlementStore>) {
    let counting = Arc::new(CountingUsers {
        inner: store.clone(),
        users_read: AtomicUsize::new(0),
    });
    let f = Fixture::new(counting.clone(), "org_user_names").await;
    for i in 0..30 {
        f.user(&format!("Bystander {i}"), None).await;
    }
    let record = |name: &str| {
        let mut record = serde_json::Map::new();
        record.insert("userName".into(), serde_json::Value::from(name));
        record
    };
    let new = |name: &str, user_name: &str| NewUser {
        id: None,
        name: DisplayName::parse(name).expect("name"),
        email: None,
        directory: Some(record(user_name)),
        role: Role::Member,
        team: None,
    };
    let sync = f.seats.directory();
    let (ann, _) = sync
        .create_directory_user(&f.admin, new("Ann", "Ann.Smith"), true, Mode::Apply)
        .await
        .expect("Ann created");
    let ann = ann.value.user;
    counting.taken();
    let found = sync
        .user_by_directory_name(&f.admin, "  ANN.smith ")
        .await
        .expect("read")
        .expect("found without case");
    assert_eq!(found.user.id, ann.id);
    assert_eq!(counting.taken(), 0, "found by its claim, not among the users");
    let refused = sync
        .create_directory_user(&f.admin, new("Another Ann", "ann.smith"), true, Mode::Apply)
        .await
        .expect_err("the name is Ann's");
    assert_eq!(refused.code(), "user_name_taken");

    let renamed = UserChanges {
        directory: Some(Some(record("ann.s"))),
        ..UserChanges::default()
    };
    sync.update_user(&f.admin, &ann.id, &renamed, Mode::Apply)
        .await
        .expect("renamed by the directory");
    assert!(
        store
            .holder_by_directory_name(&f.admin.org, "ann.smith")
            .await
            .expect("read")
            .is_none()
    );
    let now = store
        .holder_by_directory_name(&f.admin.org, "ann.s")
        .await
        .expect("read");
    assert_eq!(now.map(|h| h.user.id), Some(ann.id.clone()));
    sync.create_directory_user(&f.admin, new("Another Ann", "Ann.Smith"), true, Mode::Apply)
        .await
        .expect("the old name is free again");
    sync.remove_user(&f.admin, &ann.id, Mode::Apply)
        .await
        .expect("removed");
    assert!(
        store
            .holder_by_directory_name(&f.admin.org, "ann.s")
            .await
            .expect("read")
            .is_none()
    );

    let racers: Vec<_> = (0..8)
        .map(|i| {
            let (seats, admin, user) = (
                f.seats.clone(),
                f.admin.clone(),
                new(&format!("Racer {i}"), "racer"),
            );
            tokio::spawn(async move {
                seats
                    .directory()
                    .create_directory_user(&admin, user, true, Mode::Apply)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code())
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.expect("task finished") {
            Ok(()) => won += 1,
            Err(code) => assert_eq!(code, "user_name_taken", "a racer refused otherwise"),
        }
    }
    assert_eq!(won, 1, "one user holds the name");
}

/// An organisation of `size` users, each holding a seat of a pool of
/// `size` seats: its first SCIM page, the API's and the portal's first
/// pages, a user by email, the count and the usage read what they read in a
/// small organisation (the users read are counted), and the full pool still
/// refuses one seat more.
pub async fn a_large_organisation_is_read_a_page_at_a_time(store: Arc<dyn EntitlementStore>, size: usize) {
    // Pages of 100 (a small one's), an eighth of a smaller organisation.
    let page_size = (size / 8).clamp(1, 100);
    let counting = Arc::new(CountingUsers {
        inner: store,
        users_read: AtomicUsize::new(0),
    });
    let f = Fixture::new(counting.clone(), "org_large").await;
    let p = crate::fixture::product("professional");
    f.buy("professional", u32::try_from(size).expect("a seat count"))
        .await;
    let rows: Vec<seatflow_domain::ImportRow> = (0..size)
        .map(|i| seatflow_domain::ImportRow {
            name: format!("Person {i:06}"),
            email: format!("person{i:06}@large.example"),
            seat: Some("professional".into()),
            ..seatflow_domain::ImportRow::default()
        })
        .collect();
    for chunk in rows.chunks(seatflow_domain::MAX_IMPORT_ROWS) {
        let report = f.import(chunk).await;
        assert_eq!(report.created, chunk.len(), "every row of the chunk created");
    }
    assert_eq!(f.pool(&p).await.assigned as usize, size, "every seat taken");
    let directory = f.seats.directory();
    counting.taken();

    // SCIM's first page, and its count, without reading anyone else.
    let (page, total) = directory.people_at(&f.admin, 1, page_size).await.expect("page");
    assert_eq!(page.len(), page_size);
    assert!(total >= size as u64, "{total} users counted of at least {size}");
    assert_eq!(counting.taken(), page_size, "the SCIM page read the page");
    // The page after it, from the mark the first one left.
    let (next, _) = directory
        .people_at(&f.admin, page_size as u64 + 1, page_size)
        .await
        .expect("page");
    assert_eq!(next.len(), page_size);
    assert!(next[0].user.id > page[page_size - 1].user.id, "the page after");
    assert_eq!(counting.taken(), page_size, "the second SCIM page read the page");

    // The API's list and the portal's Users page.
    let users = directory
        .users(&f.admin, None, None, page_size)
        .await
        .expect("users");
    assert_eq!(users.len(), page_size);
    assert_eq!(counting.taken(), page_size, "the API's page read the page");
    let (people, more) = directory
        .people(&f.admin, None, None, page_size)
        .await
        .expect("people");
    assert_eq!(people.len(), page_size);
    assert!(more.is_some(), "more to read after the page");
    assert_eq!(counting.taken(), page_size, "the portal's page read the page");

    // One user by email, the usage: no listing at all.
    let wanted = Email::parse(&format!("person{:06}@large.example", size / 2)).expect("email");
    let found = directory.user_by_email(&f.admin, &wanted).await.expect("read");
    assert_eq!(found.map(|h| h.user.email), Some(Some(wanted)), "found by email");
    let usage = f.seats.views().usage(&f.admin).await.expect("usage");
    let totals = usage.organization.expect("an admin sees the totals");
    assert_eq!(
        (totals.assigned as usize, totals.available),
        (size, 0),
        "the usage"
    );
    assert_eq!(counting.taken(), 0, "a lookup and the usage read no user listing");

    // Full: the next seat is refused, and the counters still add up.
    let late = f.user("One Too Many", None).await;
    assert_eq!(f.refused_assign(&p, &late.id).await, "no_seats_available");
    assert_eq!(f.pool(&p).await.assigned as usize, size);
}

/// Users are found by their directory id (`externalId`) through an index
/// written with them: exactly (case counts), several users may share an
/// id, a changed id finds the user by the new one only, and a removed user
/// is found no more; none of it lists users.
pub async fn directory_ids_find_their_users_through_an_index(store: Arc<dyn EntitlementStore>) {
    let counting = Arc::new(CountingUsers {
        inner: store.clone(),
        users_read: AtomicUsize::new(0),
    });
    let f = Fixture::new(counting.clone(), "org_external_ids").await;
    for i in 0..30 {
        f.user(&format!("Bystander {i}"), None).await;
    }
    let record = |user_name: &str, external_id: &str| {
        let mut record = serde_json::Map::new();
        record.insert("userName".into(), serde_json::Value::from(user_name));
        record.insert("externalId".into(), serde_json::Value::from(external_id));
        record
    };
    let new = |name: &str, user_name: &str, external_id: &str| NewUser {
        id: None,
        name: DisplayName::parse(name).expect("name"),
        email: None,
        directory: Some(record(user_name, external_id)),
        role: Role::Member,
        team: None,
    };
    let sync = f.seats.directory();
    let mut created = Vec::new();
    for (name, user_name, external_id) in [
        ("Ann", "ann", "00u-Ann"),
        ("Bob", "bob", "00u-Shared"),
        ("Cy", "cy", "00u-Shared"),
    ] {
        let (user, _) = sync
            .create_directory_user(&f.admin, new(name, user_name, external_id), true, Mode::Apply)
            .await
            .expect("created");
        created.push(user.value.user.id);
    }
    let (ann, bob, cy) = (created[0].clone(), created[1].clone(), created[2].clone());
    counting.taken();

    assert_eq!(by_external_id(&f, "00u-Ann").await, vec![ann.clone()]);
    assert!(
        by_external_id(&f, "00U-ANN").await.is_empty(),
        "compared with case"
    );
    let mut shared = vec![bob.clone(), cy.clone()];
    shared.sort();
    assert_eq!(by_external_id(&f, "00u-Shared").await, shared);
    assert_eq!(
        counting.taken(),
        0,
        "found through the index, not among the users"
    );

    // Bob's directory gives him an id of his own.
    let changes = UserChanges {
        directory: Some(Some(record("bob", "00u-Bob"))),
        ..UserChanges::default()
    };
    sync.update_user(&f.admin, &bob, &changes, Mode::Apply)
        .await
        .expect("changed by the directory");
    assert_eq!(by_external_id(&f, "00u-Shared").await, vec![cy.clone()]);
    assert_eq!(by_external_id(&f, "00u-Bob").await, vec![bob.clone()]);
    // A change that keeps the id keeps the entry.
    let changes = UserChanges {
        directory: Some(Some(record("bob.b", "00u-Bob"))),
        ..UserChanges::default()
    };
    sync.update_user(&f.admin, &bob, &changes, Mode::Apply)
        .await
        .expect("renamed by the directory");
    assert_eq!(by_external_id(&f, "00u-Bob").await, vec![bob.clone()]);

    // Removed: found no more.
    sync.remove_user(&f.admin, &cy, Mode::Apply)
        .await
        .expect("removed");
    assert!(
        by_external_id(&f, "00u-Shared").await.is_empty(),
        "a removed user leaves the index"
    );
    assert!(
        store
            .holders_by_external_id(&OrgId::parse("org_someone_else").expect("org"), "00u-Ann")
            .await
            .expect("read")
            .is_empty(),
        "another organisation's index is its own"
    );
    assert!(
        sync.users_by_external_id(&f.manager(&[]), "00u-Ann")
            .await
            .is_err(),
        "admins only"
    );
}

/// The ids of the users `f`'s admin finds by directory id `id`.
async fn by_external_id(f: &Fixture, id: &str) -> Vec<UserId> {
    f.seats
        .directory()
        .users_by_external_id(&f.admin, id)
        .await
        .expect("read")
        .into_iter()
        .map(|h| h.user.id)
        .collect()
}
