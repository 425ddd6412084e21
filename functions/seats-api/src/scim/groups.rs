//! `/scim/v2/Groups`: the directory's groups as seatflow's teams. A member
//! added to a group moves into that team with their seats (refused when the
//! team's allocation has no room for them); a member removed leaves it for no
//! team. A user is in one team at a time, so adding them to a second group
//! moves them. Deleting a group removes the team: its allocations return to
//! the pool, and its members keep their seats, in no team.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use seatflow_domain::{Actor, Mode, SeatError, UserId};
use seatflow_http::AppState;
use serde_json::Value;

use super::group_members::{
    GROUP_SCHEMA, MAX_MEMBERS_SHOWN, member_ids, member_in_path, members, move_member, remove_if_member,
    renamed, resource, set_members, shown_members, shown_members_within, team_id, with_external_id,
};
use super::{
    ListQuery, PatchOp, Projection, ScimBody, ScimCaller, ScimError, filter, list_response, paging,
    patch_operations, scim_response,
};

/// The attributes a Groups filter may name.
pub(super) const FILTERABLE: &[&str] = &["displayName", "id", "externalId"];

/// `GET /scim/v2/Groups[?filter=displayName eq "…"][&startIndex=&count=][&attributes=|&excludedAttributes=]`.
pub async fn list(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ScimError> {
    answer_list(&app, &actor, query).await
}

/// `POST /scim/v2/Groups/.search`: the list, asked in a body.
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

/// The groups `query` finds, `skip`ped and `take`n, as it projects them
/// (members read for those only), and how many it finds.
pub(super) async fn page(
    app: &AppState,
    actor: &Actor,
    query: &ListQuery,
    skip: usize,
    take: usize,
) -> Result<(Vec<Value>, usize), ScimError> {
    let mut teams = app.seats.directory().teams(actor).await?;
    if let Some(text) = &query.filter {
        let wanted = filter::group_filter(text, FILTERABLE)?;
        if let Some(wanted) = wanted.equality {
            teams.retain(|t| match wanted.attribute.to_ascii_lowercase().as_str() {
                "id" => t.id.as_str() == wanted.value,
                "externalid" => t.external_id.as_deref() == Some(wanted.value.as_str()),
                _ => t.name.as_str().eq_ignore_ascii_case(&wanted.value),
            });
        }
        if let Some(member) = wanted.member {
            // The member's own team: one read, whatever the teams' sizes.
            let team = match UserId::parse(&member) {
                Ok(id) => match app.seats.directory().user(actor, &id).await {
                    Ok(holder) => holder.user.team,
                    Err(SeatError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                },
                Err(_) => None,
            };
            teams.retain(|t| Some(&t.id) == team.as_ref());
        }
    }
    let total = teams.len();
    let mut resources = Vec::new();
    let mut room = MAX_MEMBERS_SHOWN;
    for team in teams.iter().skip(skip).take(take) {
        let members = shown_members_within(app, actor, &team.id, &query.projection, room).await?;
        room -= members.len();
        resources.push(query.projection.apply(resource(team, &members), GROUP_SCHEMA));
    }
    Ok((resources, total))
}

/// `GET /scim/v2/Groups/{id}`.
pub async fn get_one(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let id = team_id(&id)?;
    let team = app.seats.directory().team(&actor, &id).await?;
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(
            resource(&team, &shown_members(&app, &actor, &id, &projection).await?),
            GROUP_SCHEMA,
        ),
    ))
}

/// `POST /scim/v2/Groups`: a team, with its members moved into it.
pub async fn create(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let name = input["displayName"]
        .as_str()
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let wanted = member_ids(input.get("members").unwrap_or(&Value::Null))?;
    let exists = app
        .seats
        .directory()
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
        .directory()
        .create_team(&actor, None, name, Mode::Apply)
        .await?
        .value;
    let team = with_external_id(&app, &actor, team, input.get("externalId")).await?;
    set_members(&app, &actor, &team.id, &wanted).await?;
    let mut response = scim_response(
        StatusCode::CREATED,
        &projection.apply(
            resource(&team, &shown_members(&app, &actor, &team.id, &projection).await?),
            GROUP_SCHEMA,
        ),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/scim/v2/Groups/{}", team.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /scim/v2/Groups/{id}`: the name and the members exactly as the body
/// gives them.
pub async fn replace(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = team_id(&id)?;
    let team = app.seats.directory().team(&actor, &id).await?;
    let wanted = member_ids(input.get("members").unwrap_or(&Value::Null))?;
    let team = renamed(&app, &actor, team, input["displayName"].as_str()).await?;
    let team = with_external_id(&app, &actor, team, input.get("externalId")).await?;
    set_members(&app, &actor, &id, &wanted).await?;
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(
            resource(&team, &shown_members(&app, &actor, &id, &projection).await?),
            GROUP_SCHEMA,
        ),
    ))
}

/// `PATCH /scim/v2/Groups/{id}`: members added, removed (by a
/// `members[value eq "…"]` path or a list) or replaced; the name replaced.
pub async fn patch(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Query(projection): Query<Projection>,
    Path(id): Path<String>,
    ScimBody(input): ScimBody,
) -> Result<Response, ScimError> {
    let id = team_id(&id)?;
    let mut team = app.seats.directory().team(&actor, &id).await?;
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
                team = renamed(&app, &actor, team, operation.value.as_str()).await?;
            }
            (PatchOp::Replace | PatchOp::Add, Some(p)) if p.eq_ignore_ascii_case("externalId") => {
                team = with_external_id(&app, &actor, team, Some(&operation.value)).await?;
            }
            (PatchOp::Remove, Some(p)) if p.eq_ignore_ascii_case("externalId") => {
                team = with_external_id(&app, &actor, team, None).await?;
            }
            (PatchOp::Replace | PatchOp::Add, None) => {
                team = renamed(&app, &actor, team, operation.value["displayName"].as_str()).await?;
                if let Some(external) = operation.value.get("externalId") {
                    team = with_external_id(&app, &actor, team, Some(external)).await?;
                }
                if let Some(listed) = operation.value.get("members") {
                    set_members(&app, &actor, &id, &member_ids(listed)?).await?;
                }
            }
            (_, path) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("invalidPath"),
                    format!("a group's PATCH changes its members or its name; got {path:?}"),
                ));
            }
        }
    }
    Ok(scim_response(
        StatusCode::OK,
        &projection.apply(
            resource(&team, &shown_members(&app, &actor, &id, &projection).await?),
            GROUP_SCHEMA,
        ),
    ))
}

/// `DELETE /scim/v2/Groups/{id}`: the team goes; its allocations return
/// to the pool and its members keep their seats, in no team.
pub async fn delete(
    ScimCaller(actor): ScimCaller,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    app.seats
        .directory()
        .remove_team(&actor, &team_id(&id)?, Mode::Apply)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
