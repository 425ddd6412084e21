//! Errors as RFC 9457 problem details. One table maps a domain error's kind
//! to its HTTP status; handlers never pick statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatflow_domain::{ErrorKind, SeatError, ValidationError};
use serde::Serialize;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:seatflow:problem:<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable machine-readable code.
    pub code: String,
    /// Invalid fields, when the request was at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ValidationError>,
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<ValidationError>,
}

impl ApiError {
    /// An error with an explicit status and code (edge errors only).
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// 400 `malformed_json`: the body is not JSON at all.
    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", detail)
    }

    fn field_error(
        status: StatusCode,
        code: &'static str,
        what: &str,
        field: String,
        message: String,
    ) -> Self {
        let error = ValidationError::new(field, message);
        Self {
            status,
            code,
            detail: format!("invalid {what} '{}': {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// 422 `validation_failed` naming the field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::field_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "field",
            field.into(),
            message.into(),
        )
    }

    /// 400 `invalid_query` naming the parameter.
    pub fn invalid_query(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::field_error(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "query parameter",
            field.into(),
            message.into(),
        )
    }

    /// 404 `not_found` for a path that names nothing.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    fn title(&self) -> String {
        let mut title = self.code.replace('_', " ");
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        title
    }

    /// The problem body.
    #[must_use]
    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:seatflow:problem:{}", self.code),
            title: self.title(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
        }
    }
}

/// The one place a domain error kind becomes an HTTP status.
#[must_use]
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<SeatError> for ApiError {
    fn from(error: SeatError) -> Self {
        let errors = match (&error, error.field()) {
            (SeatError::Validation(v), _) => vec![v.clone()],
            (_, Some(field)) => vec![ValidationError::new(field, error.to_string())],
            _ => Vec::new(),
        };
        Self {
            status: status_of(error.kind()),
            code: error.code(),
            detail: error.to_string(),
            errors,
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        SeatError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, detail = %self.detail, "request failed");
        } else {
            tracing::debug!(code = self.code, detail = %self.detail, "request refused");
        }
        let mut response = (self.status, axum::Json(self.problem())).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
