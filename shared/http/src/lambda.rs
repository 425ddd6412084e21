//! On Lambda: the claims API Gateway's JWT authorizer verified, moved from
//! the request context into a [`GatewayClaims`] extension that [`crate::Caller`]
//! reads. Requests the authorizer did not check carry none.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use lambda_http::RequestExt as _;
use lambda_http::request::RequestContext;

use crate::auth::GatewayClaims;

/// `router` with gateway-verified claims made available to authentication.
pub fn with_gateway_claims(router: Router) -> Router {
    router.layer(tower::util::MapRequestLayer::new(|mut request: Request<Body>| {
        let claims = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| GatewayClaims(jwt.claims.clone()))
                .filter(|claims| !claims.0.is_empty()),
            _ => None,
        };
        if let Some(claims) = claims {
            request.extensions_mut().insert(claims);
        }
        request
    }))
}

/// Runs on Lambda, answering each request with the router `current` gives
/// then: a function whose router is rebuilt when its secrets change hands
/// out the newest one.
///
/// # Errors
/// The runtime's.
pub async fn run_current<F, Fut>(current: F) -> Result<(), lambda_http::Error>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Router> + Send,
{
    use tower::ServiceExt as _;
    lambda_http::run(lambda_http::service_fn(move |request: lambda_http::Request| {
        let current = current.clone();
        async move { current().await.oneshot(request).await }
    }))
    .await
}
