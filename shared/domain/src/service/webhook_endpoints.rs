//! Outbound webhook endpoints: admins say where their organisation's events
//! go and which; secrets rotate with an overlap; seatflow disables an
//! endpoint that keeps failing.

use std::collections::BTreeSet;

use chrono::Duration;

use super::Integrations;
use super::commit::{Mode, Outcome, Settled, decide_and_commit};
use crate::access::Actor;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::draft::Draft;
use crate::error::{SeatError, ValidationError};
use crate::ids::EndpointId;
use crate::outbound::EventType;
use crate::webhook::{
    EndpointSecret, MAX_ENDPOINTS, MAX_SECRET_OVERLAP_HOURS, PublicEndpoint, WebhookEndpoint,
    check_endpoint_url,
};

/// What an admin asks of a new endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    /// Where to post (HTTPS unless `allow_http`).
    pub url: String,
    /// The event types wanted (at least one).
    pub event_types: Vec<EventType>,
    /// Whether plain `http://` URLs are accepted (local use only).
    pub allow_http: bool,
}

/// Changes to an endpoint; `None` keeps what is there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    /// A new URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<EventType>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Whether plain `http://` URLs are accepted (local use only).
    pub allow_http: bool,
}

/// An endpoint with a secret just made, shown to the admin this once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointWithSecret {
    /// The endpoint.
    pub endpoint: PublicEndpoint,
    /// The new signing secret (`whsec_…`).
    pub secret: String,
}

/// An endpoint seatflow disabled, and the organisation's admins to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledEndpoint {
    /// The endpoint as it is now.
    pub endpoint: PublicEndpoint,
    /// The admins' emails.
    pub admins: Vec<crate::directory::Email>,
}

fn event_types(types: &[EventType]) -> Result<BTreeSet<EventType>, ValidationError> {
    if types.is_empty() {
        return Err(ValidationError::new(
            "event_types",
            "must name at least one event type",
        ));
    }
    Ok(types.iter().copied().collect())
}

impl Integrations<'_> {
    /// Adds an endpoint with a fresh secret.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; validation of the URL and
    /// event types; 16 endpoints at most.
    pub async fn create_webhook_endpoint(
        self,
        actor: &Actor,
        new: &NewEndpoint,
        mode: Mode,
    ) -> Result<Outcome<EndpointWithSecret>, SeatError> {
        actor.require_admin("manage webhook endpoints")?;
        let url = check_endpoint_url(&new.url, new.allow_http)?;
        let types = event_types(&new.event_types)?;
        decide_and_commit!(self, "webhook endpoint", mode, {
            // The cap holds under concurrency: every creation also writes the
            // organisation, conditioned on the version read before counting,
            // so of two creations racing for the last place one conflicts,
            // counts again and is refused.
            let organization = self
                .store
                .organization(&actor.org)
                .await?
                .ok_or_else(|| SeatError::not_found("organisation", &actor.org))?;
            if self.store.webhook_endpoints(&actor.org).await?.len() >= MAX_ENDPOINTS {
                return Err(ValidationError::new(
                    "url",
                    format!("an organisation has at most {MAX_ENDPOINTS} webhook endpoints"),
                )
                .into());
            }
            let now = self.clock.now();
            let secret = EndpointSecret::generate(now);
            let endpoint = WebhookEndpoint {
                org: actor.org.clone(),
                id: EndpointId::generate(),
                url: url.clone(),
                event_types: types.clone(),
                enabled: true,
                disabled_reason: None,
                secrets: vec![secret.clone()],
                created_at: now,
                version: 0,
            };
            let mut draft = Draft::new(&actor.org);
            draft.put(None, endpoint.clone());
            draft.put(Some(&organization), organization.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::WebhookEndpointCreated,
                format!("webhook_endpoint/{}", endpoint.id),
                nothing(),
                snapshot(&endpoint.public()),
            );
            let shown = EndpointWithSecret {
                endpoint: endpoint.public(),
                secret: secret.secret,
            };
            Ok((draft.finish(audit), shown))
        })
    }

    /// The organisation's endpoints (without secrets).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin.
    pub async fn webhook_endpoints(self, actor: &Actor) -> Result<Vec<PublicEndpoint>, SeatError> {
        actor.require_admin("see webhook endpoints")?;
        let mut endpoints = self.store.webhook_endpoints(&actor.org).await?;
        endpoints.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(endpoints.iter().map(WebhookEndpoint::public).collect())
    }

    /// One endpoint (without secrets).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; not found.
    pub async fn webhook_endpoint(self, actor: &Actor, id: &EndpointId) -> Result<PublicEndpoint, SeatError> {
        actor.require_admin("see webhook endpoints")?;
        Ok(self.stored_endpoint(actor, id).await?.public())
    }

    /// An endpoint events may be sent to again by hand: refused while it is
    /// off (nothing is sent to an endpoint that is off).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; not found;
    /// [`SeatError::EndpointDisabled`].
    pub async fn redeliverable_endpoint(
        self,
        actor: &Actor,
        id: &EndpointId,
    ) -> Result<PublicEndpoint, SeatError> {
        let endpoint = self.webhook_endpoint(actor, id).await?;
        if endpoint.enabled {
            Ok(endpoint)
        } else {
            Err(SeatError::EndpointDisabled(id.to_string()))
        }
    }

    async fn stored_endpoint(self, actor: &Actor, id: &EndpointId) -> Result<WebhookEndpoint, SeatError> {
        self.store
            .webhook_endpoint(&actor.org, id)
            .await?
            .ok_or_else(|| SeatError::not_found("webhook endpoint", id))
    }

    /// Changes an endpoint's URL, event types or state. Enabling it clears
    /// why seatflow disabled it.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; not found; validation.
    pub async fn update_webhook_endpoint(
        self,
        actor: &Actor,
        id: &EndpointId,
        changes: &EndpointChanges,
        mode: Mode,
    ) -> Result<Outcome<PublicEndpoint>, SeatError> {
        actor.require_admin("manage webhook endpoints")?;
        let url = changes
            .url
            .as_deref()
            .map(|u| check_endpoint_url(u, changes.allow_http))
            .transpose()?;
        let types = changes.event_types.as_deref().map(event_types).transpose()?;
        decide_and_commit!(self, "webhook endpoint", mode, {
            let now = self.clock.now();
            let before = self.stored_endpoint(actor, id).await?;
            let mut after = before.clone();
            if let Some(url) = &url {
                after.url.clone_from(url);
            }
            if let Some(types) = &types {
                after.event_types.clone_from(types);
            }
            if let Some(enabled) = changes.enabled {
                after.enabled = enabled;
                if enabled {
                    after.disabled_reason = None;
                }
            }
            Ok(self.endpoint_change(actor, now, AuditAction::WebhookEndpointUpdated, &before, after))
        })
    }

    /// Makes a new signing secret; the others keep signing for
    /// `overlap_hours` (at most a week), so a receiver can switch without
    /// refusing a delivery. Returns the new secret, shown this once.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; not found; an overlap
    /// outside 0 to 168 hours.
    pub async fn rotate_webhook_secret(
        self,
        actor: &Actor,
        id: &EndpointId,
        overlap_hours: i64,
        mode: Mode,
    ) -> Result<Outcome<EndpointWithSecret>, SeatError> {
        actor.require_admin("manage webhook endpoints")?;
        if !(0..=MAX_SECRET_OVERLAP_HOURS).contains(&overlap_hours) {
            return Err(ValidationError::new(
                "overlap_hours",
                format!("must be between 0 and {MAX_SECRET_OVERLAP_HOURS}"),
            )
            .into());
        }
        decide_and_commit!(self, "webhook endpoint", mode, {
            let now = self.clock.now();
            let before = self.stored_endpoint(actor, id).await?;
            let mut after = before.clone();
            let ends = now + Duration::hours(overlap_hours);
            after.secrets.retain(|s| s.signs_at(now));
            for old in &mut after.secrets {
                old.expires_at = Some(old.expires_at.map_or(ends, |e| e.min(ends)));
            }
            let secret = EndpointSecret::generate(now);
            after.secrets.insert(0, secret.clone());
            let (change, endpoint) =
                self.endpoint_change(actor, now, AuditAction::WebhookSecretRotated, &before, after);
            let shown = EndpointWithSecret {
                endpoint,
                secret: secret.secret,
            };
            Ok((change, shown))
        })
    }

    /// Removes an endpoint; its pending deliveries are dropped.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; not found.
    pub async fn delete_webhook_endpoint(
        self,
        actor: &Actor,
        id: &EndpointId,
        mode: Mode,
    ) -> Result<Outcome<PublicEndpoint>, SeatError> {
        actor.require_admin("manage webhook endpoints")?;
        decide_and_commit!(self, "webhook endpoint", mode, {
            let now = self.clock.now();
            let before = self.stored_endpoint(actor, id).await?;
            let mut draft = Draft::new(&actor.org);
            draft.remove_endpoint(&before);
            let audit = self.entry(
                actor,
                now,
                AuditAction::WebhookEndpointDeleted,
                format!("webhook_endpoint/{id}"),
                snapshot(&before.public()),
                nothing(),
            );
            Ok((draft.finish(audit), before.public()))
        })
    }

    /// Disables an endpoint whose delivery failed for good, saying why; the
    /// actor is seatflow itself. Answers the endpoint with the admins to
    /// tell; `None` when it is gone or already disabled.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless the system.
    pub async fn disable_failing_endpoint(
        self,
        actor: &Actor,
        id: &EndpointId,
        reason: &str,
    ) -> Result<Option<DisabledEndpoint>, SeatError> {
        actor.require_vendor("disable webhook endpoints")?;
        let settled = decide_and_commit!(answer: self, "webhook endpoint", Mode::Apply, {
            let now = self.clock.now();
            match self.store.webhook_endpoint(&actor.org, id).await? {
                Some(before) if before.enabled => {
                    let mut after = before.clone();
                    after.enabled = false;
                    after.disabled_reason = Some(reason.to_owned());
                    let (change, shown) =
                        self.endpoint_change(actor, now, AuditAction::WebhookEndpointDisabled, &before, after);
                    Ok(Decision::Commit(change, shown))
                }
                _ => Ok(Decision::Answer(())),
            }
        })?;
        Ok(match settled {
            Settled::Committed(outcome) => Some(DisabledEndpoint {
                endpoint: outcome.value,
                admins: self.admin_emails(&actor.org).await?,
            }),
            Settled::Answered(()) => None,
        })
    }

    fn endpoint_change(
        self,
        actor: &Actor,
        now: chrono::DateTime<chrono::Utc>,
        action: AuditAction,
        before: &WebhookEndpoint,
        after: WebhookEndpoint,
    ) -> (crate::store::Change, PublicEndpoint) {
        let mut draft = Draft::new(&actor.org);
        draft.put(Some(before), after.clone());
        let audit = self.entry(
            actor,
            now,
            action,
            format!("webhook_endpoint/{}", after.id),
            snapshot(&before.public()),
            snapshot(&after.public()),
        );
        (draft.finish(audit), after.public())
    }
}
