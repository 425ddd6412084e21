//! Settings → Webhooks: the endpoints, and the forms that change them.

use super::*;

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
    let endpoints = state
        .app
        .seats
        .integrations()
        .webhook_endpoints(&session.actor)
        .await?;
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
        .integrations()
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
        .integrations()
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
        .integrations()
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
        .integrations()
        .delete_webhook_endpoint(&session.actor, &id, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/webhooks?saved=removed").into_response()),
        Err(error) => refused(&session, &state, "list", error).await,
    }
}
