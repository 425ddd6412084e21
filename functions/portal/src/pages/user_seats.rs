//! Users' forms that change who exists and who holds a seat: add a user,
//! assign and revoke seats; back to Users with the outcome.

use super::users::users_page;
use super::*;

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
            .directory()
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
                error if error.means_no_seat_free() => "seat".to_owned(),
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
        .allocations()
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
        .allocations()
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
