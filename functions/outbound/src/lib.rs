//! Outbound webhooks on AWS, as two functions.
//!
//! - **The outbox relay** reads the table's DynamoDB stream, filtered (by the
//!   event source mapping) to new `OUTBOX#` items: each holds the events one
//!   committed change emitted. It queues one delivery per endpoint that
//!   wants each event on the SQS FIFO delivery queue ([`stream`]). A stream
//!   rather than a scheduled outbox reader: events leave within a second of
//!   their commit, in commit order per organisation (the stream keeps the
//!   order of one partition's writes), and nothing polls an empty table.
//! - **The delivering function** takes the queue's messages, signs and posts
//!   each, and on failure holds the message back for the backoff by its
//!   visibility, which also holds back the rest of its group: one user's
//!   events reach an endpoint in order ([`delivery`]).

pub mod delivery;
pub mod stream;
