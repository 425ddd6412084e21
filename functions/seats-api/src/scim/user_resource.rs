//! SCIM's User resource and seatflow's user, both ways. What the directory
//! says of a user (`userName`, `externalId`, `displayName`, `name`,
//! `emails`) is kept as it said it ([`User::directory`]) and answered back;
//! seatflow's own name and email are derived from it: the email is the
//! primary (or first) of `emails`, else `userName` when that is an address,
//! else none; the name is `displayName`, the given and family names,
//! `name.formatted`, or `userName`.

use seatflow_domain::{DisplayName, Email, ProductId, User, UserSeats};
use serde_json::{Map, Value, json};

use super::{ScimError, boolean};

pub(super) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// seatflow's extension: the seats a user holds, and whether the seat
/// policy's seat is still owed to them.
pub const SEATS_SCHEMA: &str = "urn:seatflow:params:scim:schemas:extension:seats:2.0:User";

/// The attributes of a User body seatflow keeps, as the schema names them.
const KEPT: [&str; 5] = ["userName", "externalId", "displayName", "name", "emails"];

/// The user as a SCIM resource.
pub fn resource(holder: &UserSeats, directory_seat: Option<&ProductId>) -> Value {
    let user = &holder.user;
    let seat_pending = user.active
        && directory_seat.is_some_and(|wanted| !holder.seats.iter().any(|s| &s.product == wanted));
    let mut resource = json!({
        "schemas": [USER_SCHEMA, SEATS_SCHEMA],
        "id": user.id.as_str(),
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
    for (key, value) in profile(user) {
        resource[key] = value;
    }
    if let Some(team) = &user.team {
        resource["groups"] = json!([{ "value": team.as_str(), "$ref": format!("/scim/v2/Groups/{team}") }]);
    }
    resource
}

/// The user's profile attributes: the directory's record while seatflow's
/// name and email are still what it derives from them; otherwise (the user
/// was made or changed outside the directory) seatflow's own.
pub(super) fn profile(user: &User) -> Map<String, Value> {
    if let Some(record) = &user.directory
        && let Ok(derived) = derive(record)
        && derived.name == user.name
        && derived.email == user.email
    {
        return record.clone();
    }
    let mut own = Map::new();
    let user_name = user
        .directory
        .as_ref()
        .and_then(|r| r.get("userName").cloned())
        .or_else(|| user.email.as_ref().map(|e| json!(e.as_str())))
        .unwrap_or_else(|| json!(user.id.as_str()));
    own.insert("userName".into(), user_name);
    if let Some(external) = user.directory.as_ref().and_then(|r| r.get("externalId")) {
        own.insert("externalId".into(), external.clone());
    }
    own.insert("displayName".into(), json!(user.name.as_str()));
    own.insert("name".into(), json!({ "formatted": user.name.as_str() }));
    if let Some(email) = &user.email {
        own.insert(
            "emails".into(),
            json!([{ "value": email.as_str(), "type": "work", "primary": true }]),
        );
    }
    own
}

/// What seatflow keeps of a User body: the attributes of [`KEPT`], named as
/// the schema names them whatever case the body used; null values dropped.
pub(super) fn record(body: &Value) -> Map<String, Value> {
    let mut kept = Map::new();
    if let Value::Object(fields) = body {
        for (key, value) in fields {
            if let Some(name) = KEPT.iter().find(|k| k.eq_ignore_ascii_case(key))
                && !value.is_null()
            {
                kept.insert((*name).to_owned(), value.clone());
            }
        }
    }
    kept
}

/// seatflow's name and email of a directory record.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Derived {
    pub(super) name: DisplayName,
    pub(super) email: Option<Email>,
}

/// The name and email a record gives (see the module's doc).
///
/// # Errors
/// 400 `invalidValue`: no `userName`, an email in `emails` that is not an
/// address, a name seatflow cannot keep.
pub(super) fn derive(record: &Map<String, Value>) -> Result<Derived, ScimError> {
    let user_name = record
        .get("userName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let email = match listed_email(record.get("emails"))? {
        Some(email) => Some(email),
        None => Email::parse(user_name).ok(),
    };
    Ok(Derived {
        name: name_of(record)?.map_or_else(|| display_name(user_name), Ok)?,
        email,
    })
}

/// The primary (or first) of `emails`, if any.
fn listed_email(emails: Option<&Value>) -> Result<Option<Email>, ScimError> {
    let listed = emails.and_then(Value::as_array).and_then(|emails| {
        emails
            .iter()
            .find(|e| e["primary"] == json!(true))
            .or_else(|| emails.first())
            .and_then(|e| e["value"].as_str())
    });
    listed
        .map(|address| Email::parse(address).map_err(|e| ScimError::invalid_value(format!("emails: {e}"))))
        .transpose()
}

pub(super) fn display_name(value: &str) -> Result<DisplayName, ScimError> {
    DisplayName::parse(value).map_err(|e| ScimError::invalid_value(format!("name: {e}")))
}

/// The display name a record gives: `displayName`, the given and family
/// names (which a PATCH changes one at a time, leaving `formatted` as it
/// was), or `name.formatted`.
fn name_of(record: &Map<String, Value>) -> Result<Option<DisplayName>, ScimError> {
    fn text(value: Option<&Value>) -> Option<&str> {
        value.and_then(Value::as_str).filter(|d| !d.trim().is_empty())
    }
    if let Some(display) = text(record.get("displayName")) {
        return display_name(display).map(Some);
    }
    let name = record.get("name");
    let parts: Vec<&str> = ["givenName", "familyName"]
        .iter()
        .filter_map(|part| text(name.and_then(|n| n.get(*part))))
        .collect();
    if !parts.is_empty() {
        return display_name(&parts.join(" ")).map(Some);
    }
    text(name.and_then(|n| n.get("formatted")))
        .map(display_name)
        .transpose()
}

/// `active` of a body, if it says.
pub(super) fn active_of(body: &Value) -> Result<Option<bool>, ScimError> {
    match body.get("active") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => boolean(value, "active").map(Some),
    }
}

/// Whether a PATCH path names `active`.
pub(super) fn is_active(path: &str) -> bool {
    path.eq_ignore_ascii_case("active") || path.eq_ignore_ascii_case(&format!("{USER_SCHEMA}:active"))
}

/// Applies one PATCH operation's `path` and `value` to `record`: `add` and
/// `replace` set (`value` `None`) or remove it. Paths: the kept attributes,
/// `name.*`, `emails[type eq "work"].value`, with or without the core
/// schema's URN.
///
/// # Errors
/// 400 `mutability` for read-only attributes and `userName`'s removal;
/// 400 `invalidPath` for attributes seatflow does not keep.
pub(super) fn apply_path(
    record: &mut Map<String, Value>,
    path: &str,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let core = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
    let lower = path.trim().to_ascii_lowercase();
    let lower = lower.strip_prefix(&core).unwrap_or(&lower);
    let (top, rest) = match lower.split_once('.') {
        Some((top, rest)) if !top.contains('[') => (top, Some(rest)),
        _ => (lower, None),
    };
    if top.starts_with("emails[") {
        // emails[type eq "work"].value: the one email seatflow keeps.
        let Some(value) = value else {
            record.remove("emails");
            return Ok(());
        };
        let address = if lower.ends_with("].value") {
            value
        } else {
            value["value"].clone()
        };
        record.insert(
            "emails".into(),
            json!([{ "value": address, "type": "work", "primary": true }]),
        );
        return Ok(());
    }
    let Some(name) = KEPT.iter().find(|k| k.eq_ignore_ascii_case(top)) else {
        let read_only = ["id", "meta", "groups"].contains(&top) || top.starts_with("urn:seatflow");
        return Err(if read_only {
            ScimError::new(
                axum::http::StatusCode::BAD_REQUEST,
                Some("mutability"),
                format!("{path} is read-only"),
            )
        } else {
            ScimError::new(
                axum::http::StatusCode::BAD_REQUEST,
                Some("invalidPath"),
                format!("seatflow keeps no attribute '{path}' of a user"),
            )
        });
    };
    match (rest, value) {
        (None, None) if *name == "userName" => Err(ScimError::new(
            axum::http::StatusCode::BAD_REQUEST,
            Some("mutability"),
            "userName is required and cannot be removed",
        )),
        (None, None) => {
            record.remove(*name);
            Ok(())
        }
        (None, Some(value)) => {
            record.insert((*name).to_owned(), value);
            Ok(())
        }
        (Some(sub), value) => {
            let entry = record.entry((*name).to_owned()).or_insert_with(|| json!({}));
            let Value::Object(parts) = entry else {
                return Err(ScimError::invalid_value(format!("{name} is not complex")));
            };
            let key = parts
                .keys()
                .find(|k| k.eq_ignore_ascii_case(sub))
                .cloned()
                .unwrap_or_else(|| sub_attribute(sub));
            match value {
                Some(value) => {
                    parts.insert(key, value);
                }
                None => {
                    parts.remove(&key);
                }
            }
            if parts.is_empty() {
                record.remove(*name);
            }
            Ok(())
        }
    }
}

/// A sub-attribute's name as the schema spells it.
fn sub_attribute(lower: &str) -> String {
    ["formatted", "givenName", "familyName", "value", "type", "primary"]
        .iter()
        .find(|k| k.eq_ignore_ascii_case(lower))
        .map_or_else(|| lower.to_owned(), |k| (*k).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(value: Value) -> Map<String, Value> {
        record(&value)
    }

    #[test]
    fn the_email_is_the_primary_of_emails_else_an_address_user_name_else_none() {
        let named = derive(&record_of(json!({
            "userName": "ann.lee", "emails": [{ "value": "x@example.com" }, { "value": "Ann@Example.com", "primary": true }],
        })))
        .expect("derived");
        assert_eq!(named.email.as_ref().map(Email::as_str), Some("ann@example.com"));
        assert_eq!(named.name.as_str(), "ann.lee");
        let sign_in = derive(&record_of(json!({
            "userName": "ann@corp.example", "emails": [{ "value": "ann.lee@example.com" }],
        })))
        .expect("derived");
        assert_eq!(
            sign_in.email.as_ref().map(Email::as_str),
            Some("ann.lee@example.com")
        );
        let address = derive(&record_of(json!({ "userName": "Ann@Example.com" }))).expect("derived");
        assert_eq!(address.email.as_ref().map(Email::as_str), Some("ann@example.com"));
        let bare = derive(&record_of(json!({ "userName": "7f3c" }))).expect("derived");
        assert_eq!(bare.email, None);
        assert!(derive(&record_of(json!({ "displayName": "Ann" }))).is_err());
        assert!(
            derive(&record_of(
                json!({ "userName": "ann", "emails": [{ "value": "not mail" }] })
            ))
            .is_err()
        );
    }

    #[test]
    fn the_name_comes_from_display_name_then_parts_then_formatted() {
        let name = |value: Value| {
            derive(&record_of(value))
                .expect("derived")
                .name
                .as_str()
                .to_owned()
        };
        assert_eq!(
            name(json!({ "userName": "u", "displayName": "D", "name": { "formatted": "F" } })),
            "D"
        );
        assert_eq!(
            name(json!({ "userName": "u", "name": { "formatted": "F", "givenName": "G" } })),
            "G"
        );
        assert_eq!(
            name(json!({ "userName": "u", "name": { "formatted": "F" } })),
            "F"
        );
        assert_eq!(name(json!({ "userName": "u" })), "u");
        assert_eq!(
            name(json!({ "userName": "u", "name": { "givenName": "Ann", "familyName": "Lee" } })),
            "Ann Lee"
        );
    }

    #[test]
    fn paths_set_and_remove_what_is_kept_and_refuse_the_rest() {
        let mut record =
            record_of(json!({ "USERNAME": "u", "name": { "givenName": "Ann" }, "title": "dropped" }));
        assert_eq!(record.keys().collect::<Vec<_>>(), ["name", "userName"]);
        apply_path(&mut record, "name.familyName", Some(json!("Lee"))).expect("set");
        apply_path(&mut record, "externalId", Some(json!("e-1"))).expect("set");
        apply_path(&mut record, "name.givenName", None).expect("removed");
        assert_eq!(record["name"], json!({ "familyName": "Lee" }));
        apply_path(&mut record, "name.familyName", None).expect("removed");
        assert!(!record.contains_key("name"));
        apply_path(
            &mut record,
            "emails[type eq \"work\"].value",
            Some(json!("a@b.example")),
        )
        .expect("set");
        assert_eq!(record["emails"][0]["value"], "a@b.example");
        assert!(apply_path(&mut record, "userName", None).is_err());
        assert!(apply_path(&mut record, "nickName", Some(json!("x"))).is_err());
        assert!(apply_path(&mut record, &format!("{SEATS_SCHEMA}:seats"), None).is_err());
    }
}
