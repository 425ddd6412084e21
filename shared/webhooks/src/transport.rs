//! Posting an event to an endpoint: the [`Transport`] port, and
//! [`HttpTransport`] on the same HTTP and TLS stack as the rest (hyper,
//! rustls on aws-lc, the system's trust roots). No redirects are followed:
//! an endpoint that moved answers 3xx, which counts as a failure to fix.
//!
//! An endpoint's URL names whatever its owner likes, so a delivery never
//! becomes a way into the deployment's own network: it connects only to
//! public addresses (checked on the addresses a name resolves to, the ones
//! actually connected to, and on address literals), deployed only on port
//! 443; and of an answer that is not 2xx only the status is kept.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HeaderName, USER_AGENT};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::TokioExecutor;
use seatflow_domain::may_deliver_to;

/// How much of an answer's body the delivery log keeps.
pub const ANSWER_EXCERPT: usize = 512;
/// How long an endpoint has to answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an endpoint has to accept the connection: a silent host frees
/// the delivery Lambda quickly.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

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

/// Resolves names to the addresses deliveries may connect to: the
/// system's resolver, without any address outside the public internet
/// (loopback too, locally); a name with none left is refused.
#[derive(Debug, Clone)]
struct PublicAddresses {
    resolver: GaiResolver,
    allow_loopback: bool,
}

impl tower_service::Service<Name> for PublicAddresses {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.resolver.poll_ready(cx)
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_loopback = self.allow_loopback;
        let resolving = self.resolver.call(name.clone());
        Box::pin(async move {
            let allowed: Vec<SocketAddr> = resolving
                .await?
                .filter(|address| may_deliver_to(address.ip(), allow_loopback))
                .collect();
            if allowed.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{name} resolves to no public address"),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// Posts over HTTPS (and plain HTTP, which only local use configures).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: Client<HttpsConnector<HttpConnector<PublicAddresses>>, Full<Bytes>>,
    timeout: Duration,
    /// Local use: loopback receivers on any port, over plain HTTP too.
    local: bool,
}

impl HttpTransport {
    /// A deployed transport: HTTPS on port 443 to public addresses only,
    /// with the system's trust roots.
    ///
    /// # Errors
    /// When no trust roots are found.
    pub fn public_only() -> Result<Self, String> {
        Self::build(false)
    }

    /// A transport for local use: as [`Self::public_only`], and also plain
    /// HTTP and loopback receivers on any port (a development receiver).
    ///
    /// # Errors
    /// When no trust roots are found.
    pub fn new() -> Result<Self, String> {
        Self::build(true)
    }

    fn build(local: bool) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(PublicAddresses {
            resolver: GaiResolver::new(),
            allow_loopback: local,
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no trust roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: ATTEMPT_TIMEOUT,
            local,
        })
    }

    /// Refuses, before connecting, what no name resolution decides: an
    /// address literal outside the public internet, and (deployed) any
    /// scheme but https or port but 443.
    fn check_destination(&self, uri: &hyper::Uri) -> Result<(), String> {
        let host = uri.host().ok_or("the URL names no host")?;
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<std::net::IpAddr>()
            && !may_deliver_to(ip, self.local)
        {
            return Err(format!("refused: {ip} is not a public address"));
        }
        if !self.local && (uri.scheme_str() != Some("https") || uri.port_u16().is_some_and(|p| p != 443)) {
            return Err("refused: deliveries go to https:// on port 443 only".into());
        }
        Ok(())
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
        self.check_destination(request.uri())?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            if !response.status().is_success() {
                // Only the status: an error page shown back would make
                // deliveries a way to read what the host would not say.
                return Ok(Answer {
                    status,
                    excerpt: String::new(),
                });
            }
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
