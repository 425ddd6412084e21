//! Tracing setup: JSON lines on Lambda (CloudWatch), human-readable locally;
//! and metrics as CloudWatch embedded-metric-format lines.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing. `RUST_LOG`
/// filters (default `info`); `SEATFLOW_LOG_FORMAT=json` forces JSON, which is
/// also the default inside Lambda.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = crate::env::var("SEATFLOW_LOG_FORMAT").is_some_and(|f| f == "json") || crate::env::on_lambda();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().without_time().try_init()
    } else {
        builder.try_init()
    };
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
