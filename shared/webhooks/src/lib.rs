//! Outbound webhooks. A change's events are committed with it as its outbox
//! (see `seatflow_domain::OutboundEvent`); the [`Relay`] turns them into one
//! delivery per endpoint that wants them and queues those, in order per
//! endpoint and user (the queue's group); the [`Deliverer`] signs
//! ([`signature`]) and posts each, logs the answer, and retries with
//! exponential backoff and jitter ([`retry`]) for three days, after which
//! the delivery fails and the endpoint is disabled, its admins emailed.
//!
//! On AWS the relay reads the table's stream and the queue is SQS FIFO; in
//! one process ([`local`]) the in-memory store wakes the relay and
//! [`LocalQueue`] delivers.

mod deliver;
pub mod local;
mod relay;
pub mod retry;
pub mod signature;
mod transport;

pub use deliver::{Attempted, DeliverError, Deliverer, disabled_email};
pub use local::{LocalQueue, deliver_in_process};
pub use relay::{Relay, RelayError, redeliver};
pub use signature::{
    DEFAULT_TOLERANCE_SECONDS, ID_HEADER, SIGNATURE_HEADER, SignatureError, SignedHeaders, TIMESTAMP_HEADER,
    sign, verify,
};
pub use transport::{ANSWER_EXCERPT, ATTEMPT_TIMEOUT, Answer, CONNECT_TIMEOUT, HttpTransport, Transport};
