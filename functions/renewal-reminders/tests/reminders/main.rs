//! The reminders job: notices on moto's SES, and the events it reads.
//! One binary (one link) for the crate's integration tests.

mod events;
mod reminders;
