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
use crate::ids::AuditId;
use crate::store::{Change, StoreError};

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
            return Ok(Some(Outcome {
                value,
                audit,
                dry_run: true,
            }));
        }
        match self.store.commit(change).await {
            Ok(()) => Ok(Some(Outcome {
                value,
                audit,
                dry_run: false,
            })),
            Err(StoreError::Conflict) => Ok(None),
            Err(StoreError::Unavailable(e)) => Err(SeatError::StoreUnavailable(e)),
        }
    }
}
