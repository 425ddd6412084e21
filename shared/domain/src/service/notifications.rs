//! Notification preferences: who receives billing notices, and which kinds an
//! organisation does not want. Which notices are due is in `reminders`.

use std::collections::BTreeSet;

use super::Directory;
use super::commit::{Mode, Outcome, decide_and_commit};
use crate::access::Actor;
use crate::audit::{AuditAction, nothing, snapshot};
use crate::directory::Email;
use crate::draft::Draft;
use crate::error::SeatError;
use crate::notification::{NoticeKind, NotificationPreferences};

impl Directory<'_> {
    /// The organisation's notification preferences (the defaults if it set
    /// none).
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin.
    pub async fn notification_preferences(self, actor: &Actor) -> Result<NotificationPreferences, SeatError> {
        actor.require_admin("see notification preferences")?;
        Ok(self
            .store
            .notification_preferences(&actor.org)
            .await?
            .unwrap_or_else(|| NotificationPreferences::defaults(actor.org.clone())))
    }

    /// Sets who receives billing notices and which kinds the organisation
    /// does not want.
    ///
    /// # Errors
    /// [`SeatError::Forbidden`] unless an admin; [`SeatError::Validation`] for
    /// contacts given twice or too many.
    pub async fn set_notification_preferences(
        self,
        actor: &Actor,
        billing_contacts: Vec<Email>,
        opted_out: BTreeSet<NoticeKind>,
        mode: Mode,
    ) -> Result<Outcome<NotificationPreferences>, SeatError> {
        actor.require_admin("set notification preferences")?;
        let wanted = NotificationPreferences::defaults(actor.org.clone()).with_contacts(billing_contacts)?;
        decide_and_commit!(self, "notification preferences", mode, {
            let now = self.clock.now();
            let before = self.store.notification_preferences(&actor.org).await?;
            let after = NotificationPreferences {
                opted_out: opted_out.clone(),
                ..wanted.clone()
            };
            let mut draft = Draft::new(&actor.org);
            draft.put(before.as_ref(), after.clone());
            let audit = self.entry(
                actor,
                now,
                AuditAction::NotificationPreferencesSet,
                "notification_preferences".to_owned(),
                before.as_ref().map_or_else(nothing, snapshot),
                snapshot(&after),
            );
            let mut stored = after;
            stored.version = before.map_or(1, |b| b.version + 1);
            Ok((draft.finish(audit), stored))
        })
    }
}
