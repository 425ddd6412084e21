//! SCIM 2.0 (RFC 7643 and 7644) for the organisation's identity provider
//! (Okta, Entra ID, Google): users and groups (seatflow's teams) created,
//! changed, deactivated and removed by the directory, seats following the
//! organisation's seat policy. Authentication is an API key with the `scim`
//! scope; every change is audited with that key as the actor. Errors are
//! SCIM error bodies (`application/scim+json`) with a `scimType` where the
//! RFC names one.
//!
//! - `GET /scim/v2/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`
//! - `GET|POST /scim/v2/Users`, `GET|PUT|PATCH|DELETE /scim/v2/Users/{id}`
//! - `GET|POST /scim/v2/Groups`, `GET|PUT|PATCH|DELETE /scim/v2/Groups/{id}`

mod discovery;
mod error;
mod filter;
mod group_members;
mod groups;
mod projection;
mod user_resource;
mod users;

pub use error::{ScimError, scim_response};
pub use projection::Projection;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{get, post};
use seatflow_domain::{Actor, Principal};
use seatflow_http::{AppState, Caller};
use serde_json::{Value, json};

/// The media type of every SCIM answer.
pub const SCIM_JSON: &str = "application/scim+json";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The most resources one list answers with.
pub const MAX_RESULTS: usize = 200;

/// The caller: an API key of the organisation with the `scim` scope.
pub struct ScimCaller(pub Actor);

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(actor) = Caller::from_request_parts(parts, state).await?;
        if !matches!(actor.principal, Principal::ApiKey(_)) {
            return Err(ScimError::new(
                StatusCode::FORBIDDEN,
                None,
                "SCIM takes an API key with the scope 'scim' (Settings → API keys)",
            ));
        }
        Ok(Self(actor))
    }
}

/// The largest SCIM body read (a user or a group's membership change is a
/// few kilobytes); larger ones are refused before they are buffered.
const MAX_BODY: usize = 64 * 1024;

/// A SCIM request body: JSON, whatever its media type says
/// (`application/scim+json` or `application/json`), at most 64 KB.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = seatflow_http::extract::read_body(request, MAX_BODY).await?;
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("invalidSyntax"),
                format!("the body is not JSON: {e}"),
            )
        })
    }
}

/// A list answer: `resources` of `total`, from `start_index`.
pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// A list's query: a filter, and where the page starts and how long it is.
#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    /// `attribute eq "value"`.
    pub filter: Option<String>,
    /// 1-based.
    #[serde(rename = "startIndex")]
    pub start_index: Option<String>,
    /// At most [`MAX_RESULTS`].
    pub count: Option<String>,
    /// Which attributes each resource carries.
    #[serde(flatten)]
    pub projection: Projection,
}

const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl ListQuery {
    /// The query of a `POST …/.search` body (RFC 7644 §3.4.3).
    ///
    /// # Errors
    /// 400 `invalidSyntax` for a body that is not a search request.
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let declared = body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == SEARCH_SCHEMA));
        if !declared {
            return Err(ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("invalidSyntax"),
                format!("a search body declares the schema {SEARCH_SCHEMA}"),
            ));
        }
        let text = |name: &str| match &body[name] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        Ok(Self {
            filter: text("filter"),
            start_index: text("startIndex"),
            count: text("count"),
            projection: Projection::from_lists(body.get("attributes"), body.get("excludedAttributes")),
        })
    }
}

/// `startIndex` and `count` of a list query (1-based; RFC 7644 §3.4.2.4:
/// below 1 counts as 1, a negative count as 0), `count` at most
/// [`MAX_RESULTS`].
pub fn paging(start_index: Option<&str>, count: Option<&str>) -> Result<(usize, usize), ScimError> {
    let number = |text: Option<&str>, name: &str, default: i64| -> Result<i64, ScimError> {
        text.map_or(Ok(default), |t| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{name} must be a whole number, got '{t}'")))
        })
    };
    let start = number(start_index, "startIndex", 1)?.max(1);
    let count = number(count, "count", 100)?.clamp(0, MAX_RESULTS as i64);
    Ok((
        usize::try_from(start).unwrap_or(1),
        usize::try_from(count).unwrap_or(0),
    ))
}

/// The operations of a PATCH request (RFC 7644 §3.5.2).
pub fn patch_operations(request: &Value) -> Result<Vec<PatchOperation>, ScimError> {
    let declared = request["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == PATCH_SCHEMA));
    if !declared {
        return Err(ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            format!("a PATCH body declares the schema {PATCH_SCHEMA}"),
        ));
    }
    let operations = request["Operations"].as_array().ok_or_else(|| {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "a PATCH body has Operations",
        )
    })?;
    operations
        .iter()
        .map(|operation| {
            let op = operation["op"].as_str().unwrap_or_default().to_ascii_lowercase();
            let op = match op.as_str() {
                "add" => PatchOp::Add,
                "replace" => PatchOp::Replace,
                "remove" => PatchOp::Remove,
                other => {
                    return Err(ScimError::new(
                        StatusCode::BAD_REQUEST,
                        Some("invalidSyntax"),
                        format!("unknown PATCH op '{other}' (add, replace, remove)"),
                    ));
                }
            };
            Ok(PatchOperation {
                op,
                path: operation["path"].as_str().map(str::to_owned),
                value: operation.get("value").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// A PATCH operation's kind (identity providers write them in any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

/// One PATCH operation.
#[derive(Debug, Clone)]
pub struct PatchOperation {
    /// What it does.
    pub op: PatchOp,
    /// The attribute it targets, if it names one.
    pub path: Option<String>,
    /// Its value.
    pub value: Value,
}

/// A boolean as identity providers send it: `true`, or the string `"True"`
/// (Entra ID).
pub fn boolean(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{name} must be true or false, got {other}"
        ))),
    }
}

/// `POST /scim/v2/.search` (RFC 7644 §3.4.3): users, then groups, that
/// the search finds; a filter on an attribute one of them lacks finds none
/// of that kind.
async fn search_everything(
    ScimCaller(actor): ScimCaller,
    axum::extract::State(app): axum::extract::State<AppState>,
    ScimBody(body): ScimBody,
) -> Result<Response, ScimError> {
    let query = ListQuery::from_search(&body)?;
    let (start, count) = paging(query.start_index.as_deref(), query.count.as_deref())?;
    let unfiltered = |found: Result<(Vec<Value>, usize), ScimError>| match found {
        Err(e) if e.scim_type() == Some("invalidFilter") => Ok((Vec::new(), 0)),
        other => other,
    };
    let (mut resources, users) = unfiltered(users::page(&app, &actor, &query, start - 1, count).await)?;
    let skip = (start - 1).saturating_sub(users);
    let take = count - resources.len();
    let (groups, group_total) = unfiltered(groups::page(&app, &actor, &query, skip, take).await)?;
    if query.filter.is_some() && users + group_total == 0 {
        // Refused by both, the filter is the caller's mistake: say so.
        let text = query.filter.as_deref().unwrap_or_default();
        if let (Err(e), Err(_)) = (
            filter::equality(text, users::FILTERABLE),
            filter::equality(text, groups::FILTERABLE),
        ) {
            return Err(e);
        }
    }
    resources.extend(groups);
    Ok(list_response(resources, users + group_total, start))
}

/// Whether `uri` is under `/scim/v2`: its errors are SCIM's, not the API's.
#[must_use]
pub fn is_scim(uri: &axum::http::Uri) -> bool {
    let path = uri.path();
    path == "/scim/v2" || path.starts_with("/scim/v2/")
}

/// The SCIM router (`/scim/v2/…`).
/// SCIM (RFC 7644) has no dry run, and identity providers never ask for
/// one; a change sent with the API's `?dry_run=true` would otherwise be
/// made. It is refused before anything is read or written.
async fn no_dry_run(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let changes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) && !request.uri().path().ends_with("/.search");
    let asks_dry_run = request
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(key, _)| key == "dry_run"));
    if changes && asks_dry_run {
        return ScimError::invalid_value(
            "SCIM changes have no dry run: nothing was changed. Preview a change with the seats API (/v1, ?dry_run=true) instead",
        )
        .into_response();
    }
    next.run(request).await
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(discovery::resource_types_list))
        .route("/scim/v2/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/scim/v2/Schemas", get(discovery::schemas_list))
        .route("/scim/v2/Schemas/{id}", get(discovery::schema))
        .route("/scim/v2/.search", post(search_everything))
        .route("/scim/v2/Users", get(users::list).post(users::create))
        .route("/scim/v2/Users/.search", post(users::search))
        .route(
            "/scim/v2/Users/{user_id}",
            get(users::get_one)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/scim/v2/Groups", get(groups::list).post(groups::create))
        .route("/scim/v2/Groups/.search", post(groups::search))
        .route(
            "/scim/v2/Groups/{group_id}",
            get(groups::get_one)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .layer(axum::middleware::from_fn(no_dry_run))
}
