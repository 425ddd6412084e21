//! Serving a router's generated OpenAPI document next to its routes, made
//! exact where the generator cannot know the server: errors are
//! `application/problem+json`; every operation documents the problems any
//! request can meet (malformed, unauthenticated, forbidden, not found,
//! invalid, store unavailable; with a body also too large, wrong media type,
//! concurrent change); ids, cursors, emails and names carry the patterns the
//! server checks.

use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::routing::get;
use seatflow_domain::{Catalog, ProductKind};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;

/// The routes of `api`, plus its OpenAPI document (see [`contract`], made
/// exact for `catalog` by [`for_catalog`]) served as JSON at `path`. The
/// document is made when first asked for, not at a cold start, which
/// serves requests that never ask for it.
pub fn with_document<S>(api: OpenApiRouter<S>, path: &str, catalog: &Catalog) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (router, doc) = api.split_for_parts();
    let source = Arc::new((doc, catalog.clone()));
    let made: Arc<OnceLock<Value>> = Arc::new(OnceLock::new());
    router.route(
        path,
        get(move || async move {
            let (doc, catalog) = source.as_ref();
            Json(made.get_or_init(|| for_catalog(contract(doc), catalog)).clone())
        }),
    )
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

/// Id types whose component schemas a request refers to: they carry
/// [`ID_PATTERN`] too.
const ID_COMPONENTS: [&str; 4] = ["OrgId", "UserId", "TeamId", "ProductId"];

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
        for name in ID_COMPONENTS {
            if let Some(schema) = schemas.get_mut(name) {
                string_pattern(schema, ID_PATTERN);
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
        } else if name == "reference" {
            // `NewGrant`: why the seats are given, 1 to 200 characters.
            property["minLength"] = json!(1);
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

/// `doc` (a [`contract`]) as exact as `catalog` makes it: every product a
/// request names is one of the catalog's (an add-on where only an add-on
/// fits, a plan where a plan does), and the quantities the catalog bounds
/// are within 1 and its `max_quantity`. What a schema cannot say (an
/// add-on's seats at most the plan's) stays the server's to refuse.
#[must_use]
pub fn for_catalog(mut doc: Value, catalog: &Catalog) -> Value {
    let ids = |kind: Option<ProductKind>| -> Value {
        catalog
            .products
            .values()
            .filter(|p| kind.is_none_or(|k| p.kind == k))
            .map(|p| json!(p.id.as_str()))
            .collect()
    };
    let (all, plans, add_ons) = (
        ids(None),
        ids(Some(ProductKind::Plan)),
        ids(Some(ProductKind::AddOn)),
    );
    let named = |schema: &mut Value, one_of: &Value| {
        let nullable = schema["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("null")));
        if let Some(object) = schema.as_object_mut() {
            object.remove("pattern");
            let mut values = one_of.clone();
            if nullable && let Some(values) = values.as_array_mut() {
                values.push(Value::Null);
            }
            object.insert("enum".into(), values);
        }
    };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let one_of = if path.contains("/add-ons/{product}") {
                &add_ons
            } else {
                &all
            };
            let operations = item.as_object_mut().into_iter().flat_map(|i| i.values_mut());
            for operation in operations {
                let parameters = operation.get_mut("parameters").and_then(Value::as_array_mut);
                for parameter in parameters.into_iter().flatten() {
                    if parameter["name"] == "product"
                        && let Some(schema) = parameter.get_mut("schema")
                    {
                        named(schema, one_of);
                    }
                }
            }
        }
    }
    let max = json!(catalog.max_quantity);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return doc;
    };
    if let Some(schema) = schemas.get_mut("ProductId") {
        named(schema, &all);
    }
    for (name, schema) in schemas.iter_mut() {
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(product) = properties.get_mut("product")
            && product.get("$ref").is_none()
        {
            named(product, if name == "AddOnRequest" { &add_ons } else { &all });
        }
        if matches!(name.as_str(), "QuoteRequest" | "ChangePlan")
            && let Some(plan) = properties.get_mut("plan")
        {
            named(plan, &plans);
        }
        // `Quantity::new`: 1 to the catalog's largest purchase.
        let bounded = match name.as_str() {
            "QuoteRequest" | "AddOnRequest" | "AddSeats" => Some("quantity"),
            _ => None,
        };
        if let Some(quantity) = bounded.and_then(|field| properties.get_mut(field)) {
            quantity["minimum"] = json!(1);
            quantity["maximum"] = max.clone();
        }
        // At least one seat moved or granted.
        let at_least_one = match name.as_str() {
            "MoveRequest" => Some("seats"),
            "GrantRequest" => Some("quantity"),
            _ => None,
        };
        if let Some(count) = at_least_one.and_then(|field| properties.get_mut(field)) {
            count["minimum"] = json!(1);
        }
    }
    doc
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

    #[test]
    fn products_named_in_requests_are_the_catalogs_and_quantities_within_it() {
        let catalog = Catalog::default_catalog().expect("catalog");
        let doc = json!({
            "paths": { "/v1/users/{user_id}/add-ons/{product}": { "delete": {
                "parameters": [{ "name": "product", "in": "path", "schema": { "type": "string", "pattern": ID_PATTERN } }]
            } } },
            "components": { "schemas": {
                "ProductId": { "type": "string" },
                "AddOnRequest": { "properties": { "product": { "type": "string" }, "quantity": { "type": "integer" } } },
                "QuoteRequest": { "properties": { "plan": { "type": "string" }, "quantity": { "type": "integer" } } },
                "MoveRequest": { "properties": { "seats": { "type": "integer", "minimum": 0 } } }
            } }
        });
        let exact = for_catalog(doc, &catalog);
        let add_ons: Vec<&str> = catalog
            .products
            .values()
            .filter(|p| p.kind == ProductKind::AddOn)
            .map(|p| p.id.as_str())
            .collect();
        let path_product =
            &exact["paths"]["/v1/users/{user_id}/add-ons/{product}"]["delete"]["parameters"][0]["schema"];
        assert_eq!(path_product["enum"], json!(add_ons));
        assert!(path_product["pattern"].is_null());
        let schemas = &exact["components"]["schemas"];
        assert_eq!(
            schemas["AddOnRequest"]["properties"]["product"]["enum"],
            json!(add_ons)
        );
        assert_eq!(
            schemas["ProductId"]["enum"].as_array().map(Vec::len),
            Some(catalog.products.len())
        );
        let plans = schemas["QuoteRequest"]["properties"]["plan"]["enum"]
            .as_array()
            .expect("plans")
            .clone();
        assert!(
            plans.contains(&json!("professional"))
                && !plans
                    .iter()
                    .any(|p| add_ons.contains(&p.as_str().unwrap_or_default()))
        );
        assert_eq!(
            schemas["QuoteRequest"]["properties"]["quantity"]["maximum"],
            json!(catalog.max_quantity)
        );
        assert_eq!(schemas["MoveRequest"]["properties"]["seats"]["minimum"], json!(1));
    }
}
