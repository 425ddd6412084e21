//! A webhook receiver on a local port, as a vendor would run one: it keeps
//! every event it accepts with its signature headers and raw body, and
//! answers with the status a test sets (200 unless told otherwise; only a
//! 200 keeps the event). Its answers take uneven time, as a real one's do.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// The Standard Webhooks headers of a post, as received (empty when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
}

/// What the receiver kept: the signature headers and the raw body.
type Kept = Arc<Mutex<Vec<(Signed, Bytes)>>>;

/// One received event: the signature headers, the parsed body, the raw body.
pub type ReceivedEvent = (Signed, serde_json::Value, Bytes);

/// The receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Where it listens (`http://127.0.0.1:PORT/hook`).
    pub url: String,
    kept: Kept,
    status: Arc<AtomicU16>,
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub async fn start() -> Self {
        let kept: Kept = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state((kept.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, kept, status }
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Every event kept so far, in arrival order.
    pub fn events(&self) -> Vec<ReceivedEvent> {
        self.kept
            .lock()
            .unwrap()
            .iter()
            .map(|(sig, body)| (sig.clone(), serde_json::from_slice(body).unwrap(), body.clone()))
            .collect()
    }

    /// Waits (up to 10 s) until `count` events were kept, and answers them.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedEvent> {
        for _ in 0..500 {
            if self.kept.lock().unwrap().len() >= count {
                return self.events();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the receiver got {} of {count} events",
            self.kept.lock().unwrap().len()
        );
    }
}

async fn receive(
    State((kept, status)): State<(Kept, Arc<AtomicU16>)>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signature = Signed {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    tokio::time::sleep(Duration::from_millis((body.len() % 4) as u64)).await;
    let code = status.load(Ordering::SeqCst);
    if code == 200 {
        kept.lock().unwrap().push((signature, body));
    }
    (StatusCode::from_u16(code).unwrap(), "answer from the receiver")
}
