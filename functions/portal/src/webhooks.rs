//! Settings → Webhooks (admins): where the organisation's events go. Add an
//! endpoint (its signing secret shown once), turn it off and on, make a new
//! secret, remove it; each endpoint's delivery log, with a redelivery per
//! event.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{
    Delivery, DeliveryStatus, EndpointChanges, EndpointId, EventType, Mode, NewEndpoint, PublicEndpoint,
    SeatError,
};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// How long the old secret keeps signing after a new one is made.
const OVERLAP_HOURS: i64 = 24;

fn event_label(kind: EventType) -> &'static str {
    match kind {
        EventType::SeatAssigned => "A seat is assigned",
        EventType::SeatRevoked => "A seat is revoked",
        EventType::UserCreated => "A user is created",
        EventType::UserUpdated => "A user changes",
        EventType::UserDeleted => "A user is removed",
        EventType::PoolChanged => "Seats bought or allocated change",
        EventType::PoolOverLimit => "A product goes over its seats",
        EventType::SubscriptionChanged => "A subscription changes",
    }
}

/// An endpoint, in words.
pub struct EndpointRow {
    id: String,
    url: String,
    events: String,
    enabled: bool,
    state: String,
    secrets: String,
}

impl From<&PublicEndpoint> for EndpointRow {
    fn from(e: &PublicEndpoint) -> Self {
        let state = if e.enabled {
            "On".to_owned()
        } else {
            e.disabled_reason
                .as_ref()
                .map_or_else(|| "Off".to_owned(), |why| format!("Off: {why}"))
        };
        let overlapping = e.secrets.iter().filter(|s| s.expires_at.is_some()).count();
        let secrets = match (overlapping, e.secrets.iter().find_map(|s| s.expires_at)) {
            (0, _) | (_, None) => "One".to_owned(),
            (_, Some(until)) => format!("Two, the old one until {}", until.format("%-d %b %Y %H:%M UTC")),
        };
        Self {
            id: e.id.to_string(),
            url: e.url.clone(),
            events: e
                .event_types
                .iter()
                .map(|t| event_label(*t))
                .collect::<Vec<_>>()
                .join(", "),
            enabled: e.enabled,
            state,
            secrets,
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    notice: Option<String>,
    /// A refusal and where it is shown: `new` (the add form) or `list`.
    problem: Option<(String, String)>,
    /// A secret just made, and the endpoint's URL.
    new_secret: Option<(String, String)>,
    endpoints: Vec<EndpointRow>,
    kinds: Vec<(&'static str, &'static str)>,
    allow_http: bool,
}

impl WebhooksPage {
    fn problem_at(&self, at: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(key, _)| key == at)
            .map(|(_, text)| text.as_str())
    }
}

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

fn saved_notice(saved: Option<&str>) -> Option<String> {
    saved.map(|what| {
        match what {
            "on" => "The endpoint is on: new events go to it.",
            "off" => "The endpoint is off: nothing is sent to it, and events meanwhile are not kept for it.",
            "removed" => "The endpoint was removed.",
            "redelivered" => "The event is on its way again.",
            _ => "Saved.",
        }
        .to_owned()
    })
}

/// `GET /settings/webhooks`.
pub async fn webhooks(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let notice = saved_notice(query.saved.as_deref());
    webhooks_page(&session, &state, notice, None, None, StatusCode::OK).await
}

async fn webhooks_page(
    session: &Session,
    state: &PortalState,
    notice: Option<String>,
    problem: Option<(String, String)>,
    new_secret: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let endpoints = state.app.seats.webhook_endpoints(&session.actor).await?;
    let page = WebhooksPage {
        layout: Layout::signed_in(session, "/settings"),
        notice,
        problem,
        new_secret,
        endpoints: endpoints.iter().map(EndpointRow::from).collect(),
        kinds: EventType::ALL
            .iter()
            .map(|k| (k.as_str(), event_label(*k)))
            .collect(),
        allow_http: state.app.allow_http_endpoints,
    };
    Ok(render(status, &page))
}

async fn refused(
    session: &Session,
    state: &PortalState,
    at: &str,
    error: SeatError,
) -> Result<Response, PageError> {
    let (status, text) = crate::page::refusal(error)?;
    webhooks_page(session, state, None, Some((at.to_owned(), text)), None, status).await
}

/// `POST /settings/webhooks`: a new endpoint, its secret shown on the answer.
pub async fn create_endpoint(
    State(state): State<PortalState>,
    Submitted(session, pairs): Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let url = pairs
        .iter()
        .find(|(k, _)| k == "url")
        .map_or("", |(_, v)| v.as_str());
    let event_types: Vec<EventType> = pairs
        .iter()
        .filter(|(k, _)| k == "event")
        .filter_map(|(_, v)| EventType::parse(v).ok())
        .collect();
    let new = NewEndpoint {
        url: url.to_owned(),
        event_types,
        allow_http: state.app.allow_http_endpoints,
    };
    match state
        .app
        .seats
        .create_webhook_endpoint(&session.actor, &new, Mode::Apply)
        .await
    {
        // Rendered, not redirected: the secret must not sit in a URL.
        Ok(created) => {
            let shown = (created.value.secret, created.value.endpoint.url);
            webhooks_page(&session, &state, None, None, Some(shown), StatusCode::CREATED).await
        }
        Err(error) => refused(&session, &state, "new", error).await,
    }
}

fn endpoint_id(id: &str) -> Result<EndpointId, PageError> {
    EndpointId::parse(id).map_err(|_| PageError::NotFound)
}

/// The on/off form.
#[derive(Debug, Deserialize)]
pub struct EnabledForm {
    enabled: bool,
}

/// `POST /settings/webhooks/{id}/enabled`.
pub async fn set_enabled(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, form): Submitted<EnabledForm>,
) -> Result<Response, PageError> {
    let id = endpoint_id(&id)?;
    let changes = EndpointChanges {
        enabled: Some(form.enabled),
        ..EndpointChanges::default()
    };
    match state
        .app
        .seats
        .update_webhook_endpoint(&session.actor, &id, &changes, Mode::Apply)
        .await
    {
        Ok(_) => {
            let saved = if form.enabled { "on" } else { "off" };
            Ok(Redirect::to(&format!("/settings/webhooks?saved={saved}")).into_response())
        }
        Err(error) => refused(&session, &state, "list", error).await,
    }
}

/// `POST /settings/webhooks/{id}/secret`: a new secret (shown once); the
/// old one keeps signing for a day.
pub async fn rotate_secret(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, _): Submitted<IgnoredAny>,
) -> Result<Response, PageError> {
    let id = endpoint_id(&id)?;
    match state
        .app
        .seats
        .rotate_webhook_secret(&session.actor, &id, OVERLAP_HOURS, Mode::Apply)
        .await
    {
        Ok(rotated) => {
            let shown = (rotated.value.secret, rotated.value.endpoint.url);
            webhooks_page(&session, &state, None, None, Some(shown), StatusCode::OK).await
        }
        Err(error) => refused(&session, &state, "list", error).await,
    }
}

/// `POST /settings/webhooks/{id}/remove`.
pub async fn remove_endpoint(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, _): Submitted<IgnoredAny>,
) -> Result<Response, PageError> {
    let id = endpoint_id(&id)?;
    match state
        .app
        .seats
        .delete_webhook_endpoint(&session.actor, &id, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/webhooks?saved=removed").into_response()),
        Err(error) => refused(&session, &state, "list", error).await,
    }
}

/// A delivery, in words.
pub struct DeliveryRow {
    event_id: String,
    kind: &'static str,
    created: String,
    status: &'static str,
    attempts: u32,
    answer: String,
    next: String,
}

impl From<Delivery> for DeliveryRow {
    fn from(d: Delivery) -> Self {
        let when = |at: chrono::DateTime<chrono::Utc>| at.format("%-d %b %Y %H:%M:%S UTC").to_string();
        Self {
            event_id: d.event.id.clone(),
            kind: event_label(d.event.kind),
            created: when(d.event.created_at),
            status: match d.status {
                DeliveryStatus::Pending => "Waiting",
                DeliveryStatus::Delivered => "Delivered",
                DeliveryStatus::Failed => "Failed",
            },
            attempts: d.attempts,
            answer: d.last_answer.map_or_else(String::new, |a| match a.status {
                Some(status) => format!("{status} {}", a.detail.chars().take(120).collect::<String>()),
                None => a.detail,
            }),
            next: d.next_attempt_at.map_or_else(String::new, when),
        }
    }
}

#[derive(Template)]
#[template(path = "webhook_deliveries.html")]
struct DeliveriesPage {
    layout: Layout,
    notice: Option<String>,
    problem: Option<String>,
    endpoint: EndpointRow,
    deliveries: Vec<DeliveryRow>,
}

/// `GET /settings/webhooks/{id}`: the endpoint's last 50 deliveries.
pub async fn deliveries(
    session: Session,
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let id = endpoint_id(&id)?;
    let notice = saved_notice(query.saved.as_deref());
    deliveries_page(&session, &state, &id, notice, None, StatusCode::OK).await
}

async fn deliveries_page(
    session: &Session,
    state: &PortalState,
    id: &EndpointId,
    notice: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let endpoint = state.app.seats.webhook_endpoint(&session.actor, id).await?;
    let deliveries = match &state.app.outbound {
        Some(outbound) => outbound
            .log
            .deliveries(&session.actor.org, id, 50)
            .await
            .map_err(SeatError::from)?,
        None => Vec::new(),
    };
    let page = DeliveriesPage {
        layout: Layout::signed_in(session, "/settings"),
        notice,
        problem,
        endpoint: EndpointRow::from(&endpoint),
        deliveries: deliveries.into_iter().map(DeliveryRow::from).collect(),
    };
    Ok(render(status, &page))
}

/// `POST /settings/webhooks/{id}/deliveries/{event}/redeliver`.
pub async fn redeliver(
    State(state): State<PortalState>,
    Path((id, event)): Path<(String, String)>,
    Submitted(session, _): Submitted<IgnoredAny>,
) -> Result<Response, PageError> {
    let id = endpoint_id(&id)?;
    let refuse = |text: &str| {
        let text = text.to_owned();
        let (state, session, id) = (state.clone(), session.clone(), id.clone());
        async move { deliveries_page(&session, &state, &id, None, Some(text), StatusCode::CONFLICT).await }
    };
    match state.app.seats.redeliverable_endpoint(&session.actor, &id).await {
        Ok(_) => {}
        Err(SeatError::EndpointDisabled(_)) => {
            return refuse("The endpoint is off: turn it on first, then send the event again.").await;
        }
        Err(error) => return Err(error.into()),
    }
    let Some(outbound) = &state.app.outbound else {
        return refuse("Webhook delivery is not configured on this deployment.").await;
    };
    match seatflow_webhooks::redeliver(&*outbound.log, &*outbound.queue, &session.actor.org, &id, &event)
        .await
    {
        Ok(Some(_)) => {
            Ok(Redirect::to(&format!("/settings/webhooks/{id}?saved=redelivered")).into_response())
        }
        Ok(None) => Err(PageError::NotFound),
        Err(seatflow_webhooks::RelayError::Store(e)) => Err(SeatError::from(e).into()),
        Err(seatflow_webhooks::RelayError::Queue(e)) => Err(seatflow_http::ApiError::from(e).into()),
    }
}
