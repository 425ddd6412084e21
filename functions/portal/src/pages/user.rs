//! One user's page: name, email, role and team; transfer a seat; removal.

use super::*;

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
    let held = seats.directory().user(&session.actor, id).await?;
    let teams = seats.directory().teams(&session.actor).await?;
    let page = UserPage {
        layout: Layout::signed_in(session, "/users"),
        problem,
        id: held.user.id.to_string(),
        name: held.user.name.as_str().to_owned(),
        email: held
            .user
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
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
        // Someone the directory made without an email keeps none when the
        // field is left empty.
        let (new, _) = described_user(&submitted)?;
        Ok(seatflow_domain::UserChanges {
            name: Some(new.name),
            email: new.email.map(Some),
            role: Some(new.role),
            team: Some(new.team),
            directory: None,
        })
    })();
    let result = match changes {
        Ok(changes) => state
            .app
            .seats
            .directory()
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
        .directory()
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
            .allocations()
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
