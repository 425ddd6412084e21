//! `seatflow-local`: every seatflow HTTP router in one process on the
//! in-memory adapters, seeded with a demo organisation; and `token`, which
//! prints a bearer token for that organisation.

mod demo;
mod secret;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use seatflow_domain::{EntitlementStore, Role, SystemClock, TeamId, UserId};
use seatflow_memory::MemoryJobQueue;
use seatflow_provisioner::Provisioner;
use seatflow_seats_api::AppState;
use seatflow_stripe_webhook::WebhookState;

#[derive(Debug, Parser)]
#[command(
    name = "seatflow-local",
    about = "Run seatflow locally on in-memory adapters",
    version
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "SEATFLOW_ADDR", default_value = "127.0.0.1:3000", global = true)]
    addr: SocketAddr,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every HTTP function (the default).
    Serve,
    /// Print a bearer token for the demo organisation.
    Token {
        /// The caller's role.
        #[arg(long, value_enum, default_value_t = RoleArg::Admin)]
        role: RoleArg,
        /// The user the token is for (defaults: the demo admin, manager or member).
        #[arg(long)]
        user: Option<String>,
        /// For team managers: a team they manage (repeat for several).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum RoleArg {
    Admin,
    TeamManager,
    Member,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    seatflow_http::init_tracing();
    let cli = Cli::parse();
    let jwt = secret::jwt_config()?;
    let store = local_store().await?;
    let catalog = Arc::new(seatflow_seats_api::catalog_from_env()?);
    let state = AppState::new(store, Arc::new(SystemClock), catalog, jwt);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(state, cli.addr).await,
        Command::Token {
            role,
            user,
            teams,
            ttl_hours,
        } => {
            let (role, default_user, default_teams) = match role {
                RoleArg::Admin => (Role::Admin, demo::ADMIN, vec![]),
                RoleArg::TeamManager => (
                    Role::TeamManager,
                    demo::MANAGER,
                    vec![demo::ENGINEERING.to_owned()],
                ),
                RoleArg::Member => (Role::Member, demo::MEMBER, vec![]),
            };
            let user = UserId::parse(user.as_deref().unwrap_or(default_user)).context("--user")?;
            let teams = if teams.is_empty() { default_teams } else { teams };
            let teams = teams
                .iter()
                .map(TeamId::parse)
                .collect::<Result<Vec<_>, _>>()
                .context("--team")?;
            let token = state
                .auth
                .mint(&user, &demo::org(), role, &teams, ttl_hours * 3600)?;
            #[allow(clippy::print_stdout)] // the token is the command's output
            {
                println!("{token}");
            }
            Ok(())
        }
    }
}

/// The store: in-memory unless `SEATFLOW_STORE` says otherwise. On DynamoDB
/// the table is created if it does not exist (local use against moto).
async fn local_store() -> anyhow::Result<Arc<dyn EntitlementStore>> {
    #[cfg(feature = "dynamodb")]
    if std::env::var("SEATFLOW_STORE").as_deref() == Ok("dynamodb") {
        let store = seatflow_dynamodb::DynamoEntitlementStore::from_env()
            .await
            .context("DynamoDB store")?;
        store
            .ensure_table()
            .await
            .context("creating the DynamoDB table")?;
        return Ok(Arc::new(store));
    }
    seatflow_seats_api::store_from_env("memory").await
}

async fn serve(state: AppState, addr: SocketAddr) -> anyhow::Result<()> {
    demo::seed(&state.seats)
        .await
        .context("seeding the demo organisation")?;
    // The webhook queues jobs in memory; the provisioner applies them in this process.
    let jobs = Arc::new(MemoryJobQueue::new());
    tokio::spawn(provision(jobs.clone(), Provisioner::new(state.seats.clone())));
    let webhook = WebhookState {
        secret: Arc::new(secret::webhook_secret()?),
        queue: jobs,
        clock: Arc::new(SystemClock),
    };
    let app = seatflow_seats_api::router(state.clone())
        .merge(seatflow_checkout::router(state))
        .merge(seatflow_stripe_webhook::router(webhook));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    #[allow(clippy::print_stdout)] // the greeting is the point
    {
        println!(
            "seatflow-local listening on http://{addr} (demo organisation '{}')",
            demo::ORG
        );
        println!("try:");
        println!("  TOKEN=$(cargo run -q -p seatflow-local -- token --role admin)");
        println!("  curl -s http://{addr}/v1/licenses -H \"Authorization: Bearer $TOKEN\"");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Applies queued jobs as they arrive. A job that fails is logged with its
/// event id and parked (kept in memory, not retried): the local stand-in for
/// SQS's retries and dead-letter queue.
async fn provision(jobs: Arc<MemoryJobQueue>, provisioner: Provisioner) {
    let mut parked = Vec::new();
    loop {
        while let Some(job) = jobs.pop() {
            if let Err(error) = provisioner.apply(&job).await {
                tracing::error!(event = %job.event_id, error = %error, parked = parked.len() + 1, "job parked");
                parked.push(job);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
