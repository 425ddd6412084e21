//! Errors as RFC 9457 problem details: the one path from every error that
//! reaches HTTP (seat rules, catalog and quotes, payments, the queue, the
//! store) to a status and a stable code. Handlers never pick statuses.
//!
//! A failure of something upstream (Stripe, SQS, DynamoDB, SES) answers 502
//! or 503 with a code and a correlation id; what the upstream said (ARNs,
//! account ids, SDK messages) goes to the log under that id, never to the
//! caller.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatflow_app::BillingError;
use seatflow_domain::{ErrorKind, PaymentError, QueueError, SeatError, StoreError, ValidationError};
use serde::Serialize;

/// Every upstream failure: its code, status, and what the caller is told.
/// Part of the API contract, like the domain's codes.
const UPSTREAM: &[(&str, StatusCode, &str)] = &[
    (
        "store_unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "the entitlement store is unavailable; try again shortly",
    ),
    (
        "identity_provider_unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "the identity provider's signing keys could not be fetched; try again shortly",
    ),
    (
        "queue_unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "the provisioning queue is unavailable; try again shortly",
    ),
    (
        "payment_provider_unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "the payment provider could not be reached; try again shortly",
    ),
    (
        "payment_provider_refused",
        StatusCode::BAD_GATEWAY,
        "the payment provider refused the request",
    ),
    (
        "payment_price_missing",
        StatusCode::BAD_GATEWAY,
        "a catalog price is not set up at the payment provider",
    ),
];

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
    /// For an upstream failure: the id under which its cause was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<ValidationError>,
    correlation_id: Option<String>,
}

impl ApiError {
    /// An error with an explicit status and code (edge errors only).
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            correlation_id: None,
        }
    }

    /// An upstream failure (a code of the `UPSTREAM` table): the caller is told
    /// what failed and a fresh correlation id; `cause` is logged under that id.
    pub fn upstream(code: &'static str, cause: &dyn std::fmt::Display) -> Self {
        let (status, detail) = UPSTREAM.iter().find(|(known, _, _)| *known == code).map_or(
            (StatusCode::BAD_GATEWAY, "an upstream service failed"),
            |(_, status, detail)| (*status, *detail),
        );
        let correlation_id = uuid::Uuid::new_v4().simple().to_string();
        tracing::error!(code, correlation_id = %correlation_id, cause = %cause, "upstream failure");
        Self {
            status,
            code,
            detail: format!("{detail} (correlation id {correlation_id})"),
            errors: Vec::new(),
            correlation_id: Some(correlation_id),
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
            correlation_id: None,
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
            correlation_id: self.correlation_id.clone(),
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
        if let SeatError::StoreUnavailable(cause) = &error {
            return Self::upstream(error.code(), cause);
        }
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
            correlation_id: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        SeatError::from(error).into()
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        Self::upstream("queue_unavailable", &error)
    }
}

/// The provider refusing (a misconfigured price, say) is a bad gateway;
/// unreachable, unavailable.
impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        let code = match error {
            PaymentError::Rejected { .. } => "payment_provider_refused",
            PaymentError::MissingPrice(_) => "payment_price_missing",
            PaymentError::Unavailable(_) => "payment_provider_unavailable",
        };
        Self::upstream(code, &error)
    }
}

/// The billing flows' refusals, and the failures of the ports they span.
impl From<BillingError> for ApiError {
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::Seats(error) => error.into(),
            BillingError::Payment(error) => error.into(),
            BillingError::SubscriptionNotFound(_) | BillingError::CheckoutNotFound(_) => {
                Self::not_found(error.to_string())
            }
            BillingError::SubscriptionEnded(why) => {
                Self::new(StatusCode::CONFLICT, "subscription_ended", why)
            }
            BillingError::AlreadySubscribed { .. } => {
                Self::new(StatusCode::CONFLICT, "already_subscribed", error.to_string())
            }
            BillingError::ProviderAnswer(cause) => Self::upstream("payment_provider_refused", &cause),
            BillingError::QuantityChanged { .. } => {
                Self::new(StatusCode::CONFLICT, "quantity_changed", error.to_string())
            }
            BillingError::IdempotencyKeyInUse => {
                Self::new(StatusCode::CONFLICT, "idempotency_key_in_use", error.to_string())
            }
            BillingError::IdempotencyKeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                error.to_string(),
            ),
            BillingError::IdempotencyRecord(cause) => Self::upstream("store_unavailable", &cause),
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
        if self.status.is_server_error() && self.correlation_id.is_none() {
            tracing::error!(code = self.code, detail = %self.detail, "request failed");
        } else if !self.status.is_server_error() {
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

#[cfg(test)]
mod tests {
    use super::*;

    const INTERNALS: &str =
        "arn:aws:dynamodb:eu-west-1:123456789012:table/seatflow: ProvisionedThroughputExceededException";

    fn assert_hides_internals(error: &ApiError, status: StatusCode, code: &str) {
        let problem = error.problem();
        assert_eq!(error.status(), status);
        assert_eq!(problem.code, code);
        let id = problem.correlation_id.clone().expect("a correlation id");
        assert!(problem.detail.contains(&id), "{}", problem.detail);
        let body = serde_json::to_string(&problem).expect("serialises");
        for secret in ["arn:aws", "123456789012", "Exception", "sk_live"] {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
        }
    }

    #[test]
    fn a_store_failure_is_503_with_a_correlation_id_and_no_internals() {
        let error = ApiError::from(SeatError::StoreUnavailable(INTERNALS.into()));
        assert_hides_internals(&error, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
        let error = ApiError::from(StoreError::Unavailable(INTERNALS.into()));
        assert_hides_internals(&error, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
    }

    #[test]
    fn a_queue_failure_is_503_with_a_correlation_id_and_no_internals() {
        let error = ApiError::from(QueueError::Unavailable(INTERNALS.into()));
        assert_hides_internals(&error, StatusCode::SERVICE_UNAVAILABLE, "queue_unavailable");
    }

    #[test]
    fn payment_failures_are_502_or_503_without_the_provider_s_words() {
        let refused = ApiError::from(PaymentError::Rejected {
            code: "resource_missing".into(),
            message: format!("No such price for sk_live_123 in {INTERNALS}"),
        });
        assert_hides_internals(&refused, StatusCode::BAD_GATEWAY, "payment_provider_refused");
        let missing = ApiError::from(PaymentError::MissingPrice(INTERNALS.into()));
        assert_hides_internals(&missing, StatusCode::BAD_GATEWAY, "payment_price_missing");
        let down = ApiError::from(PaymentError::Unavailable(INTERNALS.into()));
        assert_hides_internals(
            &down,
            StatusCode::SERVICE_UNAVAILABLE,
            "payment_provider_unavailable",
        );
    }

    #[test]
    fn every_upstream_failure_gets_its_own_correlation_id() {
        let first = ApiError::from(QueueError::Unavailable("x".into())).problem();
        let second = ApiError::from(QueueError::Unavailable("x".into())).problem();
        assert_ne!(first.correlation_id, second.correlation_id);
    }

    #[test]
    fn refusals_carry_no_correlation_id() {
        let problem = ApiError::from(SeatError::Forbidden("no".into())).problem();
        assert_eq!(problem.correlation_id, None);
        assert_eq!(problem.status, 403);
    }
}
