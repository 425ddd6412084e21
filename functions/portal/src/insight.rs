//! Teams (allocations per product with their use), Usage (in use against
//! available, as server-rendered SVG bars) and the Audit log (paged,
//! filtered, each entry opening to its before and after); the usage and
//! seat exports as files.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{AuditAction, AuditId, Mode, ProductId, Role, SeatError, TeamId, UserId};
use seatflow_http::export;
use serde::Deserialize;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// One team's seats of one product.
pub struct TeamRow {
    team: String,
    team_name: String,
    product: String,
    product_name: String,
    assigned: u32,
    allocated: String,
    allocated_value: String,
    over_limit: bool,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    layout: Layout,
    notice: Option<String>,
    /// A refusal and the form it belongs to (`alloc-{team}-{product}`,
    /// `new` or `move`), shown next to that form.
    problem: Option<(String, String)>,
    rows: Vec<TeamRow>,
    can_allocate: bool,
    can_move: bool,
    teams: Vec<(String, String)>,
    products: Vec<(String, String)>,
}

impl TeamsPage {
    fn problem_at(&self, form: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(at, _)| at == form)
            .map(|(_, text)| text.as_str())
    }
}

/// The Teams page's query.
#[derive(Debug, Default, Deserialize)]
pub struct TeamsQuery {
    saved: Option<String>,
}

/// `GET /teams`: allocations and their use (managers: their teams).
pub async fn teams(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<TeamsQuery>,
) -> Result<Response, PageError> {
    let notice = query.saved.map(|what| {
        if what == "moved" {
            "The seats were moved.".to_owned()
        } else {
            "The allocation was saved.".to_owned()
        }
    });
    teams_page(&session, &state, notice, None, StatusCode::OK).await
}

async fn teams_page(
    session: &Session,
    state: &PortalState,
    notice: Option<String>,
    problem: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let usage = seats.usage(&session.actor).await?;
    let teams = seats.teams(&session.actor).await?;
    let catalog = seats.catalog();
    let name_of = |p: &ProductId| {
        catalog
            .product(p)
            .map_or_else(|| p.to_string(), |p| p.name.clone())
    };
    let rows = usage
        .teams
        .iter()
        .map(|t| TeamRow {
            team: t.team.to_string(),
            team_name: t.team_name.clone(),
            product: t.product.to_string(),
            product_name: name_of(&t.product),
            assigned: t.assigned,
            allocated: t.allocated.map_or_else(|| "none".to_owned(), |a| a.to_string()),
            allocated_value: t.allocated.map(|a| a.to_string()).unwrap_or_default(),
            over_limit: t.over_limit,
        })
        .collect();
    let page = TeamsPage {
        layout: Layout::signed_in(session, "/teams"),
        notice,
        problem,
        rows,
        can_allocate: session.actor.role == Role::Admin,
        can_move: teams.len() >= 2,
        teams: teams
            .iter()
            .map(|t| (t.id.to_string(), t.name.as_str().to_owned()))
            .collect(),
        products: usage
            .products
            .iter()
            .map(|p| (p.product.to_string(), p.name.clone()))
            .collect(),
    };
    Ok(render(status, &page))
}

/// An allocation form.
#[derive(Debug, Deserialize)]
pub struct AllocationForm {
    team: Option<String>,
    product: Option<String>,
    #[serde(default)]
    seats: String,
}

/// `POST /teams/{team}/allocations/{product}` and `POST /teams/allocations`.
pub async fn set_allocation(
    State(state): State<PortalState>,
    path: Option<Path<(String, String)>>,
    Submitted(session, submitted): Submitted<AllocationForm>,
) -> Result<Response, PageError> {
    let from_row = path.is_some();
    let (team, product) = match path {
        Some(Path(pair)) => pair,
        None => (
            submitted.team.clone().unwrap_or_default(),
            submitted.product.clone().unwrap_or_default(),
        ),
    };
    let at = if from_row {
        format!("alloc-{team}-{product}")
    } else {
        "new".to_owned()
    };
    let team = TeamId::parse(&team).map_err(|_| PageError::NotFound)?;
    let product = ProductId::parse(&product).map_err(|_| PageError::NotFound)?;
    let seats_text = submitted.seats.trim();
    let allocation = if seats_text.is_empty() {
        None
    } else {
        match seats_text.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return teams_page(
                    &session,
                    &state,
                    None,
                    Some((at, format!("'{seats_text}' is not a number of seats: give a whole number, or leave it empty for none."))),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    };
    match state
        .app
        .seats
        .set_allocation(&session.actor, &team, &product, allocation, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/teams?saved=1").into_response()),
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            teams_page(&session, &state, None, Some((at, text)), status).await
        }
    }
}

/// The form that moves seats from one team's allocation to another's.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    seats: String,
}

/// `POST /teams/allocations/move`: seats set aside for one team go to
/// another (admins, and managers of both teams).
pub async fn move_allocation(
    State(state): State<PortalState>,
    Submitted(session, submitted): Submitted<MoveForm>,
) -> Result<Response, PageError> {
    let refused = |text: String| async {
        teams_page(
            &session,
            &state,
            None,
            Some(("move".to_owned(), text)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    };
    let (Ok(product), Ok(from), Ok(to)) = (
        ProductId::parse(&submitted.product),
        TeamId::parse(&submitted.from),
        TeamId::parse(&submitted.to),
    ) else {
        return refused("Choose a product and two teams.".to_owned()).await;
    };
    let Ok(count) = submitted.seats.trim().parse::<u32>() else {
        return refused(format!(
            "'{}' is not a number of seats: give a whole number.",
            submitted.seats.trim()
        ))
        .await;
    };
    match state
        .app
        .seats
        .move_allocation(&session.actor, &product, &from, &to, count, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/teams?saved=moved").into_response()),
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            teams_page(&session, &state, None, Some(("move".to_owned(), text)), status).await
        }
    }
}

/// One bar of a chart.
pub struct Bar {
    label: String,
    used: u32,
    of: u32,
    percent: u32,
    over: bool,
}

impl Bar {
    fn new(label: String, used: u32, of: u32) -> Self {
        let percent = if of == 0 {
            u32::from(used > 0) * 100
        } else {
            u32::try_from((u64::from(used) * 100 / u64::from(of)).min(100)).unwrap_or(100)
        };
        Self {
            label,
            used,
            of,
            percent,
            over: used > of && of > 0,
        }
    }
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    layout: Layout,
    is_admin: bool,
    products: Vec<Bar>,
    teams: Vec<Bar>,
}

/// `GET /usage`: in use against available, per product and per team.
pub async fn usage(session: Session, State(state): State<PortalState>) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let usage = seats.usage(&session.actor).await?;
    let catalog = seats.catalog();
    let products = usage
        .products
        .iter()
        .map(|p| Bar::new(p.name.clone(), p.assigned, p.purchased))
        .collect();
    let teams = usage
        .teams
        .iter()
        .map(|t| {
            let product = catalog
                .product(&t.product)
                .map_or_else(|| t.product.to_string(), |p| p.name.clone());
            Bar::new(
                format!("{}, {product}", t.team_name),
                t.assigned,
                t.allocated.unwrap_or(0),
            )
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &UsagePage {
            is_admin: session.actor.role == Role::Admin,
            layout: Layout::signed_in(&session, "/usage"),
            products,
            teams,
        },
    ))
}

/// `GET /usage.csv`: the same figures as a file (team managers: their teams).
pub async fn usage_csv(session: Session, State(state): State<PortalState>) -> Result<Response, PageError> {
    let usage = state.app.seats.usage(&session.actor).await?;
    Ok(export::csv_response("usage.csv", export::usage_csv(usage)))
}

/// The seat export's query: where a page starts.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    after: Option<String>,
}

/// `GET /assignments.csv`: every seat with its holder (admins), 10,000
/// holders a file; a `Link` header names the next file.
pub async fn assignments_csv(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, PageError> {
    let after = query
        .after
        .as_deref()
        .map(UserId::parse)
        .transpose()
        .map_err(|_| PageError::NotFound)?;
    Ok(export::assignment_export(
        &state.app.seats,
        &session.actor,
        export::Format::Csv,
        after,
        export::EXPORT_PAGE,
        "/assignments.csv",
    )
    .await?)
}

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
