//! `MemoryEntitlementStore`: one lock over every organisation's records, so a
//! commit checks every version and applies every write as one step — the
//! semantics of a transactional store.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use seatflow_domain::store_ports::{
    ApiKeyReads, BillingReads, CommitPort, DirectoryReads, JobFailures, OrganizationReads, PassStore,
};
use seatflow_domain::{
    ApiKey, ApiKeyId, AuditEntry, AuditId, Change, Delivery, DeliveryLog, Email, EndpointId, GrantId,
    NotificationPreferences, OrgId, Organization, OutboundEvent, Pass, PassKind, PositionMark,
    ProcessedEvent, ProductId, Put, Record, RenewalIndex, SeatGrant, SeatPool, Snapshot, SnapshotKeys,
    StoreError, Subscription, SubscriptionId, Team, TeamId, TeamSeats, User, UserId, UserSeats,
    WebhookEndpoint, Write,
};

#[derive(Debug, Default)]
struct OrgRecords {
    organization: Option<Organization>,
    pools: BTreeMap<ProductId, SeatPool>,
    teams: BTreeMap<TeamId, Team>,
    team_seats: BTreeMap<(TeamId, ProductId), TeamSeats>,
    // Boxed: users change on every seat operation, and B-tree nodes move
    // their values on insert and remove; a pointer moves faster than a record.
    users: BTreeMap<UserId, Box<UserSeats>>,
    emails: HashMap<Email, UserId>,
    /// Directory user names (see `User::directory_name`) → their user.
    directory_names: HashMap<String, UserId>,
    /// Directory ids (see `User::external_id`) and the users carrying them.
    external_ids: HashMap<String, BTreeSet<UserId>>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    audit: BTreeMap<AuditId, Box<AuditEntry>>,
    subscriptions: BTreeMap<SubscriptionId, Subscription>,
    grants: BTreeMap<GrantId, SeatGrant>,
    notification_preferences: Option<NotificationPreferences>,
    webhook_endpoints: BTreeMap<EndpointId, WebhookEndpoint>,
    /// Deliveries by endpoint, then event id (time-ordered).
    deliveries: BTreeMap<(EndpointId, String), Delivery>,
    /// Places of delivery attempts in flight: holder and until when.
    delivery_slots: BTreeMap<u32, (String, DateTime<Utc>)>,
}

#[derive(Debug, Default)]
struct Records {
    orgs: HashMap<OrgId, OrgRecords>,
    /// Secret hash → (organisation, key): a lookup not scoped to an org.
    api_key_hashes: HashMap<String, (OrgId, ApiKeyId)>,
    /// Applied payment events, by event id (never expired here).
    processed_events: HashMap<String, ProcessedEvent>,
    /// Which organisation counts each subscription.
    subscription_owners: HashMap<SubscriptionId, OrgId>,
    job_failures: BTreeMap<String, seatflow_domain::JobFailure>,
    /// Committed changes' events not yet taken by [`MemoryEntitlementStore::take_outbox`].
    outbox: Vec<OutboundEvent>,
    /// Portal passes by kind and digest.
    passes: HashMap<(PassKind, String), Pass>,
    /// Position marks by organisation and position.
    position_marks: HashMap<OrgId, BTreeMap<u64, PositionMark>>,
}

/// Called after each commit that wrote events (the local relay's wake-up).
type CommitHook = Box<dyn Fn() + Send + Sync>;

/// The in-memory entitlement store.
#[derive(Default)]
pub struct MemoryEntitlementStore {
    records: Mutex<Records>,
    on_events: Mutex<Option<CommitHook>>,
}

impl std::fmt::Debug for MemoryEntitlementStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryEntitlementStore").finish_non_exhaustive()
    }
}

impl MemoryEntitlementStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `hook` after every commit that wrote outbound events (once the
    /// lock is released), so a relay can wait instead of polling.
    pub fn on_events(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.on_events.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }

    /// Takes every committed event not taken yet, in commit order: the
    /// outbox, as the stream reader sees it on DynamoDB.
    #[must_use]
    pub fn take_outbox(&self) -> Vec<OutboundEvent> {
        std::mem::take(&mut self.lock().outbox)
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        // A panic while holding the lock cannot leave a half-applied commit
        // (commits check everything before writing), so the data stays usable.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscriptions of every organisation that pass `keep`.
    fn all_subscriptions(&self, keep: impl Fn(&Subscription) -> bool) -> Vec<Subscription> {
        let records = self.lock();
        records
            .orgs
            .values()
            .flat_map(|r| r.subscriptions.values().filter(|s| keep(s)).cloned())
            .collect()
    }

    fn read<T>(&self, org: &OrgId, f: impl FnOnce(&OrgRecords) -> T) -> T
    where
        T: Default,
    {
        self.lock().orgs.get(org).map(f).unwrap_or_default()
    }
}

fn version_matches<K: Ord, V>(
    map: &BTreeMap<K, V>,
    key: &K,
    expected: Option<u64>,
    version: impl Fn(&V) -> u64,
) -> bool {
    map.get(key).map(version) == expected
}

fn check(records: &OrgRecords, write: &Write) -> bool {
    match write {
        Write::Organization(Put { expected, .. }) => {
            records.organization.as_ref().map(|o| o.version) == *expected
        }
        Write::Team(Put { expected, value }) => {
            version_matches(&records.teams, &value.id, *expected, |t| t.version)
        }
        Write::Holder(Put { expected, value }) => {
            let user = &value.user;
            let email_free = user
                .email
                .as_ref()
                .is_none_or(|email| records.emails.get(email).is_none_or(|id| *id == user.id));
            let name_free = user
                .directory_name()
                .is_none_or(|name| records.directory_names.get(&name).is_none_or(|id| *id == user.id));
            email_free
                && name_free
                && version_matches(&records.users, &user.id, *expected, |h| h.user.version)
        }
        Write::MoveExternalId(_) => true,
        Write::MoveDirectoryName(moved) => moved
            .to
            .as_ref()
            .is_none_or(|to| records.directory_names.get(to).is_none_or(|id| *id == moved.user)),
        Write::MoveEmail(moved) => moved
            .to
            .as_ref()
            .is_none_or(|to| records.emails.get(to).is_none_or(|id| *id == moved.user)),
        Write::RemoveHolder(removal) => {
            version_matches(&records.users, &removal.user, Some(removal.expected), |h| {
                h.user.version
            })
        }
        Write::Pool(Put { expected, value }) => {
            version_matches(&records.pools, &value.product, *expected, |p| p.version)
        }
        Write::TeamSeats(Put { expected, value }) => version_matches(
            &records.team_seats,
            &(value.team.clone(), value.product.clone()),
            *expected,
            |t| t.version,
        ),
        // No version: the cap is checked on its own (`over_allocation`).
        Write::TeamSeatsCount(_) => true,
        // No version: the pool must exist; its cap is checked on its own (`over_pool`).
        Write::PoolSeatsCount(count) => records.pools.contains_key(&count.product),
        Write::ApiKey(Put { expected, value }) => {
            version_matches(&records.api_keys, &value.id, *expected, |k| k.version)
        }
        Write::Subscription(Put { expected, value }) => {
            version_matches(&records.subscriptions, &value.id, *expected, |s| s.version)
        }
        Write::Grant(Put { expected, value }) => {
            version_matches(&records.grants, &value.id, *expected, |g| g.version)
        }
        // Checked against the global maps by the caller.
        Write::ProcessedEvent(_) | Write::SubscriptionOwner(_) => true,
        Write::NotificationPreferences(Put { expected, .. }) => {
            records.notification_preferences.as_ref().map(|p| p.version) == *expected
        }
        Write::WebhookEndpoint(Put { expected, value }) => {
            version_matches(&records.webhook_endpoints, &value.id, *expected, |e| e.version)
        }
        Write::RemoveWebhookEndpoint(removal) => version_matches(
            &records.webhook_endpoints,
            &removal.id,
            Some(removal.expected),
            |e| e.version,
        ),
        Write::RemoveTeam(removal) => {
            version_matches(&records.teams, &removal.team, Some(removal.expected), |t| {
                t.version
            }) && removal.counters.iter().all(|(product, version)| {
                version_matches(
                    &records.team_seats,
                    &(removal.team.clone(), product.clone()),
                    Some(*version),
                    |t| t.version,
                )
            })
        }
    }
}

/// The first count that would pass its team's allocation (a team without
/// an allocation has none to pass into).
fn over_allocation(records: &OrgRecords, writes: &[Write]) -> Option<(TeamId, ProductId)> {
    writes.iter().find_map(|w| match w {
        Write::TeamSeatsCount(count) if count.allocated && count.delta > 0 => {
            let seats = records
                .team_seats
                .get(&(count.team.clone(), count.product.clone()));
            let allocated = seats.and_then(|s| s.allocated).map(i64::from);
            let assigned = seats.map_or(0, |s| i64::from(s.assigned));
            allocated
                .is_none_or(|cap| assigned.saturating_add(count.delta) > cap)
                .then(|| (count.team.clone(), count.product.clone()))
        }
        _ => None,
    })
}

/// The first pool count that would pass what its pool holds.
fn over_pool(records: &OrgRecords, writes: &[Write]) -> Option<ProductId> {
    writes.iter().find_map(|w| match w {
        Write::PoolSeatsCount(count) => records
            .pools
            .get(&count.product)
            .is_none_or(|pool| !count.fits(pool))
            .then(|| count.product.clone()),
        _ => None,
    })
}

fn apply(
    org: &OrgId,
    records: &mut OrgRecords,
    hashes: &mut HashMap<String, (OrgId, ApiKeyId)>,
    events: &mut HashMap<String, ProcessedEvent>,
    owners: &mut HashMap<SubscriptionId, OrgId>,
    write: Write,
) {
    match write {
        Write::Organization(put) => records.organization = Some(put.value),
        Write::Team(put) => {
            records.teams.insert(put.value.id.clone(), put.value);
        }
        Write::Holder(put) => {
            let holder = put.value;
            if let Some(old) = records.users.get(&holder.user.id)
                && old.user.email != holder.user.email
                && let Some(email) = &old.user.email
            {
                records.emails.remove(email);
            }
            if let Some(email) = &holder.user.email {
                records.emails.insert(email.clone(), holder.user.id.clone());
            }
            let name = holder.user.directory_name();
            if let Some(old) = records
                .users
                .get(&holder.user.id)
                .and_then(|h| h.user.directory_name())
                && Some(&old) != name.as_ref()
            {
                records.directory_names.remove(&old);
            }
            if let Some(name) = name {
                records.directory_names.insert(name, holder.user.id.clone());
            }
            let id = holder.user.external_id();
            let old = records
                .users
                .get(&holder.user.id)
                .and_then(|h| h.user.external_id());
            // Most writes are seat changes: the index moves only with the id.
            if old != id {
                if let Some(old) = old {
                    unindex(&mut records.external_ids, old, &holder.user.id);
                }
                if let Some(id) = id {
                    records
                        .external_ids
                        .entry(id)
                        .or_default()
                        .insert(holder.user.id.clone());
                }
            }
            records.users.insert(holder.user.id.clone(), Box::new(holder));
        }
        Write::MoveEmail(moved) => {
            if let Some(from) = &moved.from {
                records.emails.remove(from);
            }
            if let Some(to) = moved.to {
                records.emails.insert(to, moved.user);
            }
        }
        Write::MoveExternalId(moved) => {
            if let Some(from) = moved.from {
                unindex(&mut records.external_ids, from, &moved.user);
            }
            if let Some(to) = moved.to {
                records.external_ids.entry(to).or_default().insert(moved.user);
            }
        }
        Write::MoveDirectoryName(moved) => {
            if let Some(from) = &moved.from {
                records.directory_names.remove(from);
            }
            if let Some(to) = moved.to {
                records.directory_names.insert(to, moved.user);
            }
        }
        Write::RemoveHolder(removal) => {
            records.users.remove(&removal.user);
            if let Some(email) = &removal.email {
                records.emails.remove(email);
            }
            if let Some(name) = &removal.directory_name {
                records.directory_names.remove(name);
            }
            if let Some(id) = removal.external_id {
                unindex(&mut records.external_ids, id, &removal.user);
            }
        }
        Write::Pool(put) => {
            records.pools.insert(put.value.product.clone(), put.value);
        }
        Write::TeamSeats(put) => {
            let key = (put.value.team.clone(), put.value.product.clone());
            records.team_seats.insert(key, put.value);
        }
        Write::PoolSeatsCount(count) => {
            if let Some(pool) = records.pools.get_mut(&count.product) {
                count.apply_to(pool);
            }
        }
        Write::TeamSeatsCount(count) => {
            let key = (count.team.clone(), count.product.clone());
            let seats = records
                .team_seats
                .entry(key)
                .or_insert_with(|| TeamSeats::new(org.clone(), count.team, count.product));
            seats.assigned = u32::try_from(i64::from(seats.assigned).saturating_add(count.delta).max(0))
                .unwrap_or(u32::MAX);
            seats.version += 1;
        }
        Write::ApiKey(put) => {
            let key = put.value;
            hashes.insert(key.secret_hash.clone(), (key.org.clone(), key.id.clone()));
            records.api_keys.insert(key.id.clone(), key);
        }
        Write::Subscription(put) => {
            records.subscriptions.insert(put.value.id.clone(), put.value);
        }
        Write::ProcessedEvent(event) => {
            events.insert(event.id.clone(), event);
        }
        Write::SubscriptionOwner(claim) => {
            owners.insert(claim.subscription, claim.owner);
        }
        Write::Grant(put) => {
            records.grants.insert(put.value.id.clone(), put.value);
        }
        Write::NotificationPreferences(put) => records.notification_preferences = Some(put.value),
        Write::WebhookEndpoint(put) => {
            records.webhook_endpoints.insert(put.value.id.clone(), put.value);
        }
        Write::RemoveTeam(removal) => {
            records.teams.remove(&removal.team);
            for (product, _) in removal.counters {
                records.team_seats.remove(&(removal.team.clone(), product));
            }
        }
        Write::RemoveWebhookEndpoint(removal) => {
            records.webhook_endpoints.remove(&removal.id);
            records
                .deliveries
                .retain(|(endpoint, _), _| *endpoint != removal.id);
        }
    }
}

#[async_trait]
impl CommitPort for MemoryEntitlementStore {
    /// Of many decisions on one pool at once all but one lose; without a
    /// pause they would meet again at once, and a client could lose 16 times
    /// in a row while the pool has room (measured: 142 of 5,000 assignments
    /// by 4 clients, `hot_pool` bench). The first retry only yields; later
    /// ones wait a random moment up to 2^attempt ms (at most 32 ms).
    async fn pause_before_retry(&self, attempt: u32) {
        if attempt == 0 {
            tokio::task::yield_now().await;
            return;
        }
        let ceiling = 1u64 << attempt.min(5);
        let wait = rand::random_range(0..=ceiling * 1000);
        tokio::time::sleep(std::time::Duration::from_micros(wait)).await;
    }

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
            } => {
                // No version moves: a decision made on an earlier read may
                // write the day back (it is recorded again on the next use).
                if let Some(holder) = self
                    .lock()
                    .orgs
                    .get_mut(&org)
                    .and_then(|r| r.users.get_mut(&user))
                    && let Some(seat) = holder.seats.iter_mut().find(|s| s.product == product)
                {
                    seat.last_active_at = Some(seat.last_active_at.map_or(on, |day| day.max(on)));
                }
                Ok(())
            }
            Record::PositionMark(mark) => {
                let mut records = self.lock();
                records
                    .position_marks
                    .entry(mark.org.clone())
                    .or_default()
                    .insert(mark.position, mark);
                Ok(())
            }
        }
    }

    async fn snapshot(&self, org: &OrgId, keys: &SnapshotKeys) -> Result<Snapshot, StoreError> {
        // One lock: a consistent snapshot.
        Ok(self.read(org, |r| Snapshot {
            holders: keys
                .holders
                .iter()
                .filter_map(|u| r.users.get(u).map(|h| UserSeats::clone(h)))
                .collect(),
            emails: keys
                .emails
                .iter()
                .filter_map(|e| r.emails.get(e).map(|u| (e.clone(), u.clone())))
                .collect(),
            directory_names: keys
                .directory_names
                .iter()
                .filter_map(|n| r.directory_names.get(n).map(|u| (n.clone(), u.clone())))
                .collect(),
            teams: keys
                .teams
                .iter()
                .filter_map(|t| r.teams.get(t).cloned())
                .collect(),
            pools: keys
                .pools
                .iter()
                .filter_map(|p| r.pools.get(p).cloned())
                .collect(),
            team_seats: keys
                .team_seats
                .iter()
                .filter_map(|k| r.team_seats.get(k).cloned())
                .collect(),
            organization: r.organization.clone().filter(|_| keys.organization),
        }))
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let Records {
            orgs,
            api_key_hashes,
            processed_events,
            subscription_owners,
            job_failures: _,
            passes: _,
            position_marks: _,
            outbox,
        } = &mut *guard;
        let records = orgs.entry(change.org.clone()).or_default();
        // Two new users with one email (or directory name) in the same change
        // would both pass the per-write check; refuse that too.
        let mut new_emails = std::collections::HashSet::new();
        let mut new_names = std::collections::HashSet::new();
        let all_fresh = change.writes.iter().all(|w| match w {
            Write::Holder(Put {
                expected: None,
                value,
            }) => {
                value
                    .user
                    .email
                    .as_ref()
                    .is_none_or(|email| new_emails.insert(email.clone()))
                    && value
                        .user
                        .directory_name()
                        .is_none_or(|name| new_names.insert(name))
                    && check(records, w)
            }
            Write::ProcessedEvent(event) => !processed_events.contains_key(&event.id),
            Write::SubscriptionOwner(claim) => {
                subscription_owners.get(&claim.subscription) == claim.expected.as_ref()
            }
            _ => check(records, w),
        });
        // Audit ids are UUID v7 (74 random bits): no need to check them for collisions.
        if !all_fresh {
            return Err(StoreError::Conflict);
        }
        if let Some((team, product)) = over_allocation(records, &change.writes) {
            return Err(StoreError::AllocationFull { team, product });
        }
        if let Some(product) = over_pool(records, &change.writes) {
            return Err(StoreError::PoolFull { product });
        }
        for write in change.writes {
            apply(
                &change.org,
                records,
                api_key_hashes,
                processed_events,
                subscription_owners,
                write,
            );
        }
        records.audit.insert(change.audit.id, Box::new(change.audit));
        for entry in change.further_audit {
            records.audit.insert(entry.id, Box::new(entry));
        }
        let emitted = !change.events.is_empty();
        outbox.extend(change.events);
        drop(guard);
        if emitted && let Some(hook) = &*self.on_events.lock().unwrap_or_else(PoisonError::into_inner) {
            hook();
        }
        Ok(())
    }
}

#[async_trait]
impl OrganizationReads for MemoryEntitlementStore {
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.read(org, |r| r.organization.clone()))
    }

    async fn organizations(
        &self,
        after: Option<&OrgId>,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError> {
        let mut found: Vec<Organization> = self
            .lock()
            .orgs
            .values()
            .filter_map(|r| r.organization.clone())
            .filter(|o| after.is_none_or(|after| o.id > *after))
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.truncate(limit);
        Ok(found)
    }

    async fn audit(
        &self,
        org: &OrgId,
        before: Option<&AuditId>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self.read(org, |r| {
            let older = match before {
                Some(cursor) => r.audit.range(..*cursor),
                None => r.audit.range(..),
            };
            older
                .rev()
                .take(limit)
                .map(|(_, e)| AuditEntry::clone(e))
                .collect()
        }))
    }

    async fn notification_preferences(
        &self,
        org: &OrgId,
    ) -> Result<Option<NotificationPreferences>, StoreError> {
        Ok(self.read(org, |r| r.notification_preferences.clone()))
    }

    async fn webhook_endpoint(
        &self,
        org: &OrgId,
        id: &EndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self.read(org, |r| r.webhook_endpoints.get(id).cloned()))
    }

    async fn webhook_endpoints(&self, org: &OrgId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        Ok(self.read(org, |r| r.webhook_endpoints.values().cloned().collect()))
    }
}

#[async_trait]
impl DirectoryReads for MemoryEntitlementStore {
    async fn pools(&self, org: &OrgId) -> Result<Vec<SeatPool>, StoreError> {
        Ok(self.read(org, |r| r.pools.values().cloned().collect()))
    }

    async fn team(&self, org: &OrgId, team: &TeamId) -> Result<Option<Team>, StoreError> {
        Ok(self.read(org, |r| r.teams.get(team).cloned()))
    }

    async fn teams(&self, org: &OrgId) -> Result<Vec<Team>, StoreError> {
        Ok(self.read(org, |r| r.teams.values().cloned().collect()))
    }

    async fn all_team_seats(&self, org: &OrgId) -> Result<Vec<TeamSeats>, StoreError> {
        Ok(self.read(org, |r| r.team_seats.values().cloned().collect()))
    }

    async fn holder(&self, org: &OrgId, user: &UserId) -> Result<Option<UserSeats>, StoreError> {
        Ok(self.read(org, |r| r.users.get(user).map(|h| UserSeats::clone(h))))
    }

    async fn holder_by_email(&self, org: &OrgId, email: &Email) -> Result<Option<UserSeats>, StoreError> {
        Ok(self.read(org, |r| {
            r.emails
                .get(email)
                .and_then(|id| r.users.get(id))
                .map(|h| UserSeats::clone(h))
        }))
    }

    async fn holder_by_directory_name(
        &self,
        org: &OrgId,
        name: &str,
    ) -> Result<Option<UserSeats>, StoreError> {
        Ok(self.read(org, |r| {
            r.directory_names
                .get(name)
                .and_then(|id| r.users.get(id))
                .map(|h| UserSeats::clone(h))
        }))
    }

    async fn holders_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
    ) -> Result<Vec<UserSeats>, StoreError> {
        Ok(self.read(org, |r| {
            r.external_ids
                .get(external_id)
                .into_iter()
                .flatten()
                .filter_map(|user| r.users.get(user).map(|h| UserSeats::clone(h)))
                .collect()
        }))
    }

    async fn users(
        &self,
        org: &OrgId,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let start = after.map_or(Unbounded, |a| Excluded(a.clone()));
        Ok(self.read(org, |r| {
            r.users
                .range((start, Unbounded))
                .map(|(_, h)| &h.user)
                .filter(|u| team.is_none() || u.team.as_ref() == team)
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn holders(
        &self,
        org: &OrgId,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<UserSeats>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let start = after.map_or(Unbounded, |a| Excluded(a.clone()));
        Ok(self.read(org, |r| {
            r.users
                .range((start, Unbounded))
                .take(limit)
                .map(|(_, h)| UserSeats::clone(h))
                .collect()
        }))
    }

    async fn admins(&self, org: &OrgId) -> Result<Vec<User>, StoreError> {
        Ok(self.read(org, |r| {
            r.users
                .values()
                .map(|h| &h.user)
                .filter(|u| u.role == seatflow_domain::Role::Admin && u.active)
                .cloned()
                .collect()
        }))
    }

    async fn user_count(&self, org: &OrgId) -> Result<u64, StoreError> {
        Ok(self.read(org, |r| r.users.len() as u64))
    }

    async fn position_mark(
        &self,
        org: &OrgId,
        position: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<PositionMark>, StoreError> {
        let records = self.lock();
        Ok(records.position_marks.get(org).and_then(|marks| {
            marks
                .range(..=position)
                .rev()
                .map(|(_, mark)| mark)
                .find(|mark| mark.expires_at > now)
                .cloned()
        }))
    }
}

#[async_trait]
impl ApiKeyReads for MemoryEntitlementStore {
    async fn api_key(&self, org: &OrgId, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.read(org, |r| r.api_keys.get(id).cloned()))
    }

    async fn api_keys(&self, org: &OrgId) -> Result<Vec<ApiKey>, StoreError> {
        Ok(self.read(org, |r| r.api_keys.values().cloned().collect()))
    }

    async fn api_key_by_hash(&self, secret_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let records = self.lock();
        Ok(records
            .api_key_hashes
            .get(secret_hash)
            .and_then(|(org, id)| records.orgs.get(org)?.api_keys.get(id))
            .cloned())
    }
}

#[async_trait]
impl PassStore for MemoryEntitlementStore {
    async fn keep_pass(&self, digest: &str, pass: &Pass) -> Result<(), StoreError> {
        let mut records = self.lock();
        // A pass is made at most a session's life before it expires: any
        // expiring before this one's start is over, and is forgotten.
        let over = pass.expires_at - chrono::Duration::seconds(seatflow_domain::SESSION_SECONDS);
        records.passes.retain(|_, kept| kept.expires_at > over);
        match records.passes.entry((pass.kind, digest.to_owned())) {
            std::collections::hash_map::Entry::Occupied(_) => Err(StoreError::Conflict),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(pass.clone());
                Ok(())
            }
        }
    }

    async fn pass(&self, kind: PassKind, digest: &str) -> Result<Option<Pass>, StoreError> {
        Ok(self.lock().passes.get(&(kind, digest.to_owned())).cloned())
    }

    async fn take_pass(&self, kind: PassKind, digest: &str) -> Result<Option<Pass>, StoreError> {
        Ok(self.lock().passes.remove(&(kind, digest.to_owned())))
    }
}

#[async_trait]
impl BillingReads for MemoryEntitlementStore {
    async fn subscription(
        &self,
        org: &OrgId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError> {
        Ok(self.read(org, |r| r.subscriptions.get(id).cloned()))
    }

    async fn subscriptions(&self, org: &OrgId) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.read(org, |r| r.subscriptions.values().cloned().collect()))
    }

    async fn subscription_owner(&self, id: &SubscriptionId) -> Result<Option<OrgId>, StoreError> {
        Ok(self.lock().subscription_owners.get(id).cloned())
    }

    async fn grant(&self, org: &OrgId, id: &GrantId) -> Result<Option<SeatGrant>, StoreError> {
        Ok(self.read(org, |r| r.grants.get(id).cloned()))
    }

    async fn grants(&self, org: &OrgId) -> Result<Vec<SeatGrant>, StoreError> {
        Ok(self.read(org, |r| r.grants.values().cloned().collect()))
    }

    async fn event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().processed_events.contains_key(event_id))
    }
}

#[async_trait]
impl JobFailures for MemoryEntitlementStore {
    async fn job_failure(&self, event_id: &str) -> Result<Option<seatflow_domain::JobFailure>, StoreError> {
        Ok(self.lock().job_failures.get(event_id).cloned())
    }

    async fn job_failures(&self, limit: usize) -> Result<Vec<seatflow_domain::JobFailure>, StoreError> {
        Ok(self.lock().job_failures.values().take(limit).cloned().collect())
    }
}

#[async_trait]
impl seatflow_domain::Outbox for MemoryEntitlementStore {
    async fn outbox(&self, org: &OrgId, limit: usize) -> Result<Vec<OutboundEvent>, StoreError> {
        let records = self.lock();
        Ok(records
            .outbox
            .iter()
            .filter(|e| &e.organization == org)
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl DeliveryLog for MemoryEntitlementStore {
    async fn record_delivery(&self, org: &OrgId, delivery: &Delivery) -> Result<(), StoreError> {
        let mut records = self.lock();
        let records = records.orgs.entry(org.clone()).or_default();
        // A removed endpoint keeps no log.
        if records.webhook_endpoints.contains_key(&delivery.endpoint) {
            let key = (delivery.endpoint.clone(), delivery.event.id.clone());
            records.deliveries.insert(key, delivery.clone());
        }
        Ok(())
    }

    async fn delivery(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        event: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        Ok(self.read(org, |r| {
            r.deliveries.get(&(endpoint.clone(), event.to_owned())).cloned()
        }))
    }

    async fn deliveries(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(self.read(org, |r| {
            r.deliveries
                .range((endpoint.clone(), String::new())..)
                .take_while(|((e, _), _)| e == endpoint)
                .map(|(_, d)| d.clone())
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .take(limit)
                .collect()
        }))
    }

    async fn claim_delivery_slot(
        &self,
        org: &OrgId,
        slots: u32,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError> {
        let mut records = self.lock();
        let taken = &mut records.orgs.entry(org.clone()).or_default().delivery_slots;
        for slot in 0..slots {
            if taken.get(&slot).is_none_or(|(_, held_until)| *held_until < now) {
                taken.insert(slot, (holder.to_owned(), until));
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    async fn release_delivery_slot(&self, org: &OrgId, slot: u32, holder: &str) -> Result<(), StoreError> {
        let mut records = self.lock();
        if let Some(taken) = records.orgs.get_mut(org).map(|r| &mut r.delivery_slots)
            && taken.get(&slot).is_some_and(|(h, _)| h == holder)
        {
            taken.remove(&slot);
        }
        Ok(())
    }
}

#[async_trait]
impl RenewalIndex for MemoryEntitlementStore {
    async fn renewing_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Subscription>, StoreError> {
        let mut found: Vec<Subscription> = self.all_subscriptions(|s| s.renews_between(from, to));
        found.sort_by_key(|s| s.current_period_end);
        Ok(found)
    }

    async fn payment_failing_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        Ok(self.all_subscriptions(Subscription::payment_failing))
    }

    async fn grants_run_out_by(&self, at: DateTime<Utc>) -> Result<Vec<SeatGrant>, StoreError> {
        let records = self.lock();
        Ok(records
            .orgs
            .values()
            .flat_map(|r| r.grants.values().filter(|g| g.expired_at(at)).cloned())
            .collect())
    }

    async fn over_limit_pools(&self) -> Result<Vec<SeatPool>, StoreError> {
        let records = self.lock();
        Ok(records
            .orgs
            .values()
            .flat_map(|r| r.pools.values().filter(|p| p.over_limit()).cloned())
            .collect())
    }

    async fn auto_buying_pools(&self) -> Result<Vec<SeatPool>, StoreError> {
        let records = self.lock();
        Ok(records
            .orgs
            .values()
            .flat_map(|r| r.pools.values().filter(|p| p.auto_bought > 0).cloned())
            .collect())
    }
}

/// The writes of [`Record`]s.
impl MemoryEntitlementStore {
    async fn touch_api_key(&self, org: &OrgId, id: &ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(key) = self.lock().orgs.get_mut(org).and_then(|r| r.api_keys.get_mut(id)) {
            key.last_used_at = Some(at);
        }
        Ok(())
    }

    async fn record_job_failure(&self, failure: &seatflow_domain::JobFailure) -> Result<(), StoreError> {
        self.lock()
            .job_failures
            .insert(failure.event_id.clone(), failure.clone());
        Ok(())
    }

    async fn forget_job_failure(&self, event_id: &str) -> Result<(), StoreError> {
        self.lock().job_failures.remove(event_id);
        Ok(())
    }
}

/// Takes `user` out of the index entry of directory id `id`.
fn unindex(index: &mut HashMap<String, BTreeSet<UserId>>, id: String, user: &UserId) {
    if let std::collections::hash_map::Entry::Occupied(mut entry) = index.entry(id) {
        entry.get_mut().remove(user);
        if entry.get().is_empty() {
            entry.remove();
        }
    }
}
