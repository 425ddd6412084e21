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
//! | organisation | `ORG#{org}` | `ORG` | |
//! | seat pool (counters) | `ORG#{org}` | `POOL#{product}` | `GSI1PK = OVER_LIMIT`, `GSI1SK = {org}#{product}` while over its limit |
//! | team | `ORG#{org}` | `TEAM#{team}` | |
//! | team seats (allocation, counter) | `ORG#{org}` | `TSEATS#{team}#{product}` | |
//! | user | `ORG#{org}` | `USER#{user}` | `GSI1PK = ORG#{org}#TEAM#{team}`, `GSI1SK = USER#{user}` when in a team |
//! | email claim (uniqueness) | `ORG#{org}` | `EMAIL#{email}` | |
//! | seat assignment | `ORG#{org}` | `SEAT#{user}#{product}` | |
//! | API key | `ORG#{org}` | `KEY#{key}` | |
//! | API key by secret hash | `APIKEY#{sha256}` | `APIKEY` | |
//! | subscription | `ORG#{org}` | `SUB#{subscription}` | renewing: `GSI1PK = RENEWAL#{yyyy-mm of period end}`, `GSI1SK = {period end, 12-digit Unix s}#{org}#{sub}`; past due: `GSI1PK = PAYMENT_FAILING`, `GSI1SK = {org}#{sub}` |
//! | notification preferences | `ORG#{org}` | `NOTIFY` | |
//! | notice sent / claimed (ledger) | `ORG#{org}` | `NOTICE#{kind}#…` | `expires_at` once sent (TTL) |
//! | processed payment event | `EVENT#{event}` | `EVENT` | `expires_at` (TTL, Unix seconds) |
//! | audit entry | `ORG#{org}` | `AUDIT#{uuid v7}` | |
//!
//! One global secondary index, `GSI1` (`GSI1PK`, `GSI1SK`, all attributes
//! projected), overloaded and sparse: a team's members; subscriptions renewing
//! in a month, by period end; subscriptions whose payment fails; pools over
//! their limit. The last three are what the daily reminders job reads: the
//! renewal partitions are bounded by month (a 30-day window reads one or two),
//! and the failing and over-limit partitions hold only the few items in those
//! states, since every write replaces the whole item and drops the index keys
//! when the state ends.
//!
//! Access patterns, none of them a `Scan`:
//!
//! | operation | request |
//! | --- | --- |
//! | organisation, pool, team, team seats, user, API key | `GetItem` (consistent) |
//! | pools / teams / team seats / API keys of an org | `Query PK = ORG#o AND begins_with(SK, 'POOL#' / 'TEAM#' / 'TSEATS#' / 'KEY#')` |
//! | user by email | `GetItem EMAIL#…`, then `GetItem USER#…` |
//! | users, a page | `Query PK = ORG#o AND SK BETWEEN 'USER#{after}' AND 'USER$'` |
//! | a team's users, a page | `Query GSI1 GSI1PK = ORG#o#TEAM#t AND GSI1SK BETWEEN …` |
//! | a user's seats | `Query PK = ORG#o AND begins_with(SK, 'SEAT#{user}#')` |
//! | all seats, a page (exports) | `Query PK = ORG#o AND SK BETWEEN 'SEAT#{after}' AND 'SEAT$'` |
//! | audit log, newest first | `Query PK = ORG#o AND SK BETWEEN 'AUDIT#' AND 'AUDIT#{before}'`, descending |
//! | API key by secret | `GetItem APIKEY#{hash}`, then `GetItem KEY#…` |
//! | subscription / an org's subscriptions | `GetItem SUB#…` / `Query begins_with(SK, 'SUB#')` |
//! | was an event applied? | `GetItem EVENT#{id}` |
//! | renewals in `[from, to)`, all orgs | `Query GSI1 GSI1PK = RENEWAL#{month} AND GSI1SK BETWEEN …`, per month touched |
//! | failing payments / over-limit pools, all orgs | `Query GSI1 GSI1PK = PAYMENT_FAILING` / `OVER_LIMIT` |
//! | notification preferences | `GetItem NOTIFY` |
//! | claim / complete / release a notice | conditional `PutItem` / `UpdateItem` / `DeleteItem` on `NOTICE#…` |
//!
//! Usage and the licenses summary read the pool and team-seats counters,
//! which every seat change updates in the same transaction as the assignment
//! it counts; nothing ever counts assignment items.
//!
//! Every write of a change is a `Put`/`Delete` conditioned on the version the
//! decision read (`attribute_not_exists(PK)` for a new item); the audit entry
//! is a `Put` in the same transaction; a new user also puts their email claim,
//! and a new API key its hash item, both conditioned on not existing. Applying
//! a payment event puts its `EVENT#` item (conditioned on not existing) in the
//! same transaction as the subscription and pools it changes.

//! # Transaction sizes
//!
//! | operation | items in its `TransactWriteItems` |
//! | --- | --- |
//! | assign, user without a team | 3: pool, assignment, audit |
//! | assign, user in a team | 4: pool, team seats, assignment, audit |
//! | unassign | the same, plus two per add-on removed with a last base seat |
//! | transfer | pool, both teams' seats, delete, put, audit (4 to 6) |
//! | set an allocation | 3: pool, team seats, audit |
//!
//! Three items for every assignment could be had by keeping the team counters
//! inside the pool item, but DynamoDB bills a write by the whole item's size:
//! with 50 teams the pool item would be about 9 KB, and every seat change in
//! the organisation would cost about 18 WCU instead of 4. Separate items keep
//! each seat write at 2 WCU per item (all under 1 KB).
//!
//! Decisions read their counters with one `TransactGetItems` (a consistent
//! snapshot), so a refusal is never computed from a pool and a team counter
//! read on either side of another change.

mod capacity;
mod items;
mod keys;
mod ledger;
mod store;
mod table;

pub use capacity::{Capacity, CapacityMeter};
pub use ledger::DynamoNoticeLedger;
pub use store::{DynamoEntitlementStore, StoreConfigError};
