//! The local stand-ins for the reconciler's daily schedule: it runs once a
//! day in this process, and `POST /dev/reconcile` runs it now (admins only).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use seatflow_http::auth::{Authenticator, HasAuthenticator};
use seatflow_http::{ApiError, AppState, Caller};
use seatflow_reconciler::{ReconcileError, ReconcileReport, Reconciler};

/// What the route needs.
#[derive(Clone)]
pub struct ReconcileState {
    pub app: AppState,
    pub reconciler: Arc<Reconciler>,
}

impl HasAuthenticator for ReconcileState {
    fn authenticator(&self) -> &Authenticator {
        &self.app.auth
    }
}

pub fn router(state: ReconcileState) -> Router {
    Router::new()
        .route("/dev/reconcile", post(reconcile_now))
        .with_state(state)
}

/// Runs reconciliation now and answers its report (counts only: the run
/// covers every organisation, and names none).
async fn reconcile_now(
    Caller(caller): Caller,
    State(state): State<ReconcileState>,
) -> Result<Json<ReconcileReport>, ApiError> {
    caller.require_person_admin("run reconciliation")?;
    match state.reconciler.run(None).await {
        Ok(report) => Ok(Json(report)),
        Err(ReconcileError::Provider { source, .. }) => Err(source.into()),
        Err(ReconcileError::Grants(source)) => Err(source.into()),
        Err(ReconcileError::Incomplete(report)) => Ok(Json(*report)),
    }
}

/// The local stand-in for the daily EventBridge schedule.
pub async fn daily(reconciler: Arc<Reconciler>) {
    let day = std::time::Duration::from_secs(24 * 3600);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + day, day);
    loop {
        ticks.tick().await;
        if let Err(error) = reconciler.run(None).await {
            tracing::error!(error = %error, "reconciliation failed");
        }
    }
}
