//! When a failed delivery is tried again: exponential backoff with jitter,
//! for three days from the first attempt (then the delivery is failed).

use chrono::Duration;

/// The first retry waits about this long.
const FIRST_DELAY_SECONDS: i64 = 30;
/// No wait is longer: SQS holds a message invisible for 12 hours at most.
pub const MAX_DELAY_SECONDS: i64 = 12 * 60 * 60;

/// The wait after the `attempts`-th failed attempt: 30 s doubled per
/// attempt, capped at 12 hours, scaled by `jitter` in `[0.5, 1.0]` (drawn
/// per delivery) so that deliveries failing together do not return together.
#[must_use]
pub fn retry_delay(attempts: u32, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let full = FIRST_DELAY_SECONDS
        .saturating_mul(1_i64 << exponent)
        .min(MAX_DELAY_SECONDS);
    let jitter = jitter.clamp(0.5, 1.0);
    // Whole seconds: precision beyond them means nothing to a retry.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "at most 43,200 seconds, exact in f64"
    )]
    let seconds = (full as f64 * jitter).round() as i64;
    Duration::seconds(seconds.max(1))
}

/// The wait of an attempt that found its organisation's places for
/// deliveries in flight all taken: 5 to 15 seconds, spread so that the
/// waiting ones do not return together. Not an attempt: nothing counts it.
#[must_use]
pub fn busy_delay() -> Duration {
    Duration::seconds(rand::random_range(5..=15))
}

/// A jitter drawn from the thread's generator.
#[must_use]
pub fn jitter() -> f64 {
    rand::random_range(0.5..=1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_stop_at_twelve_hours() {
        assert_eq!(retry_delay(1, 1.0), Duration::seconds(30));
        assert_eq!(retry_delay(2, 1.0), Duration::seconds(60));
        assert_eq!(retry_delay(3, 0.5), Duration::seconds(60));
        assert_eq!(retry_delay(40, 1.0), Duration::hours(12));
        assert_eq!(retry_delay(40, 7.0), Duration::hours(12), "jitter is clamped");
        for attempts in 1..30 {
            let d = retry_delay(attempts, jitter());
            assert!(d >= Duration::seconds(15) && d <= Duration::hours(12), "{d}");
        }
    }

    #[test]
    fn three_days_of_retries_take_a_bounded_number_of_attempts() {
        let mut waited = Duration::zero();
        let mut attempts = 0;
        while waited < Duration::days(3) {
            attempts += 1;
            waited += retry_delay(attempts, 1.0);
        }
        assert!((10..=20).contains(&attempts), "{attempts} attempts");
    }
}
