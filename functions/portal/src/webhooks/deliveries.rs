//! An endpoint's delivery log, with a redelivery per event.

use super::*;

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
    let endpoint = state
        .app
        .seats
        .integrations()
        .webhook_endpoint(&session.actor, id)
        .await?;
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
    match state
        .app
        .seats
        .integrations()
        .redeliverable_endpoint(&session.actor, &id)
        .await
    {
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
