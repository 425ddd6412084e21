//! The reconciler function: the daily schedule in, the run's report out
//! (`main.rs`). The flow (every subscription of the provider compared with
//! what seatflow holds, drift applied, grants that ran out ended) is
//! `seatflow_app::reconciliation`; this crate adds the run's metrics.

pub use seatflow_app::reconciliation::{
    ConfigError, DEFAULT_RATE, ReconcileConfig, ReconcileError, ReconcileReport, Reconciler,
};

/// The report's counts as CloudWatch metrics (embedded metric format): the
/// `on_report` hook of the deployed reconciler.
pub fn emit(report: &ReconcileReport, at: chrono::DateTime<chrono::Utc>) {
    seatflow_config::emit_metrics(
        "reconciler",
        &[
            ("ReconciliationDrift", report.drift_corrected),
            ("ReconciledSubscriptions", report.subscriptions_fetched),
            ("ReconciliationSkipped", report.skipped),
            ("ReconciliationFailed", report.failed),
        ],
        at,
    );
}
