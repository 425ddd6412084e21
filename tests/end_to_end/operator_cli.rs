//! `seatflow-admin operator …` against a running seats API, as a vendor's
//! support engineer runs it (the command line parsed as typed): open an
//! organisation, find it, grant seats, look into it, end the grant; and a
//! refused request fails with its problem.

use std::sync::Arc;

use clap::Parser as _;
use seatflow_admin::{Cli, Command};

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

/// `seatflow-admin operator --api-url API --operator-key KEY ARGS…`: the
/// JSON it prints, or the error it fails with.
async fn admin(api: &str, key: &str, args: &[&str]) -> anyhow::Result<Value> {
    let line = [
        "seatflow-admin",
        "operator",
        "--api-url",
        api,
        "--operator-key",
        key,
    ];
    let cli = Cli::try_parse_from(line.iter().chain(args))?;
    let Command::Operator {
        api_url,
        operator_key,
        command,
    } = cli.command
    else {
        unreachable!("an operator command line");
    };
    let client = seatflow_admin::operator::OperatorApi::new(api_url, operator_key)?;
    seatflow_admin::operator_answer(&client, command).await
}

fn json(output: &anyhow::Result<Value>) -> Value {
    match output {
        Ok(answer) => answer.clone(),
        Err(error) => panic!("{error:#}"),
    }
}

/// What a failed command says on stderr.
fn stderr(output: &anyhow::Result<Value>) -> String {
    output
        .as_ref()
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default()
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
    assert!(again.is_err());
    assert!(stderr(&again).contains("already_exists"), "{}", stderr(&again));
    let stranger = admin(&api, "sfo_not-a-key-anyone-issued", &["orgs"]).await;
    assert!(stderr(&stranger).contains("401"), "{}", stderr(&stranger));
    let traversal = admin(&api, KEY, &["show", "../v1/me"]).await;
    assert!(stderr(&traversal).contains("is not an id"));
}

/// The operator key goes in plain text only to this machine: a host that
/// only starts like one is somewhere else.
#[test]
fn the_operator_key_travels_over_tls_or_to_this_machine_only() {
    use seatflow_admin::operator::key_may_travel_to;
    for allowed in [
        "https://api.example.com",
        "http://localhost:3000",
        "http://127.0.0.1:3000/",
        "http://[::1]:3000",
    ] {
        assert!(key_may_travel_to(allowed), "{allowed}");
    }
    for refused in [
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example:3000",
        "http://localhost@evil.example",
        "http://api.example.com",
        "ftp://localhost",
        "localhost:3000",
        "",
    ] {
        assert!(!key_may_travel_to(refused), "{refused}");
    }
}
