//! Teams: allocations per product with their use; set and move them; and
//! (admins) the teams themselves: create, rename, and remove (after a
//! preview of what removing does).

use super::*;

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
    /// A removal to confirm, as its dry run found it.
    removal: Option<RemovalView>,
}

/// What removing a team would do, shown before it is done.
struct RemovalView {
    team: String,
    name: String,
    members: u32,
    /// "5 seats of Professional", one per allocation.
    allocations: Vec<String>,
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
        match what.as_str() {
            "moved" => "The seats were moved.",
            "created" => "The team was created.",
            "renamed" => "The team was renamed.",
            "removed" => {
                "The team was deleted. Its members kept their seats; its allocations went back to the pool."
            }
            _ => "The allocation was saved.",
        }
        .to_owned()
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
    teams_page_with(session, state, notice, problem, None, status).await
}

async fn teams_page_with(
    session: &Session,
    state: &PortalState,
    notice: Option<String>,
    problem: Option<(String, String)>,
    removal: Option<RemovalView>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let usage = seats.views().usage(&session.actor).await?;
    let teams = seats.directory().teams(&session.actor).await?;
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
        removal,
    };
    Ok(render(status, &page))
}

/// The form naming a team.
#[derive(Debug, Deserialize)]
pub struct TeamNameForm {
    #[serde(default)]
    name: String,
}

/// `POST /teams/new`: a team (admins).
pub async fn create_team(
    State(state): State<PortalState>,
    Submitted(session, submitted): Submitted<TeamNameForm>,
) -> Result<Response, PageError> {
    let created = state
        .app
        .seats
        .directory()
        .create_team(&session.actor, None, &submitted.name, Mode::Apply)
        .await;
    match created {
        Ok(_) => Ok(Redirect::to("/teams?saved=created").into_response()),
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            teams_page(&session, &state, None, Some(("create".to_owned(), text)), status).await
        }
    }
}

/// `POST /teams/{team}/name`: a team renamed (admins); its members and
/// allocations stay.
pub async fn rename_team(
    State(state): State<PortalState>,
    Path(team): Path<String>,
    Submitted(session, submitted): Submitted<TeamNameForm>,
) -> Result<Response, PageError> {
    let id = TeamId::parse(&team).map_err(|_| PageError::NotFound)?;
    let renamed = state
        .app
        .seats
        .directory()
        .rename_team(&session.actor, &id, &submitted.name, Mode::Apply)
        .await;
    match renamed {
        Ok(_) => Ok(Redirect::to("/teams?saved=renamed").into_response()),
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            teams_page(&session, &state, None, Some((format!("name-{id}"), text)), status).await
        }
    }
}

/// The form removing a team: without `confirm`, it shows what removing
/// would do; with `confirm=yes`, it removes.
#[derive(Debug, Deserialize)]
pub struct RemovalForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /teams/{team}/removal`: first a preview (a dry run), then, confirmed,
/// the team removed (admins): allocations back to the pool, members keep
/// their seats in no team.
pub async fn remove_team(
    State(state): State<PortalState>,
    Path(team): Path<String>,
    Submitted(session, submitted): Submitted<RemovalForm>,
) -> Result<Response, PageError> {
    let id = TeamId::parse(&team).map_err(|_| PageError::NotFound)?;
    let mode = if submitted.confirm == "yes" {
        Mode::Apply
    } else {
        Mode::DryRun
    };
    let outcome = state
        .app
        .seats
        .directory()
        .remove_team(&session.actor, &id, mode)
        .await;
    match outcome {
        Ok(_) if mode == Mode::Apply => Ok(Redirect::to("/teams?saved=removed").into_response()),
        Ok(preview) => {
            let catalog = state.app.seats.catalog();
            let removal = RemovalView {
                team: id.to_string(),
                name: preview.value.team.name.as_str().to_owned(),
                members: preview.value.members,
                allocations: preview
                    .value
                    .allocations
                    .iter()
                    .map(|a| {
                        let product = catalog
                            .product(&a.product)
                            .map_or_else(|| a.product.to_string(), |p| p.name.clone());
                        format!("{} seats of {product}", a.allocated.unwrap_or(0))
                    })
                    .collect(),
            };
            teams_page_with(&session, &state, None, None, Some(removal), StatusCode::OK).await
        }
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            teams_page(&session, &state, None, Some((format!("name-{id}"), text)), status).await
        }
    }
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
        .allocations()
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
        .allocations()
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
