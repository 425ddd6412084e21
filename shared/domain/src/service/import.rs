//! Importing users in bulk: each row validated on its own and the valid ones
//! committed in batches (many users, with their seats and one audit entry
//! each, per change), with a report per row; rows whose email the
//! organisation already has are left as they are, so running the same import
//! again creates nobody twice.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::Directory;
use super::commit::Mode;
use super::directory::SeatWanted;
use crate::access::Actor;
use crate::directory::{DisplayName, Email, NewUser, Role};
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{ProductId, TeamId, UserId};
use crate::store::{Change, SnapshotKeys};

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 1_000;

/// Most rows decided on one read and committed as one change. A row writes
/// its user, email claim and audit entry: 20 rows keep a batch inside one
/// DynamoDB transaction (100 items) with room for the pool and team counts.
pub const IMPORT_BATCH_ROWS: usize = 20;

/// Most records one batch's read takes (each row's email, its id when
/// given, each team and pool once). DynamoDB reads 100 in one transaction
/// since 2022; its emulators (moto, DynamoDB Local) still take 25.
pub const IMPORT_BATCH_READS: usize = 25;

/// How often a batch decided on moved state is decided again before its
/// rows are applied one by one.
const BATCH_ATTEMPTS: usize = 3;

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

/// A row that passed the checks needing no read, waiting for its batch.
struct Accepted {
    /// The row's place in the import, from 0.
    index: usize,
    new: NewUser,
    seat: Option<ProductId>,
}

impl RowResult {
    fn refused(&mut self, error: &SeatError) {
        self.status = RowStatus::Failed;
        self.code = Some(error.code());
        self.detail = Some(error.to_string());
    }

    fn settled(&mut self, status: RowStatus, user: UserId) {
        self.status = status;
        self.user = Some(user);
    }
}

impl Directory<'_> {
    /// Imports up to [`MAX_IMPORT_ROWS`] users, reporting every row: a
    /// refused row leaves the others, and a row whose email the organisation
    /// has is left as it is. Rows are decided [`IMPORT_BATCH_ROWS`] at a time
    /// on one read and committed as one change (one audit entry per user
    /// still); a batch the store refuses as a whole (a pool or allocation
    /// filled, an email taken meanwhile) is applied again row by row, each
    /// row on its own. In a dry run each batch is checked as it would be
    /// applied, and nothing is written.
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
        let mut results: Vec<RowResult> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| RowResult {
                row: index + 1,
                email: row.email.clone(),
                status: RowStatus::Failed,
                user: None,
                code: None,
                detail: None,
            })
            .collect();
        let mut emails = HashSet::new();
        let mut ids = HashSet::new();
        let mut accepted = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            match self.accept(actor, row, &mut emails, &mut ids) {
                Ok((new, seat)) => accepted.push(Accepted { index, new, seat }),
                Err(error) => results[index].refused(&error),
            }
        }
        for batch in batches(&accepted) {
            self.import_batch(actor, batch, mode, &mut results).await;
        }
        let count = |status| results.iter().filter(|r| r.status == status).count();
        Ok(ImportReport {
            dry_run: mode == Mode::DryRun,
            created: count(RowStatus::Created),
            existing: count(RowStatus::Exists),
            failed: count(RowStatus::Failed),
            rows: results,
        })
    }

    /// A row parsed and checked against what needs no read: the earlier
    /// rows' emails and ids, and who may create whom.
    fn accept(
        &self,
        actor: &Actor,
        row: &ImportRow,
        emails: &mut HashSet<Email>,
        ids: &mut HashSet<UserId>,
    ) -> Result<(NewUser, Option<ProductId>), SeatError> {
        let (new, seat) = row.parse()?;
        let email = new
            .email
            .clone()
            .ok_or_else(|| ValidationError::new("email", "is required"))?;
        if !emails.insert(email) {
            return Err(ValidationError::new("email", "appears on an earlier row of this import").into());
        }
        if let Some(id) = &new.id
            && !ids.insert(id.clone())
        {
            return Err(ValidationError::new("id", "appears on an earlier row of this import").into());
        }
        self.check_new_user(actor, &new, seat.as_ref())?;
        Ok((new, seat))
    }

    /// Decides `batch` on one read and commits it as one change; if the
    /// store refuses the change as a whole, applies its rows one by one.
    async fn import_batch(self, actor: &Actor, batch: &[Accepted], mode: Mode, results: &mut [RowResult]) {
        for attempt in 0..BATCH_ATTEMPTS {
            let (change, decided) = match self.decide_batch(actor, batch).await {
                Ok(decided) => decided,
                Err(error) => {
                    for row in batch {
                        results[row.index].refused(&error);
                    }
                    return;
                }
            };
            let committed = match change {
                None => true,
                Some(change) => match self.commit_decided(mode, (change, ())).await {
                    Ok(Some(_)) => true,
                    // Decided on a state that moved: decide the batch again.
                    Ok(None) if attempt + 1 < BATCH_ATTEMPTS => {
                        self.store
                            .pause_before_retry(u32::try_from(attempt).unwrap_or(u32::MAX))
                            .await;
                        continue;
                    }
                    Ok(None) | Err(_) => false,
                },
            };
            if !committed {
                break;
            }
            for (index, decision) in decided {
                match decision {
                    Ok((status, user)) => results[index].settled(status, user),
                    Err(error) => results[index].refused(&error),
                }
            }
            return;
        }
        for row in batch {
            match self.import_row(actor, row, mode).await {
                Ok((status, user)) => results[row.index].settled(status, user),
                Err(error) => results[row.index].refused(&error),
            }
        }
    }

    /// `batch` decided on one read: the change creating its new users
    /// (none if it creates nobody) and what became of each row.
    async fn decide_batch(
        self,
        actor: &Actor,
        batch: &[Accepted],
    ) -> Result<(Option<Change>, Vec<(usize, RowDecision)>), SeatError> {
        let keys = batch_keys(batch);
        let now = self.clock.now();
        let read = self.store.snapshot(&actor.org, &keys).await?;
        let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
        let mut draft = Draft::new(&actor.org);
        let mut entries = Vec::new();
        let mut decided = Vec::with_capacity(batch.len());
        for row in batch {
            let seat = row.seat.as_ref().map(SeatWanted::Required);
            let decision = match Self::decide_new_user(actor, &read, &mut book, &row.new, seat, true, now) {
                Ok(value) => {
                    entries.push(self.user_created(actor, now, &value));
                    let id = value.user.id.clone();
                    draft.put(None, value);
                    Ok((RowStatus::Created, id))
                }
                // A taken email is a user the organisation has, left as they are.
                Err(SeatError::EmailTaken(taken)) => read
                    .emails
                    .iter()
                    .find(|(email, _)| Some(email) == row.new.email.as_ref())
                    .map(|(_, user)| (RowStatus::Exists, user.clone()))
                    .ok_or(SeatError::EmailTaken(taken)),
                Err(error) => Err(error),
            };
            decided.push((row.index, decision));
        }
        let mut entries = entries.into_iter();
        let Some(first) = entries.next() else {
            return Ok((None, decided));
        };
        let mut further: Vec<_> = entries.collect();
        further.extend(self.auto_purchase_entries(actor, now, &book).await?);
        book.write_into(&mut draft);
        Ok((Some(draft.finish_batch(first, further)), decided))
    }

    /// One row applied on its own: created, or left as it is when its email
    /// is taken.
    async fn import_row(
        self,
        actor: &Actor,
        row: &Accepted,
        mode: Mode,
    ) -> Result<(RowStatus, UserId), SeatError> {
        match self
            .create_user(actor, row.new.clone(), row.seat.as_ref(), mode)
            .await
        {
            Ok(outcome) => Ok((RowStatus::Created, outcome.value.user.id)),
            // The creation reads the email claim in its snapshot: a taken
            // email is a user the organisation has, left as they are.
            Err(SeatError::EmailTaken(taken)) => {
                let found = match &row.new.email {
                    Some(email) => self.store.holder_by_email(&actor.org, email).await?,
                    None => None,
                };
                match found {
                    Some(existing) => Ok((RowStatus::Exists, existing.user.id)),
                    None => Err(SeatError::EmailTaken(taken)),
                }
            }
            Err(other) => Err(other),
        }
    }
}

/// The records a batch's decision reads: each row's email and id, each
/// team and pool once.
fn batch_keys(batch: &[Accepted]) -> SnapshotKeys {
    let mut keys = SnapshotKeys::default();
    for row in batch {
        keys.holders.extend(row.new.id.iter().cloned());
        keys.emails.extend(row.new.email.iter().cloned());
        if let Some(team) = &row.new.team
            && !keys.teams.contains(team)
        {
            keys.teams.push(team.clone());
        }
        if let Some(product) = &row.seat
            && !keys.pools.contains(product)
        {
            keys.pools.push(product.clone());
        }
    }
    keys.organization = !keys.pools.is_empty();
    keys
}

fn read_count(keys: &SnapshotKeys) -> usize {
    keys.holders.len()
        + keys.emails.len()
        + keys.teams.len()
        + keys.pools.len()
        + usize::from(keys.organization)
}

/// `accepted` cut into batches of consecutive rows, each at most
/// [`IMPORT_BATCH_ROWS`] rows reading at most [`IMPORT_BATCH_READS`] records.
fn batches(accepted: &[Accepted]) -> Vec<&[Accepted]> {
    let mut batches = Vec::new();
    let mut start = 0;
    for end in 1..=accepted.len() {
        let candidate = &accepted[start..end];
        let over =
            candidate.len() > IMPORT_BATCH_ROWS || read_count(&batch_keys(candidate)) > IMPORT_BATCH_READS;
        if over && end - start > 1 {
            batches.push(&accepted[start..end - 1]);
            start = end - 1;
        }
    }
    if start < accepted.len() {
        batches.push(&accepted[start..]);
    }
    batches
}

/// What became of one row of a batch: created or found, or why not.
type RowDecision = Result<(RowStatus, UserId), SeatError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(index: usize, id: bool, team: Option<&str>) -> Accepted {
        Accepted {
            index,
            new: NewUser {
                id: id.then(|| UserId::parse(format!("usr_{index}")).expect("id")),
                name: DisplayName::parse("Someone").expect("name"),
                email: Some(Email::parse(&format!("p{index}@example.com")).expect("email")),
                directory: None,
                role: Role::Member,
                team: team.map(|t| TeamId::parse(t).expect("team")),
            },
            seat: Some(ProductId::parse("professional").expect("product")),
        }
    }

    fn sizes(rows: &[Accepted]) -> Vec<usize> {
        batches(rows).iter().map(|b| b.len()).collect()
    }

    #[test]
    fn batches_keep_to_the_rows_and_reads_of_one_transaction() {
        // An email, a pool and the organisation (its license management):
        // 20 rows read 22 records.
        let plain: Vec<_> = (0..45).map(|i| accepted(i, false, None)).collect();
        assert_eq!(sizes(&plain), [20, 20, 5]);
        // An email, an id, a pool and the organisation: 11 rows read 24.
        let with_ids: Vec<_> = (0..30).map(|i| accepted(i, true, None)).collect();
        assert_eq!(sizes(&with_ids), [11, 11, 8]);
        // A team per row besides: 7 rows read 23.
        let teams: Vec<String> = (0..10).map(|i| format!("team_{i}")).collect();
        let in_teams: Vec<_> = (0..10).map(|i| accepted(i, true, Some(&teams[i]))).collect();
        assert_eq!(sizes(&in_teams), [7, 3]);
        let order: Vec<usize> = batches(&in_teams)
            .iter()
            .flat_map(|b| b.iter().map(|r| r.index))
            .collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>(), "every row once, in order");
        assert!(batches(&[]).is_empty());
    }
}
