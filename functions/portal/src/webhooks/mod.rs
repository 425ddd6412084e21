//! Settings → Webhooks (admins): where the organisation's events go. Add an
//! endpoint (its signing secret shown once), turn it off and on, make a new
//! secret, remove it; each endpoint's delivery log, with a redelivery per
//! event.
//! One module per page.

mod deliveries;
mod endpoints;

pub use deliveries::{deliveries, redeliver};
pub use endpoints::{create_endpoint, remove_endpoint, rotate_secret, set_enabled, webhooks};

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

fn endpoint_id(id: &str) -> Result<EndpointId, PageError> {
    EndpointId::parse(id).map_err(|_| PageError::NotFound)
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
