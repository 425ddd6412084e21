//! Reading moto server's own state: what it recorded as sent by SES.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Whether the AWS SDK is pointed at a stand-in (`AWS_ENDPOINT_URL`, as
/// `scripts/with-moto.sh` sets it): benchmarks measure on moto only then.
pub async fn configured() -> bool {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest())
        .await
        .endpoint_url()
        .is_some()
}

/// moto's address, `AWS_ENDPOINT_URL` as the AWS SDK reads it. Panics,
/// never skips, without it.
pub async fn endpoint() -> String {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest())
        .await
        .endpoint_url()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            panic!("AWS_ENDPOINT_URL is not set: these tests need moto server (run them with `make test`)")
        })
}

/// Every message moto's SES accepted from `source`, oldest first, as moto
/// records them (`subject`, `body` — the HTML part when there is one —,
/// `destinations.ToAddresses`, `source`).
///
/// Read from the route `scripts/moto_server.py` adds, which reads moto's SES
/// backend directly; on a moto server without it, from moto's
/// `/moto-api/data.json`, which dumps every model instance moto holds and
/// so gets slow (a minute a call) once many tests have written to it.
pub async fn sent_mail(source: &str) -> Vec<serde_json::Value> {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("source", source)
        .finish();
    if let Some(sent) = get_json(&format!("/_seatflow/ses/sent-messages?{query}")).await {
        return serde_json::from_value(sent).expect("a list of messages");
    }
    let data = get_json("/moto-api/data.json")
        .await
        .expect("moto serves /moto-api/data.json");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["source"] == source)
        .cloned()
        .collect()
}

/// GET `path` on moto (plain HTTP/1.0, so the body ends at close): its JSON
/// body, or `None` when moto answers 404.
async fn get_json(path: &str) -> Option<serde_json::Value> {
    let endpoint = endpoint().await;
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
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if status == "404" {
        return None;
    }
    assert_eq!(status, "200", "{head}");
    Some(serde_json::from_str(body).expect("moto's answer is JSON"))
}
