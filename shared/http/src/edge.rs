//! Behind the edge. Deployed, CloudFront stands in front of the HTTP API and
//! its WAF web ACL limits each client IP and each key; the API's own
//! `execute-api` address stays reachable, so a client could go round the
//! limits. CloudFront adds a header only it knows ([`ORIGIN_HEADER`], the
//! stack's generated `EdgeOriginSecret`), and every HTTP function refuses a
//! request without it.
//!
//! CloudFront reaches the API by the API's own host name, so the host people
//! used comes in `X-Forwarded-Host`, written by the distribution's viewer
//! function. Only a request that proved it came through the edge has it
//! trusted: it becomes the request's `Host`, which the links seatflow gives
//! back (the portal's hand-offs, the sign-in redirect) are built from.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

use crate::ApiError;

/// The header CloudFront adds to every request it sends to the API.
pub const ORIGIN_HEADER: &str = "x-seatflow-origin";

/// The shortest origin secret accepted: long enough not to be guessed.
pub const MIN_SECRET_LEN: usize = 32;

/// An origin secret that is too short to keep anyone out.
#[derive(Debug, thiserror::Error)]
#[error("the origin secret must be at least {MIN_SECRET_LEN} characters")]
pub struct ShortSecret;

/// `router` answering only requests that carry `secret` in [`ORIGIN_HEADER`]
/// (the rest get 403 `edge_required`); unchanged without a secret, as
/// locally, where nothing stands in front.
///
/// # Errors
/// A secret shorter than [`MIN_SECRET_LEN`].
pub fn behind_edge(router: Router, secret: Option<&SecretString>) -> Result<Router, ShortSecret> {
    let Some(secret) = secret else {
        return Ok(router);
    };
    if secret.expose_secret().len() < MIN_SECRET_LEN {
        return Err(ShortSecret);
    }
    // Digests compared, not the texts: how long a comparison takes then says
    // nothing about how much of the secret a guess got right.
    let expected: [u8; 32] = Sha256::digest(secret.expose_secret().as_bytes()).into();
    Ok(router.layer(middleware::from_fn(
        move |request: Request<Body>, next: Next| async move {
            match through_edge(request, &expected) {
                Some(request) => next.run(request).await,
                None => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "edge_required",
                    "requests reach seatflow through its CloudFront address (the stack's ApiUrl), not the API Gateway one",
                )
                .into_response(),
            }
        },
    )))
}

/// The request as the handlers get it, if it came through the edge.
fn through_edge(mut request: Request<Body>, expected: &[u8; 32]) -> Option<Request<Body>> {
    let presented = request
        .headers_mut()
        .remove(ORIGIN_HEADER)
        .map(|value| <[u8; 32]>::from(Sha256::digest(value.as_bytes())));
    if presented.as_ref() != Some(expected) {
        return None;
    }
    if let Some(host) = request
        .headers()
        .get("x-forwarded-host")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| HeaderValue::from_str(value.trim()).ok())
        .filter(|value| !value.is_empty())
    {
        request.headers_mut().insert(header::HOST, host);
    }
    Some(request)
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    const SECRET: &str = "an-origin-secret-of-forty-characters-000";

    fn app(secret: Option<&str>) -> Router {
        let router = Router::new().route(
            "/where",
            get(|headers: axum::http::HeaderMap| async move {
                format!(
                    "{} {}",
                    crate::request_origin(&headers),
                    headers.contains_key(ORIGIN_HEADER)
                )
            }),
        );
        behind_edge(router, secret.map(SecretString::from).as_ref()).expect("a long secret")
    }

    async fn call(app: Router, headers: &[(&str, &str)]) -> (StatusCode, String) {
        let mut request = Request::get("/where").header("host", "abc123.execute-api.eu-west-1.amazonaws.com");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_request_that_went_round_the_edge_is_refused() {
        for headers in [
            vec![],
            vec![(ORIGIN_HEADER, "guess")],
            vec![(ORIGIN_HEADER, &SECRET[..SECRET.len() - 1])],
        ] {
            let (status, body) = call(app(Some(SECRET)), &headers).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
            assert!(body.contains("\"code\":\"edge_required\""), "{body}");
        }
    }

    #[tokio::test]
    async fn through_the_edge_the_people_facing_host_is_the_origin_and_the_secret_goes_no_further() {
        let (status, body) = call(
            app(Some(SECRET)),
            &[
                (ORIGIN_HEADER, SECRET),
                ("x-forwarded-host", "licenses.vendor.example"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "https://licenses.vendor.example false");
    }

    #[tokio::test]
    async fn without_an_edge_nothing_is_checked_and_a_forwarded_host_is_not_trusted() {
        let (status, body) = call(app(None), &[("x-forwarded-host", "evil.example")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "https://abc123.execute-api.eu-west-1.amazonaws.com false");
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(behind_edge(Router::new(), Some(&SecretString::from("short"))).is_err());
    }
}
