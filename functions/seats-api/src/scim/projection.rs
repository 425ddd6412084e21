//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which
//! attributes of a resource an answer carries. `id` and `schemas` are always
//! returned. Paths are case-insensitive and may be qualified by their
//! schema's URN (`urn:ietf:params:scim:schemas:core:2.0:User:userName`) or
//! name a whole extension.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The attributes an answer keeps: those named, or all but the excluded.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Projection {
    /// Comma-separated: only these (and those always returned).
    pub attributes: Option<String>,
    /// Comma-separated: all but these.
    #[serde(rename = "excludedAttributes")]
    pub excluded_attributes: Option<String>,
}

/// Attributes every answer carries, whatever was asked.
const ALWAYS: [&str; 2] = ["id", "schemas"];

impl Projection {
    /// A projection from a search body's lists.
    #[must_use]
    pub fn from_lists(attributes: Option<&Value>, excluded: Option<&Value>) -> Self {
        let joined = |list: Option<&Value>| {
            list.and_then(Value::as_array).map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        Self {
            attributes: joined(attributes),
            excluded_attributes: joined(excluded),
        }
    }

    /// Whether an answer carries the core attribute `attribute`: when it
    /// does not, what it holds need not be read (a group's members).
    #[must_use]
    pub fn keeps(&self, attribute: &str, core: &str) -> bool {
        let probe = serde_json::json!({ "id": "", "schemas": [core], attribute: [] });
        self.apply(probe, core).get(attribute).is_some()
    }

    /// `resource` (of the core schema `core`) with only what was asked.
    #[must_use]
    pub fn apply(&self, resource: Value, core: &str) -> Value {
        let paths = |text: &Option<String>| -> Vec<Vec<String>> {
            text.as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| keys(p, core, &resource))
                .collect()
        };
        let wanted = paths(&self.attributes);
        let excluded = paths(&self.excluded_attributes);
        let mut answer = if wanted.is_empty() {
            resource
        } else {
            let mut kept = Value::Object(Map::new());
            for always in ALWAYS {
                if let Some(value) = resource.get(always) {
                    kept[always] = value.clone();
                }
            }
            for path in &wanted {
                copy(&resource, &mut kept, path);
            }
            kept
        };
        for path in &excluded {
            if !(path.len() == 1 && ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&path[0]))) {
                remove(&mut answer, path);
            }
        }
        answer
    }
}

/// The keys of `path` in `resource`: a core attribute's own, or an
/// extension's URN followed by its attribute's.
fn keys(path: &str, core: &str, resource: &Value) -> Vec<String> {
    let lower = path.to_ascii_lowercase();
    let core_prefix = format!("{}:", core.to_ascii_lowercase());
    if let Some(rest) = lower.strip_prefix(&core_prefix) {
        return segments(&path[path.len() - rest.len()..]);
    }
    let extension = resource.as_object().and_then(|fields| {
        fields.keys().filter(|k| k.starts_with("urn:")).find(|k| {
            lower == k.to_ascii_lowercase() || lower.starts_with(&format!("{}:", k.to_ascii_lowercase()))
        })
    });
    match extension {
        Some(urn) => {
            let mut keys = vec![urn.clone()];
            if let Some(rest) = path.get(urn.len() + 1..) {
                keys.extend(segments(rest));
            }
            keys
        }
        None => segments(path),
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

/// The field of `object` named `key`, whatever its case.
fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(key))
}

/// Copies the value at `path` of `from` into `to`, through multi-valued
/// attributes (`emails.value` keeps each email's value).
fn copy(from: &Value, to: &mut Value, path: &[String]) {
    let (Some(first), Value::Object(source)) = (path.first(), from) else {
        return;
    };
    let Some(key) = field(source, first) else {
        return;
    };
    let value = &source[key];
    if path.len() == 1 {
        to[key.as_str()] = value.clone();
        return;
    }
    match value {
        Value::Array(items) => {
            let mut kept = match to.get(key.as_str()) {
                Some(Value::Array(kept)) if kept.len() == items.len() => kept.clone(),
                _ => vec![Value::Object(Map::new()); items.len()],
            };
            for (item, into) in items.iter().zip(&mut kept) {
                copy(item, into, &path[1..]);
            }
            to[key.as_str()] = Value::Array(kept);
        }
        Value::Object(_) => {
            if !to.get(key.as_str()).is_some_and(Value::is_object) {
                to[key.as_str()] = Value::Object(Map::new());
            }
            copy(value, &mut to[key.as_str()], &path[1..]);
        }
        _ => {}
    }
}

/// Removes the value at `path` of `from`, through multi-valued attributes.
fn remove(from: &mut Value, path: &[String]) {
    let (Some(first), Value::Object(object)) = (path.first(), &mut *from) else {
        return;
    };
    let Some(key) = field(object, first).cloned() else {
        return;
    };
    if path.len() == 1 {
        object.remove(&key);
        return;
    }
    match object.get_mut(&key) {
        Some(Value::Array(items)) => {
            for item in items {
                remove(item, &path[1..]);
            }
        }
        Some(value) => remove(value, &path[1..]),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const EXT: &str = "urn:seatflow:params:scim:schemas:extension:seats:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": [USER, EXT], "id": "usr_1", "userName": "ann@example.com",
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "emails": [{ "value": "ann@example.com", "primary": true }],
            "meta": { "resourceType": "User" },
            EXT: { "seats": ["pro"], "seatPending": false },
        })
    }

    #[test]
    fn whether_an_answer_carries_an_attribute_is_known_before_reading_it() {
        const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
        let keeps = |attributes, excluded| projection(attributes, excluded).keeps("members", GROUP);
        assert!(keeps(None, None));
        assert!(!keeps(None, Some("members")));
        assert!(!keeps(None, Some("displayName, Members")));
        assert!(!keeps(
            None,
            Some("urn:ietf:params:scim:schemas:core:2.0:Group:members")
        ));
        assert!(!keeps(Some("displayName"), None));
        assert!(keeps(Some("displayName,members"), None));
        assert!(keeps(None, Some("displayName")));
    }

    fn projection(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        Projection {
            attributes: attributes.map(str::to_owned),
            excluded_attributes: excluded.map(str::to_owned),
        }
    }

    #[test]
    fn attributes_keep_only_what_is_named_and_the_id() {
        let answer = projection(Some("USERNAME,name.givenName,emails.value"), None).apply(user(), USER);
        assert_eq!(
            answer,
            json!({
                "schemas": [USER, EXT], "id": "usr_1", "userName": "ann@example.com",
                "name": { "givenName": "Ann" }, "emails": [{ "value": "ann@example.com" }],
            })
        );
    }

    #[test]
    fn qualified_paths_name_core_and_extension_attributes() {
        let answer = projection(Some(&format!("{USER}:userName,{EXT}:seats")), None).apply(user(), USER);
        assert_eq!(answer["userName"], "ann@example.com");
        assert_eq!(answer[EXT], json!({ "seats": ["pro"] }));
        assert!(answer.get("meta").is_none());
    }

    #[test]
    fn excluded_attributes_go_but_the_id_stays() {
        let answer = projection(None, Some(&format!("name,emails.primary,{EXT},id"))).apply(user(), USER);
        assert!(answer.get("name").is_none());
        assert!(answer.get(EXT).is_none());
        assert_eq!(answer["emails"], json!([{ "value": "ann@example.com" }]));
        assert_eq!(answer["id"], "usr_1");
    }

    #[test]
    fn nothing_asked_is_everything() {
        assert_eq!(projection(None, None).apply(user(), USER), user());
    }
}
