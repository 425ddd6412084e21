//! Test support shared by every adapter and function: a seeded [`Fixture`],
//! and the conformance suite every `EntitlementStore` adapter must pass
//! ([`entitlement_store_conformance!`]), including concurrency; a store
//! wrapper that changes one method writes only that one
//! ([`forward_store_reads!`]); a payment gateway that holds quantity changes
//! ([`HeldPayments`]); with the `aws` feature, one harness for tests on moto
//! ([`aws`], [`moto`]).

// Test support: a failed expectation is the failing test's message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod aws_calls;
pub mod cases;
mod fixture;
mod forward;
#[cfg(feature = "aws")]
pub mod iam;
pub mod idempotency_cases;
pub mod ledger_cases;
#[cfg(feature = "aws")]
pub mod moto;
mod naive;
mod payments;
mod reads;
#[cfg(feature = "webhook-receiver")]
pub mod receiver;
#[cfg(feature = "stripe-standin")]
pub mod stripe_standin;

pub use fixture::{Fixture, org, product, start_time};

#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use chrono;
}
pub use naive::NaiveStore;
pub use payments::{CountedPayments, HeldPayments};
pub use reads::{Store, StoreReads};

/// Generates one `#[tokio::test]` per conformance case, each on a fresh store
/// from `$make` (an `async fn() -> Arc<dyn seatflow_testkit::Store>`: the
/// adapter's entitlements and renewal index), and the large-organisation
/// case at `large_organisation` users.
#[macro_export]
macro_rules! entitlement_store_conformance {
    ($make:path, large_organisation = $size:expr) => {
        /// An organisation of `$size` users, each with a seat: pages read
        /// pages (the size the store's tests can hold in their time).
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn a_large_organisation_is_read_a_page_at_a_time() {
            $crate::cases::a_large_organisation_is_read_a_page_at_a_time($make().await, $size).await;
        }

        $crate::entitlement_store_conformance!(@cases $make;
            commit_refuses_a_stale_version,
            commit_is_all_or_nothing,
            a_second_user_with_the_same_email_conflicts,
            organisations_never_see_each_other,
            operators_find_and_open_organisations_across_tenants,
            failed_jobs_are_recorded_listed_and_forgotten,
            counters_match_assignments_after_assign_and_unassign,
            an_add_on_needs_a_base_seat_and_leaves_with_it,
            a_team_allocation_caps_its_members,
            shrinking_a_pool_keeps_holders_and_refuses_new_assignments,
            a_transfer_moves_the_seat_in_one_change,
            the_audit_log_pages_newest_first,
            a_dry_run_writes_nothing,
            api_keys_are_found_by_hash_until_revoked,
            users_page_by_id_and_filter_by_team,
            pages_by_position_read_the_page_not_the_users_before_it,
            the_user_count_follows_creations_and_removals,
            the_admins_are_found_without_reading_every_user,
            directory_user_names_are_claimed_found_moved_and_freed,
            directory_ids_find_their_users_through_an_index,
            removing_a_user_gives_back_every_seat_and_frees_the_email,
            a_deactivated_user_gives_back_their_seats_and_keeps_the_account,
            a_directory_user_takes_the_policy_seat_when_free_in_one_commit,
            admins_are_made_by_admins_and_the_last_one_stays,
            a_renamed_team_keeps_its_members_and_allocation,
            a_removed_team_returns_its_allocation_and_its_members_keep_their_seats,
            a_team_move_carries_seats_and_an_email_change_moves_the_claim,
            concurrent_assigns_never_oversell_a_pool,
            a_full_pool_buys_seats_in_automatic_mode_within_its_budget,
            automatic_mode_needs_a_subscription_to_buy_on,
            concurrent_automatic_purchases_buy_each_seat_once,
            a_seat_bought_after_a_decrease_at_renewal_is_billed_on_top_of_what_the_provider_holds,
            a_seat_in_use_is_recorded_at_most_once_a_day,
            seats_are_counted_active_idle_and_never_used,
            concurrent_seat_changes_never_fail_while_the_pool_has_room,
            batched_imports_and_single_assigns_never_oversell_a_pool,
            an_import_commits_its_rows_in_batches_and_reports_each,
            a_batch_refused_as_a_whole_is_applied_row_by_row,
            concurrent_allocation_moves_never_over_allocate,
            concurrent_transfers_keep_counts_consistent,
            an_add_on_never_outlives_a_concurrently_revoked_base_seat,
            concurrent_endpoint_creations_never_pass_the_cap,
            a_dry_run_refuses_a_seat_beyond_the_team_allocation,
            a_subscription_event_sizes_its_pools_exactly_once,
            an_older_event_never_overwrites_a_newer_state,
            a_subscription_is_stored_whole,
            a_plan_change_moves_every_holder_with_the_teams_allocations,
            a_decrease_at_renewal_keeps_the_paid_seats_until_the_period_ends,
            a_decrease_or_cancellation_keeps_holders_and_marks_the_pool_over_limit,
            an_organisations_subscriptions_add_up,
            concurrent_deliveries_of_one_event_apply_once,
            a_subscription_never_overwrites_a_grant,
            concurrent_subscriptions_of_one_organisation_leave_no_stale_sum,
            a_subscription_moved_to_another_organisation_stops_counting_in_the_old_one,
            reconciliation_corrects_each_kind_of_drift_and_nothing_else,
            grants_that_ran_out_are_found_across_organisations,
            notices_find_renewals_failing_payments_and_over_limit_pools,
            notification_preferences_are_kept_per_organisation,
            a_change_emits_its_events_with_it_and_a_refused_one_none,
            webhook_endpoints_and_their_delivery_log_are_kept_per_organisation,
            delivery_places_cap_an_organisations_attempts_in_flight,
            a_hand_off_opens_one_session_once,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        /// The concurrency cases catch a store that lets stale decisions through.
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn the_concurrency_cases_catch_a_naive_read_then_write_store() {
            let naive = ::std::sync::Arc::new($crate::NaiveStore::new($make().await));
            let outcome = tokio::spawn($crate::cases::concurrent_assigns_never_oversell_a_pool(naive)).await;
            assert!(
                outcome.is_err_and(|e| e.is_panic()),
                "the oversell case passed against a store that ignores stale reads"
            );
        }

        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store = $make().await;
                $crate::cases::$case(store).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test]` per `NoticeLedger` conformance case, each
/// on a fresh ledger from `$make` (an `async fn() -> Arc<dyn NoticeLedger>`).
#[macro_export]
macro_rules! notice_ledger_conformance {
    ($make:path) => {
        $crate::notice_ledger_conformance!(@cases $make;
            a_sent_notice_is_never_claimed_again,
            a_released_notice_is_claimed_again,
            an_expired_claim_is_taken_over,
            concurrent_claims_have_one_winner,
        );
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::ledger_cases::$case($make().await).await;
            }
        )*
    };
}
