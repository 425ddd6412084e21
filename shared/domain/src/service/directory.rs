//! The directory: teams and the users in them, with the seats they hold.

use super::assignments::release_all;
use super::commit::{Mode, Outcome, decide_and_commit};
use super::{Directory, MAX_PAGE, Seats};
use crate::access::{Actor, Principal};
use crate::audit::{AuditAction, nothing, snapshot};
use crate::directory::{DisplayName, NewUser, Role, Team, User, UserChanges, UserSeats, directory_name};
use crate::draft::{Draft, SeatBook};
use crate::error::{SeatError, ValidationError};
use crate::ids::{OrgId, ProductId, TeamId, UserId};
use crate::store::{PositionMark, Record, Snapshot, SnapshotKeys};

use chrono::{DateTime, Utc};

/// How long a [`PositionMark`] is kept: an identity provider's whole read
/// of a large directory, page after page.
pub const POSITION_MARK_SECONDS: i64 = 15 * 60;

impl Directory<'_> {
    /// Creates a team, with the id given or a fresh one.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; validation of the name;
    /// [`SeatError::AlreadyExists`] for a taken id.
    pub async fn create_team(
        self,
        actor: &Actor,
        id: Option<&TeamId>,
        name: &str,
        mode: Mode,
    ) -> Result<Outcome<Team>, SeatError> {
        actor.require_admin("create teams")?;
        let name = DisplayName::parse(name)?;
        decide_and_commit!(self, "team", mode, {
            let now = self.clock.now();
            let id = match id {
                Some(id) if self.store.team(&actor.org, id).await?.is_some() => {
                    return Err(SeatError::AlreadyExists {
                        what: "team",
                        id: id.to_string(),
                    });
                }
                Some(id) => id.clone(),
                None => TeamId::generate(),
            };
            let team = Team {
                org: actor.org.clone(),
                id,
                name: name.clone(),
                external_id: None,
                created_at: now,
                version: 0,
            };
            Ok(self.create_one(
                actor,
                now,
                AuditAction::TeamCreated,
                format!("team/{}", team.id),
                team,
            ))
        })
    }

    /// Renames a team (admins): its id, members and allocations stay.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; validation of the name; not
    /// found.
    pub async fn rename_team(
        self,
        actor: &Actor,
        id: &TeamId,
        name: &str,
        mode: Mode,
    ) -> Result<Outcome<Team>, SeatError> {
        actor.require_admin("rename teams")?;
        let name = DisplayName::parse(name)?;
        let keys = SnapshotKeys {
            teams: vec![id.clone()],
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "team", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let team = read.team(id).ok_or_else(|| SeatError::not_found("team", id))?;
            let mut renamed = team.clone();
            renamed.name = name.clone();
            let mut draft = Draft::new(&actor.org);
            draft.put(Some(team), renamed.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::TeamRenamed,
                format!("team/{id}"),
                snapshot(team),
                snapshot(&renamed),
            );
            Ok((draft.finish(audit), renamed))
        })
    }

    /// Sets or clears the organisation's directory's id for a team (SCIM
    /// `externalId`; admins and directory keys).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins; validation (empty, or over
    /// 256 characters); not found.
    pub async fn set_team_external_id(
        self,
        actor: &Actor,
        id: &TeamId,
        external_id: Option<&str>,
        mode: Mode,
    ) -> Result<Outcome<Team>, SeatError> {
        actor.require_admin("change teams")?;
        let external_id = external_id.map(str::trim);
        if let Some(given) = external_id
            && (given.is_empty() || given.chars().count() > 256)
        {
            return Err(ValidationError::new("external_id", "must be 1 to 256 characters").into());
        }
        let keys = SnapshotKeys {
            teams: vec![id.clone()],
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "team", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let team = read.team(id).ok_or_else(|| SeatError::not_found("team", id))?;
            let mut changed = team.clone();
            changed.external_id = external_id.map(str::to_owned);
            let mut draft = Draft::new(&actor.org);
            draft.put(Some(team), changed.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::TeamUpdated,
                format!("team/{id}"),
                snapshot(team),
                snapshot(&changed),
            );
            Ok((draft.finish(audit), changed))
        })
    }

    /// Creates a user, optionally with a seat of `seat` in the same change.
    /// Team managers create members of their own teams only.
    ///
    /// # Errors
    /// [`SeatError::EmailTaken`], [`SeatError::AlreadyExists`] for a taken id,
    /// not found for an unknown team or product,
    /// [`SeatError::Forbidden`], and every error of [`Allocations::assign`](super::Allocations::assign).
    pub async fn create_user(
        self,
        actor: &Actor,
        new: NewUser,
        seat: Option<&ProductId>,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        self.create_user_with(actor, new, seat.map(SeatWanted::Required), true, mode)
            .await
    }

    /// [`Self::create_user`], with the seat required or taken only when one
    /// is free, and the user created active or not: one decision, one commit.
    pub(crate) async fn create_user_with(
        self,
        actor: &Actor,
        new: NewUser,
        seat: Option<SeatWanted<'_>>,
        active: bool,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        let seat_product = seat.map(SeatWanted::product);
        self.check_new_user(actor, &new, seat_product)?;
        let keys = SnapshotKeys {
            holders: new.id.iter().cloned().collect(),
            emails: new.email.iter().cloned().collect(),
            directory_names: new
                .directory
                .as_ref()
                .and_then(directory_name)
                .into_iter()
                .collect(),
            teams: new.team.iter().cloned().collect(),
            pools: seat_product.iter().cloned().cloned().collect(),
            organization: seat_product.is_some(),
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "user", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            let value = Self::decide_new_user(actor, &read, &mut book, &new, seat, active, now)?;
            let bought = self.auto_purchase_entries(actor, now, &book).await?;
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            draft.put(None, value.clone());
            let audit = self.user_created(actor, now, &value);
            Ok((draft.finish_batch(audit, bought), value))
        })
    }

    /// The checks of a new user that need no read: who may create whom, and
    /// that a seat asked for is a plan's.
    pub(crate) fn check_new_user(
        &self,
        actor: &Actor,
        new: &NewUser,
        seat: Option<&ProductId>,
    ) -> Result<(), SeatError> {
        actor.require_admin_or_manager("create users")?;
        if !actor.is_admin() {
            let own_team = new.team.as_ref().is_some_and(|t| actor.manages(t));
            if !own_team || new.role != Role::Member {
                return Err(SeatError::Forbidden(
                    "team managers create only members of a team they manage".into(),
                ));
            }
        }
        if new.role == Role::Admin {
            actor.require_admin_granter("create an admin")?;
        }
        if let Some(seat) = seat
            && !self.catalog.is_plan(seat)
        {
            self.product_asked(seat)?;
            return Err(SeatError::BaseSeatRequired {
                add_on: seat.to_string(),
                user: "(new user)".into(),
            });
        }
        Ok(())
    }

    /// `new` decided on `read` as a user created at `now` (`active` or not),
    /// with a seat taken from `book` when wanted.
    ///
    /// # Errors
    /// Not found for a team the caller does not manage;
    /// [`SeatError::EmailTaken`]; [`SeatError::AlreadyExists`] for a taken
    /// id; the seat's refusal when it is required.
    pub(crate) fn decide_new_user(
        actor: &Actor,
        read: &Snapshot,
        book: &mut SeatBook,
        new: &NewUser,
        seat: Option<SeatWanted<'_>>,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<UserSeats, SeatError> {
        if let Some(team) = &new.team {
            Seats::managed_team(actor, read, team)?;
        }
        if let Some(email) = new.email.as_ref().filter(|e| read.email_taken(e)) {
            return Err(SeatError::EmailTaken(email.as_str().to_owned()));
        }
        if let Some(name) = new
            .directory
            .as_ref()
            .and_then(directory_name)
            .filter(|n| read.directory_name_holder(n).is_some())
        {
            return Err(SeatError::UserNameTaken(name));
        }
        let id = match &new.id {
            Some(id) if read.holder(id).is_some() => {
                return Err(SeatError::AlreadyExists {
                    what: "user",
                    id: id.to_string(),
                });
            }
            Some(id) => id.clone(),
            None => UserId::generate(),
        };
        let user = User {
            org: actor.org.clone(),
            id,
            name: new.name.clone(),
            email: new.email.clone(),
            directory: new.directory.clone(),
            role: new.role,
            team: new.team.clone(),
            active,
            created_at: now,
            version: 0,
        };
        let mut seats = Vec::new();
        if let Some(wanted) = seat {
            match Seats::take_seat(actor, book, &user, wanted.product(), now) {
                Ok(taken) => seats.push(taken),
                Err(full) if wanted.if_free() && full.means_no_seat_free() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(UserSeats { user, seats })
    }

    /// The audit entry of `value`'s creation.
    pub(crate) fn user_created(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
        value: &UserSeats,
    ) -> crate::AuditEntry {
        self.entry(
            actor,
            now,
            AuditAction::UserCreated,
            format!("user/{}", value.user.id),
            nothing(),
            snapshot(value),
        )
    }

    /// Teams the caller manages (all, for admins).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members.
    pub async fn teams(self, actor: &Actor) -> Result<Vec<Team>, SeatError> {
        actor.require_admin_or_manager("list teams")?;
        let teams = self.store.teams(&actor.org).await?;
        Ok(teams.into_iter().filter(|t| actor.manages(&t.id)).collect())
    }

    /// One team the caller manages.
    ///
    /// # Errors
    /// Not found when absent or not managed by the caller.
    pub async fn team(self, actor: &Actor, id: &TeamId) -> Result<Team, SeatError> {
        self.visible_team(actor, id).await
    }

    /// Users by id, after `after`, at most `limit` (capped at [`MAX_PAGE`]);
    /// only `team`'s when given. Team managers see their teams' members.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members; not found for a team not managed.
    pub async fn users(
        self,
        actor: &Actor,
        team: Option<&TeamId>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<User>, SeatError> {
        actor.require_admin_or_manager("list users")?;
        let limit = limit.clamp(1, MAX_PAGE);
        if let Some(team) = team {
            self.visible_team(actor, team).await?;
            return Ok(self.store.users(&actor.org, Some(team), after, limit).await?);
        }
        if actor.is_admin() {
            return Ok(self.store.users(&actor.org, None, after, limit).await?);
        }
        let mut merged = Vec::new();
        for team in &actor.teams {
            merged.extend(self.store.users(&actor.org, Some(team), after, limit).await?);
        }
        merged.sort_by(|a, b| a.id.cmp(&b.id));
        merged.dedup_by(|a, b| a.id == b.id);
        merged.truncate(limit);
        Ok(merged)
    }

    /// A user and their seats, if the caller may see them.
    ///
    /// # Errors
    /// Not found when absent or not visible.
    pub async fn user(self, actor: &Actor, id: &UserId) -> Result<UserSeats, SeatError> {
        self.visible_user(actor, id).await
    }

    /// People with their seats, by id after `after`, as the caller may see
    /// them (admins: everyone; team managers: their teams' members); with
    /// `query`, those whose name or email contains it (any case). A search
    /// reads at most a few thousand users per call and then answers with a
    /// cursor. The second value is the `after` of the next page.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for members and machine clients without the
    /// right; [`SeatError::StoreUnavailable`].
    pub async fn people(
        self,
        actor: &Actor,
        query: Option<&str>,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserSeats>, Option<UserId>), SeatError> {
        actor.require_admin_or_manager("list users")?;
        let limit = limit.clamp(1, MAX_PAGE);
        let needle = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        let mut found = Vec::new();
        let mut cursor = after.cloned();
        let mut read = 0;
        // An admin's list without a search keeps every user read: read the
        // page alone.
        let batch = if needle.is_none() && actor.is_admin() {
            limit
        } else {
            MAX_PAGE
        };
        loop {
            let page = self.store.holders(&actor.org, cursor.as_ref(), batch).await?;
            let exhausted = page.len() < batch;
            for holder in page {
                read += 1;
                cursor = Some(holder.user.id.clone());
                let matches = needle.as_ref().is_none_or(|n| {
                    holder.user.name.as_str().to_lowercase().contains(n)
                        || holder
                            .user
                            .email
                            .as_ref()
                            .is_some_and(|e| e.as_str().contains(n.as_str()))
                });
                if actor.can_see(&holder.user) && matches {
                    found.push(holder);
                    if found.len() == limit {
                        return Ok((found, cursor));
                    }
                }
            }
            if exhausted {
                return Ok((found, None));
            }
            if read >= 5 * MAX_PAGE {
                return Ok((found, cursor));
            }
        }
    }

    /// Users in id order from position `start` (from 1), at most `limit`,
    /// and how many users there are: SCIM's `startIndex` paging, for admins.
    /// It reads the page and the users between the nearest [`PositionMark`]
    /// and `start`, not every user before it: each page read leaves a mark
    /// where it ended (for [`POSITION_MARK_SECONDS`]), so reading page after
    /// page costs a page each, however large the organisation.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for anyone but an admin; the store's.
    pub async fn people_at(
        self,
        actor: &Actor,
        start: u64,
        limit: usize,
    ) -> Result<(Vec<UserSeats>, u64), SeatError> {
        actor.require_admin("list users by position")?;
        let org = &actor.org;
        let total = self.store.user_count(org).await?;
        let start = start.max(1);
        // Past the end nothing is read (a zero count may predate the
        // counters: then the users are read, and the count is at least
        // those seen).
        if limit == 0 || (total > 0 && start > total) {
            return Ok((Vec::new(), total));
        }
        let now = self.clock.now();
        let (mut position, mut after) = match self.store.position_mark(org, start - 1, now).await? {
            Some(mark) => (mark.position, Some(mark.user)),
            None => (0, None),
        };
        let walked_from = position;
        while position < start - 1 {
            let step = usize::try_from(start - 1 - position)
                .unwrap_or(MAX_PAGE)
                .min(MAX_PAGE);
            let users = self.store.users(org, None, after.as_ref(), step).await?;
            let Some(last) = users.last() else { break };
            after = Some(last.id.clone());
            position += users.len() as u64;
            if users.len() < step {
                break;
            }
        }
        let page = self
            .store
            .holders(org, after.as_ref(), limit.min(MAX_PAGE))
            .await?;
        let mark = |position: u64, user: &UserId| {
            Record::PositionMark(PositionMark {
                org: org.clone(),
                position,
                user: user.clone(),
                expires_at: now + chrono::Duration::seconds(POSITION_MARK_SECONDS),
            })
        };
        // Hints: the page is answered whether or not they are kept. Where
        // the next page starts; and, after a walk, where this one started,
        // so that asking for it again (a retry, a jump back) walks no more.
        if let Some(last) = page.last() {
            let _ = self
                .store
                .record(mark(position + page.len() as u64, &last.user.id))
                .await;
        }
        if position > walked_from
            && let Some(before) = &after
        {
            let _ = self.store.record(mark(position, before)).await;
        }
        let seen = position + page.len() as u64;
        Ok((page, total.max(seen)))
    }

    /// The caller's own account and seats.
    ///
    /// # Errors
    /// Not found for machine clients or a token naming no user.
    pub async fn me(self, actor: &Actor) -> Result<UserSeats, SeatError> {
        let id = actor
            .user_id()
            .ok_or_else(|| SeatError::not_found("user", "(machine client)"))?;
        self.user(actor, id).await
    }

    /// A person's sign-in as seatflow knows them now: the actor of `user` of
    /// `org` with the stored role and, for a team manager, the team they are
    /// in (not what a token issued earlier said); `None` when `org` has no
    /// such user (never added, or removed) or its directory deactivated them.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn signed_in(self, org: &OrgId, user: &UserId) -> Result<Option<Actor>, SeatError> {
        Ok(self.signed_in_user(org, user).await?.map(|(actor, _)| actor))
    }

    /// [`Self::signed_in`], with the user as stored (one read for both:
    /// the portal shows who is signed in on every page).
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn signed_in_user(
        self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<Option<(Actor, User)>, SeatError> {
        let stored = self.store.holder(org, user).await?;
        Ok(stored.filter(|holder| holder.user.active).map(|holder| {
            let actor = Actor {
                org: org.clone(),
                principal: Principal::User(holder.user.id.clone()),
                role: holder.user.role,
                teams: match holder.user.role {
                    Role::TeamManager => holder.user.team.iter().cloned().collect(),
                    Role::Admin | Role::Member => Vec::new(),
                },
                grants_admin: true,
            };
            (actor, holder.user)
        }))
    }

    /// Removes a user from the organisation: every seat and add-on they hold
    /// goes back to its pool and team in the same change, their email is
    /// free again, and the audit trail keeps who they were. A removed user's
    /// tokens are refused from then on.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins and for removing oneself;
    /// not found.
    pub async fn remove_user(
        self,
        actor: &Actor,
        user: &UserId,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        actor.require_admin("remove users")?;
        if actor.user_id() == Some(user) {
            return Err(SeatError::Forbidden(
                "you cannot remove yourself; another admin can".into(),
            ));
        }
        let keys = self.holder_and_every_pool(user);
        decide_and_commit!(self, "user", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let holder = read
                .holder(user)
                .ok_or_else(|| SeatError::not_found("user", user))?;
            if holder.user.role == Role::Admin {
                actor.require_admin_granter("remove an admin")?;
                self.keep_an_admin(&actor.org, &holder.user).await?;
            }
            let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
            release_all(&mut book, &holder.seats)?;
            let mut draft = Draft::new(&actor.org);
            book.write_into(&mut draft);
            draft.remove_holder(holder);
            let audit = self.entry(
                actor,
                now,
                AuditAction::UserRemoved,
                format!("user/{user}"),
                snapshot(holder),
                nothing(),
            );
            Ok((draft.finish(audit), holder.clone()))
        })
    }

    /// Changes a user's name, email, role or team in one change. A team move
    /// carries every seat they hold from the old team's counts to the new
    /// team's: refused with [`SeatError::TeamAllocationExhausted`] when the
    /// new team's allocation has no room, or [`SeatError::NoSeatsAvailable`]
    /// when a team without an allocation would draw on an unallocated part
    /// that is full. A role change takes effect on their next request.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] for non-admins and for changing one's own
    /// role; [`SeatError::EmailTaken`]; not found for the user or the team.
    pub async fn update_user(
        self,
        actor: &Actor,
        id: &UserId,
        changes: &UserChanges,
        mode: Mode,
    ) -> Result<Outcome<UserSeats>, SeatError> {
        actor.require_admin("change users")?;
        if changes.role.is_some() && actor.user_id() == Some(id) {
            return Err(SeatError::Forbidden(
                "you cannot change your own role; another admin can".into(),
            ));
        }
        let keys = SnapshotKeys {
            holders: vec![id.clone()],
            emails: changes.email.iter().flatten().cloned().collect(),
            directory_names: changes
                .directory
                .iter()
                .flatten()
                .filter_map(directory_name)
                .collect(),
            teams: changes.team.iter().flatten().cloned().collect(),
            pools: self.catalog.products.keys().cloned().collect(),
            ..SnapshotKeys::default()
        };
        decide_and_commit!(self, "user", mode, {
            let now = self.clock.now();
            let read = self.store.snapshot(&actor.org, &keys).await?;
            let holder = read.holder(id).ok_or_else(|| SeatError::not_found("user", id))?;
            let mut updated = holder.clone();
            let mut draft = Draft::new(&actor.org);
            if let Some(name) = &changes.name {
                updated.user.name = name.clone();
            }
            if let Some(directory) = &changes.directory {
                updated.user.directory.clone_from(directory);
                let (from, to) = (holder.user.directory_name(), updated.user.directory_name());
                if from != to {
                    if let Some(taken) = to
                        .as_ref()
                        .filter(|n| read.directory_name_holder(n).is_some_and(|u| u != id))
                    {
                        return Err(SeatError::UserNameTaken(taken.clone()));
                    }
                    draft.move_directory_name(id, from, to);
                }
                let (from, to) = (holder.user.external_id(), updated.user.external_id());
                if from != to {
                    draft.move_external_id(id, from, to);
                }
            }
            if let Some(email) = changes.email.as_ref().filter(|e| **e != holder.user.email) {
                match email {
                    Some(email) if read.email_taken(email) => {
                        return Err(SeatError::EmailTaken(email.as_str().to_owned()));
                    }
                    None if updated.user.directory.is_none() => {
                        return Err(ValidationError::new(
                            "email",
                            "is required: only the organisation's directory may know a user by another name",
                        )
                        .into());
                    }
                    _ => {}
                }
                updated.user.email.clone_from(email);
                draft.move_email(id, holder.user.email.as_ref(), email.as_ref());
            }
            if let Some(role) = changes.role.filter(|r| *r != holder.user.role) {
                if role == Role::Admin || holder.user.role == Role::Admin {
                    actor.require_admin_granter("grant or take away the admin role")?;
                }
                if holder.user.role == Role::Admin {
                    self.keep_an_admin(&actor.org, &holder.user).await?;
                }
                updated.user.role = role;
            }
            if let Some(team) = changes.team.as_ref().filter(|t| **t != holder.user.team) {
                if let Some(team) = team
                    && read.team(team).is_none()
                {
                    return Err(SeatError::not_found("team", team));
                }
                let mut book = SeatBook::from_snapshot(&actor.org, &read, &keys.pools, &[]);
                for seat in &holder.seats {
                    book.release(&seat.product, seat.team.as_ref())?;
                }
                for seat in &mut updated.seats {
                    book.take(&seat.product, team.as_ref())?;
                    seat.team.clone_from(team);
                }
                book.write_into(&mut draft);
                updated.user.team.clone_from(team);
            }
            draft.put(Some(holder), updated.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::UserUpdated,
                format!("user/{id}"),
                snapshot(&holder.user),
                snapshot(&updated.user),
            );
            Ok((draft.finish(audit), updated))
        })
    }
}

impl Seats {
    /// Refuses a change that would leave the organisation without an active
    /// admin: `user` (an admin losing the role, their access or their
    /// place) must not be the last one. Read before the commit, not in it:
    /// two admins taken away at the same moment by two machine clients may
    /// both pass.
    ///
    /// # Errors
    /// [`SeatError::LastAdmin`]; the store's failures.
    pub(crate) async fn keep_an_admin(&self, org: &OrgId, user: &User) -> Result<(), SeatError> {
        if user.role != Role::Admin || !user.active {
            return Ok(());
        }
        // Another admin, by the admins' index; each checked as stored now
        // (an index may lag a moment behind a demotion).
        for other in self.store.admins(org).await? {
            if other.id == user.id {
                continue;
            }
            if let Some(now) = self.store.holder(org, &other.id).await?
                && now.user.role == Role::Admin
                && now.user.active
            {
                return Ok(());
            }
        }
        Err(SeatError::LastAdmin(user.id.to_string()))
    }

    /// What a change to everything `user` holds reads: the user with their
    /// seats and every pool, in one snapshot.
    pub(crate) fn holder_and_every_pool(&self, user: &UserId) -> SnapshotKeys {
        SnapshotKeys {
            holders: vec![user.clone()],
            pools: self.catalog.products.keys().cloned().collect(),
            ..SnapshotKeys::default()
        }
    }
}

/// A seat a change asks for: one it must get, or one it takes only when one
/// is free (the directory's seat policy).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SeatWanted<'a> {
    /// Refused without it.
    Required(&'a ProductId),
    /// Taken when one is free; none otherwise.
    IfFree(&'a ProductId),
}

impl<'a> SeatWanted<'a> {
    fn product(self) -> &'a ProductId {
        match self {
            Self::Required(product) | Self::IfFree(product) => product,
        }
    }

    fn if_free(self) -> bool {
        matches!(self, Self::IfFree(_))
    }
}
