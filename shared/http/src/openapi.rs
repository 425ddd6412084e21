//! Serving a router's generated OpenAPI document next to its routes, made
//! exact where the generator cannot know the server: errors are
//! `application/problem+json`; every operation documents the problems any
//! request can meet (malformed, unauthenticated, forbidden, not found,
//! invalid, store unavailable; with a body also too large, wrong media type,
//! concurrent change); ids, cursors, emails and names carry the patterns the
//! server checks.

use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

/// The routes of `api`, plus its OpenAPI document (see [`contract`]) served
/// as JSON at `path`.
pub fn with_document<S>(api: OpenApiRouter<S>, path: &str) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (router, doc) = api.split_for_parts();
    let doc = Arc::new(contract(&doc));
    router.route(path, get(move || async move { Json(doc.as_ref().clone()) }))
}

/// What an id the server accepts looks like (`seatflow_domain` ids).
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// An audit cursor: 32 hex digits.
pub const CURSOR_PATTERN: &str = "^[0-9a-fA-F]{32}$";
/// An email as `Email::parse` accepts it (one `@`, a dotted domain, no
/// spaces or control characters).
pub const EMAIL_PATTERN: &str = "^[^\\s@\\u0000-\\u001f\\u007f-\\u009f]+@[^\\s@.\\u0000-\\u001f\\u007f-\\u009f][^\\s@\\u0000-\\u001f\\u007f-\\u009f]*\\.[^\\s@\\u0000-\\u001f\\u007f-\\u009f]*[^\\s@.\\u0000-\\u001f\\u007f-\\u009f]$";
/// A display name as `DisplayName::parse` accepts it: no control
/// characters, something besides spaces.
pub const NAME_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// Parameters and request properties that hold ids.
const ID_NAMES: [&str; 16] = [
    "id",
    "user",
    "user_id",
    "team",
    "team_id",
    "product",
    "key_id",
    "org_id",
    "grant_id",
    "endpoint_id",
    "from_user",
    "to_user",
    "from_team",
    "to_team",
    "after",
    "seat",
];

/// The document `doc` as served: see the module's documentation.
#[must_use]
pub fn contract(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or(Value::Null);
    let mut request_schemas = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                let Some(operation) = operation.as_object_mut() else {
                    continue;
                };
                let has_body = operation.contains_key("requestBody");
                // A bulk import checks each row on its own and reports it:
                // its rows are documented as the strings the server reads.
                let per_row = operation.get("operationId").and_then(Value::as_str) == Some("import_users");
                if let Some(body) = operation.get("requestBody").filter(|_| !per_row) {
                    collect_refs(body, &mut request_schemas);
                }
                exact_parameters(operation);
                exact_responses(operation, method, has_body);
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        // Request schemas, and what they refer to.
        let mut seen = std::collections::BTreeSet::new();
        while let Some(name) = request_schemas.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = schemas.get_mut(&name) {
                collect_refs(schema, &mut request_schemas);
                exact_properties(schema);
            }
        }
        // An audit entry's states are null when nothing was before or after.
        if let Some(entry) = schemas.get_mut("AuditEntry") {
            for side in ["before", "after"] {
                if let Some(state) = entry.pointer_mut(&format!("/properties/{side}")) {
                    state["type"] = json!(["object", "array", "null"]);
                }
            }
        }
    }
    doc
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref")
                && let Some(name) = target.strip_prefix("#/components/schemas/")
            {
                into.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

fn string_pattern(schema: &mut Value, pattern: &str) {
    let is_string = match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    if is_string && schema.get("pattern").is_none() && schema.get("enum").is_none() {
        schema["pattern"] = json!(pattern);
    }
}

fn exact_parameters(operation: &mut serde_json::Map<String, Value>) {
    let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for parameter in parameters {
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(schema) = parameter.get_mut("schema") else {
            continue;
        };
        if ID_NAMES.contains(&name.as_str()) {
            string_pattern(schema, ID_PATTERN);
        } else if name == "cursor" {
            string_pattern(schema, CURSOR_PATTERN);
        } else if name.eq_ignore_ascii_case("Idempotency-Key") {
            // `IdempotencyKey::parse`: 1 to 200 printable ASCII, no spaces.
            string_pattern(schema, "^[\\x21-\\x7e]{1,200}$");
        }
    }
}

fn exact_properties(schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if ID_NAMES.contains(&name.as_str()) {
            string_pattern(property, ID_PATTERN);
        } else if name == "email" {
            string_pattern(property, EMAIL_PATTERN);
            property["maxLength"] = json!(254);
        } else if name == "name" {
            string_pattern(property, NAME_PATTERN);
            property["maxLength"] = json!(200);
        } else if name.ends_with("contacts")
            && let Some(items) = property.get_mut("items")
        {
            string_pattern(items, EMAIL_PATTERN);
        }
        // Sets are read leniently: a repeated member counts once.
        if let Some(object) = property.as_object_mut() {
            object.remove("uniqueItems");
        }
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn exact_responses(operation: &mut serde_json::Map<String, Value>, method: &str, has_body: bool) {
    let Some(responses) = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    // Problems are problem+json, whatever the generator wrote.
    for (status, response) in responses.iter_mut() {
        if status.as_str() >= "400"
            && let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
            && let Some(schema) = content.remove("application/json")
        {
            content.insert("application/problem+json".into(), schema);
        }
    }
    let mut common = vec![
        ("400", "The query or path could not be read"),
        ("401", "No valid credentials"),
        ("403", "Not allowed to the caller"),
        ("404", "No such resource in the caller's organisation"),
        ("422", "The request is invalid"),
        ("503", "The store or a service it needs is unavailable; retry"),
    ];
    if has_body {
        common.extend([
            ("413", "The body is larger than the limit"),
            ("415", "The body is not of a media type the operation reads"),
        ]);
    }
    if method != "get" {
        common.push(("409", "A conflicting or concurrent change; read again and retry"));
    }
    for (status, description) in common {
        responses.entry(status).or_insert_with(|| problem(description));
    }
    // A dry run of a creating operation answers 200 with what it would create.
    if let Some(created) = responses.get("201").cloned()
        && operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "dry_run"))
    {
        let mut dry = created;
        dry["description"] = json!("What a dry run would create (nothing written)");
        operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .map(|r| r.entry("200").or_insert(dry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_problem_json_and_ids_carry_their_pattern() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": { "title": "t", "version": "1" },
            "paths": { "/v1/users/{user_id}": { "patch": {
                "parameters": [{ "name": "user_id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Changes" } } } },
                "responses": { "200": { "description": "ok" },
                    "404": { "description": "x", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Problem" } } } } }
            } } },
            "components": { "schemas": { "Changes": { "type": "object", "properties": {
                "email": { "type": "string" }, "team": { "type": ["string", "null"] } } } } }
        });
        let doc: utoipa::openapi::OpenApi = serde_json::from_value(doc).expect("a document");
        let exact = contract(&doc);
        let op = &exact["paths"]["/v1/users/{user_id}"]["patch"];
        assert!(op["responses"]["404"]["content"]["application/problem+json"].is_object());
        assert!(op["responses"]["404"]["content"]["application/json"].is_null());
        for status in ["400", "401", "403", "409", "413", "415", "422", "503"] {
            assert!(op["responses"][status].is_object(), "{status}");
        }
        assert_eq!(op["parameters"][0]["schema"]["pattern"], ID_PATTERN);
        let changes = &exact["components"]["schemas"]["Changes"]["properties"];
        assert_eq!(changes["email"]["pattern"], EMAIL_PATTERN);
        assert_eq!(changes["team"]["pattern"], ID_PATTERN);
    }
}
