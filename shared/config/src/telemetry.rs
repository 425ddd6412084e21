//! Tracing setup: JSON lines on Lambda (CloudWatch), human-readable locally;
//! and metrics as CloudWatch embedded-metric-format lines.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the global subscriber once; later calls do nothing. `RUST_LOG`
/// filters (see [`log_filter`]); `SEATFLOW_LOG_FORMAT=json` forces JSON,
/// which is also the default inside Lambda.
pub fn init_tracing() {
    let filter = log_filter(crate::env::var("RUST_LOG").as_deref());
    let json = crate::env::var("SEATFLOW_LOG_FORMAT").is_some_and(|f| f == "json") || crate::env::on_lambda();
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = if json {
        tracing_subscriber::registry()
            .with(layer.json().without_time().with_filter(filter))
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(layer.with_filter(filter))
            .try_init()
    };
}

/// The filter `RUST_LOG` sets: a level, and levels per target
/// (`warn,seatflow_domain=debug`), as tracing's `Targets` reads them; `info`
/// when unset or not of that form. Not `EnvFilter`: its span and field
/// directives bring a regular-expression engine, a large part of every
/// function's binary, for logging nobody here configures.
#[must_use]
pub fn log_filter(setting: Option<&str>) -> Targets {
    setting
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// The CloudWatch namespace of seatflow's own metrics.
pub const METRICS_NAMESPACE: &str = "seatflow";

/// Counts as one CloudWatch embedded-metric-format line, in namespace
/// [`METRICS_NAMESPACE`] with the dimension `Function`: Lambda's log agent
/// turns the line into metrics, with no API call from the function.
#[must_use]
pub fn metrics_line(function: &str, counts: &[(&str, usize)], at_millis: i64) -> String {
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": at_millis,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": counts
                    .iter()
                    .map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"}))
                    .collect::<Vec<_>>(),
            }],
        },
        "Function": function,
    });
    for (name, count) in counts {
        line[*name] = serde_json::json!(count);
    }
    line.to_string()
}

/// Writes [`metrics_line`] to standard output, where Lambda's log agent reads it.
pub fn emit_metrics(function: &str, counts: &[(&str, usize)], at: chrono::DateTime<chrono::Utc>) {
    #[allow(
        clippy::print_stdout,
        reason = "the embedded metric format is read from stdout"
    )]
    {
        println!("{}", metrics_line(function, counts, at.timestamp_millis()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_sets_a_level_and_levels_per_target() {
        use tracing::Level;
        let filter = log_filter(Some("warn,seatflow_domain=debug"));
        assert!(filter.would_enable("seatflow_domain::service", &Level::DEBUG));
        assert!(!filter.would_enable("seatflow_domain::service", &Level::TRACE));
        assert!(filter.would_enable("aws_smithy_runtime", &Level::WARN));
        assert!(!filter.would_enable("aws_smithy_runtime", &Level::INFO));
        for unset_or_unread in [None, Some(""), Some("[span{field=1}]=debug")] {
            let filter = log_filter(unset_or_unread);
            assert!(
                filter.would_enable("anything", &Level::INFO),
                "{unset_or_unread:?}"
            );
            assert!(
                !filter.would_enable("anything", &Level::DEBUG),
                "{unset_or_unread:?}"
            );
        }
    }

    #[test]
    fn the_metrics_line_is_embedded_metric_format() {
        let line: serde_json::Value = serde_json::from_str(&metrics_line(
            "reconciler",
            &[("Drift", 3), ("Fetched", 40)],
            1_790_000_000_000,
        ))
        .unwrap_or_default();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "seatflow");
        assert_eq!(line["_aws"]["Timestamp"], 1_790_000_000_000_i64);
        assert_eq!(
            (line["Drift"].as_u64(), line["Fetched"].as_u64()),
            (Some(3), Some(40))
        );
        assert_eq!(line["Function"], "reconciler");
        let names: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["Drift", "Fetched"]);
    }
}
