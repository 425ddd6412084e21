//! Users imported in bulk: JSON rows or a CSV file, each row's outcome reported.

use axum::Json;
use axum::extract::State;
use seatflow_domain::{ImportReport, ImportRow};
use seatflow_http::extract::read_body;
use seatflow_http::{ApiError, ApiQuery, Caller, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use seatflow_http::AppState;

use super::views::DryRun;

/// Most bytes an import may have: 1,000 rows of generous length.
const MAX_IMPORT_BODY: usize = 512 * 1024;

/// An import as JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUsers {
    /// The rows, 1 to 1,000.
    pub users: Vec<ImportRow>,
}

/// Imports up to 1,000 users from CSV (`Content-Type: text/csv`, a header
/// row naming the columns `name`, `email`, and optionally `role`, `team`,
/// `seat`, `id`) or JSON (`{"users": [...]}`). Each row is validated and
/// applied on its own, with a report per row; a row whose email the
/// organisation has is left as it is, so the same import run again creates
/// nobody twice. `dry_run` checks every row and writes nothing.
#[utoipa::path(post, path = "/v1/users/import", tag = "users", params(DryRun),
    request_body(content(
        (ImportUsers = "application/json"),
        (String = "text/csv", example = "name,email,role,team,seat\nAda Lovelace,ada@example.com,member,team_red,professional")
    )),
    responses((status = 200, body = ImportReport, description = "Every row's outcome"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_users(
    Caller(caller): Caller,
    State(app): State<AppState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    request: axum::extract::Request,
) -> Result<Json<ImportReport>, ApiError> {
    let mime = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let rows = match mime.as_str() {
        "text/csv" => {
            let bytes = read_body(request, MAX_IMPORT_BODY).await?;
            csv_rows(&bytes)?
        }
        "application/json" => {
            let bytes = read_body(request, MAX_IMPORT_BODY).await?;
            seatflow_http::extract::parse_json::<ImportUsers>(&bytes)?.users
        }
        _ => {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the rows as Content-Type: text/csv or application/json",
            ));
        }
    };
    Ok(Json(
        app.seats
            .directory()
            .import_users(&caller, &rows, dry.mode())
            .await?,
    ))
}

/// CSV rows by their header, each naming the row at fault.
fn csv_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    reader
        .deserialize::<ImportRow>()
        .enumerate()
        .map(|(index, row)| {
            row.map_err(|e| {
                ApiError::from(seatflow_domain::ValidationError::new(
                    format!("row {}", index + 1),
                    format!("is not a row of name,email[,role,team,seat,id]: {e}"),
                ))
            })
        })
        .collect()
}
