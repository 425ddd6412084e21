//! Extractors whose failures are problem+json naming the offending field,
//! never axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// Most bytes a JSON body may have; bodies here are small.
const MAX_BODY: usize = 64 * 1024;

/// A JSON body. Not JSON → 400 `malformed_json`; JSON of the wrong shape
/// (wrong type, missing or unknown field) → 422 `validation_failed` with the
/// field's path.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = read_body(req, MAX_BODY).await?;
        // Every body this API reads is an object: serde would also take a
        // struct from an array of its fields in order, which no client means.
        if bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b != b'{')
        {
            return Err(ApiError::invalid_field("body", "must be a JSON object"));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

/// A request's body, refused before it is read when it is larger than
/// `limit`: a declared length over the limit, or, for a body without one,
/// the first byte past it (413 `body_too_large`).
///
/// # Errors
/// 413 `body_too_large`; 400 `unreadable_body`.
pub async fn read_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body exceeds {} KiB", limit / 1024),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        let error = e.into_inner();
        if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            too_large()
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", error.to_string())
        }
    })
}

/// Parses JSON, naming the field at fault.
///
/// # Errors
/// `malformed_json` for syntax errors, `validation_failed` for shape errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::invalid_field(field, strip_position(&inner.to_string()))
            }
            _ => ApiError::malformed_json(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::malformed_json(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

/// A page size from the query: `default` when absent; 400 `invalid_query`
/// outside 1 to `max` (the documented range, never silently clamped).
///
/// # Errors
/// [`ApiError`] naming `limit`.
pub fn page_limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_query("limit", format!("must be 1 to {max}"))),
    }
}

/// Query parameters; a bad one → 400 `invalid_query` naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." { "query".to_owned() } else { path };
                ApiError::invalid_query(field, e.into_inner().to_string())
            })
    }
}

/// Path parameters; one that cannot name anything → 404 `not_found`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|e| ApiError::not_found(format!("nothing here: {}", e.body_text())))
    }
}

/// `?dry_run=true` on any mutation evaluates it without writing.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DryRun {
    /// Evaluate without writing; the response shows the result and the audit
    /// entry the change would write.
    #[serde(default)]
    pub dry_run: bool,
}

impl DryRun {
    /// The service's mode for it.
    #[must_use]
    pub fn mode(self) -> seatflow_domain::Mode {
        seatflow_domain::Mode::from_dry_run(self.dry_run)
    }
}

/// The optional `Idempotency-Key` header of a request that moves money.
///
/// # Errors
/// 400 `invalid_idempotency_key` for a key that is not 1 to 200 printable
/// ASCII characters.
pub fn idempotency_key(
    headers: &axum::http::HeaderMap,
) -> Result<Option<seatflow_domain::IdempotencyKey>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| seatflow_domain::IdempotencyKey::parse(text).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_idempotency_key",
                        "Idempotency-Key must be 1 to 200 printable ASCII characters",
                    )
                })
        })
        .transpose()
}

/// The scheme and host a request reached seatflow at (`https://api.example.com`):
/// its `Host`, and `X-Forwarded-Proto` as API Gateway sets it (plain HTTP
/// only to this machine, when no proxy says otherwise). Links seatflow
/// gives back to the same domain (the portal's) start with it.
#[must_use]
pub fn request_origin(headers: &axum::http::HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or_default().trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let host = header("host").unwrap_or_else(|| "localhost".into());
    let scheme = header("x-forwarded-proto").unwrap_or_else(|| {
        let local = ["127.0.0.1", "localhost", "[::1]"].iter().any(|l| {
            host.strip_prefix(l)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
        });
        (if local { "http" } else { "https" }).into()
    });
    format!("{scheme}://{host}")
}
