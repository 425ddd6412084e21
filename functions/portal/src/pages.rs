//! The pages: Licenses (home for admins), My seats (home for everyone
//! else), and Users with its forms. Each calls the domain service in
//! process, as the API does, with the same authorisation.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use seatflow_domain::{
    DisplayName, Email, LicenseSummary, Mode, NewUser, ProductId, ProductKind, Role, SeatError,
    SubscriptionStatus, TeamId, Term, UserId,
};
use serde::Deserialize;

use crate::PortalState;
use crate::page::{Layout, PageError, render};
use crate::session::{Session, Submitted};

/// Users shown per page.
pub const USERS_PER_PAGE: usize = 50;

/// A license row, in words.
pub struct LicenseRow {
    name: String,
    kind: &'static str,
    purchased: u32,
    allocated: u32,
    assigned: u32,
    available: u32,
    over_limit: bool,
    renews: String,
}

#[derive(Template)]
#[template(path = "licenses.html")]
struct LicensesPage {
    layout: Layout,
    notice: Option<&'static str>,
    subscriptions: Vec<SubscriptionRow>,
    has_billing: bool,
    any_over_limit: bool,
    licenses: Vec<LicenseRow>,
}

/// A subscription, in words, with its Add seats link.
pub struct SubscriptionRow {
    id: String,
    plan: String,
    seats: String,
    status: &'static str,
    renews: String,
    can_add: bool,
}

/// The home page's query: what was just done.
#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "my_seats.html")]
struct MySeatsPage {
    layout: Layout,
    products: Vec<String>,
}

/// `GET /`: Licenses for admins; everyone else's own seats.
pub async fn home(
    session: Session,
    State(state): State<PortalState>,
    Query(query): Query<HomeQuery>,
) -> Result<Response, PageError> {
    let seats = &state.app.seats;
    if session.actor.role != Role::Admin {
        let me = seats.me(&session.actor).await?;
        let products = me
            .seats
            .iter()
            .map(|s| product_name(&state, &s.product))
            .collect();
        return Ok(render(
            StatusCode::OK,
            &MySeatsPage {
                layout: Layout::signed_in(&session, "/"),
                products,
            },
        ));
    }
    let licenses = seats
        .licenses(&session.actor)
        .await?
        .into_iter()
        .map(|l| LicenseRow {
            kind: match l.kind {
                ProductKind::Plan => "plan",
                ProductKind::AddOn => "add-on",
            },
            renews: l
                .renews_at
                .map_or_else(|| "—".to_owned(), |at| at.format("%-d %B %Y").to_string()),
            name: l.name,
            purchased: l.purchased,
            allocated: l.allocated,
            assigned: l.assigned,
            available: l.available,
            over_limit: l.over_limit,
        })
        .collect::<Vec<_>>();
    let catalog = seats.catalog();
    let name_of = |p: &ProductId| {
        catalog
            .product(p)
            .map_or_else(|| p.to_string(), |p| p.name.clone())
    };
    let subscriptions = seats
        .subscription_overviews(&session.actor)
        .await?
        .into_iter()
        .map(|o| SubscriptionRow {
            id: o.id.to_string(),
            plan: format!(
                "{}{}",
                o.plan.as_ref().map_or_else(|| "No plan".to_owned(), &name_of),
                match o.term {
                    Some(Term::Monthly) => ", monthly",
                    Some(Term::Annual) => ", annual",
                    None => "",
                }
            ),
            seats: o
                .items
                .iter()
                .map(|i| format!("{} × {}", i.quantity, name_of(&i.product)))
                .collect::<Vec<_>>()
                .join(", "),
            status: match o.status {
                SubscriptionStatus::Active | SubscriptionStatus::Trialing if o.cancel_at_period_end => {
                    "ends at the period's end"
                }
                SubscriptionStatus::Active => "active",
                SubscriptionStatus::Trialing => "trial",
                SubscriptionStatus::PastDue => "payment overdue",
                SubscriptionStatus::Unpaid => "unpaid",
                SubscriptionStatus::Canceled => "ended",
                SubscriptionStatus::Paused => "paused",
                SubscriptionStatus::Incomplete | SubscriptionStatus::IncompleteExpired => "not paid",
            },
            renews: match (o.renews_at, o.renewal_amount) {
                (Some(at), Some(amount)) => format!("{} for {amount}", at.format("%-d %B %Y")),
                (Some(at), None) => at.format("%-d %B %Y").to_string(),
                _ => "—".to_owned(),
            },
            can_add: matches!(
                o.status,
                SubscriptionStatus::Active | SubscriptionStatus::Trialing
            ) && o.plan.is_some(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &LicensesPage {
            layout: Layout::signed_in(&session, "/"),
            notice: (query.notice.as_deref() == Some("seats_added")).then_some(
                "Seats added. They can be given out as soon as the payment provider confirms the change, usually within seconds.",
            ),
            subscriptions,
            any_over_limit: licenses.iter().any(|l| l.over_limit),
            has_billing: seats.billing_customer(&session.actor).await.is_ok(),
            licenses,
        },
    ))
}

fn product_name(state: &PortalState, product: &ProductId) -> String {
    state
        .app
        .seats
        .catalog()
        .product(product)
        .map_or_else(|| product.to_string(), |p| p.name.clone())
}

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

/// What the add-user form holds, to show again with its error.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    seat: String,
    /// Where to go once added (the purchase confirmation's "create users now").
    #[serde(default)]
    back: String,
    #[serde(skip)]
    error: Option<(String, String)>,
}

impl UserForm {
    /// Whether the error is about `field` (`""`: about the form as a whole).
    fn error_on(&self, field: &str) -> bool {
        self.error.as_ref().is_some_and(|(f, _)| {
            if field.is_empty() {
                !["name", "email", "seat"].contains(&f.as_str())
            } else {
                f == field
            }
        })
    }

    fn error_text(&self) -> &str {
        self.error.as_ref().map_or("", |(_, text)| text.as_str())
    }
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

/// The Users page's query.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
    notice: Option<String>,
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
async fn users_page(
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
        .people(actor, Some(query.q.as_str()), after.as_ref(), USERS_PER_PAGE)
        .await?;
    let licenses: Vec<LicenseSummary> = if actor.role == Role::Admin {
        seats.licenses(actor).await?
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
    let teams = seats.teams(actor).await?;
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
                email: p.user.email.as_str().to_owned(),
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

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::TeamManager => "Team manager",
        Role::Member => "Member",
    }
}

/// `POST /users`: adds a user, with a seat if chosen.
pub async fn create_user(
    State(state): State<PortalState>,
    Submitted(session, mut submitted): Submitted<UserForm>,
) -> Result<Response, PageError> {
    let created = new_user(&submitted);
    let result = match created {
        Ok((user, seat)) => state
            .app
            .seats
            .create_user(&session.actor, user, seat.as_ref(), Mode::Apply)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    match result {
        // Only back to a confirmation of this portal, never elsewhere.
        Ok(()) if submitted.back.starts_with("/purchase/done?session=") => {
            Ok(Redirect::to(&submitted.back).into_response())
        }
        Ok(()) => Ok(Redirect::to("/users?notice=created").into_response()),
        Err(error) if matches!(PageError::from(error.clone()), PageError::Refused(..)) => {
            let field = match &error {
                SeatError::EmailTaken(_) => "email".to_owned(),
                SeatError::NoSeatsAvailable { .. } | SeatError::TeamAllocationExhausted { .. } => {
                    "seat".to_owned()
                }
                other => other.field().unwrap_or_default().to_owned(),
            };
            submitted.error = Some((field, error.to_string()));
            users_page(
                &session,
                &state,
                &UsersQuery::default(),
                None,
                None,
                submitted,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

fn new_user(form: &UserForm) -> Result<(NewUser, Option<ProductId>), SeatError> {
    let role = match form.role.as_str() {
        "" | "member" => Role::Member,
        "team_manager" => Role::TeamManager,
        "admin" => Role::Admin,
        other => {
            return Err(SeatError::Validation(seatflow_domain::ValidationError::new(
                "role",
                format!("'{other}' is not a role"),
            )));
        }
    };
    let team = Some(form.team.as_str())
        .filter(|t| !t.is_empty())
        .map(TeamId::parse)
        .transpose()?;
    let seat = Some(form.seat.as_str())
        .filter(|s| !s.is_empty())
        .map(ProductId::parse)
        .transpose()?;
    Ok((
        NewUser {
            id: None,
            name: DisplayName::parse(&form.name)?,
            email: Email::parse(&form.email)?,
            role,
            team,
        },
        seat,
    ))
}

/// A form that only says which Users page it was on.
#[derive(Debug, Deserialize)]
pub struct BackForm {
    #[serde(default)]
    back: String,
}

/// The assign form.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    product: String,
    /// The Users page the form was on (its search and place).
    #[serde(default)]
    back: String,
}

/// `POST /users/{id}/seats`: gives the user a seat (or an add-on).
pub async fn assign(
    State(state): State<PortalState>,
    Path(user): Path<String>,
    Submitted(session, submitted): Submitted<AssignForm>,
) -> Result<Response, PageError> {
    let user = UserId::parse(&user).map_err(|_| PageError::NotFound)?;
    let product = ProductId::parse(&submitted.product).map_err(SeatError::from)?;
    let result = state
        .app
        .seats
        .assign(&session.actor, &product, &user, Mode::Apply)
        .await
        .map(|_| ());
    after_change(&session, &state, result, "assigned", &submitted.back).await
}

/// `POST /users/{id}/seats/{product}/revoke`: takes the seat back.
pub async fn revoke(
    State(state): State<PortalState>,
    Path((user, product)): Path<(String, String)>,
    Submitted(session, submitted): Submitted<BackForm>,
) -> Result<Response, PageError> {
    let user = UserId::parse(&user).map_err(|_| PageError::NotFound)?;
    let product = ProductId::parse(&product).map_err(|_| PageError::NotFound)?;
    let result = state
        .app
        .seats
        .unassign(&session.actor, &product, &user, Mode::Apply)
        .await
        .map(|_| ());
    after_change(&session, &state, result, "revoked", &submitted.back).await
}

/// Back to Users after a change; a refusal is shown there, in words.
async fn after_change(
    session: &Session,
    state: &PortalState,
    result: Result<(), SeatError>,
    notice: &str,
    back: &str,
) -> Result<Response, PageError> {
    // Only back to a Users page of this site, with its search and place.
    let back: UsersQuery = back
        .strip_prefix("/users")
        .and_then(|rest| {
            if rest.is_empty() {
                Some("")
            } else {
                rest.strip_prefix('?')
            }
        })
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default();
    match result {
        Ok(()) => {
            let mut pairs = vec![("notice", notice)];
            if !back.q.is_empty() {
                pairs.push(("q", back.q.as_str()));
            }
            if let Some(after) = &back.after {
                pairs.push(("after", after.as_str()));
            }
            Ok(Redirect::to(&format!("/users?{}", form_urlencoded_pairs(&pairs))).into_response())
        }
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            users_page(
                session,
                state,
                &UsersQuery { notice: None, ..back },
                None,
                Some(text),
                UserForm::default(),
                status,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    /// A refusal and where it is shown: a field of the edit form (`name`,
    /// `email`, `role`, `team`), `edit` for the form as a whole, `to` (the
    /// transfer's receiver) or `confirm` (the removal).
    problem: Option<(String, String)>,
    id: String,
    name: String,
    email: String,
    seats: String,
    held: Vec<(String, String)>,
    current_role: &'static str,
    current_team: String,
    roles: Vec<(&'static str, &'static str)>,
    teams: Vec<(String, String)>,
}

impl UserPage {
    fn problem_at(&self, at: &str) -> Option<&str> {
        self.problem
            .as_ref()
            .filter(|(key, _)| key == at)
            .map(|(_, text)| text.as_str())
    }
}

fn role_value(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::TeamManager => "team_manager",
        Role::Member => "member",
    }
}

/// `GET /users/{id}`: one user, to edit or remove (admins).
pub async fn user(
    session: Session,
    State(state): State<PortalState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = UserId::parse(&id).map_err(|_| PageError::NotFound)?;
    user_page(&session, &state, &id, None, StatusCode::OK).await
}

async fn user_page(
    session: &Session,
    state: &PortalState,
    id: &UserId,
    problem: Option<(String, String)>,
    status: StatusCode,
) -> Result<Response, PageError> {
    if session.actor.role != Role::Admin {
        return Err(PageError::Forbidden(
            "only an organisation admin may change users".into(),
        ));
    }
    let seats = &state.app.seats;
    let held = seats.user(&session.actor, id).await?;
    let teams = seats.teams(&session.actor).await?;
    let page = UserPage {
        layout: Layout::signed_in(session, "/users"),
        problem,
        id: held.user.id.to_string(),
        name: held.user.name.as_str().to_owned(),
        email: held.user.email.as_str().to_owned(),
        seats: held
            .seats
            .iter()
            .map(|s| product_name(state, &s.product))
            .collect::<Vec<_>>()
            .join(", "),
        held: held
            .seats
            .iter()
            .map(|s| (s.product.to_string(), product_name(state, &s.product)))
            .collect(),
        current_role: role_value(held.user.role),
        current_team: held
            .user
            .team
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        roles: vec![
            ("member", "Member"),
            ("team_manager", "Team manager"),
            ("admin", "Admin"),
        ],
        teams: teams
            .iter()
            .map(|t| (t.id.to_string(), t.name.as_str().to_owned()))
            .collect(),
    };
    Ok(render(status, &page))
}

/// `POST /users/{id}`: name, email, role and team, in one audited change.
pub async fn update_user(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, submitted): Submitted<UserForm>,
) -> Result<Response, PageError> {
    let id = UserId::parse(&id).map_err(|_| PageError::NotFound)?;
    let changes = (|| -> Result<seatflow_domain::UserChanges, SeatError> {
        let (new, _) = new_user(&submitted)?;
        Ok(seatflow_domain::UserChanges {
            name: Some(new.name),
            email: Some(new.email),
            role: Some(new.role),
            team: Some(new.team),
        })
    })();
    let result = match changes {
        Ok(changes) => state
            .app
            .seats
            .update_user(&session.actor, &id, &changes, Mode::Apply)
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/users?notice=updated").into_response()),
        Err(error) => {
            let at = match &error {
                SeatError::EmailTaken(_) => "email",
                other => other
                    .field()
                    .filter(|f| ["name", "email", "role", "team"].contains(f))
                    .unwrap_or("edit"),
            }
            .to_owned();
            let (status, text) = crate::page::refusal(error)?;
            user_page(&session, &state, &id, Some((at, text)), status).await
        }
    }
}

/// The remove form.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /users/{id}/remove`: every seat back, the audit kept.
pub async fn remove_user(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, submitted): Submitted<RemoveForm>,
) -> Result<Response, PageError> {
    let id = UserId::parse(&id).map_err(|_| PageError::NotFound)?;
    if submitted.confirm != "yes" {
        return user_page(
            &session,
            &state,
            &id,
            Some(("confirm".into(), "Tick the box to confirm the removal.".into())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match state
        .app
        .seats
        .remove_user(&session.actor, &id, Mode::Apply)
        .await
    {
        Ok(_) => Ok(Redirect::to("/users?notice=removed").into_response()),
        Err(error) => {
            let (status, text) = crate::page::refusal(error)?;
            user_page(&session, &state, &id, Some(("confirm".into(), text)), status).await
        }
    }
}

/// The transfer form.
#[derive(Debug, Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    to: String,
}

/// `POST /users/{id}/transfer`: the seat (with its add-ons for a last base
/// seat) moves to another user in one change.
pub async fn transfer(
    State(state): State<PortalState>,
    Path(id): Path<String>,
    Submitted(session, submitted): Submitted<TransferForm>,
) -> Result<Response, PageError> {
    let from = UserId::parse(&id).map_err(|_| PageError::NotFound)?;
    let result = match (
        ProductId::parse(&submitted.product),
        UserId::parse(submitted.to.trim()),
    ) {
        (Ok(product), Ok(to)) => state
            .app
            .seats
            .transfer(&session.actor, &product, &from, &to, Mode::Apply)
            .await
            .map(|_| ()),
        (Err(error), _) => Err(error.into()),
        (_, Err(_)) => Err(SeatError::Validation(seatflow_domain::ValidationError::new(
            "to",
            format!(
                "'{}' is not a user id (they look like usr_…)",
                submitted.to.trim()
            ),
        ))),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/users?notice=moved").into_response()),
        // Shown on the giver's page in words: a receiver not found, no room
        // in their team, a seat they already hold.
        Err(error) => {
            let api = seatflow_http::ApiError::from(error.clone());
            if api.status().is_server_error() {
                return Err(PageError::from(api));
            }
            user_page(
                &session,
                &state,
                &from,
                Some(("to".into(), error.to_string())),
                api.status(),
            )
            .await
        }
    }
}
