//! The README's webhook receiver (Python, with the Standard Webhooks
//! specification's own `standardwebhooks` library, installed into `.venv` by
//! `scripts/with-moto.sh`), run as written against `seatflow-local`: it
//! verifies every event the local process delivers, and refuses a post
//! whose signature is forged or stale.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{Process, admin_token, free_port, start_local, wait_for};

fn receiver_script() -> &'static str {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- receiver:start -->")
        .expect("receiver start marker");
    let end = readme.find("<!-- receiver:end -->").expect("receiver end marker");
    let block = &readme[start..end];
    let code = block.split("```python").nth(1).expect("a python block");
    code.split("```").next().expect("closed block")
}

fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (status.trim().parse().expect("a status"), body.to_owned())
}

#[test]
fn the_readme_receiver_verifies_what_seatflow_local_sends() {
    let state = std::env::temp_dir().join(format!("seatflow-receiver-{}", std::process::id()));
    let (_server, addr) = start_local(&state);
    let auth = format!("Authorization: Bearer {}", admin_token(&state));
    let base = format!("http://{addr}");

    let port = free_port();
    let (status, created) = curl(&[
        "-X",
        "POST",
        &format!("{base}/v1/webhook-endpoints"),
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        &format!(r#"{{"url":"http://127.0.0.1:{port}/","event_types":["seat.assigned","user.created"]}}"#),
    ]);
    assert_eq!(status, 201, "{created}");
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let secret = created["result"]["secret"].as_str().unwrap();

    let script = state.join("receiver.py");
    std::fs::write(&script, receiver_script()).unwrap();
    let mut receiver = Process(
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python"))
            .arg(&script)
            .env("SEATFLOW_WEBHOOK_SECRET", secret)
            .env("PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(".venv/bin/python runs the receiver (scripts/with-moto.sh, which `make test` uses, installs it)"),
    );
    let receiver_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(receiver_addr, "the README's receiver");
    let (lines_tx, lines) = mpsc::channel();
    let stdout = receiver.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    // A forged signature, one signed with the secret ten minutes ago (stale),
    // one signed for another event id, and none at all are refused.
    let receiver_url = format!("http://{receiver_addr}/");
    // The receiver checks against the wall clock, so the probes are signed by it.
    let now = seatflow_domain::Clock::now(&seatflow_domain::SystemClock).timestamp();
    let body = r#"{"id":"evt_probe","type":"user.created"}"#;
    let signed = |id: &str, at: i64| seatflow_webhooks::sign(&[secret], id, at, body.as_bytes()).unwrap();
    for (id, at, signature) in [
        ("evt_probe", now, format!("v1,{}", "A".repeat(44))),
        ("evt_probe", now - 600, signed("evt_probe", now - 600)),
        ("evt_other", now, signed("evt_probe", now)),
        ("", now, String::new()),
    ] {
        let (status, _) = curl(&[
            "-X",
            "POST",
            &receiver_url,
            "-H",
            &format!("webhook-id: {id}"),
            "-H",
            &format!("webhook-timestamp: {at}"),
            "-H",
            &format!("webhook-signature: {signature}"),
            "-d",
            body,
        ]);
        assert_eq!(status, 400, "{id} {at} {signature}");
    }
    let (status, _) = curl(&[
        "-X",
        "POST",
        &receiver_url,
        "-H",
        "webhook-id: evt_probe",
        "-H",
        &format!("webhook-timestamp: {now}"),
        "-H",
        &format!("webhook-signature: {}", signed("evt_probe", now)),
        "-d",
        body,
    ]);
    assert_eq!(
        status, 200,
        "and a true one passes: the refusals were the signature's"
    );
    assert_eq!(
        lines.recv_timeout(Duration::from_secs(20)).unwrap(),
        "verified user.created evt_probe"
    );

    let (status, user) = curl(&[
        "-X",
        "POST",
        &format!("{base}/v1/users"),
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"id":"usr_hook","name":"Hook Example","email":"hook@example.com","role":"member","seat":"professional"}"#,
    ]);
    assert_eq!(status, 201, "{user}");
    let mut verified = Vec::new();
    while verified.len() < 2 {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the receiver verified only {verified:?}"));
        verified.push(line);
    }
    assert!(
        verified[0].starts_with("verified user.created evt_"),
        "{verified:?}"
    );
    assert!(
        verified[1].starts_with("verified seat.assigned evt_"),
        "{verified:?}"
    );

    // The delivery log says both were delivered (once the answer is logged).
    let id = created["result"]["endpoint"]["id"].as_str().unwrap();
    let delivered = |log: &serde_json::Value| {
        log.as_array().is_some_and(|l| {
            l.len() == 2 && l.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1)
        })
    };
    let mut log = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, text) = curl(&[
            &format!("{base}/v1/webhook-endpoints/{id}/deliveries"),
            "-H",
            &auth,
        ]);
        assert_eq!(status, 200, "{text}");
        log = serde_json::from_str(&text).unwrap();
        if delivered(&log) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(delivered(&log), "{log}");
    let _ = std::fs::remove_dir_all(&state);
}
