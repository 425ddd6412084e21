//! Tracing setup: JSON lines on Lambda (CloudWatch), human-readable locally.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing. `RUST_LOG`
/// filters (default `info`); `SEATFLOW_LOG_FORMAT=json` forces JSON, which is
/// also the default inside Lambda.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("SEATFLOW_LOG_FORMAT")
        .map(|f| f == "json")
        .unwrap_or(false)
        || std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().without_time().try_init()
    } else {
        builder.try_init()
    };
}
