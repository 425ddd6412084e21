//! DynamoDB adapters. [`DynamoEntitlementStore`] keeps every organisation's
//! entitlements in one table and makes each domain decision atomic with a
//! `TransactWriteItems` whose every item carries a version condition, so
//! concurrent Lambda instances can never assign more seats than a pool holds.
//!
//! # Single-table design
//!
//! Table key: `PK` (partition, string) and `SK` (sort, string). Ids contain
//! only letters, digits, `_` and `-`, so `#` separates key parts unambiguously.
//!
//! | item | PK | SK | extra keys |
//! | --- | --- | --- | --- |
//! | organisation | `ORG#{org}` | `ORG` | `GSI1PK = ORGS`, `GSI1SK = {org}` |
//! | seat pool (counters; `free` = purchased − held, `unallocated_free` = purchased − allocated − held outside allocations) | `ORG#{org}` | `POOL#{product}` | `GSI1PK = OVER_LIMIT`, `GSI1SK = {org}#{product}` while over its limit (a seat given back blind may leave the entry; readers check); else `GSI1PK = AUTO_BOUGHT` while seats were bought automatically this period |
//! | team | `ORG#{org}` | `TEAM#{team}` | |
//! | team seats (allocation, counter; `headroom` = allocation − held, when allocated) | `ORG#{org}` | `TSEATS#{team}#{product}` | |
//! | user, with the seats they hold (`seats`: product, team, assigned at; `ACTIVE#{product}`: the day they last used it, set by the entitlement check at most once a day, in a transaction of one) | `ORG#{org}` | `USER#{user}` | `GSI1PK = ORG#{org}#TEAM#{team}`, `GSI1SK = USER#{user}` when in a team |
//! | email claim (uniqueness) | `ORG#{org}` | `EMAIL#{email}` | |
//! | directory user name claim (uniqueness; the lower-cased SCIM `userName`) | `ORG#{org}` | `DNAME#{sha256(name)}` | |
//! | API key | `ORG#{org}` | `KEY#{key}` | |
//! | API key by secret hash | `APIKEY#{sha256}` | `APIKEY` | |
//! | subscription | `ORG#{org}` | `SUB#{subscription}` | renewing: `GSI1PK = RENEWAL#{yyyy-mm of period end}`, `GSI1SK = {period end, 12-digit Unix s}#{org}#{sub}`; past due: `GSI1PK = PAYMENT_FAILING`, `GSI1SK = {org}#{sub}` |
//! | notification preferences | `ORG#{org}` | `NOTIFY` | |
//! | notice sent / claimed (ledger; its own partition, so the reminders may write nothing else) | `NOTICE#{org}` | `NOTICE#{kind}#…` | `expires_at` once sent (TTL) |
//! | manual grant of seats | `ORG#{org}` | `GRANT#{grant}` | `GSI1PK = GRANT_UNTIL`, `GSI1SK = {until, 12-digit Unix s}#{org}#{grant}` while it counts and has an end |
//! | which organisation counts a subscription (`org`) | `SUBOWNER#{subscription}` | `SUBOWNER` | |
//! | processed payment event | `EVENT#{event}` | `EVENT` | `expires_at` (TTL, Unix seconds) |
//! | failed provisioning job (until it succeeds) | `JOBFAIL` | `{event}` | `expires_at` (TTL, 30 days) |
//! | idempotency record (money-moving requests) | `IDEMP#{org}#{key}` | `IDEMP` | `expires_at` (TTL, a day) |
//! | audit entry | `ORG#{org}` | `AUDIT#{uuid v7}` | |
//! | a change's outbound events (the outbox: `events`, JSON), read from the table's stream | `ORG#{org}` | `OUTBOX#{audit id}` | `expires_at` (TTL, 2 days) |
//! | outbound webhook endpoint (URL, event types, signing secrets) | `ORG#{org}` | `WHOOK#{endpoint}` | |
//! | an event's delivery to an endpoint (the delivery log) | `ORG#{org}` | `DELIVERY#{endpoint}#{event}` | `expires_at` (TTL, 30 days) |
//! | a shard of the organisation's user count (`users`, added to by each change creating or removing users) | `ORG#{org}` | `USERCOUNT#{0..8}` | |
//! | where a page of users by position ended (`user`) | `USERPOS#{org}` | `{position, 20 digits}` | `expires_at` (TTL, 15 minutes) |
//!
//! A global secondary index, `GSI1` (`GSI1PK`, `GSI1SK`, all attributes
//! projected), overloaded and sparse: a team's members; subscriptions renewing
//! in a month, by period end; subscriptions whose payment fails; pools over
//! their limit. The last three are what the daily reminders job reads: the
//! renewal partitions are bounded by month (a 30-day window reads one or two),
//! and the failing and over-limit partitions hold only the few items in those
//! states, since every write replaces the whole item and drops the index keys
//! when the state ends. A second, `GSI2` (`GSI2PK` = `ORG#{org}#ADMINS`,
//! `GSI2SK` = `USER#{user}`), holds the active admins' user items only.
//!
//! Access patterns, none of them a `Scan`:
//!
//! | operation | request |
//! | --- | --- |
//! | what a decision reads (users with their seats, email claims, teams, pools, team seats) | one `TransactGetItems` (a serialisable snapshot) |
//! | organisation, team, user with their seats, API key | `GetItem` (consistent) |
//! | pools / teams / team seats / API keys of an org | `Query PK = ORG#o AND begins_with(SK, 'POOL#' / 'TEAM#' / 'TSEATS#' / 'KEY#')` |
//! | user by email | `GetItem EMAIL#…`, then `GetItem USER#…` |
//! | user by directory user name (SCIM `userName`) | `GetItem DNAME#{sha256}`, then `GetItem USER#…` |
//! | users by directory id (SCIM `externalId`) | `Query PK = ORG#o AND begins_with(SK, 'XID#{sha256}#')`, then `GetItem USER#…` each |
//! | users, or users with their seats (exports), a page | `Query PK = ORG#o AND SK BETWEEN 'USER#{after}' AND 'USER$'` |
//! | a team's users, a page | `Query GSI1 GSI1PK = ORG#o#TEAM#t AND GSI1SK BETWEEN …` |
//! | the active admins | `Query GSI2 GSI2PK = ORG#o#ADMINS` |
//! | how many users | `Query PK = ORG#o AND begins_with(SK, 'USERCOUNT#')` (8 small items, summed) |
//! | users from a position (SCIM `startIndex`) | `Query PK = USERPOS#o AND SK <= {position}`, descending, then users from that mark |
//! | audit log, newest first | `Query PK = ORG#o AND SK BETWEEN 'AUDIT#' AND 'AUDIT#{before}'`, descending |
//! | API key by secret | `GetItem APIKEY#{hash}`, then `GetItem KEY#…` |
//! | subscription / an org's subscriptions | `GetItem SUB#…` / `Query begins_with(SK, 'SUB#')` |
//! | was an event applied? | `GetItem EVENT#{id}` |
//! | grant / an org's grants | `GetItem GRANT#…` / `Query begins_with(SK, 'GRANT#')` |
//! | which organisation counts a subscription | `GetItem SUBOWNER#{id}` |
//! | renewals in `[from, to)`, all orgs | `Query GSI1 GSI1PK = RENEWAL#{month} AND GSI1SK BETWEEN …`, per month touched |
//! | failing payments / over-limit pools / pools buying automatically, all orgs | `Query GSI1 GSI1PK = PAYMENT_FAILING` / `OVER_LIMIT` / `AUTO_BOUGHT` |
//! | grants run out, all orgs (reconciliation) | `Query GSI1 GSI1PK = GRANT_UNTIL AND GSI1SK <= {now}~` |
//! | organisations of every tenant, a page (operators) | `Query GSI1 GSI1PK = ORGS AND GSI1SK BETWEEN {after} AND ~` |
//! | failed provisioning jobs (operators) | `Query PK = JOBFAIL`; record / forget one in a transaction of one |
//! | notification preferences | `GetItem NOTIFY` |
//! | claim / complete / release a notice | conditional `PutItem` / `UpdateItem` / `DeleteItem` on `NOTICE#…` |
//!
//! Usage and the licenses summary read the pool and team-seats counters,
//! which every seat change updates in the same transaction as the seats it
//! counts; nothing ever counts seats.
//!
//! Every write of a change is a `Put` conditioned on the version the decision
//! read (`attribute_not_exists(PK)` for a new item), except a team's count of
//! held seats that the decision did not read: an `Update` that adds to
//! `assigned` and subtracts from `headroom`, conditioned on `headroom >=
//! delta` when the team has an allocation (a condition cannot do arithmetic,
//! so the item keeps the difference). The audit entry is a `Put` in the same
//! transaction; a new user also puts their email claim, and a new API key its
//! hash item, both conditioned on not existing; removing a user deletes their
//! item (conditioned on the version read) and their email claim. Applying a payment event puts
//! its `EVENT#` item (conditioned on not existing) in the same transaction as
//! the subscription and pools it changes, and the subscription's `SUBOWNER#`
//! item, conditioned on the organisation the decision read there.

//! # Two round trips per seat write
//!
//! A seat decision reads everything it decides on with one `TransactGetItems`
//! and writes with one `TransactWriteItems`:
//!
//! | operation | read | items written |
//! | --- | --- | --- |
//! | assign, user without a team | user, pool | 3: user (with the seat), pool, audit |
//! | assign, user in a team | user, pool | 4: user, pool, team count (capped if allocated), audit |
//! | unassign | user, the product's pool (and for a plan every add-on's) | the same, plus a pool and count per add-on removed with a last base seat |
//! | transfer | both users, the pools | both users, pool, both teams' counts, audit |
//! | create a user with a seat | email claim, team, pool (and the id, when given) | user, email claim, pool, team count, audit |
//! | set an allocation | team, pool, team seats | 3: pool, team seats, audit |
//!
//! A user's seats live on the user's item, so that the read sees what they
//! hold and the write conditions on it (two decisions about one user's seats
//! conflict; an add-on cannot outlive a base seat revoked at the same time).
//! Where a team member's seat comes from is on the pool item
//! (`allocated_teams`, the teams with an allocation of the product), so the
//! decision never needs the team's counter first: the cap is checked where the
//! count is, at commit, and a refusal there reads the counter once to name
//! the allocation. Billed writes stay what they were with a separate item per
//! seat (each item under 1 KB, 2 WCU in a transaction); BENCHMARKS.md has the
//! figures. Keeping every team's counters inside the pool item would save the
//! count item, but every seat write would then pay for the whole pool item:
//! with 50 teams, about 18 WCU instead of 8.

mod capacity;
mod idempotency;
mod items;
mod keys;
mod ledger;
pub mod sealing;
mod store;
mod table;

pub use capacity::{Capacity, CapacityMeter};
pub use idempotency::DynamoIdempotencyStore;
pub use ledger::DynamoNoticeLedger;
pub use store::{DynamoEntitlementStore, StoreConfigError};
