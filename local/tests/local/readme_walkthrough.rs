//! The README's walkthrough, run as written against a freshly started
//! `seatflow-local`: the only substitutions are the port (a free one instead
//! of 3000) and the built binary for `cargo run -q -p seatflow-local --`.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Process, free_port, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_seatflow-local");

/// A quiet `seatflow-local` on a free port with a known webhook secret.
fn start_with_webhook_secret(state: &std::path::Path, secret: &str) -> (Process, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let server = Process(
        Command::new(BIN)
            .args(["--addr", &addr.to_string()])
            .env("SEATFLOW_STATE_DIR", state)
            .env("STRIPE_WEBHOOK_SECRET", secret)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("seatflow-local starts"),
    );
    wait_for(addr, "seatflow-local");
    (server, addr)
}

fn walkthrough() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("walkthrough start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("walkthrough end marker");
    readme[start..end]
        .split("```sh")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    run_walkthrough("memory", &[]);
}

/// The same walkthrough with the DynamoDB store, on moto (`make test` starts it).
#[cfg(feature = "dynamodb")]
#[test]
fn the_readme_walkthrough_works_on_dynamodb() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: this test needs moto server; run it with `make test`"
    );
    let table = format!("seatflow-walkthrough-{}", std::process::id());
    run_walkthrough(
        "dynamodb",
        &[("SEATFLOW_STORE", "dynamodb"), ("TABLE_NAME", &table)],
    );
}

fn run_walkthrough(name: &str, env: &[(&str, &str)]) {
    let state = std::env::temp_dir().join(format!("seatflow-walkthrough-{name}-{}", std::process::id()));
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut command = Command::new(BIN);
    command
        .env("SEATFLOW_ADDR", addr.to_string())
        .env("SEATFLOW_STATE_DIR", &state)
        .env_remove("SEATFLOW_JWT_SECRET")
        .env_remove("SEATFLOW_STORE")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _server = Process(command.spawn().expect("seatflow-local starts"));
    wait_for(addr, "seatflow-local");

    let script = walkthrough()
        .replace("127.0.0.1:3000", &addr.to_string())
        .replace("cargo run -q -p seatflow-local --", BIN);
    let workdir = state.join("work");
    std::fs::create_dir_all(&workdir).expect("workdir");
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("SEATFLOW_STATE_DIR", &state)
        .env_remove("SEATFLOW_JWT_SECRET")
        .current_dir(&workdir)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "walkthrough failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    for expected in [
        r#""cadence":"billed annually""#,
        r#""url":"http://"#,
        r#""status":"provisioned""#,
        r#""product":"analytics","#,
        r#""id":"usr_frank""#,
        r#""product":"enterprise","until":"#,
        r#""action":"seats_auto_purchased""#,
        r#""quantity_after":6"#,
        r#""product":"professional""#,
        r#""id":"usr_erin""#,
        r#""dry_run":true"#,
        r#""action":"seat_transferred""#,
        "scope,team_id,team_name,product,purchased,allocated,assigned,available",
        "team,team_engineering,Engineering,professional,,12,",
        r#""id":"usr_dave""#,
        r#""code":"forbidden""#,
        r#""secret":"sfk_"#,
        r#""billing_contacts":["billing@demo.example"]"#,
        r#""already_sent":0,"held":0,"failed":[]"#,
        r#""term_after":"annual""#,
        r#""action":"cancellation_undone""#,
        r#""organization":{"id":"org_demo""#,
        "saved openapi.json",
    ] {
        assert!(
            stdout.contains(expected),
            "walkthrough output lacks {expected}\n{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn the_server_greets_with_its_address_and_stops_cleanly_on_a_signal() {
    let state = std::env::temp_dir().join(format!("seatflow-greeting-{}", std::process::id()));
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let mut server = Process(
        Command::new(BIN)
            .args(["--addr", &addr.to_string()])
            .env("SEATFLOW_STATE_DIR", &state)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts"),
    );
    wait_for(addr, "seatflow-local");
    // SIGTERM takes the same graceful path as Ctrl-C.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let exit = server.0.wait().expect("exits");
    assert!(exit.success(), "clean shutdown, got {exit}");
    let mut greeting = String::new();
    server
        .0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut greeting)
        .expect("read");
    assert!(
        greeting.contains(&format!("listening on http://{addr}")),
        "{greeting}"
    );
    assert!(greeting.contains("token --role admin"), "{greeting}");
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn a_bad_catalog_stops_the_process_at_start_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("seatflow-bad-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("catalog.toml");
    std::fs::write(
        &bad,
        "currency = \"usd\"\nmax_quantity = 10\n[products.basic]\nname = \"Basic\"\nkind = \"plan\"\n",
    )
    .expect("write");
    let output = Command::new(BIN)
        .args(["--addr", &format!("127.0.0.1:{}", free_port())])
        .env("SEATFLOW_CATALOG", &bad)
        .env("SEATFLOW_STATE_DIR", &dir)
        .output()
        .expect("runs");
    assert!(!output.status.success(), "refused to start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("catalog") && stderr.contains("basic"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_token_command_takes_each_role_as_documented() {
    let state = std::env::temp_dir().join(format!("seatflow-tokens-{}", std::process::id()));
    for args in [
        vec!["token", "--role", "admin"],
        vec![
            "token",
            "--role",
            "team_manager",
            "--team",
            "team_engineering",
            "--team",
            "team_design",
        ],
        vec!["token", "--role", "member", "--user", "usr_dave"],
    ] {
        let output = Command::new(BIN)
            .args(&args)
            .env("SEATFLOW_STATE_DIR", &state)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let token = String::from_utf8(output.stdout).expect("utf-8");
        assert_eq!(token.trim().split('.').count(), 3, "{args:?} prints a JWT");
    }
    let refused = Command::new(BIN)
        .args(["token", "--role", "owner"])
        .env("SEATFLOW_STATE_DIR", &state)
        .output()
        .expect("runs");
    assert!(!refused.status.success(), "an unknown role is refused");
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn the_local_server_takes_signed_stripe_webhooks_and_refuses_unsigned_ones() {
    let state = std::env::temp_dir().join(format!("seatflow-webhook-{}", std::process::id()));
    let secret = "whsec_local_test_secret";
    let (_server, addr) = start_with_webhook_secret(&state, secret);
    let body = r#"{"id":"evt_local_1","object":"event","type":"customer.subscription.created","created":1790000000,"data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1"}}}"#;
    #[allow(clippy::disallowed_methods)] // a real Stripe signature is stamped with real time
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let signature = format!(
        "t={t},v1={}",
        seatflow_stripe::signature::sign(secret.as_bytes(), t, body.as_bytes())
    );
    let post = |signature: Option<&str>| {
        let mut command = Command::new("curl");
        command.args([
            "-sS",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
        ]);
        if let Some(signature) = signature {
            command.args(["-H", &format!("Stripe-Signature: {signature}")]);
        }
        let url = format!("http://{addr}/v1/stripe/webhook");
        let output = command
            .args(["--data-binary", body, &url])
            .output()
            .expect("curl runs");
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let accepted = post(Some(&signature));
    assert!(
        accepted.ends_with("200") && accepted.contains(r#""queued":true"#),
        "{accepted}"
    );
    let refused = post(None);
    assert!(
        refused.ends_with("400") && refused.contains("invalid_signature"),
        "{refused}"
    );
    let _ = std::fs::remove_dir_all(&state);
}

/// The offline purchase path: a subscription set in the offline Stripe (as a
/// change in Stripe's dashboard would) and a signed
/// `customer.subscription.created` for the demo organisation go through the
/// webhook, the in-memory queue and the provisioner, which reads the
/// subscription from the offline Stripe; the seats appear in the licenses
/// summary.
#[test]
fn a_signed_subscription_webhook_provisions_seats_in_the_local_server() {
    let state = std::env::temp_dir().join(format!("seatflow-provision-{}", std::process::id()));
    let secret = "whsec_local_provision_secret";
    let (_server, addr) = start_with_webhook_secret(&state, secret);
    #[allow(clippy::disallowed_methods)] // a real Stripe signature is stamped with real time
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    // The period ends in 5 days: inside the 7-day reminder window.
    let end = t + 5 * 86_400;
    let body = format!(
        r#"{{"id":"evt_local_sub","object":"event","type":"customer.subscription.created","created":1790000000,"data":{{"object":{{"id":"sub_local","object":"subscription","status":"active","customer":"cus_local","cancel_at_period_end":false,"metadata":{{"org":"org_demo"}},"items":{{"object":"list","data":[{{"quantity":7,"current_period_start":{start},"current_period_end":{end},"price":{{"id":"price_x","lookup_key":"seatflow_enterprise_annual"}}}}]}}}}}}}}"#,
        start = end - 365 * 86_400
    );
    let body = body.as_str();
    let token = Command::new(BIN)
        .args(["token", "--role", "admin"])
        .env("SEATFLOW_STATE_DIR", &state)
        .output()
        .expect("token");
    let token = String::from_utf8(token.stdout).expect("utf-8");
    let auth = format!("Authorization: Bearer {}", token.trim());
    let event: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let put = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-X", "PUT", "-H", &auth])
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(event["data"]["object"].to_string())
        .arg(format!("http://{addr}/dev/stripe/subscriptions/sub_local"))
        .output()
        .expect("curl runs");
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stdout));
    let signature = format!(
        "t={t},v1={}",
        seatflow_stripe::signature::sign(secret.as_bytes(), t, body.as_bytes())
    );
    let posted = Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
        ])
        .args([
            "-H",
            &format!("Stripe-Signature: {signature}"),
            "--data-binary",
            body,
        ])
        .arg(format!("http://{addr}/v1/stripe/webhook"))
        .output()
        .expect("curl runs");
    assert!(
        posted.status.success(),
        "{}",
        String::from_utf8_lossy(&posted.stdout)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let licenses = Command::new("curl")
            .args(["-sS", "-H", &format!("Authorization: Bearer {}", token.trim())])
            .arg(format!("http://{addr}/v1/licenses"))
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&licenses.stdout).into_owned();
        if text.contains(r#""product":"enterprise""#) {
            assert!(
                text.contains(r#""product":"enterprise","name":"Enterprise","kind":"plan","purchased":7"#),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "seats never appeared: {text}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The reminders job, on demand: the renewal reminder lands in the outbox, once.
    let curl = |method: &str, path: &str, auth: bool| {
        let mut command = Command::new("curl");
        command.args(["-sS", "-X", method]);
        if auth {
            command.args(["-H", &format!("Authorization: Bearer {}", token.trim())]);
        }
        let output = command
            .arg(format!("http://{addr}{path}"))
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = curl("POST", "/dev/reminders/run", true);
    assert!(
        first.contains(r#""sent":["org_demo/renewal#sub_local#"#),
        "{first}"
    );
    let again = curl("POST", "/dev/reminders/run", true);
    assert!(again.contains(r#""sent":[],"already_sent":1"#), "{again}");
    // The billing portal: offline, the customer's page of offline invoices (this
    // subscription was set in the offline provider directly, so it has none).
    let portal: serde_json::Value =
        serde_json::from_str(&curl("POST", "/v1/billing/portal", true)).expect("portal JSON");
    let url = portal["url"].as_str().expect("a portal URL").to_owned();
    let path = url
        .split_once(&addr.to_string())
        .map(|(_, p)| p.to_owned())
        .expect("a local page");
    let page = curl("GET", &path, false);
    assert!(
        page.contains("<h1>Billing</h1>") && page.contains("No invoices yet"),
        "{page}"
    );
    // Reconciliation on demand: Stripe's (offline) state was delivered, so nothing drifted.
    let reconciled = curl("POST", "/dev/reconcile", true);
    assert!(
        reconciled.contains(r#""subscriptions_fetched":1,"drift_corrected":0"#),
        "{reconciled}"
    );
    assert!(curl("POST", "/dev/reconcile", false).contains(r#""code":"unauthenticated""#));
    let outbox = curl("GET", "/dev/outbox", true);
    assert_eq!(
        outbox
            .matches(r#""subject":"Demo Co: your seatflow subscription renews on"#)
            .count(),
        1,
        "{outbox}"
    );
    assert!(outbox.contains(r#""to":["alice@demo.example"]"#), "{outbox}");
    assert!(curl("GET", "/dev/outbox", false).contains(r#""code":"unauthenticated""#));
    // The development routes are a person admin's: an API key (here one
    // that may only check entitlements) is refused.
    let created = Command::new("curl")
        .args([
            "-sS",
            "-X",
            "POST",
            "-H",
            &format!("Authorization: Bearer {}", token.trim()),
        ])
        .args(["-H", "Content-Type: application/json"])
        .args(["-d", r#"{"name":"probe","scopes":["entitlements:read"]}"#])
        .arg(format!("http://{addr}/v1/api-keys"))
        .output()
        .expect("curl runs");
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).expect("key JSON");
    let key = created["result"]["secret"]
        .as_str()
        .or_else(|| created["secret"].as_str())
        .unwrap_or_else(|| panic!("a key secret in {created}"))
        .to_owned();
    for (method, path) in [
        ("GET", "/dev/outbox"),
        ("POST", "/dev/reminders/run"),
        ("POST", "/dev/reconcile"),
    ] {
        let refused = Command::new("curl")
            .args(["-sS", "-X", method, "-H", &format!("Authorization: Bearer {key}")])
            .arg(format!("http://{addr}{path}"))
            .output()
            .expect("curl runs");
        let refused = String::from_utf8_lossy(&refused.stdout);
        assert!(refused.contains(r#""code":"forbidden""#), "{path}: {refused}");
    }
    let _ = std::fs::remove_dir_all(&state);
}
