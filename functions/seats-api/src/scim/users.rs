//! `/scim/v2/Users`: the directory's users as seatflow's. `userName` is the
//! email (or, when it is not one, the primary email); the display name comes
//! from `displayName`, `name.formatted`, or `name.givenName` and
//! `name.familyName`. A created user is a member, with a seat of the
//! organisation's directory seat product when one is free; otherwise
//! without, and flagged (`seatPending` in seatflow's extension). `active:
//! false` gives every seat back and keeps the account.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatflow_domain::{Actor, Email, Mode, NewUser, Role, SeatError, UserChanges, UserId, UserSeats};
use seatflow_http::AppState;
use serde_json::{Value, json};

use super::user_resource::{Fields, display_name, fields, merge, resource};
use super::{
    ListQuery, PatchOp, ScimBody, ScimCaller, ScimError, filter, list_response, paging, patch_operations,
    scim_response,
};

fn user_id(id: &str) -> Result<UserId, ScimError> {
    UserId::parse(id).map_err(|_| ScimError::not_found("user", id))
}

/// `GET /scim/v2/Users[?filter=userName eq "…"][&startIndex=&count=]`.
pub async fn list(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ScimError> {
    let (start, count) = paging(query.start_index.as_deref(), query.count.as_deref())?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    let found: Vec<UserSeats> = if let Some(text) = &query.filter {
        let wanted = filter::equality(text, &["userName", "emails.value", "id", "externalId"])?;
        let one = match wanted.attribute.as_str() {
            "userName" | "emails.value" => match Email::parse(&wanted.value) {
                Ok(email) => app.seats.directory().user_by_email(&actor, &email).await?,
                Err(_) => None,
            },
            "id" => match UserId::parse(&wanted.value) {
                Ok(id) => match app.seats.directory().user(&actor, &id).await {
                    Ok(holder) => Some(holder),
                    Err(SeatError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
                Err(_) => None,
            },
            // seatflow keeps no external ids: nobody has one.
            _ => None,
        };
        one.into_iter().collect()
    } else {
        every_holder(&app, &actor).await?
    };
    let resources: Vec<Value> = found
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|h| resource(h, policy.as_ref()))
        .collect();
    Ok(list_response(resources, found.len(), start))
}

/// Every user of the organisation with their seats, in id order, read a
/// store page at a time (each user and their seats are one item).
async fn every_holder(app: &AppState, actor: &Actor) -> Result<Vec<UserSeats>, ScimError> {
    let mut all = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let (page, next) = app
            .seats
            .directory()
            .people(actor, None, after.as_ref(), seatflow_domain::MAX_PAGE)
            .await?;
        all.extend(page);
        match next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// `GET /scim/v2/Users/{id}`.
pub async fn get_one(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let holder = app.seats.directory().user(&actor, &user_id(&id)?).await?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    Ok(scim_response(StatusCode::OK, &resource(&holder, policy.as_ref())))
}

/// `POST /scim/v2/Users`: a member, with the policy's seat when one is free.
pub async fn create(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let given = fields(&input, None)?;
    let email = given
        .email
        .ok_or_else(|| ScimError::invalid_value("userName (an email address) is required"))?;
    let name = match given.name {
        Some(name) => name,
        None => display_name(email.as_str().split('@').next().unwrap_or("user"))?,
    };
    let new = NewUser {
        id: None,
        name,
        email,
        role: Role::Member,
        team: None,
    };
    let (created, policy) = app
        .seats
        .directory()
        .create_directory_user(&actor, new, given.active != Some(false), Mode::Apply)
        .await?;
    let created = created.value;
    let mut response = scim_response(StatusCode::CREATED, &resource(&created, policy.as_ref()));
    if let Ok(location) = HeaderValue::from_str(&format!("/scim/v2/Users/{}", created.user.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Applies name, email and active to `current`, each only when it changes.
async fn apply(
    app: &AppState,
    actor: &Actor,
    current: UserSeats,
    fields: Fields,
) -> Result<UserSeats, ScimError> {
    let id = current.user.id.clone();
    let changes = UserChanges {
        name: fields.name.filter(|n| n != &current.user.name),
        email: fields.email.filter(|e| e != &current.user.email),
        role: None,
        team: None,
    };
    let mut holder = current;
    if changes.name.is_some() || changes.email.is_some() {
        holder = app
            .seats
            .directory()
            .update_user(actor, &id, &changes, Mode::Apply)
            .await?
            .value;
    }
    if let Some(active) = fields.active.filter(|a| *a != holder.user.active) {
        holder = app
            .seats
            .directory()
            .set_directory_user_active(actor, &id, active, Mode::Apply)
            .await?
            .value;
    }
    Ok(holder)
}

/// `PUT /scim/v2/Users/{id}`: the user as the body says.
pub async fn replace(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = user_id(&id)?;
    let current = app.seats.directory().user(&actor, &id).await?;
    let fields = fields(&input, Some(current.user.name.as_str()))?;
    let holder = apply(&app, &actor, current, fields).await?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    Ok(scim_response(StatusCode::OK, &resource(&holder, policy.as_ref())))
}

/// `PATCH /scim/v2/Users/{id}`: `add` and `replace` of `active`,
/// `userName`, `displayName`, `name.*`, `emails`, with or without a path
/// (Okta sends `{"op":"replace","value":{"active":false}}`; Entra ID
/// `{"op":"Replace","path":"active","value":"False"}`).
pub async fn patch(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = user_id(&id)?;
    let operations = patch_operations(&input)?;
    let current = app.seats.directory().user(&actor, &id).await?;
    // The operations folded into one User body, then applied as one.
    let mut merged = json!({});
    for operation in operations {
        if operation.op == PatchOp::Remove {
            match operation.path.as_deref() {
                // Nothing seatflow keeps is optional but these.
                Some("externalId" | "title" | "phoneNumbers" | "addresses") => continue,
                other => {
                    return Err(ScimError::new(
                        StatusCode::BAD_REQUEST,
                        Some("mutability"),
                        format!(
                            "{} cannot be removed from a seatflow user",
                            other.unwrap_or("the user")
                        ),
                    ));
                }
            }
        }
        match operation.path.as_deref() {
            None => {
                let Value::Object(values) = operation.value else {
                    return Err(ScimError::invalid_value(
                        "a PATCH without a path takes an object value",
                    ));
                };
                for (key, value) in values {
                    merge(&mut merged, &key, value);
                }
            }
            Some(path) => merge(&mut merged, path, operation.value),
        }
    }
    let fields = fields(&merged, Some(current.user.name.as_str()))?;
    let holder = apply(&app, &actor, current, fields).await?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    Ok(scim_response(StatusCode::OK, &resource(&holder, policy.as_ref())))
}

/// `DELETE /scim/v2/Users/{id}`: the user goes, every seat back.
pub async fn delete(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    app.seats
        .directory()
        .remove_user(&actor, &user_id(&id)?, Mode::Apply)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
