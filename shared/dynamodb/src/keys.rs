//! Key construction for the single-table design (see the crate docs).

use seatflow_domain::{ApiKeyId, AuditId, Email, OrgId, ProductId, TeamId, UserId};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// The second index: an organisation's active admins (sparse).
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// GSI2 partition of an organisation's active admins.
pub fn admins(org: &OrgId) -> String {
    format!("ORG#{org}#ADMINS")
}
pub const VERSION: &str = "version";
/// A user item's seats.
pub const SEATS: &str = "seats";
/// A team counter's allocation minus seats held (when it has an allocation).
pub const HEADROOM: &str = "headroom";
/// A pool's seats not held (purchased minus assigned; negative over its limit).
pub const FREE: &str = "free";
/// A pool's seats free outside every team allocation (may be negative).
pub const UNALLOCATED_FREE: &str = "unallocated_free";

pub fn org(org: &OrgId) -> String {
    format!("ORG#{org}")
}
pub const ORG_SK: &str = "ORG";
pub fn pool(product: &ProductId) -> String {
    format!("POOL#{product}")
}
pub fn team(team: &TeamId) -> String {
    format!("TEAM#{team}")
}
pub fn team_seats(team: &TeamId, product: &ProductId) -> String {
    format!("TSEATS#{team}#{product}")
}
pub fn user(user: &UserId) -> String {
    format!("USER#{user}")
}
/// One of an organisation's user counters: a user created adds 1 to one
/// of them, a user removed takes 1 (their sum is the count). Spread over
/// [`USER_COUNT_SHARDS`] items so that changes creating users at once
/// rarely meet on one.
pub fn user_count(shard: u32) -> String {
    format!("{USER_COUNT}{shard}")
}
pub const USER_COUNT: &str = "USERCOUNT#";
pub const USER_COUNT_SHARDS: u32 = 8;
/// The partition of an organisation's position marks, by position.
pub fn position_marks(org: &OrgId) -> String {
    format!("USERPOS#{org}")
}
pub fn position(position: u64) -> String {
    format!("{position:020}")
}
pub fn email(email: &Email) -> String {
    format!("EMAIL#{}", email.as_str())
}
/// A directory user name's claim, by the name's SHA-256 (a name may be
/// longer than a sort key may be, and holds any character).
pub fn directory_name(name: &str) -> String {
    format!("DNAME#{}", sha256_hex(name))
}
/// The entries of a directory id's index (`XID#{sha256}#`), one per user
/// carrying it: an id may be longer than a sort key may be.
pub fn external_ids(id: &str) -> String {
    format!("XID#{}#", sha256_hex(id))
}
/// `user`'s entry in the index of directory id `id`.
pub fn external_id(id: &str, user: &UserId) -> String {
    format!("{}{user}", external_ids(id))
}
fn sha256_hex(text: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
pub fn api_key(id: &ApiKeyId) -> String {
    format!("KEY#{id}")
}
pub fn api_key_hash(hash: &str) -> String {
    format!("APIKEY#{hash}")
}
pub const API_KEY_HASH_SK: &str = "APIKEY";
/// A portal pass, in a partition of its own per kind, so that a role's
/// `dynamodb:LeadingKeys` can grant one kind (`HANDOFF#*`, `SESSION#*`).
pub fn pass(kind: seatflow_domain::PassKind, digest: &str) -> String {
    match kind {
        seatflow_domain::PassKind::HandOff => format!("HANDOFF#{digest}"),
        seatflow_domain::PassKind::Session => format!("SESSION#{digest}"),
    }
}
pub const PASS_SK: &str = "PASS";
pub fn audit(id: &AuditId) -> String {
    format!("AUDIT#{id}")
}
/// The attribute of a user's item holding the day they last used `product`.
pub fn active(product: &ProductId) -> String {
    format!("{ACTIVE}{product}")
}
pub const ACTIVE: &str = "ACTIVE#";
pub fn team_members(org: &OrgId, team: &TeamId) -> String {
    format!("ORG#{org}#TEAM#{team}")
}
pub fn subscription(id: &seatflow_domain::SubscriptionId) -> String {
    format!("SUB#{id}")
}
pub fn event(id: &str) -> String {
    format!("EVENT#{id}")
}
pub const EVENT_SK: &str = "EVENT";
/// The partition of every failed provisioning job (few: they are kept
/// while they fail, and for 30 days at most).
pub const JOB_FAILURES: &str = "JOBFAIL";
pub fn grant(id: &seatflow_domain::GrantId) -> String {
    format!("GRANT#{id}")
}
/// Which organisation counts a subscription: one item per subscription.
pub fn subscription_owner(id: &seatflow_domain::SubscriptionId) -> String {
    format!("SUBOWNER#{id}")
}
pub const SUBSCRIPTION_OWNER_SK: &str = "SUBOWNER";
/// The table's TTL attribute (Unix seconds).
pub const EXPIRES_AT: &str = "expires_at";
pub const NOTIFY_SK: &str = "NOTIFY";
/// The partition of an organisation's notice ledger: apart from its
/// entitlements, so that the reminders' IAM policy can allow writes to
/// ledger items only (`dynamodb:LeadingKeys` `NOTICE#*`).
pub fn notice_ledger(org: &OrgId) -> String {
    format!("NOTICE#{org}")
}
pub fn notice(key: &seatflow_domain::NoticeKey) -> String {
    format!("NOTICE#{key}")
}
/// GSI1 partition of subscriptions renewing in a month (`RENEWAL#2026-12`):
/// bounded partitions, and a window query reads one or two of them.
pub fn renewal_month(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("RENEWAL#{}", at.format("%Y-%m"))
}
/// GSI1 sort key of a renewal: the period end first (zero-padded Unix
/// seconds, so text order is time order), then what makes it unique.
pub fn renewal_at(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{:012}", at.timestamp().max(0))
}
pub const PAYMENT_FAILING: &str = "PAYMENT_FAILING";
pub const OVER_LIMIT: &str = "OVER_LIMIT";
/// The index partition of pools with seats bought automatically this period.
pub const AUTO_BOUGHT: &str = "AUTO_BOUGHT";
/// GSI1 partition of every organisation, by id (the operators' directory).
pub const ORGS: &str = "ORGS";
/// GSI1 partition of the grants that count and have an end (sorted by it).
pub const GRANT_UNTIL: &str = "GRANT_UNTIL";
/// An outbound webhook endpoint.
pub fn webhook_endpoint(id: &seatflow_domain::EndpointId) -> String {
    format!("WHOOK#{id}")
}
pub const WEBHOOK_ENDPOINTS: &str = "WHOOK#";
/// A committed change's outbound events (the stream reader's input); the
/// audit entry's id, so the outbox sorts in commit order.
pub fn outbox(id: &AuditId) -> String {
    format!("{OUTBOX}{id}")
}
pub const OUTBOX: &str = "OUTBOX#";
/// One event's delivery to one endpoint: per endpoint, in event-id (time) order.
pub fn delivery(endpoint: &seatflow_domain::EndpointId, event: &str) -> String {
    format!("DELIVERY#{endpoint}#{event}")
}
pub fn deliveries(endpoint: &seatflow_domain::EndpointId) -> String {
    format!("DELIVERY#{endpoint}#")
}
/// One of an organisation's places for a delivery attempt in flight.
pub fn delivery_slot(slot: u32) -> String {
    format!("DELIVERYSLOT#{slot:03}")
}
