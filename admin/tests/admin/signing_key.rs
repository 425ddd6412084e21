//! `seatflow-admin signing-key`: a new key set loads and signs; a rotation
//! puts a new key first and keeps the one before; a broken set is refused.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use seatflow_http::entitlement_tokens::{EntitlementTokens, KeySetDocument};

fn admin(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatflow-admin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("written");
    let out = child.wait_with_output().expect("ends");
    (
        out.status.success(),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

#[test]
fn a_new_key_set_signs_and_a_rotation_keeps_the_previous_key_published() {
    let (ok, new, _) = admin(&["signing-key", "new"], "");
    assert!(ok);
    let tokens = EntitlementTokens::from_key_set(&new, "seatflow", std::time::Duration::from_secs(60))
        .expect("a usable key set");
    let first: KeySetDocument = serde_json::from_str(&new).expect("json");
    assert_eq!(tokens.signing_kid(), first.keys[0].kid);

    let (ok, rotated, _) = admin(&["signing-key", "rotate"], &new);
    assert!(ok);
    let rotated_doc: KeySetDocument = serde_json::from_str(&rotated).expect("json");
    assert_eq!(rotated_doc.keys.len(), 2);
    assert_eq!(
        rotated_doc.keys[1].kid, first.keys[0].kid,
        "the old key stays published"
    );
    let tokens = EntitlementTokens::from_key_set(&rotated, "seatflow", std::time::Duration::from_secs(60))
        .expect("usable");
    assert_eq!(tokens.jwks()["keys"].as_array().map(Vec::len), Some(2));
    assert_ne!(tokens.signing_kid(), first.keys[0].kid, "a new key signs");

    let (ok, _, error) = admin(
        &["signing-key", "rotate"],
        r#"{"keys":[{"kid":"k","private_key":"bm90IGEga2V5"}]}"#,
    );
    assert!(!ok);
    assert!(error.contains("not a base64 PKCS#8 P-256 private key"), "{error}");
}
