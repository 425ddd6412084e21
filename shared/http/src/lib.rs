//! What every seatflow HTTP function shares: errors rendered as
//! `application/problem+json` with stable codes, extractors that name the
//! offending field, bearer authentication (JWT or API key) that yields an
//! organisation-scoped caller, and the state every handler shares. The
//! domain's errors and the billing flows' (`seatflow-app`) become problems
//! here, in one place (`problem`).

pub mod auth;
pub mod edge;
pub mod entitlement_tokens;
pub mod export;
pub mod extract;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod oidc;
pub mod oidc_sign_in;
pub mod openapi;
pub mod problem;
pub mod scopes;
mod state;

pub use auth::{
    ApiKeySecret, Authenticator, Caller, Claims, GatewayClaims, HasAuthenticator, JwtConfig, OperatorCaller,
    OperatorKeys,
};
pub use extract::{ApiJson, ApiPath, ApiQuery, DryRun, idempotency_key, page_limit, request_origin};
pub use problem::{ApiError, Problem};
pub use state::{AppState, DEFAULT_ENTITLEMENT_RATE, Outbound};
