//! SCIM's User resource and seatflow's user, both ways: the resource a
//! holder is shown as, and the fields a body (or a PATCH path) gives.

use seatflow_domain::{DisplayName, Email, ProductId, UserSeats};
use serde_json::{Value, json};

use super::{ScimError, boolean};

pub(super) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// seatflow's extension: the seats a user holds, and whether the seat
/// policy's seat is still owed to them.
pub const SEATS_SCHEMA: &str = "urn:seatflow:params:scim:schemas:extension:seats:2.0:User";

/// The user as a SCIM resource.
pub fn resource(holder: &UserSeats, directory_seat: Option<&ProductId>) -> Value {
    let user = &holder.user;
    let seat_pending = user.active
        && directory_seat.is_some_and(|wanted| !holder.seats.iter().any(|s| &s.product == wanted));
    let mut resource = json!({
        "schemas": [USER_SCHEMA, SEATS_SCHEMA],
        "id": user.id.as_str(),
        "userName": user.email.as_str(),
        "displayName": user.name.as_str(),
        "name": { "formatted": user.name.as_str() },
        "emails": [{ "value": user.email.as_str(), "type": "work", "primary": true }],
        "active": user.active,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.to_rfc3339(),
            "location": format!("/scim/v2/Users/{}", user.id),
            "version": format!("W/\"{}\"", user.version),
        },
        SEATS_SCHEMA: {
            "seats": holder.seats.iter().map(|s| s.product.as_str()).collect::<Vec<_>>(),
            "seatPending": seat_pending,
        },
    });
    if let Some(team) = &user.team {
        resource["groups"] = json!([{ "value": team.as_str(), "$ref": format!("/scim/v2/Groups/{team}") }]);
    }
    resource
}

/// What a User body says, as seatflow keeps it.
pub(super) struct Fields {
    pub(super) name: Option<DisplayName>,
    pub(super) email: Option<Email>,
    pub(super) active: Option<bool>,
}

/// The email of a User body: `userName` when it is an address, else the
/// primary (or first) of `emails`.
pub(super) fn email_of(user_name: Option<&str>, emails: Option<&Value>) -> Result<Option<Email>, ScimError> {
    if let Some(email) = user_name.and_then(|u| Email::parse(u).ok()) {
        return Ok(Some(email));
    }
    let listed = emails.and_then(Value::as_array).and_then(|emails| {
        emails
            .iter()
            .find(|e| e["primary"] == json!(true))
            .or_else(|| emails.first())
            .and_then(|e| e["value"].as_str())
    });
    match (listed, user_name) {
        (Some(address), _) => Email::parse(address)
            .map(Some)
            .map_err(|e| ScimError::invalid_value(format!("emails: {e}"))),
        (None, Some(user_name)) => Err(ScimError::invalid_value(format!(
            "userName '{user_name}' is not an email address, and no email is given: seatflow reaches its users by email"
        ))),
        (None, None) => Ok(None),
    }
}

pub(super) fn display_name(value: &str) -> Result<DisplayName, ScimError> {
    DisplayName::parse(value).map_err(|e| ScimError::invalid_value(format!("name: {e}")))
}

/// The display name a body gives: `displayName`, `name.formatted`, or the
/// given and family names (either may fill in for a missing one from `current`).
pub(super) fn name_of(body: &Value, current: Option<&str>) -> Result<Option<DisplayName>, ScimError> {
    if let Some(display) = body["displayName"].as_str().filter(|d| !d.trim().is_empty()) {
        return display_name(display).map(Some);
    }
    if let Some(formatted) = body["name"]["formatted"]
        .as_str()
        .filter(|d| !d.trim().is_empty())
    {
        return display_name(formatted).map(Some);
    }
    let given = body["name"]["givenName"].as_str();
    let family = body["name"]["familyName"].as_str();
    if given.is_none() && family.is_none() {
        return Ok(None);
    }
    let (current_given, current_family) = current
        .map(|c| c.split_once(' ').unwrap_or((c, "")))
        .unwrap_or_default();
    let whole = format!(
        "{} {}",
        given.unwrap_or(current_given),
        family.unwrap_or(current_family)
    );
    display_name(whole.trim()).map(Some)
}

pub(super) fn fields(body: &Value, current: Option<&str>) -> Result<Fields, ScimError> {
    Ok(Fields {
        name: name_of(body, current)?,
        email: email_of(body["userName"].as_str(), body.get("emails"))?,
        active: match body.get("active") {
            None | Some(Value::Null) => None,
            Some(value) => Some(boolean(value, "active")?),
        },
    })
}

/// Sets `path` (`active`, `name.givenName`, `emails[type eq "work"].value`…)
/// in `body`, as a User body would hold it. Attributes seatflow does not
/// keep are ignored.
pub(super) fn merge(body: &mut Value, path: &str, value: Value) {
    let lower = path.to_ascii_lowercase();
    match lower.as_str() {
        "active" | "username" | "displayname" => {
            let key = match lower.as_str() {
                "active" => "active",
                "username" => "userName",
                _ => "displayName",
            };
            body[key] = value;
        }
        "name" => body["name"] = value,
        "name.formatted" => body["name"]["formatted"] = value,
        "name.givenname" => body["name"]["givenName"] = value,
        "name.familyname" => body["name"]["familyName"] = value,
        "emails" => body["emails"] = value,
        _ if lower.starts_with("emails[") && lower.ends_with("].value") => {
            body["emails"] = json!([{ "value": value, "primary": true }]);
        }
        _ => {}
    }
}
