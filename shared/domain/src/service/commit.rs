//! The commit machinery every write uses: decide on a snapshot, commit the
//! decision with the versions it read, decide again on fresh state when the
//! store reports a conflict, or only report it in a dry run. Each decision
//! carries the audit entry that records it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use super::Seats;
use crate::access::Actor;
use crate::audit::{AuditAction, AuditActor, AuditEntry, nothing, snapshot};
use crate::draft::{Draft, Versioned};
use crate::error::SeatError;
use crate::ids::{AuditId, OrgId, ProductId, TeamId};
use crate::store::{Change, SnapshotKeys, StoreError, TeamSeatsCount, Write};

/// How many times a decision is remade after losing a race before giving up.
pub(crate) const MAX_ATTEMPTS: usize = 16;

/// Whether a mutation is written or only evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Decide and persist.
    #[default]
    Apply,
    /// Decide and report, persist nothing.
    DryRun,
}

impl Mode {
    /// `DryRun` when `dry_run` is true.
    #[must_use]
    pub fn from_dry_run(dry_run: bool) -> Self {
        if dry_run { Self::DryRun } else { Self::Apply }
    }
}

/// The result of a mutation: its value, the audit entry it wrote (or would
/// write), and whether it was a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome<T> {
    /// What the operation produced.
    pub value: T,
    /// The audit entry recording it.
    pub audit: AuditEntry,
    /// True when nothing was written.
    pub dry_run: bool,
}

/// What one decision concluded: a change to commit with its value, or an
/// answer that needs no write (a duplicate event, say).
#[allow(
    clippy::large_enum_variant,
    reason = "one per request, moved once into the commit: boxing would allocate for every change"
)]
pub(crate) enum Decision<T, A> {
    Commit(Change, T),
    Answer(A),
}

/// How a decision ended: committed (or reported, in a dry run), or answered
/// without a write.
pub(crate) enum Settled<T, A> {
    Committed(Outcome<T>),
    Answered(A),
}

impl<T> Settled<T, std::convert::Infallible> {
    pub(crate) fn outcome(self) -> Outcome<T> {
        match self {
            Self::Committed(outcome) => outcome,
            Self::Answered(never) => match never {},
        }
    }
}

/// Runs the decision `$body` (an async block yielding `(Change, T)`) and
/// commits it, deciding again on fresh state when the store reports a
/// conflict, at most [`MAX_ATTEMPTS`] times. With `answer:` the body yields a
/// [`Decision`] and the result is a [`Settled`]. A macro rather than a
/// function taking an async closure, so that the futures stay `Send` for any
/// lifetime.
macro_rules! decide_and_commit {
    ($self:ident, $what:literal, $mode:expr, $body:block) => {
        $crate::service::commit::decide_and_commit!(answer: $self, $what, $mode, {
            let decided: Result<($crate::store::Change, _), $crate::error::SeatError> = async $body.await;
            decided.map(|(change, value)| {
                $crate::service::commit::Decision::<_, std::convert::Infallible>::Commit(change, value)
            })
        })
        .map($crate::service::commit::Settled::outcome)
    };
    (answer: $self:ident, $what:literal, $mode:expr, $body:block) => {{
        use $crate::service::commit::{Decision, Settled};
        let mut settled = None;
        for attempt in 0..$crate::service::commit::MAX_ATTEMPTS {
            let decided: Result<Decision<_, _>, $crate::error::SeatError> = async $body.await;
            match decided? {
                Decision::Answer(answer) => {
                    settled = Some(Settled::Answered(answer));
                    break;
                }
                Decision::Commit(change, value) => {
                    if let Some(done) = $self.commit_decided($mode, (change, value)).await? {
                        settled = Some(Settled::Committed(done));
                        break;
                    }
                }
            }
            $self.store.pause_before_retry(u32::try_from(attempt).unwrap_or(u32::MAX)).await;
        }
        settled.ok_or($crate::error::SeatError::ConcurrentModification($what))
    }};
}
pub(crate) use decide_and_commit;

impl Seats {
    pub(crate) fn entry(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        action: AuditAction,
        target: String,
        before: Box<RawValue>,
        after: Box<RawValue>,
    ) -> AuditEntry {
        AuditEntry {
            id: AuditId::new(at),
            org: actor.org.clone(),
            actor: AuditActor {
                principal: actor.principal.clone(),
                role: actor.role,
            },
            at,
            action,
            target,
            before,
            after,
            correlation_id: None,
        }
    }

    /// A change creating one record, audited as `action` on `target`.
    pub(crate) fn create_one<T: Versioned + Serialize + Clone>(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        action: AuditAction,
        target: String,
        record: T,
    ) -> (Change, T) {
        let mut draft = Draft::new(&actor.org);
        draft.put(None, record.clone());
        let audit = self.entry(actor, now, action, target, nothing(), snapshot(&record));
        (draft.finish(audit), record)
    }

    /// Commits a decision (unless a dry run). `None`: the store saw a conflict
    /// and the decision must be made again on fresh state.
    pub(crate) async fn commit_decided<T>(
        &self,
        mode: Mode,
        (change, value): (Change, T),
    ) -> Result<Option<Outcome<T>>, SeatError> {
        let audit = change.audit.clone();
        if mode == Mode::DryRun {
            self.check_caps(&change).await?;
            return Ok(Some(Outcome {
                value,
                audit,
                dry_run: true,
            }));
        }
        let org = change.org.clone();
        match self.store.commit(change).await {
            Ok(()) => Ok(Some(Outcome {
                value,
                audit,
                dry_run: false,
            })),
            Err(StoreError::Conflict) => Ok(None),
            Err(StoreError::AllocationFull { team, product }) => {
                Err(self.allocation_exhausted(&org, &team, &product).await)
            }
            Err(StoreError::PoolFull { product }) => Err(self.pool_full(&org, &product).await),
            Err(StoreError::Unavailable(e)) => Err(SeatError::StoreUnavailable(e)),
        }
    }

    /// What a commit would check of the team counters the decision did not
    /// read: a dry run reads them, so that it refuses what the commit would.
    async fn check_caps(&self, change: &Change) -> Result<(), SeatError> {
        let capped: Vec<&TeamSeatsCount> = change
            .writes
            .iter()
            .filter_map(|w| match w {
                Write::TeamSeatsCount(count) if count.allocated && count.delta > 0 => Some(count),
                _ => None,
            })
            .collect();
        if capped.is_empty() {
            return Ok(());
        }
        let keys = SnapshotKeys {
            team_seats: capped
                .iter()
                .map(|c| (c.team.clone(), c.product.clone()))
                .collect(),
            ..SnapshotKeys::default()
        };
        let read = self.store.snapshot(&change.org, &keys).await?;
        for count in capped {
            let seats = read
                .team_seats
                .iter()
                .find(|s| s.team == count.team && s.product == count.product);
            let allocated = seats.and_then(|s| s.allocated).unwrap_or(0);
            let assigned = seats.map_or(0, |s| s.assigned);
            if i64::from(assigned).saturating_add(count.delta) > i64::from(allocated) {
                return Err(exhausted(&count.team, &count.product, allocated));
            }
        }
        Ok(())
    }

    /// The refusal of a seat beyond a team's allocation, with the allocation
    /// as it stands.
    async fn allocation_exhausted(&self, org: &OrgId, team: &TeamId, product: &ProductId) -> SeatError {
        let keys = SnapshotKeys {
            team_seats: vec![(team.clone(), product.clone())],
            ..SnapshotKeys::default()
        };
        let allocated = match self.store.snapshot(org, &keys).await {
            Ok(read) => read.team_seats.first().and_then(|s| s.allocated).unwrap_or(0),
            Err(e) => return e.into(),
        };
        exhausted(team, product, allocated)
    }
    /// The refusal of a seat beyond what a pool holds, with the pool as it
    /// stands.
    async fn pool_full(&self, org: &OrgId, product: &ProductId) -> SeatError {
        let keys = SnapshotKeys {
            pools: vec![product.clone()],
            ..SnapshotKeys::default()
        };
        match self.store.snapshot(org, &keys).await {
            Ok(read) => match read.pools.first() {
                Some(pool) => pool.no_seats(),
                // Gone since the write was refused: nothing is bought.
                None => SeatError::NoSeatsAvailable {
                    product: product.to_string(),
                    purchased: 0,
                    assigned: 0,
                },
            },
            Err(e) => e.into(),
        }
    }
}

fn exhausted(team: &TeamId, product: &ProductId, allocated: u32) -> SeatError {
    SeatError::TeamAllocationExhausted {
        team: team.to_string(),
        product: product.to_string(),
        allocated,
    }
}
