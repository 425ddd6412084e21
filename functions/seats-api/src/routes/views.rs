//! Request bodies, query parameters and response envelopes of the API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seatflow_domain::{AuditEntry, Outcome};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// `?format=csv` selects the CSV export.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (default).
    #[default]
    Json,
    /// CSV with a header row.
    Csv,
}

/// Export format.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Format,
}

/// A CSV attachment.
pub fn csv_response(filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A response whose body is written part by part as the client reads it,
/// `attachment` naming the file to save it as.
pub fn streamed(
    content_type: &'static str,
    attachment: Option<&str>,
    parts: impl Iterator<Item = Vec<u8>> + Send + 'static,
) -> Response {
    let body = axum::body::Body::from_stream(futures_util::stream::iter(
        parts.map(Ok::<_, std::convert::Infallible>),
    ));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(content_type),
    );
    if let Some(name) = attachment
        && let Ok(value) = axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A text cell as it may go into a CSV file that people open in a
/// spreadsheet: a cell that begins with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be read as a formula, so it gets a leading `'`
/// (OWASP's rule for CSV injection). Everything else is unchanged.
#[must_use]
pub fn csv_cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// Writes CSV rows; infallible into memory.
#[allow(clippy::expect_used, reason = "writing into memory cannot fail")]
pub fn to_csv<R: Serialize>(rows: impl IntoIterator<Item = R>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .expect("serialising into memory cannot fail");
    }
    writer.into_inner().expect("flushing into memory cannot fail")
}
