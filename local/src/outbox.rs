//! Local stand-ins for SES and the daily schedule: `GET /dev/outbox` lists
//! the emails the reminders job "sent" for the caller's organisation, and
//! `POST /dev/reminders/run` runs the job now (admins only, both).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use seatflow_domain::OutgoingEmail;
use seatflow_http::AppState;
use seatflow_http::auth::{Authenticator, HasAuthenticator};
use seatflow_http::{ApiError, Caller};
use seatflow_memory::MemoryOutbox;
use seatflow_renewal_reminders::{Reminders, RunReport};

/// What the dev routes need.
#[derive(Clone)]
pub struct DevState {
    pub app: AppState,
    pub outbox: Arc<MemoryOutbox>,
    pub reminders: Arc<Reminders>,
}

impl HasAuthenticator for DevState {
    fn authenticator(&self) -> &Authenticator {
        &self.app.auth
    }
}

pub fn router(state: DevState) -> Router {
    Router::new()
        .route("/dev/outbox", get(outbox))
        .route("/dev/reminders/run", post(run_reminders))
        .with_state(state)
}

async fn outbox(
    Caller(caller): Caller,
    State(dev): State<DevState>,
) -> Result<Json<Vec<OutgoingEmail>>, ApiError> {
    caller.require_person_admin("read the outbox")?;
    let mine = dev
        .outbox
        .messages()
        .into_iter()
        .filter(|m| m.org == caller.org)
        .collect();
    Ok(Json(mine))
}

async fn run_reminders(
    Caller(caller): Caller,
    State(dev): State<DevState>,
) -> Result<Json<RunReport>, ApiError> {
    caller.require_person_admin("run the reminders")?;
    let mut report = dev.reminders.run().await?;
    // The job runs for every organisation; the caller sees their own notices.
    let own = format!("{}/", caller.org);
    report.sent.retain(|id| id.starts_with(&own));
    report.failed.retain(|id| id.starts_with(&own));
    Ok(Json(report))
}
