//! Users: the list, its search and pages, and the add-user form.

use super::*;

/// One user, as the table shows them.
pub struct UserRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    team: String,
    /// False once the organisation's directory deactivated them.
    active: bool,
    seats: Vec<(String, String)>,
    assignable: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    /// This page with its search and place, where its forms come back to.
    here: String,
    is_admin: bool,
    query: String,
    notice: Option<String>,
    problem: Option<String>,
    alerts: Vec<String>,
    rows: Vec<UserRow>,
    next: Option<String>,
    teams: Vec<(String, String)>,
    plans: Vec<(String, String)>,
    roles: Vec<(&'static str, &'static str)>,
    form: UserForm,
}

/// `GET /users`.
pub async fn users(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<UsersQuery>,
) -> Result<Response, PageError> {
    let notice = query.notice.as_deref().map(notice_text);
    users_page(
        &session,
        &state,
        &query,
        notice,
        None,
        UserForm::default(),
        StatusCode::OK,
    )
    .await
}

fn notice_text(code: &str) -> String {
    match code {
        "created" => "The user was added.",
        "assigned" => "The seat was assigned.",
        "revoked" => "The seat was revoked.",
        "updated" => "The user was changed.",
        "removed" => "The user was removed; their seats are free.",
        "moved" => "The seat was moved.",
        _ => "Done.",
    }
    .to_owned()
}

#[allow(clippy::too_many_arguments)] // a page and everything it may show again
pub(super) async fn users_page(
    session: &Session,
    state: &PortalState,
    query: &UsersQuery,
    notice: Option<String>,
    problem: Option<String>,
    form: UserForm,
    status: StatusCode,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    let actor = &session.actor;
    let after = query
        .after
        .as_deref()
        .map(UserId::parse)
        .transpose()
        .map_err(|_| PageError::NotFound)?;
    let (people, next) = seats
        .directory()
        .people(actor, Some(query.q.as_str()), after.as_ref(), USERS_PER_PAGE)
        .await?;
    let licenses: Vec<LicenseSummary> = if actor.role == Role::Admin {
        seats.views().licenses(actor).await?
    } else {
        Vec::new()
    };
    let catalog = seats.catalog();
    // What may be given: the products the organisation holds (for managers,
    // every product; the service says no when a team has no room).
    let held: Vec<(String, String)> = if licenses.is_empty() {
        catalog
            .products
            .values()
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect()
    } else {
        licenses
            .iter()
            .filter(|l| l.purchased > 0)
            .map(|l| (l.product.to_string(), l.name.clone()))
            .collect()
    };
    let teams = seats.directory().teams(actor).await?;
    let team_name = |id: &TeamId| {
        teams
            .iter()
            .find(|t| &t.id == id)
            .map_or_else(|| id.to_string(), |t| t.name.as_str().to_owned())
    };
    let rows = people
        .into_iter()
        .map(|p| {
            let seats_held: Vec<(String, String)> = p
                .seats
                .iter()
                .map(|s| (s.product.to_string(), product_name(state, &s.product)))
                .collect();
            UserRow {
                id: p.user.id.to_string(),
                name: p.user.name.as_str().to_owned(),
                email: p
                    .user
                    .email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                role: role_label(p.user.role),
                team: p.user.team.as_ref().map(&team_name).unwrap_or_default(),
                active: p.user.active,
                // A plan first; add-ons go on top of one.
                assignable: {
                    let has_plan = p.seats.iter().any(|s| catalog.is_plan(&s.product));
                    held.iter()
                        .filter(|(id, _)| !seats_held.iter().any(|(held, _)| held == id))
                        .filter(|(id, _)| ProductId::parse(id).is_ok_and(|p| catalog.is_plan(&p) != has_plan))
                        .cloned()
                        .collect()
                },
                seats: seats_held,
            }
        })
        .collect();
    let alerts = licenses
        .iter()
        .filter(|l| l.kind == ProductKind::Plan && l.purchased > 0)
        .filter_map(|l| {
            if l.available == 0 {
                Some(format!(
                    "Every {} seat is in use ({} of {}). To give someone a seat, revoke one,",
                    l.name, l.assigned, l.purchased
                ))
            } else if l.unallocated_available == 0 {
                Some(format!(
                    "Every {name} seat outside the teams' allocations is in use: the {free} still free are set aside for teams (see Teams). To give a seat to someone in no such team, move an allocation, revoke a seat,",
                    name = l.name,
                    free = l.available,
                ))
            } else {
                None
            }
        })
        .collect();
    let next = next.map(|after| {
        let mut link = form_urlencoded_pairs(&[("after", after.as_str())]);
        if !query.q.is_empty() {
            link.push('&');
            link.push_str(&form_urlencoded_pairs(&[("q", query.q.as_str())]));
        }
        format!("/users?{link}")
    });
    let plans = held
        .iter()
        .filter(|(id, _)| ProductId::parse(id).is_ok_and(|p| catalog.is_plan(&p)))
        .cloned()
        .collect();
    let mut here = Vec::new();
    if !query.q.is_empty() {
        here.push(("q", query.q.as_str()));
    }
    if let Some(after) = &query.after {
        here.push(("after", after.as_str()));
    }
    let page = UsersPage {
        layout: Layout::signed_in(session, "/users"),
        here: if here.is_empty() {
            "/users".to_owned()
        } else {
            format!("/users?{}", form_urlencoded_pairs(&here))
        },
        is_admin: actor.role == Role::Admin,
        query: query.q.clone(),
        notice,
        problem,
        alerts,
        rows,
        next,
        teams: teams
            .iter()
            .map(|t| (t.id.to_string(), t.name.as_str().to_owned()))
            .collect(),
        plans,
        roles: vec![
            ("member", "Member"),
            ("team_manager", "Team manager"),
            ("admin", "Admin"),
        ],
        form: UserForm {
            role: if form.role.is_empty() {
                "member".into()
            } else {
                form.role.clone()
            },
            ..form
        },
    };
    Ok(render(status, &page))
}
