//! `/scim/v2/Users`: the directory's users as seatflow's. What the
//! directory says of a user is kept and answered back as it said it; the
//! name and email seatflow uses come from it (see `user_resource`). A
//! `userName` that is not an email address is kept as it is: the user's
//! email is then the primary of `emails`, or none (they hold seats and are
//! checked by id, and are sent nothing). A created user is a member, with a
//! seat of the organisation's directory seat product when one is free;
//! otherwise without, and flagged (`seatPending` in seatflow's extension).
//! `active: false` gives every seat back and keeps the account.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatflow_domain::{Actor, Email, Mode, NewUser, Role, SeatError, UserChanges, UserId, UserSeats};
use seatflow_http::AppState;
use serde_json::{Map, Value};

use super::user_resource::{
    USER_SCHEMA, active_of, apply_path, derive, is_active, profile, record, resource,
};
use super::{
    ListQuery, PatchOp, Projection, ScimBody, ScimCaller, ScimError, boolean, filter, list_response, paging,
    patch_operations, scim_response,
};

/// The attributes a Users filter may name.
pub(super) const FILTERABLE: &[&str] = &["userName", "emails.value", "id", "externalId"];

fn user_id(id: &str) -> Result<UserId, ScimError> {
    UserId::parse(id).map_err(|_| ScimError::not_found("user", id))
}

/// `GET /scim/v2/Users[?filter=userName eq "…"][&startIndex=&count=][&attributes=|&excludedAttributes=]`.
pub async fn list(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ScimError> {
    answer_list(&app, &actor, query).await
}

/// `POST /scim/v2/Users/.search`: the list, asked in a body.
pub async fn search(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    answer_list(&app, &actor, ListQuery::from_search(&body)?).await
}

async fn answer_list(app: &AppState, actor: &Actor, query: ListQuery) -> Result<Response, ScimError> {
    let (start, count) = paging(query.start_index.as_deref(), query.count.as_deref())?;
    let (resources, total) = page(app, actor, &query, start - 1, count).await?;
    Ok(list_response(resources, total, start))
}

/// The users `query` finds, `skip`ped and `take`n, as it projects them, and
/// how many it finds.
pub(super) async fn page(
    app: &AppState,
    actor: &Actor,
    query: &ListQuery,
    skip: usize,
    take: usize,
) -> Result<(Vec<Value>, usize), ScimError> {
    let policy = app.seats.directory().directory_seat(actor).await?;
    let found: Vec<UserSeats> = if let Some(text) = &query.filter {
        let wanted = filter::equality(text, FILTERABLE)?;
        match wanted.attribute.to_ascii_lowercase().as_str() {
            "emails.value" => match Email::parse(&wanted.value) {
                Ok(email) => app
                    .seats
                    .directory()
                    .user_by_email(actor, &email)
                    .await?
                    .into_iter()
                    .collect(),
                Err(_) => Vec::new(),
            },
            "id" => match UserId::parse(&wanted.value) {
                Ok(id) => match app.seats.directory().user(actor, &id).await {
                    Ok(holder) => vec![holder],
                    Err(SeatError::NotFound { .. }) => Vec::new(),
                    Err(e) => return Err(e.into()),
                },
                Err(_) => Vec::new(),
            },
            "username" => with_user_name(app, actor, &wanted.value)
                .await?
                .into_iter()
                .collect(),
            // externalId, the one left of FILTERABLE.
            _ => {
                app.seats
                    .directory()
                    .users_by_external_id(actor, &wanted.value)
                    .await?
            }
        }
    } else {
        // Every user, by position: the page alone is read (and the count).
        let (holders, total) = app
            .seats
            .directory()
            .people_at(actor, skip as u64 + 1, take)
            .await?;
        let resources = holders
            .iter()
            .map(|h| query.projection.apply(resource(h, policy.as_ref()), USER_SCHEMA))
            .collect();
        return Ok((resources, usize::try_from(total).unwrap_or(usize::MAX)));
    };
    let resources: Vec<Value> = found
        .iter()
        .skip(skip)
        .take(take)
        .map(|h| query.projection.apply(resource(h, policy.as_ref()), USER_SCHEMA))
        .collect();
    Ok((resources, found.len()))
}

/// `GET /scim/v2/Users/{id}`.
pub async fn get_one(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let holder = app.seats.directory().user(&actor, &user_id(&id)?).await?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(resource(&holder, policy.as_ref()), USER_SCHEMA),
    ))
}

/// The user whose `userName` is `name` (case-insensitive), if any: the
/// directory's users by the claim on their name (one read); users the
/// directory never wrote answer their email as their `userName`, so an
/// address is looked up by email too.
async fn with_user_name(app: &AppState, actor: &Actor, name: &str) -> Result<Option<UserSeats>, ScimError> {
    let directory = app.seats.directory();
    if let Some(holder) = directory.user_by_directory_name(actor, name).await? {
        return Ok(Some(holder));
    }
    let same = |holder: &UserSeats| {
        profile(&holder.user)
            .get("userName")
            .and_then(Value::as_str)
            .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
    };
    match Email::parse(name) {
        Ok(email) => Ok(directory.user_by_email(actor, &email).await?.filter(same)),
        Err(_) => Ok(None),
    }
}

/// Refuses a `userName` another user has (409 `uniqueness`).
async fn unique_user_name(
    app: &AppState,
    actor: &Actor,
    record: &Map<String, Value>,
    except: Option<&UserId>,
) -> Result<(), ScimError> {
    let name = record.get("userName").and_then(Value::as_str).unwrap_or_default();
    match with_user_name(app, actor, name).await? {
        Some(other) if Some(&other.user.id) != except => Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("another user has the userName '{name}'"),
        )),
        _ => Ok(()),
    }
}

/// `POST /scim/v2/Users`: a member, with the policy's seat when one is free.
pub async fn create(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let record = record(&input);
    let derived = derive(&record)?;
    let active = active_of(&input)?;
    unique_user_name(&app, &actor, &record, None).await?;
    let new = NewUser {
        id: None,
        name: derived.name,
        email: derived.email,
        directory: Some(record),
        role: Role::Member,
        team: None,
    };
    let (created, policy) = app
        .seats
        .directory()
        .create_directory_user(&actor, new, active != Some(false), Mode::Apply)
        .await?;
    let created = created.value;
    let mut response = scim_response(
        StatusCode::CREATED,
        &projection.apply(resource(&created, policy.as_ref()), USER_SCHEMA),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/scim/v2/Users/{}", created.user.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Makes `current` what `record` and `active` say: the record kept, the
/// name and email that follow from it, and the user (de)activated, each
/// only when it changes.
async fn apply(
    app: &AppState,
    actor: &Actor,
    current: UserSeats,
    record: Map<String, Value>,
    active: Option<bool>,
) -> Result<UserSeats, ScimError> {
    let id = current.user.id.clone();
    let derived = derive(&record)?;
    unique_user_name(app, actor, &record, Some(&id)).await?;
    let mut holder = current;
    if holder.user.directory.as_ref() != Some(&record)
        || derived.name != holder.user.name
        || derived.email != holder.user.email
    {
        let changes = UserChanges {
            name: Some(derived.name).filter(|n| n != &holder.user.name),
            email: Some(derived.email).filter(|e| e != &holder.user.email),
            role: None,
            team: None,
            directory: Some(Some(record)),
        };
        holder = app
            .seats
            .directory()
            .update_user(actor, &id, &changes, Mode::Apply)
            .await?
            .value;
    }
    if let Some(active) = active.filter(|a| *a != holder.user.active) {
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
    Query(projection): Query<Projection>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = user_id(&id)?;
    let current = app.seats.directory().user(&actor, &id).await?;
    let holder = apply(&app, &actor, current, record(&input), active_of(&input)?).await?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(resource(&holder, policy.as_ref()), USER_SCHEMA),
    ))
}

/// `PATCH /scim/v2/Users/{id}`: `add`, `replace` and `remove` of the kept
/// attributes and `active`, with or without a path (Okta sends
/// `{"op":"replace","value":{"active":false}}`; Entra ID
/// `{"op":"Replace","path":"active","value":"False"}`).
pub async fn patch(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = user_id(&id)?;
    let operations = patch_operations(&input)?;
    let current = app.seats.directory().user(&actor, &id).await?;
    // The operations applied in order to the user as the directory sees
    // them, then committed as one.
    let mut record = profile(&current.user);
    let mut active = None;
    for operation in operations {
        match (operation.op, operation.path.as_deref()) {
            (PatchOp::Remove, None) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("noTarget"),
                    "a remove operation names a path",
                ));
            }
            (PatchOp::Remove, Some(path)) if is_active(path) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("mutability"),
                    "active cannot be removed: set it to true or false",
                ));
            }
            (PatchOp::Remove, Some(path)) => apply_path(&mut record, path, None)?,
            (_, Some(path)) if is_active(path) => active = Some(boolean(&operation.value, "active")?),
            (_, Some(path)) => apply_path(&mut record, path, Some(operation.value))?,
            (_, None) => {
                let Value::Object(values) = operation.value else {
                    return Err(ScimError::invalid_value(
                        "a PATCH without a path takes an object value",
                    ));
                };
                for (key, value) in values {
                    if is_active(&key) {
                        active = Some(boolean(&value, "active")?);
                    } else {
                        apply_path(&mut record, &key, Some(value))?;
                    }
                }
            }
        }
    }
    let holder = apply(&app, &actor, current, record, active).await?;
    let policy = app.seats.directory().directory_seat(&actor).await?;
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(resource(&holder, policy.as_ref()), USER_SCHEMA),
    ))
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
