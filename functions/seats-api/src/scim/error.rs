//! SCIM's error bodies (`application/scim+json`, with a `scimType` where the
//! RFC names one), made from the API's problems, and SCIM answers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatflow_domain::SeatError;
use seatflow_http::ApiError;
use serde_json::{Value, json};

use super::SCIM_JSON;

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error: its status, `scimType` and detail.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    /// An error with `status` and `scim_type`.
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    /// Its `scimType`, if it has one.
    #[must_use]
    pub fn scim_type(&self) -> Option<&'static str> {
        self.scim_type
    }

    /// 404 for a resource of another organisation or none.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, format!("{what} '{id}' not found"))
    }
}

impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        let problem = error.problem();
        let scim_type = match (status, problem.code.as_str()) {
            (StatusCode::CONFLICT, "email_taken" | "user_name_taken" | "already_exists") => {
                Some("uniqueness")
            }
            (StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST, _) => Some("invalidValue"),
            _ => None,
        };
        // Validation failures are 400 in SCIM.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        Self::new(status, scim_type, problem.detail)
    }
}

impl From<SeatError> for ScimError {
    fn from(error: SeatError) -> Self {
        Self::from(ApiError::from(error))
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        scim_response(self.status, &body)
    }
}

/// `body` as a SCIM answer.
pub fn scim_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}
