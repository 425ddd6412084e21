//! Reconciliation (daily on an EventBridge schedule; locally daily and on
//! demand): every subscription of the payment provider's account, listed
//! page by page, is compared with what seatflow stored and applied where it
//! drifted, so that a job that died in the dead-letter queue, or an event the
//! provider never delivered, is repaired by the next run. Grants whose end
//! has passed are ended. A subscription of an organisation that manages
//! licenses automatically is set, in the last days of its period, to renew
//! at the seats in use (a decrease at renewal; see `billing::auto_seats`).
//!
//! The whole account is listed (every status), rather than each
//! organisation's customers one by one: it finds subscriptions whose first
//! event never arrived, whose customer seatflow does not know yet, and it
//! costs one request per 100 subscriptions instead of one per customer.
//! Requests are paced to a configurable rate, under the provider's limits.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use seatflow_domain::{Actor, Applied, PaymentError, PaymentGateway, RenewalIndex, SeatError, Seats};
use serde::Serialize;
use tokio::time::{Instant, MissedTickBehavior};

/// Requests per second to the provider unless configured: under Stripe's
/// test-mode limit (25), a fifth of its live one (100), leaving room for
/// the provisioner and checkout.
pub const DEFAULT_RATE: u32 = 20;

/// How fast a run may ask the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// Provider requests per second, at most.
    pub requests_per_second: NonZeroU32,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            requests_per_second: NonZeroU32::new(DEFAULT_RATE).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl ReconcileConfig {
    /// `SEATFLOW_RECONCILE_RATE` (requests per second, a positive integer)
    /// as `var` reads it (`seatflow-config` from the environment), else
    /// [`DEFAULT_RATE`].
    ///
    /// # Errors
    /// A rate that is not a positive integer.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match var("SEATFLOW_RECONCILE_RATE") {
            Some(text) => text
                .trim()
                .parse::<NonZeroU32>()
                .map(|requests_per_second| Self { requests_per_second })
                .map_err(|_| ConfigError(text)),
            None => Ok(Self::default()),
        }
    }
}

/// A reconciliation rate that is not a positive integer.
#[derive(Debug, thiserror::Error)]
#[error("SEATFLOW_RECONCILE_RATE must be a positive integer (requests per second), got {0:?}")]
pub struct ConfigError(String);

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Organisations whose subscriptions were compared.
    pub organisations_checked: usize,
    /// Subscriptions read from the provider.
    pub subscriptions_fetched: usize,
    /// Subscriptions whose stored state or pools drifted and were corrected.
    pub drift_corrected: usize,
    /// Subscriptions that name no organisation seatflow knows, or a price
    /// outside the catalog: left alone, and logged.
    pub skipped: usize,
    /// Subscriptions that could not be applied (logged; the next run retries).
    pub failed: usize,
    /// Grants ended because their time ran out.
    pub grants_ended: usize,
    /// Subscriptions of organisations in automatic mode set to renew at
    /// the seats in use (their period ends within
    /// [`RENEW_AT_USAGE_DAYS`](crate::billing::RENEW_AT_USAGE_DAYS)).
    pub renewals_at_usage: usize,
    /// Requests made to the provider.
    pub provider_requests: usize,
    /// Whether every page was read before the deadline.
    pub complete: bool,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The provider could not list subscriptions; the report says how far
    /// the run got.
    #[error("listing subscriptions failed after {} requests: {source}", .report.provider_requests)]
    Provider {
        /// What was done before.
        report: Box<ReconcileReport>,
        /// The provider's error.
        source: PaymentError,
    },
    /// Grants that ran out could not be found.
    #[error("finding grants that ran out failed: {0}")]
    Grants(#[from] SeatError),
    /// Some subscriptions or grants could not be applied; the next run tries
    /// them again.
    #[error("{} subscriptions could not be reconciled", .0.failed)]
    Incomplete(Box<ReconcileReport>),
}

/// The job.
#[derive(Debug, Clone)]
pub struct Reconciler {
    seats: Arc<Seats>,
    payments: Arc<dyn PaymentGateway>,
    index: Arc<dyn RenewalIndex>,
    config: ReconcileConfig,
    on_report: fn(&ReconcileReport, chrono::DateTime<chrono::Utc>),
}

/// An `on_report` that reports nothing.
fn report_nothing(_: &ReconcileReport, _: chrono::DateTime<chrono::Utc>) {}

impl Reconciler {
    /// A job applying the provider's subscriptions through `seats`, finding
    /// grants that ran out through `index`.
    #[must_use]
    pub fn new(
        seats: Arc<Seats>,
        payments: Arc<dyn PaymentGateway>,
        index: Arc<dyn RenewalIndex>,
        config: ReconcileConfig,
    ) -> Self {
        Self {
            seats,
            payments,
            index,
            config,
            on_report: report_nothing,
        }
    }

    /// The same, telling `on_report` every run's report as it ends (the
    /// Lambda entry point emits its counts as metrics).
    #[must_use]
    pub fn with_report_hook(
        mut self,
        on_report: fn(&ReconcileReport, chrono::DateTime<chrono::Utc>),
    ) -> Self {
        self.on_report = on_report;
        self
    }

    /// One run, as the schedule invokes it: an error when anything was left
    /// undone (so that the function's error alarm fires), after logging the
    /// report and emitting its metrics.
    ///
    /// # Errors
    /// [`ReconcileError`].
    pub async fn on_schedule(&self, deadline: Option<Instant>) -> Result<ReconcileReport, ReconcileError> {
        let report = self.run(deadline).await?;
        if report.failed > 0 {
            return Err(ReconcileError::Incomplete(Box::new(report)));
        }
        Ok(report)
    }

    /// Reads every page of the provider's subscriptions (paced, stopping at
    /// `deadline`), reconciles each, then ends grants that ran out.
    ///
    /// # Errors
    /// [`ReconcileError::Provider`] when a page cannot be read;
    /// [`ReconcileError::Grants`] when grants cannot be found.
    pub async fn run(&self, deadline: Option<Instant>) -> Result<ReconcileReport, ReconcileError> {
        let period = Duration::from_secs(1) / self.config.requests_per_second.get();
        let mut pace = tokio::time::interval(period);
        pace.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut report = ReconcileReport::default();
        let mut organisations = BTreeSet::new();
        let mut after: Option<String> = None;
        loop {
            pace.tick().await;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                tracing::warn!(?report, "reconciliation stopped at the deadline");
                break;
            }
            // Taken before the read: the states read are at least this new.
            let read_at = self.seats.clock().now();
            report.provider_requests += 1;
            let page = match self.payments.subscriptions_page(after.as_deref()).await {
                Ok(page) => page,
                Err(source) => {
                    report.organisations_checked = organisations.len();
                    (self.on_report)(&report, self.seats.clock().now());
                    return Err(ReconcileError::Provider {
                        report: Box::new(report),
                        source,
                    });
                }
            };
            for subscription in &page.subscriptions {
                report.subscriptions_fetched += 1;
                self.reconcile_one(subscription, read_at, &mut report, &mut organisations)
                    .await;
            }
            match page.subscriptions.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => {
                    report.complete = true;
                    break;
                }
            }
        }
        report.organisations_checked = organisations.len();
        report.grants_ended = self.end_grants_run_out(&mut report).await?;
        tracing::info!(?report, "reconciliation done");
        (self.on_report)(&report, self.seats.clock().now());
        Ok(report)
    }

    async fn reconcile_one(
        &self,
        subscription: &seatflow_domain::ProviderSubscription,
        read_at: chrono::DateTime<chrono::Utc>,
        report: &mut ReconcileReport,
        organisations: &mut BTreeSet<seatflow_domain::OrgId>,
    ) {
        let snapshot = match subscription.snapshot(self.seats.catalog()) {
            Ok(snapshot) => snapshot,
            Err(reason) => {
                report.skipped += 1;
                tracing::warn!(subscription = %subscription.id, %reason, "not reconciled");
                return;
            }
        };
        // Known organisations are looked up once a run, not once a subscription.
        let known = if organisations.contains(&snapshot.org) {
            Ok(Some(()))
        } else {
            self.seats
                .organizations()
                .organization(&snapshot.org)
                .await
                .map(|o| o.map(drop))
        };
        match known {
            Ok(Some(())) => {}
            Ok(None) => {
                report.skipped += 1;
                tracing::warn!(subscription = %snapshot.id, org = %snapshot.org, "names an unknown organisation");
                return;
            }
            Err(error) => {
                report.failed += 1;
                tracing::error!(subscription = %snapshot.id, %error, "not reconciled");
                return;
            }
        }
        organisations.insert(snapshot.org.clone());
        let actor = Actor::system(snapshot.org.clone(), "reconciler");
        match self
            .seats
            .subscriptions()
            .reconcile_subscription(&actor, &snapshot, read_at)
            .await
        {
            Ok(Applied::Changed(outcome)) => {
                report.drift_corrected += 1;
                tracing::warn!(
                    subscription = %snapshot.id,
                    org = %snapshot.org,
                    audit = %outcome.audit.id,
                    "drift corrected"
                );
            }
            Ok(Applied::InSync | Applied::Stale | Applied::Duplicate) => {}
            Err(error) => {
                report.failed += 1;
                tracing::error!(subscription = %snapshot.id, org = %snapshot.org, %error, "not reconciled");
                return;
            }
        }
        self.renew_at_usage(&snapshot, read_at, report).await;
    }

    /// A subscription that renews within [`RENEW_AT_USAGE_DAYS`] renews at
    /// the seats in use, when its organisation manages licenses
    /// automatically.
    async fn renew_at_usage(
        &self,
        snapshot: &seatflow_domain::SubscriptionSnapshot,
        now: chrono::DateTime<chrono::Utc>,
        report: &mut ReconcileReport,
    ) {
        let renews_soon = snapshot.current_period_end.is_some_and(|end| {
            end > now && end - now <= chrono::Duration::days(crate::billing::RENEW_AT_USAGE_DAYS)
        });
        if !renews_soon || !snapshot.status.entitles() || snapshot.cancel_at_period_end {
            return;
        }
        let billing = crate::billing::Billing::new(
            (*self.seats).clone(),
            self.payments.clone(),
            seatflow_domain::ProrationBehavior::None,
        );
        match billing.renew_at_usage(&snapshot.org, &snapshot.id).await {
            Ok(changes) if !changes.is_empty() => report.renewals_at_usage += 1,
            Ok(_) => {}
            Err(error) => {
                report.failed += 1;
                tracing::error!(subscription = %snapshot.id, org = %snapshot.org, %error, "not renewed at the seats in use");
            }
        }
    }

    async fn end_grants_run_out(&self, report: &mut ReconcileReport) -> Result<usize, ReconcileError> {
        let now = self.seats.clock().now();
        let run_out = self.index.grants_run_out_by(now).await.map_err(SeatError::from)?;
        let mut ended = 0;
        for grant in run_out {
            let actor = Actor::system(grant.org.clone(), "reconciler");
            match self.seats.subscriptions().end_grant(&actor, &grant.id).await {
                Ok(_) => ended += 1,
                Err(error) => {
                    report.failed += 1;
                    tracing::error!(grant = %grant.id, org = %grant.org, %error, "grant not ended");
                }
            }
        }
        Ok(ended)
    }
}
