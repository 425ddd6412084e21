//! Importing users in bulk: each row validated and applied on its own (one
//! user, optionally with a seat, per change), with a report per row; rows
//! whose email the organisation already has are left as they are, so running
//! the same import again creates nobody twice.

use serde::{Deserialize, Serialize};

use super::Directory;
use super::commit::Mode;
use crate::access::Actor;
use crate::directory::{DisplayName, Email, NewUser, Role};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, TeamId, UserId};

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 1_000;

/// One row as given (CSV columns or JSON fields), validated on import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    /// Display name.
    pub name: String,
    /// Email, unique in the organisation: the import's key.
    pub email: String,
    /// `admin`, `team_manager` or `member` (default).
    #[serde(default)]
    pub role: Option<String>,
    /// Team id, if any.
    #[serde(default)]
    pub team: Option<String>,
    /// A plan's product to assign a seat of, if any.
    #[serde(default)]
    pub seat: Option<String>,
    /// The id to give the user (your own user id), if any.
    #[serde(default)]
    pub id: Option<String>,
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// The user was created (or would be, in a dry run).
    Created,
    /// A user with this email exists: left as they are.
    Exists,
    /// The row was refused; `code` and `detail` say why.
    Failed,
}

/// The report of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowResult {
    /// The row's number, from 1 (a CSV header is not counted).
    pub row: usize,
    /// The row's email, as given.
    pub email: String,
    /// What became of it.
    pub status: RowStatus,
    /// The user created or found.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub user: Option<UserId>,
    /// Why it was refused: a stable problem code.
    pub code: Option<&'static str>,
    /// Why it was refused, for a person.
    pub detail: Option<String>,
}

/// The report of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// True when nothing was written.
    pub dry_run: bool,
    /// Rows that created a user.
    pub created: usize,
    /// Rows whose email existed.
    pub existing: usize,
    /// Rows refused.
    pub failed: usize,
    /// Every row, in order.
    pub rows: Vec<RowResult>,
}

impl ImportRow {
    /// The user this row describes.
    fn parse(&self) -> Result<(NewUser, Option<ProductId>), SeatError> {
        fn field(name: &'static str) -> impl Fn(ValidationError) -> SeatError {
            move |e| SeatError::from(e.for_field(name))
        }
        fn text(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let role = match text(&self.role) {
            None | Some("member") => Role::Member,
            Some("admin") => Role::Admin,
            Some("team_manager") => Role::TeamManager,
            Some(other) => {
                return Err(ValidationError::new(
                    "role",
                    format!("must be admin, team_manager or member, not '{other}'"),
                )
                .into());
            }
        };
        let new = NewUser {
            id: text(&self.id)
                .map(UserId::parse)
                .transpose()
                .map_err(field("id"))?,
            name: DisplayName::parse(&self.name).map_err(field("name"))?,
            email: Some(Email::parse(self.email.trim()).map_err(field("email"))?),
            directory: None,
            role,
            team: text(&self.team)
                .map(TeamId::parse)
                .transpose()
                .map_err(field("team"))?,
        };
        let seat = text(&self.seat)
            .map(ProductId::parse)
            .transpose()
            .map_err(field("seat"))?;
        Ok((new, seat))
    }
}

impl Directory<'_> {
    /// Imports up to [`MAX_IMPORT_ROWS`] users, each row validated and
    /// applied on its own (a refused row leaves the others), reporting every
    /// row. A row whose email the organisation has is left as it is. In a
    /// dry run each row is checked as it would be applied, and nothing is
    /// written.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; a validation error for no rows
    /// or more than [`MAX_IMPORT_ROWS`]. Row failures are in the report.
    pub async fn import_users(
        self,
        actor: &Actor,
        rows: &[ImportRow],
        mode: Mode,
    ) -> Result<ImportReport, SeatError> {
        actor.require_admin("import users")?;
        if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
            return Err(ValidationError::new(
                "users",
                format!("an import takes 1 to {MAX_IMPORT_ROWS} rows, not {}", rows.len()),
            )
            .into());
        }
        let mut report = ImportReport {
            dry_run: mode == Mode::DryRun,
            created: 0,
            existing: 0,
            failed: 0,
            rows: Vec::with_capacity(rows.len()),
        };
        let mut seen = std::collections::HashSet::new();
        for (index, row) in rows.iter().enumerate() {
            let mut result = RowResult {
                row: index + 1,
                email: row.email.clone(),
                status: RowStatus::Failed,
                user: None,
                code: None,
                detail: None,
            };
            match self.import_one(actor, row, &mut seen, mode).await {
                Ok((status, user)) => {
                    result.status = status;
                    result.user = Some(user);
                }
                Err(error) => {
                    result.code = Some(error.code());
                    result.detail = Some(error.to_string());
                }
            }
            match result.status {
                RowStatus::Created => report.created += 1,
                RowStatus::Exists => report.existing += 1,
                RowStatus::Failed => report.failed += 1,
            }
            report.rows.push(result);
        }
        Ok(report)
    }

    async fn import_one(
        self,
        actor: &Actor,
        row: &ImportRow,
        seen: &mut std::collections::HashSet<Email>,
        mode: Mode,
    ) -> Result<(RowStatus, UserId), SeatError> {
        let (new, seat) = row.parse()?;
        let email = new
            .email
            .clone()
            .ok_or_else(|| ValidationError::new("email", "is required"))?;
        if !seen.insert(email.clone()) {
            return Err(ValidationError::new("email", "appears on an earlier row of this import").into());
        }
        match self.create_user(actor, new.clone(), seat.as_ref(), mode).await {
            Ok(outcome) => Ok((RowStatus::Created, outcome.value.user.id)),
            // The creation reads the email claim in its snapshot: a taken
            // email is a user the organisation has, left as they are.
            Err(SeatError::EmailTaken(_)) => match self.store.holder_by_email(&actor.org, &email).await? {
                Some(existing) => Ok((RowStatus::Exists, existing.user.id)),
                None => Err(SeatError::EmailTaken(email.as_str().to_owned())),
            },
            Err(other) => Err(other),
        }
    }
}
