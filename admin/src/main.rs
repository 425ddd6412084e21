//! `seatflow-admin`: the vendor's command line.
//!
//! - `seatflow-admin stripe sync [--dry-run]` creates or updates the
//!   catalog's products and volume-tiered prices in Stripe (running it again
//!   changes nothing);
//! - `seatflow-admin stripe webhook --url URL` registers the webhook endpoint
//!   with the events seatflow needs, and says where its signing secret goes.
//!
//! Stripe is reached with `STRIPE_SECRET_KEY` (and `STRIPE_API_BASE`, a
//! stand-in's address, if set); the catalog is `SEATFLOW_CATALOG` or the
//! shipped one.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use seatflow_stripe::StripeApi;
use seatflow_stripe::setup::{self, Change, Registered};

#[derive(Parser)]
#[command(name = "seatflow-admin", about = "The vendor's command line for seatflow")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set the Stripe account up.
    #[command(subcommand)]
    Stripe(StripeCommand),
}

#[derive(Subcommand)]
enum StripeCommand {
    /// Create or update Stripe products and prices from the catalog.
    Sync {
        /// Only report what would change.
        #[arg(long)]
        dry_run: bool,
    },
    /// Register the webhook endpoint with the events seatflow needs.
    Webhook {
        /// The endpoint: the stack output `StripeWebhookUrl`.
        #[arg(long)]
        url: String,
        /// The Secrets Manager secret holding Stripe's keys.
        #[arg(long, default_value = "seatflow/stripe")]
        secret_name: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seatflow-admin: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout, reason = "a command line reports on stdout")]
async fn run(cli: Cli) -> anyhow::Result<()> {
    let Command::Stripe(command) = cli.command;
    let api = StripeApi::from_env().context("connecting to Stripe")?;
    match command {
        StripeCommand::Sync { dry_run } => {
            let catalog = seatflow_config::catalog()?;
            let report = setup::sync_catalog(&api, &catalog, dry_run)
                .await
                .context("syncing the catalog to Stripe")?;
            for synced in &report {
                let change = match (synced.change, dry_run) {
                    (Change::Created, false) => "created",
                    (Change::Created, true) => "would create",
                    (Change::Updated, false) => "updated",
                    (Change::Updated, true) => "would update",
                    (Change::Unchanged, _) => "unchanged",
                };
                println!("{:<7} {:<36} {change}", synced.kind, synced.key);
            }
            let changed = report.iter().filter(|s| s.change != Change::Unchanged).count();
            println!(
                "{changed} of {} objects {}",
                report.len(),
                if dry_run { "would change" } else { "changed" }
            );
        }
        StripeCommand::Webhook { url, secret_name } => {
            if !url.starts_with("https://") {
                anyhow::bail!(
                    "the webhook URL must start with https:// (Stripe sends live events only there)"
                );
            }
            let events = seatflow_stripe_webhook::event::NEEDED;
            match setup::register_webhook(&api, &url, &events)
                .await
                .context("registering the webhook endpoint")?
            {
                Registered::Created { id, secret } => {
                    println!("created webhook endpoint {id} at {url} ({} events)", events.len());
                    println!("its signing secret (Stripe shows it this once): {secret}");
                    println!();
                    println!("Store it as webhook_secret in the Secrets Manager secret {secret_name}:");
                    println!(
                        "  aws secretsmanager put-secret-value --secret-id {secret_name} \\\n    --secret-string '{{\"secret_key\":\"sk_…\",\"webhook_secret\":\"{secret}\"}}'"
                    );
                    println!(
                        "Then deploy with a new SecretsVersion (sam deploy --parameter-overrides SecretsVersion=<new>)."
                    );
                    println!(
                        "Only then does the webhook function verify with it; until then it refuses Stripe's"
                    );
                    println!(
                        "events with 400 and Stripe retries them for up to three days, so none is lost."
                    );
                }
                Registered::Updated { id } => {
                    println!(
                        "webhook endpoint {id} at {url} existed; its events and status were brought in line"
                    );
                    println!(
                        "its signing secret is unchanged (Stripe shows a secret only when it creates it)"
                    );
                }
                Registered::Unchanged { id } => {
                    println!("webhook endpoint {id} at {url} is already registered as seatflow needs it");
                }
            }
        }
    }
    Ok(())
}
