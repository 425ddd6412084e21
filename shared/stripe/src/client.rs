//! A Stripe API client: requests built with async-stripe's client core
//! (request builder, retry strategy with one idempotency key, pinned API
//! version) and sent over the HTTP and TLS stack the AWS SDK already brings
//! (hyper, rustls on aws-lc, the system's trust roots).
//!
//! Why not async-stripe's own client: it parses every error response into
//! Stripe's full error object, which embeds payment intents, payment methods
//! and sources, and that deserializer is 2.7 MiB of each binary that links it
//! (BENCHMARKS.md). Here an error is read for what seatflow acts on: status,
//! type, code and message. Nor the client core's `StripeClient` trait: its
//! `send` reads answers as miniserde values, which seatflow, reading them
//! with serde, would parse twice.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use stripe_client_core::{Outcome, RequestBuilder, RequestStrategy, SharedConfigBuilder, StripeMethod};

const API_BASE: &str = "https://api.stripe.com/";
const USER_AGENT_VALUE: &str = concat!("seatflow/", env!("CARGO_PKG_VERSION"));
/// Each attempt's budget: an API Gateway request has 30 s in all, and a
/// retried write must still fit in it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
/// Idle connections are kept this long: reused by the next calls of one
/// invocation, dropped before a frozen Lambda environment would find them dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a Stripe request failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object.
    #[error("Stripe answered {status}: {kind} {}: {}", code.as_deref().unwrap_or("-"), message.as_deref().unwrap_or(""))]
    Api {
        /// The HTTP status.
        status: u16,
        /// Stripe's error type (`invalid_request_error`, `card_error`, …).
        kind: String,
        /// Stripe's error code (`resource_missing`, …), when given.
        code: Option<String>,
        /// Stripe's human-readable message, when given.
        message: Option<String>,
    },
    /// Stripe could not be reached, or the connection failed.
    #[error("could not reach Stripe: {0}")]
    Transport(String),
    /// An attempt got no answer in time.
    #[error("Stripe did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer was not what Stripe sends.
    #[error("unreadable answer from Stripe: {0}")]
    Decode(String),
    /// The client cannot be built or the request cannot be formed.
    #[error("Stripe client configuration: {0}")]
    Config(String),
}

/// A Stripe client for one secret key.
#[derive(Clone)]
pub struct StripeApi {
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    api_base: String,
    secret: HeaderValue,
    version: HeaderValue,
    strategy: RequestStrategy,
    attempt_timeout: Duration,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret key.
        f.debug_struct("StripeApi")
            .field("api_base", &self.api_base)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

impl StripeApi {
    /// A client with `secret_key`, at Stripe's API or at `base_url` (a
    /// stand-in in tests; plain `http` is accepted only for it), sending
    /// with `strategy`.
    ///
    /// # Errors
    /// [`StripeError::Config`] for a key or address that cannot be used, or
    /// when the system has no trust roots.
    pub fn new(
        secret_key: &str,
        base_url: Option<&str>,
        strategy: RequestStrategy,
    ) -> Result<Self, StripeError> {
        let config = SharedConfigBuilder::new(secret_key);
        let api_base = base_url.unwrap_or(API_BASE).to_owned();
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) || !api_base.ends_with('/')
        {
            return Err(StripeError::Config(format!(
                "the API base must be an http(s) URL ending in '/', not {api_base:?}"
            )));
        }
        let mut secret = HeaderValue::try_from(format!("Bearer {}", config.secret))
            .map_err(|_| StripeError::Config("the secret key is not a valid header value".into()))?;
        secret.set_sensitive(true);
        let version = HeaderValue::from_str(config.stripe_version.as_str())
            .map_err(|_| StripeError::Config("the API version is not a valid header value".into()))?;
        let connector = HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| StripeError::Config(format!("no trust roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .build(connector);
        Ok(Self {
            http,
            api_base,
            secret,
            version,
            strategy,
            attempt_timeout: ATTEMPT_TIMEOUT,
        })
    }

    /// A client configured by its settings (`var`; `seatflow-config` reads
    /// the environment): `STRIPE_SECRET_KEY` (required) and
    /// `STRIPE_API_BASE` (optional: a stand-in's address), retrying each
    /// request up to three times with one idempotency key.
    ///
    /// # Errors
    /// [`StripeError::Config`] for a missing key, or a client that cannot be built.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, StripeError> {
        let key = var("STRIPE_SECRET_KEY")
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| StripeError::Config("STRIPE_SECRET_KEY is not set".into()))?;
        let base = var("STRIPE_API_BASE").filter(|b| !b.is_empty());
        Self::new(
            key.trim(),
            base.as_deref(),
            RequestStrategy::ExponentialBackoff(3),
        )
    }

    /// The same client with another per-attempt timeout.
    #[must_use]
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sends `request`, retried as the client's strategy allows, every
    /// attempt with the same idempotency key; Stripe's answer read as `T`.
    ///
    /// # Errors
    /// Stripe's error object, an unreachable or silent Stripe, or an answer
    /// that is not a `T`.
    pub async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, StripeError> {
        self.send_with_key(request, None).await
    }

    /// [`StripeApi::send`] with the caller's idempotency key (else the
    /// strategy's): the same key on a later call too, so that a request
    /// retried after a crash is carried out once.
    ///
    /// # Errors
    /// As [`StripeApi::send`].
    pub async fn send_with_key<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        // One key for every attempt: a retried write is applied once.
        let generated = self.strategy.get_key();
        let key = idempotency_key.or(generated.as_ref().map(|k| k.as_str()));
        let request = self.request(request, key)?;

        let mut tries = 0;
        let mut last_status = None;
        let mut should_retry = None;
        let mut last_error = StripeError::Config("the request strategy allows no attempt".into());
        loop {
            match self.strategy.test(last_status, should_retry, tries) {
                Outcome::Stop => return Err(last_error),
                Outcome::Continue(Some(backoff)) => tokio::time::sleep(backoff).await,
                Outcome::Continue(None) => {}
            }
            tries += 1;
            match tokio::time::timeout(self.attempt_timeout, self.attempt(request.clone())).await {
                Ok(Ok((status, _, body))) if status.is_success() => {
                    return serde_json::from_slice(&body).map_err(|e| StripeError::Decode(e.to_string()));
                }
                Ok(Ok((status, advice, body))) => {
                    tracing::warn!(%status, tries, "Stripe answered with an error");
                    last_error = api_error(status, &body);
                    last_status = Some(status.as_u16());
                    should_retry = advice;
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, tries, "Stripe request failed");
                    last_error = error;
                }
                Err(_) => {
                    let attempt_timeout = self.attempt_timeout;
                    tracing::warn!(?attempt_timeout, tries, "Stripe request timed out");
                    last_error = StripeError::Timeout(attempt_timeout);
                }
            }
        }
    }

    fn request(
        &self,
        request: RequestBuilder,
        idempotency_key: Option<&str>,
    ) -> Result<Request<Full<Bytes>>, StripeError> {
        let mut uri = format!("{}v1{}", self.api_base, request.path);
        if let Some(query) = &request.query {
            uri.push('?');
            uri.push_str(query);
        }
        let mut builder = Request::builder()
            .method(match request.method {
                StripeMethod::Get => Method::GET,
                StripeMethod::Post => Method::POST,
                StripeMethod::Delete => Method::DELETE,
            })
            .uri(uri)
            .header(AUTHORIZATION, self.secret.clone())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(HeaderName::from_static("stripe-version"), self.version.clone());
        if let Some(key) = idempotency_key {
            builder = builder.header(HeaderName::from_static("idempotency-key"), key);
        }
        let body = match request.body {
            Some(form) => {
                builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Bytes::from(form)
            }
            None => Bytes::new(),
        };
        builder
            .body(Full::new(body))
            .map_err(|e| StripeError::Config(format!("request not formed: {e}")))
    }

    /// One attempt: status, Stripe's `Stripe-Should-Retry` advice, body.
    async fn attempt(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, Option<bool>, Bytes), StripeError> {
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        let status = response.status();
        let should_retry = response
            .headers()
            .get("stripe-should-retry")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| StripeError::Transport(e.to_string()))?
            .to_bytes();
        Ok((status, should_retry, body))
    }
}

/// Stripe's error object, read for the fields seatflow acts on.
fn api_error(status: StatusCode, body: &[u8]) -> StripeError {
    #[derive(Deserialize)]
    struct Envelope {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        #[serde(rename = "type")]
        kind: String,
        code: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => StripeError::Api {
            status: status.as_u16(),
            kind: error.kind,
            code: error.code,
            message: error.message,
        },
        // A proxy's or load balancer's page, not Stripe's object.
        Err(_) => StripeError::Decode(format!("status {status} without Stripe's error object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_object_is_read_for_type_code_and_message() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such price","param":"price","request_log_url":"https://dashboard.stripe.com/x"}}"#;
        match api_error(StatusCode::NOT_FOUND, body) {
            StripeError::Api {
                status,
                kind,
                code,
                message,
            } => {
                assert_eq!(status, 404);
                assert_eq!(kind, "invalid_request_error");
                assert_eq!(code.as_deref(), Some("resource_missing"));
                assert_eq!(message.as_deref(), Some("No such price"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            api_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>"),
            StripeError::Decode(_)
        ));
    }

    #[test]
    fn a_base_url_must_be_http_and_end_in_a_slash() {
        for bad in ["api.stripe.com/", "https://api.stripe.com", "ftp://x/"] {
            let built = StripeApi::new("sk_test_x", Some(bad), RequestStrategy::Once);
            assert!(matches!(built, Err(StripeError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn the_secret_key_is_never_printed() {
        let api = StripeApi::new("sk_test_do_not_print", None, RequestStrategy::Once).expect("client");
        assert!(!format!("{api:?}").contains("sk_test_do_not_print"));
    }
}
