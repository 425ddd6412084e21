//! Outbound webhook endpoints (where an organisation's events go, with the
//! secrets that sign them) and the log of each event's delivery to each.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{EndpointId, OrgId};
use crate::outbound::{EventType, OutboundEvent};
use crate::provisioning::QueueError;
use crate::store::StoreError;

/// The longest URL an endpoint may have.
pub const MAX_ENDPOINT_URL: usize = 2048;
/// Endpoints per organisation.
pub const MAX_ENDPOINTS: usize = 16;
/// The longest overlap a rotated-out secret keeps signing.
pub const MAX_SECRET_OVERLAP_HOURS: i64 = 7 * 24;
/// Deliveries are retried for this long after their first attempt, then
/// marked failed.
pub const DELIVERY_RETRY_DAYS: i64 = 3;

/// One signing secret of an endpoint. The newest signs alone once the
/// older ones' overlap ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSecret {
    /// The secret (`whsec_…`), shown to the admin once, when made.
    pub secret: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops signing (set when a newer one replaced it).
    pub expires_at: Option<DateTime<Utc>>,
}

impl EndpointSecret {
    /// A new random secret (244 bits from the OS-seeded generator).
    #[must_use]
    pub fn generate(at: DateTime<Utc>) -> Self {
        Self {
            // Standard Webhooks' shape: `whsec_` and the base64 of the key,
            // 32 bytes from two v4 UUIDs (244 random bits).
            secret: {
                use base64::Engine as _;
                let mut key = [0_u8; 32];
                key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
                format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
            },
            created_at: at,
            expires_at: None,
        }
    }

    /// Whether it signs at `now`.
    #[must_use]
    pub fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}

/// Where an organisation's outbound events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// Owning organisation.
    pub org: OrgId,
    /// Its id.
    pub id: EndpointId,
    /// Where events are posted.
    pub url: String,
    /// The event types it receives.
    pub event_types: BTreeSet<EventType>,
    /// Disabled endpoints receive nothing (events meanwhile are not kept
    /// for them).
    pub enabled: bool,
    /// Why it was disabled, when seatflow disabled it.
    pub disabled_reason: Option<String>,
    /// Signing secrets, newest first.
    pub secrets: Vec<EndpointSecret>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: u64,
}

impl WebhookEndpoint {
    /// The secrets that sign at `now`, newest first.
    #[must_use]
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|s| s.signs_at(now))
            .map(|s| s.secret.as_str())
            .collect()
    }

    /// Whether it wants events of `kind`.
    #[must_use]
    pub fn wants(&self, kind: EventType) -> bool {
        self.enabled && self.event_types.contains(&kind)
    }

    /// The endpoint as shown and audited: its secrets' times, never the
    /// secrets.
    #[must_use]
    pub fn public(&self) -> PublicEndpoint {
        PublicEndpoint {
            id: self.id.clone(),
            url: self.url.clone(),
            event_types: self.event_types.iter().copied().collect(),
            enabled: self.enabled,
            disabled_reason: self.disabled_reason.clone(),
            secrets: self
                .secrets
                .iter()
                .map(|s| SecretTimes {
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                })
                .collect(),
            created_at: self.created_at,
        }
    }
}

/// An endpoint without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicEndpoint {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "we_0a1b2c"))]
    pub id: EndpointId,
    /// Where events are posted.
    pub url: String,
    /// The event types it receives.
    pub event_types: Vec<EventType>,
    /// Whether it receives events.
    pub enabled: bool,
    /// Why seatflow disabled it, if it did.
    pub disabled_reason: Option<String>,
    /// Its signing secrets' times, newest first.
    pub secrets: Vec<SecretTimes>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// When a secret was made and stops signing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretTimes {
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops signing, if a newer one replaced it.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Whether deliveries may connect to `ip`: a public unicast address, never
/// one of the deployment's own network (private, loopback, link-local such
/// as the metadata service at 169.254.169.254, shared, reserved,
/// documentation or multicast ranges), however a name resolves or an IPv6
/// address wraps an IPv4 one. With `allow_loopback` (local use), loopback
/// too, for development receivers.
#[must_use]
pub fn may_deliver_to(ip: std::net::IpAddr, allow_loopback: bool) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            if v4.is_loopback() {
                return allow_loopback;
            }
            !(v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return may_deliver_to(IpAddr::V4(v4), allow_loopback);
            }
            if v6.is_loopback() {
                return allow_loopback;
            }
            let first = v6.segments()[0];
            let nat64 = v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
            if nat64 {
                let [.., a, b, c, d] = v6.octets();
                return may_deliver_to(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)), false);
            }
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xffc0) == 0xfe80
                || (first & 0xfe00) == 0xfc00
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || first == 0x0100
                // Global unicast is 2000::/3; the rest is reserved.
                || (first & 0xe000) != 0x2000)
        }
    }
}

/// Checks an endpoint URL: absolute `https://` with a host (or `http://`
/// when `allow_http`, for local use), no credentials, no fragment. Deployed
/// (`allow_http` false), only port 443 and no address literal outside the
/// public internet ([`may_deliver_to`]); names are checked on the address
/// connected to, each time.
///
/// # Errors
/// [`ValidationError`] on `url`.
pub fn check_endpoint_url(url: &str, allow_http: bool) -> Result<String, ValidationError> {
    let bad = |why: &str| ValidationError::new("url", why);
    let url = url.trim();
    if url.is_empty() || url.len() > MAX_ENDPOINT_URL {
        return Err(bad("must be a URL of 1 to 2048 characters"));
    }
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        if !allow_http {
            return Err(bad("must start with https:// (events carry your users' data)"));
        }
        rest
    } else {
        return Err(bad("must start with https://"));
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("must name a host, without user name or password"));
    }
    if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain a fragment, spaces or control characters"));
    }
    let (host, port) =
        split_authority(authority).ok_or_else(|| bad("must name a host and, if any, a port number"))?;
    if let Ok(ip) = host.parse::<std::net::IpAddr>()
        && !may_deliver_to(ip, allow_http)
    {
        return Err(bad(
            "must be on the public internet, not a private, loopback or link-local address",
        ));
    }
    if !allow_http {
        if port.is_some_and(|p| p != 443) {
            return Err(bad("must use port 443 (the default of https://)"));
        }
        if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
            return Err(bad("must be on the public internet, not localhost"));
        }
    }
    Ok(url.to_owned())
}

/// The host (without an IPv6 literal's brackets) and port of an authority.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else if let Some((host, port)) = authority.rsplit_once(':') {
        (host, Some(port))
    } else {
        (authority, None)
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    (!host.is_empty()).then_some((host, port))
}

/// Where one event's delivery to one endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Retried for three days without success (or the endpoint went away).
    Failed,
}

/// What the endpoint answered to the last attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAnswer {
    /// The HTTP status, when it answered at all.
    pub status: Option<u16>,
    /// The start of its body, or why there was no answer.
    pub detail: String,
}

/// One event's delivery to one endpoint: the delivery log's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The endpoint.
    pub endpoint: EndpointId,
    /// The event, as sent.
    pub event: OutboundEvent,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The first attempt (the three days of retries count from it).
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What the endpoint answered last.
    pub last_answer: Option<DeliveryAnswer>,
}

impl Delivery {
    /// A delivery not yet attempted.
    #[must_use]
    pub fn pending(endpoint: EndpointId, event: OutboundEvent) -> Self {
        Self {
            endpoint,
            event,
            status: DeliveryStatus::Pending,
            attempts: 0,
            first_attempt_at: None,
            last_attempt_at: None,
            next_attempt_at: None,
            last_answer: None,
        }
    }

    /// Whether retrying stopped being worth it at `now` (three days after
    /// the first attempt).
    #[must_use]
    pub fn retries_exhausted_at(&self, now: DateTime<Utc>) -> bool {
        self.first_attempt_at
            .is_some_and(|first| now - first >= Duration::days(DELIVERY_RETRY_DAYS))
    }
}

/// One event to deliver to one endpoint: what travels through the
/// delivery queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    /// The organisation.
    pub org: OrgId,
    /// The endpoint.
    pub endpoint: EndpointId,
    /// The event.
    pub event: OutboundEvent,
}

impl DeliveryJob {
    /// Jobs of one group are delivered in order: one endpoint, one ordering
    /// key (a user, a pool, a subscription).
    #[must_use]
    pub fn group(&self) -> String {
        format!("{}:{}:{}", self.org, self.endpoint, self.event.ordering_key)
    }
}

/// The log of deliveries, per endpoint: what was sent, how it went.
#[async_trait]
pub trait DeliveryLog: Send + Sync + std::fmt::Debug {
    /// Records a delivery (replacing what was recorded of it).
    async fn record_delivery(&self, org: &OrgId, delivery: &Delivery) -> Result<(), StoreError>;
    /// One event's delivery to an endpoint.
    async fn delivery(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        event: &str,
    ) -> Result<Option<Delivery>, StoreError>;
    /// An endpoint's deliveries, newest first, at most `limit`.
    async fn deliveries(
        &self,
        org: &OrgId,
        endpoint: &EndpointId,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Claims one of the organisation's `slots` places for a delivery
    /// attempt in flight, for `holder`, until `until`: a place is free when
    /// unclaimed or its claim ran out before `now`. `None` when all are
    /// taken. This is what keeps one organisation's endpoints from taking
    /// every delivery at once.
    async fn claim_delivery_slot(
        &self,
        org: &OrgId,
        slots: u32,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError>;
    /// Gives place `slot` back, if `holder` still holds it.
    async fn release_delivery_slot(&self, org: &OrgId, slot: u32, holder: &str) -> Result<(), StoreError>;
}

/// Delivery attempts one organisation may have in flight at once, unless
/// configured: its endpoints cannot take the whole delivery concurrency.
pub const DEFAULT_DELIVERIES_PER_ORG: u32 = 2;
/// How long a claimed place is held at most: longer than an attempt can take
/// (the delivering function's timeout), so that a crashed attempt's place
/// frees itself.
pub const DELIVERY_SLOT_SECONDS: i64 = 60;

/// Where deliveries wait for their attempt. Jobs of one [`DeliveryJob::group`]
/// are attempted in order, the next only once the one before is settled.
#[async_trait]
pub trait DeliveryQueue: Send + Sync + std::fmt::Debug {
    /// Queues `jobs`, in order.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`]; then none is known to be queued.
    async fn enqueue(&self, jobs: &[DeliveryJob]) -> Result<(), QueueError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_are_https_with_a_host() {
        assert!(check_endpoint_url("https://hooks.example.com/seatflow", false).is_ok());
        assert!(check_endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
        for bad in [
            "",
            "http://hooks.example.com/x",
            "ftp://example.com",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "https://exa mple.com/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fe80::1]/hook",
            "https://[::ffff:10.0.0.1]/hook",
            "https://10.1.2.3/hook",
            "https://127.0.0.1/hook",
            "https://localhost/hook",
            "https://hooks.example.com:8443/hook",
            "https://hooks.example.com:22/hook",
            "https://hooks.example.com:/hook",
        ] {
            assert!(check_endpoint_url(bad, false).is_err(), "{bad} accepted");
        }
        assert!(check_endpoint_url("https://hooks.example.com:443/x", false).is_ok());
        assert!(check_endpoint_url("https://[2606:4700::1111]/x", false).is_ok());
        assert!(check_endpoint_url("https://93.184.215.14/x", false).is_ok());
        assert!(check_endpoint_url("http://[::1]:9000/hook", true).is_ok());
        assert!(
            check_endpoint_url("http://169.254.169.254/", true).is_err(),
            "locally, loopback only"
        );
    }

    #[test]
    fn deliveries_go_to_public_addresses_only() {
        let public = ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"];
        let private = [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "100::1",
        ];
        for ip in public {
            assert!(may_deliver_to(ip.parse().expect("ip"), false), "{ip} refused");
        }
        for ip in private {
            assert!(!may_deliver_to(ip.parse().expect("ip"), false), "{ip} allowed");
        }
        assert!(may_deliver_to("127.0.0.1".parse().expect("ip"), true));
        assert!(may_deliver_to("::1".parse().expect("ip"), true));
        assert!(!may_deliver_to("10.0.0.1".parse().expect("ip"), true));
    }

    #[test]
    fn a_rotated_out_secret_signs_until_its_overlap_ends() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        let mut old = EndpointSecret::generate(at);
        let new = EndpointSecret::generate(at);
        assert_ne!(old.secret, new.secret);
        assert!(
            old.secret.starts_with("whsec_") && old.secret.len() == 50,
            "{}",
            old.secret
        );
        old.expires_at = Some(at + Duration::hours(1));
        assert!(old.signs_at(at + Duration::minutes(59)));
        assert!(!old.signs_at(at + Duration::hours(1)));
        assert!(new.signs_at(at + Duration::days(365)));
    }
}
