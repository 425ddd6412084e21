//! What a SCIM client asks first (RFC 7644 §4): what this service provider
//! supports, its resource types, and their schemas.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::user_resource::SEATS_SCHEMA;
use super::{MAX_RESULTS, ScimCaller, ScimError, scim_response};

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// `GET /scim/v2/ServiceProviderConfig`.
pub async fn service_provider_config(_caller: ScimCaller) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://github.com/seatflow/seatflow#directory-sync-scim",
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": MAX_RESULTS },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": false },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "API key",
                "description": "A seatflow API key with the scope 'scim', as a bearer token",
                "primary": true,
            }],
            "meta": { "resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig" },
        }),
    )
}

fn resource_types() -> Vec<Value> {
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
            "schemaExtensions": [{ "schema": SEATS_SCHEMA, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": "/scim/v2/ResourceTypes/User" },
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "A seatflow team",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:Group",
            "meta": { "resourceType": "ResourceType", "location": "/scim/v2/ResourceTypes/Group" },
        }),
    ]
}

/// `GET /scim/v2/ResourceTypes`.
pub async fn resource_types_list(_caller: ScimCaller) -> Response {
    list(resource_types())
}

/// `GET /scim/v2/ResourceTypes/{id}`.
pub async fn resource_type(_caller: ScimCaller, Path(id): Path<String>) -> Result<Response, ScimError> {
    one(resource_types(), "id", "resource type", &id)
}

/// The resource of `resources` whose `key` is `id`, or a SCIM 404.
fn one(resources: Vec<Value>, key: &str, what: &str, id: &str) -> Result<Response, ScimError> {
    resources
        .into_iter()
        .find(|r| r[key].as_str() == Some(id))
        .map(|r| scim_response(StatusCode::OK, &r))
        .ok_or_else(|| ScimError::not_found(what, id))
}

fn attribute(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "required": required,
        "caseExact": false, "mutability": mutability, "returned": "default", "uniqueness": uniqueness,
    })
}

/// A `$ref` sub-attribute: the URI of a resource of `kind`.
fn reference(kind: &str, mutability: &str) -> Value {
    json!({
        "name": "$ref", "type": "reference", "referenceTypes": [kind], "multiValued": false,
        "required": false, "caseExact": true, "mutability": mutability, "returned": "default", "uniqueness": "none",
    })
}

const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn schemas() -> Vec<Value> {
    vec![
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": "urn:ietf:params:scim:schemas:core:2.0:User",
            "name": "User",
            "description": "A seatflow user; their email is userName when that is an address, else the primary of emails",
            "attributes": [
                attribute("userName", "string", true, "readWrite", "server"),
                attribute("displayName", "string", false, "readWrite", "none"),
                {
                    "name": "name", "type": "complex", "multiValued": false, "required": false,
                    "mutability": "readWrite", "returned": "default",
                    "subAttributes": [
                        attribute("formatted", "string", false, "readWrite", "none"),
                        attribute("givenName", "string", false, "readWrite", "none"),
                        attribute("familyName", "string", false, "readWrite", "none"),
                    ],
                },
                {
                    "name": "emails", "type": "complex", "multiValued": true, "required": false,
                    "mutability": "readWrite", "returned": "default",
                    "subAttributes": [
                        attribute("value", "string", false, "readWrite", "server"),
                        attribute("type", "string", false, "readWrite", "none"),
                        attribute("primary", "boolean", false, "readWrite", "none"),
                    ],
                },
                attribute("active", "boolean", false, "readWrite", "none"),
                {
                    "name": "groups", "type": "complex", "multiValued": true, "required": false,
                    "mutability": "readOnly", "returned": "default",
                    "subAttributes": [
                        attribute("value", "string", false, "readOnly", "none"),
                        reference("Group", "readOnly"),
                        attribute("display", "string", false, "readOnly", "none"),
                    ],
                },
            ],
            "meta": { "resourceType": "Schema", "location": "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User" },
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": "urn:ietf:params:scim:schemas:core:2.0:Group",
            "name": "Group",
            "description": "A seatflow team",
            "attributes": [
                attribute("displayName", "string", true, "readWrite", "server"),
                {
                    "name": "members", "type": "complex", "multiValued": true, "required": false,
                    "mutability": "readWrite", "returned": "default",
                    "subAttributes": [
                        attribute("value", "string", false, "immutable", "none"),
                        reference("User", "immutable"),
                    ],
                },
            ],
            "meta": { "resourceType": "Schema", "location": "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group" },
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": SEATS_SCHEMA,
            "name": "Seats",
            "description": "The seats a user holds, and whether the organisation's directory seat is still owed to them (none was free)",
            "attributes": [
                {
                    "name": "seats", "type": "string", "multiValued": true, "required": false,
                    "mutability": "readOnly", "returned": "default", "caseExact": true, "uniqueness": "none",
                },
                {
                    "name": "seatPending", "type": "boolean", "multiValued": false, "required": false,
                    "mutability": "readOnly", "returned": "default",
                },
            ],
            "meta": { "resourceType": "Schema", "location": format!("/scim/v2/Schemas/{SEATS_SCHEMA}") },
        }),
    ]
}

/// `GET /scim/v2/Schemas`.
pub async fn schemas_list(_caller: ScimCaller) -> Response {
    list(schemas())
}

/// `GET /scim/v2/Schemas/{id}` (the schema's URN).
pub async fn schema(_caller: ScimCaller, Path(id): Path<String>) -> Result<Response, ScimError> {
    one(schemas(), "id", "schema", &id)
}

fn list(resources: Vec<Value>) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}
