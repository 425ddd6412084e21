//! Which notices are due now: renewal reminders by window, payment-failed
//! notices during the grace period, over-limit notices; each with its
//! recipients after the organisation's preferences.

use std::collections::BTreeMap;

use super::{Seats, Subscriptions};
use crate::directory::Email;
use crate::error::SeatError;
use crate::ids::OrgId;
use crate::money::Money;
use crate::notification::{
    DueNotice, NoticeKey, NoticeKind, NoticeSubject, NotificationPreferences, ReminderWindows,
};
use crate::quote::{AddOnRequest, QuoteRequest};
use crate::store::RenewalIndex;
use crate::subscription::Subscription;

impl Subscriptions<'_> {
    /// Every notice due at the clock's now, across organisations, found
    /// through `index`: a system job's read, not an actor's. Notices an organisation opted out of, and
    /// notices with nobody to send to, are left out. Whether one was already
    /// sent is the ledger's business, not this.
    ///
    /// # Errors
    /// [`SeatError::StoreUnavailable`].
    pub async fn due_notices(
        self,
        index: &dyn RenewalIndex,
        windows: &ReminderWindows,
    ) -> Result<Vec<DueNotice>, SeatError> {
        let now = self.clock.now();
        let mut due: BTreeMap<OrgId, Vec<(NoticeKey, NoticeSubject)>> = BTreeMap::new();
        for subscription in index.renewing_between(now, now + windows.horizon()).await? {
            let Some(end) = subscription.current_period_end else {
                continue;
            };
            let Some(window_days) = windows.due(end, now) else {
                continue;
            };
            due.entry(subscription.org.clone()).or_default().push((
                NoticeKey::renewal(&subscription.id, end, window_days),
                NoticeSubject::Renewal {
                    amount_due: self.renewal_amount(&subscription),
                    window_days,
                    subscription,
                },
            ));
        }
        for subscription in index.payment_failing_subscriptions().await? {
            let (Some(start), Some(grace_ends)) = (
                subscription.current_period_start,
                subscription.grace_ends(self.payment_grace),
            ) else {
                continue;
            };
            // Past grace the seats are suspended: a reminder to pay would
            // promise a grace period that is over.
            if now >= grace_ends {
                continue;
            }
            due.entry(subscription.org.clone()).or_default().push((
                NoticeKey::payment_failed(&subscription.id, start),
                NoticeSubject::PaymentFailed {
                    subscription,
                    grace_ends,
                },
            ));
        }
        for pool in index.auto_buying_pools().await? {
            due.entry(pool.org.clone()).or_default().push((
                NoticeKey::auto_purchases(&pool.product, pool.auto_period, pool.auto_bought),
                NoticeSubject::AutoPurchases {
                    product: pool.product,
                    bought: pool.auto_bought,
                    // The organisation's limit, read with it below.
                    max: None,
                },
            ));
        }
        for pool in index.over_limit_pools().await? {
            due.entry(pool.org.clone()).or_default().push((
                NoticeKey::over_limit(&pool.product, pool.purchased),
                NoticeSubject::OverLimit {
                    product: pool.product,
                    purchased: pool.purchased,
                    assigned: pool.assigned,
                },
            ));
        }

        let mut notices = Vec::new();
        for (org, subjects) in due {
            let prefs = self
                .store
                .notification_preferences(&org)
                .await?
                .unwrap_or_else(|| NotificationPreferences::defaults(org.clone()));
            let organization = self.store.organization(&org).await?;
            let license = organization
                .as_ref()
                .map(|o| o.license_management.clone())
                .unwrap_or_default();
            let wanted: Vec<_> = subjects
                .into_iter()
                .filter(|(_, s)| prefs.wants(s.kind()))
                .filter(|(_, s)| license.notify || s.kind() != NoticeKind::AutoPurchases)
                .map(|(key, subject)| match subject {
                    NoticeSubject::AutoPurchases { product, bought, .. } => (
                        key,
                        NoticeSubject::AutoPurchases {
                            product,
                            bought,
                            max: license.max_auto_seats_per_period,
                        },
                    ),
                    other => (key, other),
                })
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let org_name = organization.map_or_else(|| org.to_string(), |o| o.name.as_str().to_owned());
            let admins = self.admin_emails(&org).await?;
            for (key, subject) in wanted {
                let to = match subject.kind() {
                    NoticeKind::OverLimit => admins.clone(),
                    // The limit reached: the admins are told as well.
                    NoticeKind::AutoPurchases if matches!(subject, NoticeSubject::AutoPurchases { bought, max: Some(max), .. } if bought >= max) =>
                    {
                        let mut to = prefs.billing_contacts.clone();
                        to.extend(
                            admins
                                .iter()
                                .filter(|a| !prefs.billing_contacts.contains(a))
                                .cloned(),
                        );
                        to
                    }
                    NoticeKind::Renewal | NoticeKind::PaymentFailed | NoticeKind::AutoPurchases
                        if prefs.billing_contacts.is_empty() =>
                    {
                        admins.clone()
                    }
                    NoticeKind::Renewal | NoticeKind::PaymentFailed | NoticeKind::AutoPurchases => {
                        prefs.billing_contacts.clone()
                    }
                };
                if !to.is_empty() {
                    notices.push(DueNotice {
                        org: org.clone(),
                        org_name: org_name.clone(),
                        key,
                        subject,
                        to,
                    });
                }
            }
        }
        Ok(notices)
    }

    /// What renewing `subscription` charges at today's prices, each line at
    /// its volume tier: the quote of its plan and add-ons for its term.
    pub(super) fn renewal_amount(self, subscription: &Subscription) -> Option<Money> {
        let term = subscription.term?;
        let (plan, quantity) = subscription
            .items
            .iter()
            .find(|(product, _)| self.catalog.is_plan(product))?;
        let request = QuoteRequest {
            plan: plan.to_string(),
            term,
            quantity: i64::from(*quantity),
            add_ons: subscription
                .items
                .iter()
                .filter(|(product, _)| !self.catalog.is_plan(product))
                .map(|(product, quantity)| AddOnRequest {
                    product: product.to_string(),
                    quantity: i64::from(*quantity),
                })
                .collect(),
        };
        self.catalog.quote(&request).ok().map(|quote| quote.total_due)
    }
}

impl Seats {
    pub(crate) async fn admin_emails(&self, org: &OrgId) -> Result<Vec<Email>, SeatError> {
        // The admins alone, not every user of the organisation.
        Ok(self
            .store
            .admins(org)
            .await?
            .into_iter()
            .filter_map(|u| u.email)
            .collect())
    }
}
