//! `seatflow-admin`: the vendor's command line (`main.rs` only runs it).
//!
//! - `seatflow-admin stripe sync [--dry-run]` creates or updates the
//!   catalog's products and volume-tiered prices in Stripe, and the Customer
//!   Portal configuration the billing-portal sessions open (running it again
//!   changes nothing);
//! - `seatflow-admin stripe webhook --url URL` registers the webhook endpoint
//!   with the events seatflow needs, and says where its signing secret goes.
//!
//! - `seatflow-admin signing-key new|rotate` prints the entitlement tokens'
//!   signing key set, new or rotated (read on stdin), for Secrets Manager.
//!
//! - `seatflow-admin operator …` calls the operators' routes of a running
//!   seatflow (`SEATFLOW_API_URL`, `SEATFLOW_OPERATOR_KEY`): find and show
//!   organisations, open one with its first admin, grant and end seats.
//!
//! Stripe is reached with `STRIPE_SECRET_KEY` (and `STRIPE_API_BASE`, a
//! stand-in's address, if set); the catalog is `SEATFLOW_CATALOG` or the
//! shipped one.

pub mod operator;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use seatflow_stripe::StripeApi;
use seatflow_stripe::setup::{self, Change, Registered};
use secrecy::ExposeSecret as _;

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "seatflow-admin", about = "The vendor's command line for seatflow")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set the Stripe account up.
    #[command(subcommand)]
    Stripe(StripeCommand),
    /// Support: organisations and their seats, as one of the vendor's operators.
    Operator {
        /// The deployed seatflow: the stack output `ApiUrl`.
        #[arg(long, env = "SEATFLOW_API_URL", global = true)]
        api_url: Option<String>,
        /// An operator key (`sfo_…`); best given in the environment.
        #[arg(long, env = "SEATFLOW_OPERATOR_KEY", hide_env_values = true, global = true)]
        operator_key: Option<String>,
        /// What to do.
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// The offline entitlement tokens' signing key set (the secret named by
    /// the template's EntitlementKeysSecretName).
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
}

/// Signing key commands.
#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Print a new key set of one ES256 key: store it as the secret's value.
    New,
    /// Read the current key set on stdin; print the next one: a new key that
    /// signs from now on, and the current one, still published so its tokens
    /// verify until they expire. Rotate again only after a token lifetime.
    Rotate,
}

/// Operator commands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Issue an operator key: prints the key (hand it to the operator) and the
    /// name=hash entry for the template's OperatorKeyHashes.
    Key {
        /// Who the key is for; audit entries name them by it.
        #[arg(long)]
        name: String,
    },
    /// List organisations by id, or find them by part of id or name, or by a subscription id.
    Orgs {
        /// Part of an id or name, or a subscription id (sub_…).
        #[arg(long)]
        query: Option<String>,
        /// Go on after this organisation id (the previous answer's next_after).
        #[arg(long)]
        after: Option<String>,
        /// At most this many (1 to 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One organisation for support: pools, subscriptions, grants, admins, recent audit.
    Show {
        /// The organisation id.
        org: String,
    },
    /// Open an organisation with its first admin.
    Open {
        /// Its id: the tenant id its people's tokens carry.
        #[arg(long)]
        id: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// The first admin's email.
        #[arg(long)]
        admin_email: String,
        /// The first admin's name.
        #[arg(long)]
        admin_name: String,
        /// The first admin's user id (the one their tokens carry); generated if absent.
        #[arg(long)]
        admin_id: Option<String>,
    },
    /// Grant seats outside any subscription.
    Grant {
        /// The organisation id.
        #[arg(long)]
        org: String,
        /// The product.
        #[arg(long)]
        product: String,
        /// Seats.
        #[arg(long)]
        quantity: u32,
        /// Why (a contract, a ticket).
        #[arg(long)]
        reference: String,
        /// When the grant ends (RFC 3339), if it does.
        #[arg(long)]
        until: Option<String>,
    },
    /// End a grant: its seats stop counting.
    EndGrant {
        /// The organisation id.
        #[arg(long)]
        org: String,
        /// The grant id.
        #[arg(long)]
        grant: String,
    },
}

/// Stripe commands.
#[derive(Debug, Subcommand)]
pub enum StripeCommand {
    /// Create or update Stripe products and prices from the catalog, and
    /// the Customer Portal configuration.
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

/// Runs a parsed command line, printing its report on stdout.
///
/// # Errors
/// Whatever stopped the command, with its context.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Stripe(command) => stripe(command).await,
        Command::Operator {
            api_url,
            operator_key,
            command,
        } => operate(api_url, operator_key, command).await,
        Command::SigningKey(command) => signing_key(&command),
    }
}

/// A new operator key, and the entry that lets it in.
#[allow(clippy::print_stdout, reason = "a command line reports on stdout")]
fn issue_operator_key(name: &str) -> anyhow::Result<()> {
    seatflow_http::OperatorKeys::parse(&format!("{name}={}", "0".repeat(64)))
        .map_err(|_| anyhow::anyhow!("--name must be a plain name (no ',' or '=', 1 to 200 characters)"))?;
    let key = seatflow_http::ApiKeySecret::generate_operator();
    println!(
        "operator key for {name} (shown this once): {}",
        key.secret.expose_secret()
    );
    println!("add this entry to the stack parameter OperatorKeyHashes (comma-separated) and deploy:");
    println!("{name}={}", key.hash);
    Ok(())
}

#[allow(clippy::print_stdout, reason = "a command line reports on stdout")]
async fn operate(
    api_url: Option<String>,
    operator_key: Option<String>,
    command: OperatorCommand,
) -> anyhow::Result<()> {
    // Issuing a key needs no running seatflow.
    if let OperatorCommand::Key { name } = &command {
        return issue_operator_key(name);
    }
    let api = operator::OperatorApi::new(api_url, operator_key)?;
    let answer = operator_answer(&api, command).await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}

/// What the operators' routes answer `command` (JSON).
///
/// # Errors
/// A malformed id, the request failed, or the API refused it (its problem's
/// code and detail).
pub async fn operator_answer(
    api: &operator::OperatorApi,
    command: OperatorCommand,
) -> anyhow::Result<serde_json::Value> {
    use hyper::Method;
    use serde_json::json;
    let segment = |id: &str| -> anyhow::Result<String> {
        anyhow::ensure!(
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{id:?} is not an id (letters, digits, '_' and '-')"
        );
        Ok(id.to_owned())
    };
    let answer = match command {
        OperatorCommand::Key { .. } => anyhow::bail!("issuing a key calls no API"),
        OperatorCommand::Orgs { query, after, limit } => {
            let query = operator::find_query(query.as_deref(), after.as_deref(), limit);
            api.call(Method::GET, &format!("/v1/operator/organizations{query}"), None)
                .await?
        }
        OperatorCommand::Show { org } => {
            api.call(
                Method::GET,
                &format!("/v1/operator/organizations/{}", segment(&org)?),
                None,
            )
            .await?
        }
        OperatorCommand::Open {
            id,
            name,
            admin_email,
            admin_name,
            admin_id,
        } => {
            let body = json!({
                "id": id, "name": name,
                "admin": {"id": admin_id, "name": admin_name, "email": admin_email}
            });
            api.call(Method::POST, "/v1/operator/organizations", Some(&body))
                .await?
        }
        OperatorCommand::Grant {
            org,
            product,
            quantity,
            reference,
            until,
        } => {
            let body =
                json!({"product": product, "quantity": quantity, "reference": reference, "until": until});
            let path = format!("/v1/operator/organizations/{}/grants", segment(&org)?);
            api.call(Method::POST, &path, Some(&body)).await?
        }
        OperatorCommand::EndGrant { org, grant } => {
            let path = format!(
                "/v1/operator/organizations/{}/grants/{}",
                segment(&org)?,
                segment(&grant)?
            );
            api.call(Method::DELETE, &path, None).await?
        }
    };
    Ok(answer)
}

#[allow(clippy::print_stdout, reason = "a command line reports on stdout")]
async fn stripe(command: StripeCommand) -> anyhow::Result<()> {
    let api = StripeApi::from_vars(seatflow_config::env::var).context("connecting to Stripe")?;
    match command {
        StripeCommand::Sync { dry_run } => {
            let catalog = seatflow_config::catalog()?;
            let mut report = setup::sync_catalog(&api, &catalog, dry_run)
                .await
                .context("syncing the catalog to Stripe")?;
            report.push(
                setup::sync_billing_portal(&api, dry_run)
                    .await
                    .context("syncing the Customer Portal configuration to Stripe")?,
            );
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
            let events = seatflow_stripe::event::NEEDED;
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
                        "The webhook function reads it within SecretsTtlSeconds (5 minutes unless changed), no redeploy"
                    );
                    println!(
                        "needed; until then it refuses Stripe's events with 400, and Stripe retries them for up to"
                    );
                    println!("three days, so none is lost.");
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

#[allow(
    clippy::print_stdout,
    reason = "a command line prints what it makes on stdout"
)]
fn signing_key(command: &SigningKeyCommand) -> anyhow::Result<()> {
    use seatflow_http::entitlement_tokens::{EntitlementTokens, KeySetDocument};
    let keys = match command {
        SigningKeyCommand::New => KeySetDocument::generate(),
        SigningKeyCommand::Rotate => {
            let mut current = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut current)
                .context("reading the key set")?;
            // The current set must load before it is rotated.
            EntitlementTokens::from_key_set(&current, "seatflow", std::time::Duration::from_secs(60))
                .context("the key set on stdin")?;
            serde_json::from_str::<KeySetDocument>(&current)
                .context("the key set on stdin")?
                .rotated()
        }
    };
    println!("{}", serde_json::to_string_pretty(&keys)?);
    Ok(())
}
