//! One delivery attempt: sign the event with the endpoint's secrets, post
//! it, log the answer, and say what happens next: done, again after a
//! backoff, or failed for good after three days, which disables the
//! endpoint and tells the organisation's admins.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use html_escape::encode_text;
use seatflow_domain::{
    Actor, Clock, Delivery, DeliveryAnswer, DeliveryJob, DeliveryLog, DeliveryStatus, DisabledEndpoint,
    EntitlementStore, Mailer, OutgoingEmail, SeatError, Seats, StoreError,
};

use crate::retry::{busy_delay, jitter, retry_delay};
use crate::signature::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::transport::Transport;

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempted {
    /// The endpoint answered 2xx.
    Delivered,
    /// Try again after this long (the job stays at its group's head).
    RetryIn(chrono::Duration),
    /// Failed for good (three days of failures, or the endpoint is disabled).
    Failed,
    /// Nothing to do: the endpoint is gone, or the delivery was settled
    /// already (a duplicate from the queue).
    Dropped,
}

/// Why an attempt could not be made at all; the queue keeps the job.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The domain refused (a store failure while disabling the endpoint).
    #[error(transparent)]
    Seats(#[from] SeatError),
}

/// Makes delivery attempts.
#[derive(Debug, Clone)]
pub struct Deliverer {
    seats: Arc<Seats>,
    store: Arc<dyn EntitlementStore>,
    log: Arc<dyn DeliveryLog>,
    transport: Arc<dyn Transport>,
    mailer: Option<Arc<dyn Mailer>>,
    clock: Arc<dyn Clock>,
    /// Attempts one organisation may have in flight at once.
    per_org: u32,
}

impl Deliverer {
    /// A deliverer; `mailer` tells admins of a disabled endpoint (none: logged only).
    #[must_use]
    pub fn new(
        seats: Arc<Seats>,
        store: Arc<dyn EntitlementStore>,
        log: Arc<dyn DeliveryLog>,
        transport: Arc<dyn Transport>,
        mailer: Option<Arc<dyn Mailer>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            seats,
            store,
            log,
            transport,
            mailer,
            clock,
            per_org: seatflow_domain::DEFAULT_DELIVERIES_PER_ORG,
        }
    }

    /// The same deliverer, letting one organisation have `per_org`
    /// attempts in flight at once (at least one).
    #[must_use]
    pub fn with_deliveries_per_org(mut self, per_org: u32) -> Self {
        self.per_org = per_org.max(1);
        self
    }

    /// Attempts `job` once.
    ///
    /// # Errors
    /// [`DeliverError`]: nothing was sent or nothing recorded; try the job again.
    pub async fn attempt(&self, job: &DeliveryJob) -> Result<Attempted, DeliverError> {
        let Some(endpoint) = self.store.webhook_endpoint(&job.org, &job.endpoint).await? else {
            return Ok(Attempted::Dropped);
        };
        let mut delivery = match self.log.delivery(&job.org, &job.endpoint, &job.event.id).await? {
            Some(logged) if logged.status != DeliveryStatus::Pending => return Ok(Attempted::Dropped),
            Some(logged) => logged,
            None => Delivery::pending(job.endpoint.clone(), job.event.clone()),
        };
        let now = self.clock.now();
        if !endpoint.enabled {
            delivery.status = DeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            delivery.last_answer = Some(DeliveryAnswer {
                status: None,
                detail: "not sent: the endpoint is disabled".into(),
            });
            self.log.record_delivery(&job.org, &delivery).await?;
            return Ok(Attempted::Failed);
        }
        // One of the organisation's places for an attempt in flight, or wait:
        // its endpoints never take every delivery at once.
        let holder = format!("{}/{}/{}", job.endpoint, job.event.id, now.timestamp_micros());
        let until = now + chrono::Duration::seconds(seatflow_domain::DELIVERY_SLOT_SECONDS);
        let Some(place) = self
            .log
            .claim_delivery_slot(&job.org, self.per_org, &holder, now, until)
            .await?
        else {
            tracing::info!(event = %job.event.id, org = %job.org, "delivery waits for a place of its organisation");
            return Ok(Attempted::RetryIn(busy_delay()));
        };
        let answer = self.send(job, &endpoint, now).await;
        if let Err(e) = self.log.release_delivery_slot(&job.org, place, &holder).await {
            // The place frees itself when its claim runs out.
            tracing::warn!(org = %job.org, error = %e, "could not give a delivery place back");
        }
        delivery.attempts += 1;
        delivery.first_attempt_at.get_or_insert(now);
        delivery.last_attempt_at = Some(now);
        let delivered = matches!(&answer, Ok(a) if (200..300).contains(&a.status));
        delivery.last_answer = Some(match answer {
            Ok(a) => DeliveryAnswer {
                status: Some(a.status),
                detail: a.excerpt,
            },
            Err(why) => DeliveryAnswer {
                status: None,
                detail: why,
            },
        });
        let attempted = if delivered {
            delivery.status = DeliveryStatus::Delivered;
            delivery.next_attempt_at = None;
            Attempted::Delivered
        } else if delivery.retries_exhausted_at(now) {
            delivery.status = DeliveryStatus::Failed;
            delivery.next_attempt_at = None;
            Attempted::Failed
        } else {
            let wait = retry_delay(delivery.attempts, jitter());
            delivery.next_attempt_at = Some(now + wait);
            Attempted::RetryIn(wait)
        };
        self.log.record_delivery(&job.org, &delivery).await?;
        tracing::info!(
            event = %job.event.id,
            endpoint = %job.endpoint,
            org = %job.org,
            attempts = delivery.attempts,
            answer = ?delivery.last_answer.as_ref().and_then(|a| a.status),
            outcome = ?attempted,
            "webhook delivery attempted"
        );
        if attempted == Attempted::Failed {
            self.disable(job, now, delivery.first_attempt_at).await?;
        }
        Ok(attempted)
    }

    /// Signs `job`'s event with the endpoint's secrets and posts it: the
    /// answer, or why nothing was answered.
    async fn send(
        &self,
        job: &DeliveryJob,
        endpoint: &seatflow_domain::WebhookEndpoint,
        now: DateTime<Utc>,
    ) -> Result<crate::transport::Answer, String> {
        let body = Bytes::from(serde_json::to_vec(&job.event).unwrap_or_default());
        match sign(
            &endpoint.signing_secrets(now),
            &job.event.id,
            now.timestamp(),
            &body,
        ) {
            Ok(signature) => {
                let headers = [
                    (ID_HEADER, job.event.id.clone()),
                    (TIMESTAMP_HEADER, now.timestamp().to_string()),
                    (SIGNATURE_HEADER, signature),
                ];
                self.transport.post(&endpoint.url, &headers, body).await
            }
            // Secrets are generated in the right shape; one that is not
            // cannot sign, and says so in the log rather than sending
            // something no receiver can verify.
            Err(e) => Err(format!("not sent: {e}")),
        }
    }

    /// Disables the endpoint of a delivery that failed for good and emails
    /// the admins (a mail failure is logged: the endpoint's state and the
    /// delivery log already say it).
    async fn disable(
        &self,
        job: &DeliveryJob,
        now: DateTime<Utc>,
        since: Option<DateTime<Utc>>,
    ) -> Result<(), DeliverError> {
        let since = since.unwrap_or(now).format("%-d %B %Y %H:%M UTC");
        let reason = format!("deliveries failed since {since}");
        let actor = Actor::system(job.org.clone(), "webhooks");
        let Some(disabled) = self
            .seats
            .integrations()
            .disable_failing_endpoint(&actor, &job.endpoint, &reason)
            .await?
        else {
            return Ok(());
        };
        tracing::warn!(endpoint = %job.endpoint, org = %job.org, %reason, "webhook endpoint disabled");
        if let Some(mailer) = &self.mailer
            && !disabled.admins.is_empty()
            && let Err(e) = mailer.send(&disabled_email(&job.org, &disabled, &reason)).await
        {
            tracing::error!(endpoint = %job.endpoint, error = %e, "could not email the admins of a disabled endpoint");
        }
        Ok(())
    }
}

/// The admins' email about a disabled endpoint (the URL is theirs: escaped).
#[must_use]
pub fn disabled_email(
    org: &seatflow_domain::OrgId,
    disabled: &DisabledEndpoint,
    reason: &str,
) -> OutgoingEmail {
    let url = &disabled.endpoint.url;
    let text = format!(
        "seatflow stopped sending events to your webhook endpoint {url}: {reason}.\n\n\
         Events are not kept for a disabled endpoint. Once it answers again, enable it \
         (PATCH /v1/webhook-endpoints/{id} with {{\"enabled\": true}}) and redeliver what it \
         missed from its delivery log.\n",
        id = disabled.endpoint.id,
    );
    let html = format!(
        "<!doctype html><html><body><p>seatflow stopped sending events to your webhook endpoint <code>{}</code>: {}.</p>\n\
         <p>Events are not kept for a disabled endpoint. Once it answers again, enable it and redeliver what it missed from its delivery log.</p></body></html>\n",
        encode_text(url),
        encode_text(reason),
    );
    OutgoingEmail {
        org: org.clone(),
        to: disabled.admins.clone(),
        subject: "A seatflow webhook endpoint was disabled".into(),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatflow_domain::{Email, EndpointId, OrgId, PublicEndpoint};

    /// An endpoint's URL is the admin's text: escaped in the HTML, kept as
    /// text in the plain body, never in the subject.
    #[test]
    fn a_hostile_url_is_text_in_the_disabled_email() {
        let url = "https://x.example/<script>alert(1)</script>?a=1&b=\"2\"";
        let disabled = DisabledEndpoint {
            endpoint: PublicEndpoint {
                id: EndpointId::parse("we_1").expect("id"),
                url: url.to_owned(),
                event_types: Vec::new(),
                enabled: false,
                disabled_reason: None,
                secrets: Vec::new(),
                created_at: chrono::DateTime::from_timestamp(0, 0).expect("time"),
            },
            admins: vec![Email::parse("ada@example.com").expect("email")],
        };
        let email = disabled_email(
            &OrgId::parse("org_x").expect("id"),
            &disabled,
            "deliveries failed",
        );
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(email.html.contains("&lt;script&gt;"), "{}", email.html);
        assert!(email.text.contains(url));
        assert!(!email.subject.contains(url));
    }
}
