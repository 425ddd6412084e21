//! Exports people open in a spreadsheet: usage and every seat with its
//! holder, as CSV (cells that would be read as formulas neutralised) or
//! JSON, written out as they are read. The API and the portal answer with
//! the same files.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use seatflow_domain::{Actor, AssignmentRow, SeatError, Seats, Usage, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// One CSV row: a scope (organisation, product or team) and its counts.
#[derive(Debug, Serialize)]
struct UsageRow {
    scope: &'static str,
    team_id: String,
    team_name: String,
    product: String,
    purchased: Option<u32>,
    allocated: Option<u32>,
    assigned: u32,
    available: Option<u32>,
}

fn usage_rows(usage: Usage) -> Vec<UsageRow> {
    let mut rows = Vec::new();
    if let Some(org) = usage.organization {
        rows.push(UsageRow {
            scope: "organization",
            team_id: String::new(),
            team_name: String::new(),
            product: String::new(),
            purchased: Some(org.purchased),
            allocated: Some(org.allocated),
            assigned: org.assigned,
            available: Some(org.available),
        });
    }
    rows.extend(usage.products.into_iter().map(|p| UsageRow {
        scope: "product",
        team_id: String::new(),
        team_name: String::new(),
        product: p.product.to_string(),
        purchased: Some(p.purchased),
        allocated: Some(p.allocated),
        assigned: p.assigned,
        available: Some(p.available),
    }));
    rows.extend(usage.teams.into_iter().map(|t| UsageRow {
        scope: "team",
        team_id: t.team.to_string(),
        team_name: t.team_name,
        product: t.product.to_string(),
        purchased: None,
        allocated: t.allocated,
        assigned: t.assigned,
        available: t.allocated.map(|a| a.saturating_sub(t.assigned)),
    }));
    rows
}

/// Usage as CSV: a row for the organisation, each product and each team.
#[must_use]
pub fn usage_csv(usage: Usage) -> Vec<u8> {
    to_csv(usage_rows(usage).into_iter().map(|row| UsageRow {
        team_id: csv_cell(row.team_id),
        team_name: csv_cell(row.team_name),
        product: csv_cell(row.product),
        ..row
    }))
}

/// One seat and its holder, as exported.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentExportRow {
    /// Holder's id.
    pub user_id: String,
    /// Holder's name.
    pub name: String,
    /// Holder's email.
    pub email: String,
    /// Team whose counters count the seat.
    pub team_id: String,
    /// Product.
    pub product: String,
    /// When assigned.
    pub assigned_at: DateTime<Utc>,
}

/// Holders per export page unless `limit` says otherwise, and at most:
/// 10,000 holders (a few seats each) stay well under Lambda's 6 MB response.
pub const EXPORT_PAGE: usize = 10_000;

/// One page of every seat with its holder as a response: `limit` holders
/// after `after`, read from the store in pages of
/// [`seatflow_domain::MAX_PAGE`] before answering (and one more, so that the
/// status and `Link` are right), then written out as they are turned into
/// rows. When more holders follow, the response carries
/// `Link: <{path}?format=…&limit=…&after=…>; rel="next"`.
///
/// # Errors
/// The store's; a caller who may not see every seat.
pub async fn assignment_export(
    seats: &Seats,
    caller: &Actor,
    format: Format,
    after: Option<UserId>,
    limit: usize,
    path: &str,
) -> Result<Response, SeatError> {
    let mut chunks = Vec::new();
    let mut after = after;
    let mut holders = 0;
    let mut next = None;
    while holders < limit {
        let want = (limit - holders).min(seatflow_domain::MAX_PAGE);
        let page = seats
            .views()
            .assignment_page(caller, after.as_ref(), want)
            .await?;
        holders += want;
        after = page.next.clone();
        chunks.push(page.rows);
        if after.is_none() {
            break;
        }
    }
    if holders >= limit
        && let Some(last) = after.clone()
        && seats
            .views()
            .assignment_page(caller, Some(&last), 1)
            .await?
            .next
            .is_some()
    {
        next = Some(last);
    }
    let mut response = match format {
        Format::Json => streamed("application/json", None, json_stream(chunks)),
        Format::Csv => streamed(
            "text/csv; charset=utf-8",
            Some("assignments.csv"),
            csv_stream(chunks),
        ),
    };
    if let Some(next) = next {
        let format = match format {
            Format::Json => "json",
            Format::Csv => "csv",
        };
        let link = format!("<{path}?format={format}&limit={limit}&after={next}>; rel=\"next\"");
        if let Ok(value) = axum::http::HeaderValue::from_str(&link) {
            response.headers_mut().insert(axum::http::header::LINK, value);
        }
    }
    Ok(response)
}

fn export_row(r: AssignmentRow) -> AssignmentExportRow {
    AssignmentExportRow {
        user_id: r.user.id.to_string(),
        name: r.user.name.as_str().to_owned(),
        email: r
            .user
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        team_id: r.assignment.team.map(|t| t.to_string()).unwrap_or_default(),
        product: r.assignment.product.to_string(),
        assigned_at: r.assignment.assigned_at,
    }
}

/// The rows as a JSON array, written one chunk at a time.
fn json_stream(chunks: Vec<Vec<AssignmentRow>>) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    let mut first = true;
    std::iter::once(b"[".to_vec())
        .chain(chunks.into_iter().map(move |chunk| {
            let mut out = Vec::new();
            for row in chunk {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                // Plain strings and a timestamp always serialise.
                let _ = serde_json::to_writer(&mut out, &export_row(row));
            }
            out
        }))
        .chain(std::iter::once(b"]".to_vec()))
}

/// The rows as CSV with a header row, written one chunk at a time.
fn csv_stream(chunks: Vec<Vec<AssignmentRow>>) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    let mut header = true;
    chunks.into_iter().map(move |chunk| {
        // The header row goes before the first row, wherever that is.
        let with_header = header && !chunk.is_empty();
        header &= chunk.is_empty();
        let mut writer = csv::WriterBuilder::new()
            .has_headers(with_header)
            .from_writer(Vec::new());
        for row in chunk {
            let row = export_row(row);
            let row = AssignmentExportRow {
                user_id: csv_cell(row.user_id),
                name: csv_cell(row.name),
                email: csv_cell(row.email),
                team_id: csv_cell(row.team_id),
                product: csv_cell(row.product),
                ..row
            };
            // Writing into memory cannot fail.
            let _ = writer.serialize(row);
        }
        writer.into_inner().unwrap_or_default()
    })
}
