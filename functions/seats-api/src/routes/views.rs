//! Request bodies, query parameters and response envelopes of the API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seatflow_domain::{AuditEntry, Outcome};
use serde::Serialize;
use utoipa::ToSchema;

pub use seatflow_http::DryRun;

/// The response of every mutation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mutation<T> {
    /// True when nothing was written.
    pub dry_run: bool,
    /// The resulting state.
    pub result: T,
    /// The audit entry written (or that would be written).
    pub audit: AuditEntry,
}

impl<T: Serialize> Mutation<T> {
    /// A mutation response: `created` answers 201 unless it was a dry run.
    pub fn respond(outcome: Outcome<T>, created: bool) -> Response {
        let status = if created && !outcome.dry_run {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let body = Mutation {
            dry_run: outcome.dry_run,
            result: outcome.value,
            audit: outcome.audit,
        };
        (status, Json(body)).into_response()
    }
}

pub use seatflow_http::export::{Format, FormatQuery, csv_response};
