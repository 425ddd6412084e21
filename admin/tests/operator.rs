//! `seatflow-admin operator …` against a running seats API, as a vendor's
//! support engineer runs it: open an organisation, find it, grant seats,
//! look into it, end the grant; and a refused request fails with its problem.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;
use std::sync::Arc;

use seatflow_domain::{Catalog, Seats, SystemClock};
use seatflow_http::{ApiKeySecret, AppState, Authenticator, JwtConfig, OperatorKeys};
use serde_json::Value;

const KEY: &str = "sfo_test-operator-key-for-the-admin-cli";

async fn serve() -> String {
    let seats = Seats::new(
        Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
        Arc::new(SystemClock),
        Arc::new(Catalog::default_catalog().expect("catalog")),
    );
    let jwt = JwtConfig::new(secrecy::SecretString::from("y".repeat(32))).expect("jwt");
    let auth = Authenticator::new(jwt, seats.clone())
        .with_operator_keys(OperatorKeys::default().with("ops-olga", &ApiKeySecret::hash(KEY)));
    let router = seatflow_seats_api::router(AppState::with_auth(seats, auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

async fn admin(api: &str, key: &str, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_seatflow-admin"));
    command
        .arg("operator")
        .args(args)
        .env("SEATFLOW_API_URL", api)
        .env("SEATFLOW_OPERATOR_KEY", key);
    tokio::task::spawn_blocking(move || command.output().expect("runs"))
        .await
        .expect("joined")
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_opens_finds_grants_shows_and_ends_from_the_command_line() {
    let api = serve().await;
    let opened = json(
        &admin(
            &api,
            KEY,
            &[
                "open",
                "--id",
                "org_globex",
                "--name",
                "Globex",
                "--admin-email",
                "hank@globex.example",
                "--admin-name",
                "Hank",
            ],
        )
        .await,
    );
    assert_eq!(opened["organization"]["id"], "org_globex");

    let found = json(&admin(&api, KEY, &["orgs", "--query", "glob"]).await);
    assert_eq!(found["organizations"][0]["name"], "Globex");

    let granted = json(
        &admin(
            &api,
            KEY,
            &[
                "grant",
                "--org",
                "org_globex",
                "--product",
                "professional",
                "--quantity",
                "25",
                "--reference",
                "pilot contract 7",
                "--until",
                "2030-01-01T00:00:00Z",
            ],
        )
        .await,
    );
    let grant = granted["result"]["id"].as_str().expect("grant id").to_owned();

    let shown = json(&admin(&api, KEY, &["show", "org_globex"]).await);
    assert_eq!(shown["licenses"][0]["purchased"], 25);
    assert_eq!(shown["admins"][0]["email"], "hank@globex.example");

    let ended = json(
        &admin(
            &api,
            KEY,
            &["end-grant", "--org", "org_globex", "--grant", &grant],
        )
        .await,
    );
    assert!(ended["ended_at"].is_string());

    // Refusals fail, saying why.
    let again = admin(
        &api,
        KEY,
        &[
            "open",
            "--id",
            "org_globex",
            "--name",
            "Globex",
            "--admin-email",
            "x@globex.example",
            "--admin-name",
            "X",
        ],
    )
    .await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already_exists"));
    let stranger = admin(&api, "sfo_not-a-key-anyone-issued", &["orgs"]).await;
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("401"));
    let traversal = admin(&api, KEY, &["show", "../v1/me"]).await;
    assert!(String::from_utf8_lossy(&traversal.stderr).contains("is not an id"));
}

#[tokio::test]
async fn an_issued_operator_key_matches_the_entry_printed_for_the_stack() {
    let output = admin("http://127.0.0.1:9", "sfo_unused", &["key", "--name", "olga"]).await;
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
