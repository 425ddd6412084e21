//! `/scim/v2/Groups`: the directory's groups as seatflow's teams. A member
//! added to a group moves into that team with their seats (refused when the
//! team's allocation has no room for them); a member removed leaves it for no
//! team. A user is in one team at a time, so adding them to a second group
//! moves them. Renaming and deleting teams stays with the organisation's
//! admins.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use seatflow_domain::{Actor, Mode, Team, TeamId, User, UserChanges, UserId};
use seatflow_http::AppState;
use serde_json::{Value, json};

use super::{
    ListQuery, PatchOp, ScimBody, ScimCaller, ScimError, filter, list_response, paging, patch_operations,
    scim_response,
};

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn resource(team: &Team, members: &[User]) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "id": team.id.as_str(),
        "displayName": team.name.as_str(),
        "members": members.iter().map(|m| json!({
            "value": m.id.as_str(),
            "display": m.name.as_str(),
            "$ref": format!("/scim/v2/Users/{}", m.id),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "created": team.created_at.to_rfc3339(),
            "location": format!("/scim/v2/Groups/{}", team.id),
        },
    })
}

fn team_id(id: &str) -> Result<TeamId, ScimError> {
    TeamId::parse(id).map_err(|_| ScimError::not_found("group", id))
}

/// Every member of `team`, read a store page at a time.
async fn members(app: &AppState, actor: &Actor, team: &TeamId) -> Result<Vec<User>, ScimError> {
    let mut all = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = app
            .seats
            .users(actor, Some(team), after.as_ref(), seatflow_domain::MAX_PAGE)
            .await?;
        let full = page.len() == seatflow_domain::MAX_PAGE;
        after = page.last().map(|u| u.id.clone());
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// `GET /scim/v2/Groups[?filter=displayName eq "…"]`.
pub async fn list(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ScimError> {
    let (start, count) = paging(query.start_index.as_deref(), query.count.as_deref())?;
    let mut teams = app.seats.teams(&actor).await?;
    if let Some(text) = &query.filter {
        let wanted = filter::equality(text, &["displayName", "id"])?;
        teams.retain(|t| match wanted.attribute.as_str() {
            "id" => t.id.as_str() == wanted.value,
            _ => t.name.as_str().eq_ignore_ascii_case(&wanted.value),
        });
    }
    let total = teams.len();
    let mut resources = Vec::new();
    for team in teams.iter().skip(start - 1).take(count) {
        resources.push(resource(team, &members(&app, &actor, &team.id).await?));
    }
    Ok(list_response(resources, total, start))
}

/// `GET /scim/v2/Groups/{id}`.
pub async fn get_one(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let id = team_id(&id)?;
    let team = app.seats.team(&actor, &id).await?;
    Ok(scim_response(
        StatusCode::OK,
        &resource(&team, &members(&app, &actor, &id).await?),
    ))
}

/// The user ids of a `members` value: `[{"value": "usr_…"}, …]`.
fn member_ids(value: &Value) -> Result<Vec<UserId>, ScimError> {
    let list = match value {
        Value::Array(list) => list.clone(),
        Value::Object(_) => vec![value.clone()],
        Value::Null => Vec::new(),
        other => {
            return Err(ScimError::invalid_value(format!(
                "members must be a list, got {other}"
            )));
        }
    };
    list.iter()
        .map(|m| {
            let id = m["value"]
                .as_str()
                .ok_or_else(|| ScimError::invalid_value("each member has a value (a user id)"))?;
            UserId::parse(id)
                .map_err(|_| ScimError::invalid_value(format!("'{id}' is not a seatflow user id")))
        })
        .collect()
}

/// Moves `user` into `team` (or out of it, `None`), with their seats.
async fn move_member(
    app: &AppState,
    actor: &Actor,
    user: &UserId,
    team: Option<&TeamId>,
) -> Result<(), ScimError> {
    let changes = UserChanges {
        team: Some(team.cloned()),
        ..UserChanges::default()
    };
    app.seats.update_user(actor, user, &changes, Mode::Apply).await?;
    Ok(())
}

/// Makes `team`'s members exactly `wanted`.
async fn set_members(
    app: &AppState,
    actor: &Actor,
    team: &TeamId,
    wanted: &[UserId],
) -> Result<(), ScimError> {
    let current = members(app, actor, team).await?;
    for user in current.iter().filter(|u| !wanted.contains(&u.id)) {
        move_member(app, actor, &user.id, None).await?;
    }
    for user in wanted.iter().filter(|id| !current.iter().any(|u| &u.id == *id)) {
        move_member(app, actor, user, Some(team)).await?;
    }
    Ok(())
}

fn unchanged_name(team: &Team, wanted: Option<&str>) -> Result<(), ScimError> {
    match wanted {
        Some(name) if name != team.name.as_str() => Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("mutability"),
            format!(
                "seatflow's admins rename teams; '{}' keeps its name (asked: '{name}')",
                team.name.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// `POST /scim/v2/Groups`: a team, with its members moved into it.
pub async fn create(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let name = input["displayName"]
        .as_str()
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let wanted = member_ids(input.get("members").unwrap_or(&Value::Null))?;
    let exists = app
        .seats
        .teams(&actor)
        .await?
        .into_iter()
        .any(|t| t.name.as_str().eq_ignore_ascii_case(name));
    if exists {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("a team named '{name}' exists"),
        ));
    }
    let team = app
        .seats
        .create_team(&actor, None, name, Mode::Apply)
        .await?
        .value;
    set_members(&app, &actor, &team.id, &wanted).await?;
    let mut response = scim_response(
        StatusCode::CREATED,
        &resource(&team, &members(&app, &actor, &team.id).await?),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/scim/v2/Groups/{}", team.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /scim/v2/Groups/{id}`: the members exactly as the body lists them.
pub async fn replace(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = team_id(&id)?;
    let team = app.seats.team(&actor, &id).await?;
    unchanged_name(&team, input["displayName"].as_str())?;
    let wanted = member_ids(input.get("members").unwrap_or(&Value::Null))?;
    set_members(&app, &actor, &id, &wanted).await?;
    Ok(scim_response(
        StatusCode::OK,
        &resource(&team, &members(&app, &actor, &id).await?),
    ))
}

/// The user id a path like `members[value eq "usr_…"]` names.
fn member_in_path(path: &str) -> Result<Option<UserId>, ScimError> {
    let Some(inner) = path
        .strip_prefix("members[")
        .and_then(|rest| rest.strip_suffix(']'))
    else {
        return Ok(None);
    };
    let wanted = filter::equality(inner, &["value"])?;
    UserId::parse(&wanted.value)
        .map(Some)
        .map_err(|_| ScimError::invalid_value(format!("'{}' is not a seatflow user id", wanted.value)))
}

/// `PATCH /scim/v2/Groups/{id}`: members added, removed (by a
/// `members[value eq "…"]` path or a list) or replaced.
pub async fn patch(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = team_id(&id)?;
    let team = app.seats.team(&actor, &id).await?;
    for operation in patch_operations(&input)? {
        let path = operation.path.as_deref().map(str::trim);
        match (operation.op, path) {
            (PatchOp::Add, Some(p)) if p.eq_ignore_ascii_case("members") => {
                for user in member_ids(&operation.value)? {
                    move_member(&app, &actor, &user, Some(&id)).await?;
                }
            }
            (PatchOp::Replace, Some(p)) if p.eq_ignore_ascii_case("members") => {
                set_members(&app, &actor, &id, &member_ids(&operation.value)?).await?;
            }
            (PatchOp::Remove, Some(p)) if p.eq_ignore_ascii_case("members") => {
                let listed = member_ids(&operation.value)?;
                let leaving = if listed.is_empty() {
                    members(&app, &actor, &id)
                        .await?
                        .into_iter()
                        .map(|u| u.id)
                        .collect()
                } else {
                    listed
                };
                for user in leaving {
                    remove_if_member(&app, &actor, &id, &user).await?;
                }
            }
            (PatchOp::Remove, Some(p)) if p.starts_with("members[") => {
                if let Some(user) = member_in_path(p)? {
                    remove_if_member(&app, &actor, &id, &user).await?;
                }
            }
            (PatchOp::Replace | PatchOp::Add, Some(p)) if p.eq_ignore_ascii_case("displayName") => {
                unchanged_name(&team, operation.value.as_str())?;
            }
            (PatchOp::Replace | PatchOp::Add, None) => {
                unchanged_name(&team, operation.value["displayName"].as_str())?;
                if let Some(listed) = operation.value.get("members") {
                    set_members(&app, &actor, &id, &member_ids(listed)?).await?;
                }
            }
            (_, path) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalidPath"),
                    format!("a group's PATCH changes members (or names it as it is); got {path:?}"),
                ));
            }
        }
    }
    Ok(scim_response(
        StatusCode::OK,
        &resource(&team, &members(&app, &actor, &id).await?),
    ))
}

async fn remove_if_member(
    app: &AppState,
    actor: &Actor,
    team: &TeamId,
    user: &UserId,
) -> Result<(), ScimError> {
    let holder = app.seats.user(actor, user).await?;
    if holder.user.team.as_ref() == Some(team) {
        move_member(app, actor, user, None).await?;
    }
    Ok(())
}

/// `DELETE /scim/v2/Groups/{id}`: not done here. A team holds allocations
/// and an audit history; its admins remove it. Its members can be removed.
pub async fn delete(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    app.seats.team(&actor, &team_id(&id)?).await?;
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "seatflow's admins remove teams (they hold allocations); remove the group's members instead",
    ))
}
