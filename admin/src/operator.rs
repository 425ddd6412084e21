//! `seatflow-admin operator …`: the operators' routes of a deployed seatflow
//! (`/v1/operator`), for scripts. Each command prints the API's JSON answer;
//! a refused request prints its problem and fails.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A client of the operators' routes.
pub struct OperatorApi {
    base: String,
    key: HeaderValue,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for OperatorApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("OperatorApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Whether the operator key may be sent to `base`: over TLS anywhere, in
/// plain text only to this machine. The host is parsed, so that
/// `http://localhost.evil.example` is not this machine.
#[must_use]
pub fn key_may_travel_to(base: &str) -> bool {
    let Ok(uri) = base.parse::<hyper::Uri>() else {
        return false;
    };
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(_)) => true,
        (Some("http"), Some(host)) => matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1"),
        _ => false,
    }
}

impl OperatorApi {
    /// At `base` (`SEATFLOW_API_URL`, the stack output `ApiUrl`) with `key`
    /// (`SEATFLOW_OPERATOR_KEY`, an `sfo_…` key).
    ///
    /// # Errors
    /// Either missing or malformed.
    pub fn new(base: Option<String>, key: Option<String>) -> anyhow::Result<Self> {
        let base = base.context("SEATFLOW_API_URL (the stack output ApiUrl) is not set")?;
        let key = key.context("SEATFLOW_OPERATOR_KEY (an sfo_… key) is not set")?;
        if !key.starts_with("sfo_") {
            bail!("SEATFLOW_OPERATOR_KEY must be an operator key (sfo_…)");
        }
        let base = base.trim_end_matches('/').to_owned();
        if !key_may_travel_to(&base) {
            bail!(
                "SEATFLOW_API_URL must be https:// (plain http only to this machine: localhost, 127.0.0.1, [::1]): the key travels with every request"
            );
        }
        let mut key = HeaderValue::try_from(format!("Bearer {key}")).context("SEATFLOW_OPERATOR_KEY")?;
        key.set_sensitive(true);
        let connector = HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("no trust roots")?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            base,
            key,
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends `method path` with an optional JSON body; the answer's JSON.
    ///
    /// # Errors
    /// The request failed, or the API refused it (its problem's detail).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(AUTHORIZATION, self.key.clone());
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let response = self
            .http
            .request(request.body(Full::new(body))?)
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let detail = answer["detail"].as_str().unwrap_or("no detail");
            let code = answer["code"].as_str().unwrap_or("unknown");
            bail!("{method} {path} answered {status} {code}: {detail}");
        }
        Ok(answer)
    }
}

/// `?q=…&after=…&limit=…`, encoded.
#[must_use]
pub fn find_query(query: Option<&str>, after: Option<&str>, limit: Option<u32>) -> String {
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = query {
        pairs.append_pair("q", q);
    }
    if let Some(after) = after {
        pairs.append_pair("after", after);
    }
    if let Some(limit) = limit {
        pairs.append_pair("limit", &limit.to_string());
    }
    let encoded = pairs.finish();
    if encoded.is_empty() {
        encoded
    } else {
        format!("?{encoded}")
    }
}
