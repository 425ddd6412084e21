//! Posting an event to an endpoint: the [`Transport`] port, and
//! [`HttpTransport`] on the same HTTP and TLS stack as the rest (hyper,
//! rustls on aws-lc, the system's trust roots). No redirects are followed:
//! an endpoint that moved answers 3xx, which counts as a failure to fix.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HeaderName, USER_AGENT};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How much of an answer's body the delivery log keeps.
pub const ANSWER_EXCERPT: usize = 512;
/// How long an endpoint has to answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What an endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The start of the body.
    pub excerpt: String,
}

/// Why no answer came, in words for the delivery log: the innermost cause
/// (hyper's own message says only "client error (Connect)").
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if error.is_connect() {
        format!("could not connect: {cause}")
    } else {
        format!("no answer: {cause}")
    }
}

/// Posts a signed event.
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Posts `body` as JSON with `headers` to `url`.
    ///
    /// # Errors
    /// Why no answer came (refused, timed out, TLS), for the delivery log.
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<Answer, String>;
}

/// Posts over HTTPS (and plain HTTP, which only local use configures).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpTransport {
    /// A transport with the system's trust roots.
    ///
    /// # Errors
    /// When no trust roots are found.
    pub fn new() -> Result<Self, String> {
        let connector = HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no trust roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: ATTEMPT_TIMEOUT,
        })
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut request = Request::post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("seatflow-webhooks/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            request = request.header(name, value);
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            // Read a little of the body, never all of a hostile one.
            let body = Limited::new(response.into_body(), 64 * 1024).collect().await;
            let excerpt = body.map_or_else(
                |_| String::new(),
                |b| {
                    let bytes = b.to_bytes();
                    String::from_utf8_lossy(&bytes[..bytes.len().min(ANSWER_EXCERPT)]).into_owned()
                },
            );
            Ok(Answer { status, excerpt })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs()))?
    }
}
