//! `seatflow-admin operator key`, as a vendor runs it: the key and the
//! entry for the stack. (The commands that call a running seats API are
//! tested against it in `seatflow-tests`, `operator_cli`.)

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use seatflow_http::{ApiKeySecret, OperatorKeys};

#[test]
fn an_issued_operator_key_matches_the_entry_printed_for_the_stack() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_seatflow-admin"))
        .args(["operator", "key", "--name", "olga"])
        .env_remove("SEATFLOW_API_URL")
        .env_remove("SEATFLOW_OPERATOR_KEY")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let key = text
        .split_whitespace()
        .find(|w| w.starts_with("sfo_"))
        .expect("the key");
    let entry = text.lines().last().expect("the entry");
    assert_eq!(entry, format!("olga={}", ApiKeySecret::hash(key)));
    assert!(OperatorKeys::parse(entry).is_ok());
}
