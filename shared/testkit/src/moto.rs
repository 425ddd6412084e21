//! Reading moto server's own state: what it recorded as sent by SES.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// moto's address, from `AWS_ENDPOINT_URL`. Panics, never skips, without it.
#[must_use]
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: these tests need moto server (run them with `make test`)")
    })
}

/// Every message moto's SES accepted from `source`, oldest first, as moto
/// records them (`subject`, `body` — the HTML part when there is one —,
/// `destinations.ToAddresses`, `source`).
pub async fn sent_mail(source: &str) -> Vec<serde_json::Value> {
    let data = get_json("/moto-api/data.json").await;
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["source"] == source)
        .cloned()
        .collect()
}

/// GET `path` on moto (plain HTTP/1.0, so the body ends at close).
async fn get_json(path: &str) -> serde_json::Value {
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("moto reachable");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("response");
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    serde_json::from_str(body).expect("moto's state is JSON")
}
