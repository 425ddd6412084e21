//! A SCIM Group as seatflow's team, and its members moved in and out of it
//! with their seats.

use axum::http::StatusCode;
use seatflow_domain::{Actor, Mode, Team, TeamId, User, UserChanges, UserId};
use seatflow_http::AppState;
use serde_json::{Value, json};

use super::{ScimError, filter};

pub(super) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub(super) fn resource(team: &Team, members: &[User]) -> Value {
    let mut resource = json!({
        "schemas": [GROUP_SCHEMA],
        "id": team.id.as_str(),
        "displayName": team.name.as_str(),
        "members": members.iter().map(|m| json!({
            "value": m.id.as_str(),
            "$ref": format!("/scim/v2/Users/{}", m.id),
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Group",
            "created": team.created_at.to_rfc3339(),
            "location": format!("/scim/v2/Groups/{}", team.id),
        },
    });
    if let Some(external) = &team.external_id {
        resource["externalId"] = json!(external);
    }
    resource
}

/// `team` with the directory's id `wanted` (`None`: none), changed only when
/// it differs.
pub(super) async fn with_external_id(
    app: &AppState,
    actor: &Actor,
    team: Team,
    wanted: Option<&Value>,
) -> Result<Team, ScimError> {
    let wanted = match wanted {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.as_str()),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "externalId must be a string, got {other}"
            )));
        }
    };
    if team.external_id.as_deref() == wanted {
        return Ok(team);
    }
    Ok(app
        .seats
        .directory()
        .set_team_external_id(actor, &team.id, wanted, Mode::Apply)
        .await?
        .value)
}

pub(super) fn team_id(id: &str) -> Result<TeamId, ScimError> {
    TeamId::parse(id).map_err(|_| ScimError::not_found("group", id))
}

/// The most members one answer shows, all its groups together: about 80
/// bytes each, far under the 6 MB a Lambda function may answer.
pub(super) const MAX_MEMBERS_SHOWN: usize = 20_000;

/// Every member of `team`, read a store page at a time.
pub(super) async fn members(app: &AppState, actor: &Actor, team: &TeamId) -> Result<Vec<User>, ScimError> {
    members_up_to(app, actor, team, usize::MAX).await
}

/// The members of `team`, read a store page at a time until more than
/// `most` are read.
async fn members_up_to(
    app: &AppState,
    actor: &Actor,
    team: &TeamId,
    most: usize,
) -> Result<Vec<User>, ScimError> {
    let mut all = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = app
            .seats
            .directory()
            .users(actor, Some(team), after.as_ref(), seatflow_domain::MAX_PAGE)
            .await?;
        let full = page.len() == seatflow_domain::MAX_PAGE;
        after = page.last().map(|u| u.id.clone());
        all.extend(page);
        if !full || all.len() > most {
            return Ok(all);
        }
    }
}

/// The members of `team` an answer shaped by `projection` shows: none read
/// when it leaves `members` out (identity providers ask for groups with
/// `excludedAttributes=members`; a large team is then not read at all).
///
/// # Errors
/// `tooMany` when the group has more than [`MAX_MEMBERS_SHOWN`]; the store's.
pub(super) async fn shown_members(
    app: &AppState,
    actor: &Actor,
    team: &TeamId,
    projection: &super::Projection,
) -> Result<Vec<User>, ScimError> {
    shown_members_within(app, actor, team, projection, MAX_MEMBERS_SHOWN).await
}

/// [`shown_members`] when the answer has room for `room` more members.
pub(super) async fn shown_members_within(
    app: &AppState,
    actor: &Actor,
    team: &TeamId,
    projection: &super::Projection,
    room: usize,
) -> Result<Vec<User>, ScimError> {
    if !projection.keeps("members", GROUP_SCHEMA) {
        return Ok(Vec::new());
    }
    let members = members_up_to(app, actor, team, room).await?;
    if members.len() > room {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("tooMany"),
            format!(
                "this answer would list more than {MAX_MEMBERS_SHOWN} group members: ask with \
                 excludedAttributes=members (and check one membership with \
                 filter=id eq \"{team}\" and members[value eq \"usr_…\"]), or for fewer groups with count"
            ),
        ));
    }
    Ok(members)
}

/// The user ids of a `members` value: `[{"value": "usr_…"}, …]`.
pub(super) fn member_ids(value: &Value) -> Result<Vec<UserId>, ScimError> {
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
pub(super) async fn move_member(
    app: &AppState,
    actor: &Actor,
    user: &UserId,
    team: Option<&TeamId>,
) -> Result<(), ScimError> {
    let changes = UserChanges {
        team: Some(team.cloned()),
        ..UserChanges::default()
    };
    app.seats
        .directory()
        .update_user(actor, user, &changes, Mode::Apply)
        .await?;
    Ok(())
}

/// Makes `team`'s members exactly `wanted`.
pub(super) async fn set_members(
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

/// `team` named `wanted` (renamed when the name differs; another team's
/// name is taken, as on creation).
pub(super) async fn renamed(
    app: &AppState,
    actor: &Actor,
    team: Team,
    wanted: Option<&str>,
) -> Result<Team, ScimError> {
    let Some(name) = wanted.filter(|name| *name != team.name.as_str()) else {
        return Ok(team);
    };
    let taken = app
        .seats
        .directory()
        .teams(actor)
        .await?
        .into_iter()
        .any(|t| t.id != team.id && t.name.as_str().eq_ignore_ascii_case(name));
    if taken {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("a team named '{name}' exists"),
        ));
    }
    Ok(app
        .seats
        .directory()
        .rename_team(actor, &team.id, name, Mode::Apply)
        .await?
        .value)
}

/// The user id a path like `members[value eq "usr_…"]` names.
pub(super) fn member_in_path(path: &str) -> Result<Option<UserId>, ScimError> {
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

pub(super) async fn remove_if_member(
    app: &AppState,
    actor: &Actor,
    team: &TeamId,
    user: &UserId,
) -> Result<(), ScimError> {
    let holder = app.seats.directory().user(actor, user).await?;
    if holder.user.team.as_ref() == Some(team) {
        move_member(app, actor, user, None).await?;
    }
    Ok(())
}
