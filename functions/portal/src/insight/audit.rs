//! The audit log: paged, filtered, each entry opening to its before and after.

use super::*;

/// One audit entry, in words.
pub struct EntryView {
    at: String,
    at_iso: String,
    action: String,
    actor: String,
    target: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    actions: Vec<String>,
    action: String,
    actor: String,
    entries: Vec<EntryView>,
    next: Option<String>,
}

/// The audit page's query.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    cursor: Option<String>,
}

/// Entries per page.
const AUDIT_PAGE: usize = 50;

fn action_name(action: AuditAction) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn pretty(raw: &serde_json::value::RawValue) -> String {
    serde_json::from_str::<serde_json::Value>(raw.get())
        .ok()
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| "(nothing)".to_owned())
}

/// `GET /audit`: newest first; filtered by action and actor within a page.
pub async fn audit(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let cursor = query
        .cursor
        .as_deref()
        .map(AuditId::parse)
        .transpose()
        .map_err(SeatError::from)?;
    let page = state
        .app
        .seats
        .views()
        .audit(&session.actor, cursor.as_ref(), AUDIT_PAGE)
        .await?;
    let entries = page
        .entries
        .iter()
        .map(|e| {
            let actor = match &e.actor.principal {
                seatflow_domain::Principal::User(id) => id.to_string(),
                seatflow_domain::Principal::ApiKey(id) => format!("API key {id}"),
                seatflow_domain::Principal::System(what) => format!("seatflow ({what})"),
                seatflow_domain::Principal::Operator(name) => format!("support ({name})"),
            };
            EntryView {
                at: e.at.format("%-d %b %Y %H:%M:%S UTC").to_string(),
                at_iso: e.at.to_rfc3339(),
                action: action_name(e.action),
                actor,
                target: e.target.clone(),
                before: pretty(&e.before),
                after: pretty(&e.after),
            }
        })
        .filter(|e| query.action.is_empty() || e.action == query.action)
        .filter(|e| query.actor.trim().is_empty() || e.actor.contains(query.actor.trim()))
        .collect();
    let next = page.next_cursor.map(|c| {
        let pairs = [
            ("cursor", c.to_string()),
            ("action", query.action.clone()),
            ("actor", query.actor.clone()),
        ];
        format!(
            "/audit?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    // The actions of this page (and the one filtered by), to choose from.
    let mut actions: Vec<String> = page.entries.iter().map(|e| action_name(e.action)).collect();
    if !query.action.is_empty() {
        actions.push(query.action.clone());
    }
    actions.sort();
    actions.dedup();
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            layout: Layout::signed_in(&session, "/audit"),
            actions,
            action: query.action,
            actor: query.actor,
            entries,
            next,
        },
    ))
}
