//! The security review's findings, each tried from outside by
//! `scripts/probe.py` against a running seatflow-local (and the template as
//! SAM transforms it): every one refused but those the script lists as
//! still open, each with what is left of it.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crate::common::{admin_token, start_local};

#[test]
fn every_finding_of_the_security_review_is_refused_but_the_listed_open_ones() {
    let state = std::env::temp_dir().join(format!("seatflow-probe-{}", std::process::id()));
    let (_server, addr) = start_local(&state);
    let token = admin_token(&state);
    let webhook_secret =
        std::fs::read_to_string(state.join("stripe-webhook-secret")).expect("the local webhook secret");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let probe = Command::new(format!("{root}/.venv/bin/python"))
        .arg("scripts/probe.py")
        .args(["--url", &format!("http://{addr}")])
        .args(["--token", &token])
        .args(["--stripe-webhook-secret", webhook_secret.trim()])
        .current_dir(root)
        .output()
        .expect(".venv/bin/python runs (scripts/with-moto.sh, which `make test` uses, installs it)");
    let report =
        String::from_utf8_lossy(&probe.stdout).into_owned() + &String::from_utf8_lossy(&probe.stderr);
    assert!(probe.status.success(), "{report}");
    let refused = report.lines().filter(|l| l.starts_with("refused")).count();
    assert!(
        refused >= 12,
        "the probe tried the findings ({refused} refused):\n{report}"
    );
    let _ = std::fs::remove_dir_all(&state);
}
