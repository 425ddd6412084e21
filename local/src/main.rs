//! `seatflow-local`: every seatflow HTTP router in one process on the
//! in-memory adapters, seeded with a demo organisation; and `token`, which
//! prints a bearer token for that organisation.

mod demo;
mod offline;
mod outbox;
mod reconcile;
mod secret;
mod sign_in;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use seatflow_checkout::{CheckoutConfig, CheckoutState};
use seatflow_config::Stores;
use seatflow_domain::{OrgId, PaymentGateway, Role, TeamId, UserId};
use seatflow_http::AppState;
use seatflow_memory::{
    MemoryEntitlementStore, MemoryJobQueue, MemoryNoticeLedger, MemoryOutbox, OfflinePaymentGateway,
};
use seatflow_provisioner::Provisioner;
use seatflow_reconciler::{ReconcileConfig, Reconciler};
use seatflow_renewal_reminders::{ReminderConfig, Reminders};
use seatflow_stripe_webhook::WebhookState;
use seatflow_webhooks::{Deliverer, HttpTransport, LocalQueue, Relay, deliver_in_process};
use secrecy::ExposeSecret as _;

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
    /// Print a bearer token (for the demo organisation unless `--org`).
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
        /// The organisation (any id): an admin's token for one seatflow does
        /// not know founds it on first use, with that admin.
        #[arg(long)]
        org: Option<String>,
        /// The admin's email in a founding token (default: from the ids).
        #[arg(long)]
        email: Option<String>,
        /// The organisation's name in a founding token.
        #[arg(long)]
        org_name: Option<String>,
    },
    /// Print the local operator key (`sfo_…`): the vendor's staff, for the
    /// `/v1/operator` routes and `seatflow-admin`.
    OperatorKey,
    /// Print a link that signs a browser in to the portal (as the demo admin
    /// unless `--role`/`--user`), as the vendor's application would send it.
    LoginUrl {
        /// The person's role.
        #[arg(long, value_enum, default_value_t = RoleArg::Admin)]
        role: RoleArg,
        /// The user (defaults: the demo admin, manager or member).
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, serde::Deserialize)]
#[value(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
enum RoleArg {
    Admin,
    TeamManager,
    Member,
}

impl RoleArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::TeamManager => "team_manager",
            Self::Member => "member",
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    seatflow_config::init_tracing();
    let cli = Cli::parse();
    let jwt = secret::jwt_config()?;
    let max_lifetime = jwt.max_lifetime_seconds;
    let (stores, memory) = local_store().await?;
    // Outbound webhooks: queued and delivered in this process.
    let deliveries = Arc::new(LocalQueue::new());
    let seats = seatflow_config::seats_over(stores.entitlements.clone(), seatflow_config::clock())?;
    let (per_second, burst) = seatflow_config::entitlement_rate()?;
    let operator_key = secret::operator_key()?;
    let auth = seatflow_config::authenticator(jwt, seats.clone())?.with_operator_keys(
        seatflow_http::OperatorKeys::from_vars(seatflow_config::env::var)?.with(
            "local-operator",
            &seatflow_http::ApiKeySecret::hash(operator_key.expose_secret()),
        ),
    );
    let state = AppState::with_auth(seats, auth)
        .with_entitlement_rate(per_second, burst)
        .with_entitlement_tokens(secret::entitlement_tokens()?)
        .with_outbound(seatflow_http::Outbound {
            log: stores.deliveries.clone(),
            queue: deliveries.clone(),
        })
        // Local receivers listen on plain HTTP.
        .allowing_http_endpoints();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let webhooks = Webhooks {
                stores: stores.clone(),
                memory,
                queue: deliveries,
            };
            serve(state, webhooks, cli.addr).await
        }
        Command::LoginUrl { role, user } => {
            demo_person(role, user.as_deref())?;
            let key = secret::sign_in_key()?;
            #[allow(clippy::print_stdout)] // the link is the command's output
            {
                println!(
                    "{}",
                    sign_in::link(&format!("http://{}", cli.addr), &key, role, user.as_deref())
                );
            }
            Ok(())
        }
        Command::OperatorKey => {
            #[allow(clippy::print_stdout)] // the key is the command's output
            {
                println!("{}", operator_key.expose_secret());
            }
            Ok(())
        }
        Command::Token {
            role,
            user,
            teams,
            ttl_hours,
            org,
            email,
            org_name,
        } => {
            let (user, role, default_teams) = demo_person(role, user.as_deref())?;
            let teams = if teams.is_empty() {
                default_teams
            } else {
                teams
                    .iter()
                    .map(TeamId::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .context("--team")?
            };
            anyhow::ensure!(
                ttl_hours >= 1 && ttl_hours * 3600 <= max_lifetime,
                "--ttl-hours must be 1 to {} (SEATFLOW_JWT_MAX_LIFETIME_HOURS)",
                max_lifetime / 3600
            );
            let org = match org {
                Some(org) => OrgId::parse(&org).context("--org")?,
                None => demo::org(),
            };
            let token = if org != demo::org() && matches!(role, Role::Admin) {
                let suffix = org.as_str().trim_start_matches("org_").replace('_', "-");
                let email = email.unwrap_or_else(|| format!("admin@{suffix}.example"));
                state
                    .auth
                    .mint_founder(&user, &org, &email, org_name.as_deref(), ttl_hours * 3600)?
            } else {
                state.auth.mint(&user, &org, role, &teams, ttl_hours * 3600)?
            };
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
/// The in-memory store is also answered as itself: its commits wake the
/// outbound webhooks' relay.
async fn local_store() -> anyhow::Result<(Stores, Option<Arc<MemoryEntitlementStore>>)> {
    #[cfg(feature = "dynamodb")]
    if std::env::var("SEATFLOW_STORE").as_deref() == Ok("dynamodb") {
        let store = seatflow_dynamodb::DynamoEntitlementStore::from_vars(seatflow_config::env::var)
            .await
            .context("DynamoDB store")?;
        store
            .ensure_table()
            .await
            .context("creating the DynamoDB table")?;
        // Endpoint secrets sealed in the table, as deployed.
        let key = secret::endpoint_secrets_key()?;
        let sealer = seatflow_dynamodb::sealing::SecretSealer::from_secret(&key)
            .context(seatflow_config::ENDPOINT_SECRETS_KEY)?;
        return Ok((Stores::of(store.with_sealer(Arc::new(sealer))), None));
    }
    match std::env::var("SEATFLOW_STORE").as_deref() {
        Err(_) | Ok("memory") => {}
        Ok("dynamodb") => anyhow::bail!("SEATFLOW_STORE=dynamodb needs a build with `--features dynamodb`"),
        Ok(other) => anyhow::bail!("SEATFLOW_STORE={other} is not a store; use 'memory' or 'dynamodb'"),
    }
    let memory = Arc::new(MemoryEntitlementStore::new());
    Ok((Stores::shared(memory.clone()), Some(memory)))
}

/// What outbound webhooks need in this process.
struct Webhooks {
    stores: Stores,
    memory: Option<Arc<MemoryEntitlementStore>>,
    queue: Arc<LocalQueue>,
}

impl Webhooks {
    /// Relays the in-memory store's events and delivers them, in this
    /// process. On DynamoDB the table's stream is what relays (on AWS, the
    /// outbox relay function): nothing is delivered locally then.
    fn start(
        self,
        seats: &seatflow_domain::Seats,
        mailer: Arc<dyn seatflow_domain::Mailer>,
        jobs: Arc<MemoryJobQueue>,
    ) -> anyhow::Result<()> {
        let Some(memory) = self.memory else {
            tracing::warn!(
                "outbound webhooks are not delivered locally on DynamoDB (the stream relays them on AWS)"
            );
            return Ok(());
        };
        let transport = HttpTransport::new().map_err(|e| anyhow::anyhow!("webhook transport: {e}"))?;
        let deliverer = Deliverer::new(
            Arc::new(seats.clone()),
            self.stores.entitlements.clone(),
            self.stores.deliveries.clone(),
            Arc::new(transport),
            Some(mailer),
            seatflow_config::clock(),
        )
        // One process and one customer at a time: nothing to keep from
        // other organisations, so no organisation waits for a place.
        .with_deliveries_per_org(16);
        let relay = Relay::new(
            self.stores.entitlements,
            self.stores.deliveries,
            self.queue.clone(),
        )
        .with_quantity_syncs(jobs);
        let taken = memory.clone();
        deliver_in_process(
            |hook| memory.on_events(hook),
            move || taken.take_outbox(),
            relay,
            self.queue,
            deliverer,
        );
        Ok(())
    }
}

/// A token for a person of the demo organisation, living `hours`.
/// A demo person of `role` (`user`, or the demo admin, manager or member).
fn demo_person(role: RoleArg, user: Option<&str>) -> anyhow::Result<(UserId, Role, Vec<TeamId>)> {
    let (role, default_user, teams) = match role {
        RoleArg::Admin => (Role::Admin, demo::ADMIN, vec![]),
        RoleArg::TeamManager => (
            Role::TeamManager,
            demo::MANAGER,
            vec![TeamId::parse(demo::ENGINEERING)?],
        ),
        RoleArg::Member => (Role::Member, demo::MEMBER, vec![]),
    };
    let user = UserId::parse(user.unwrap_or(default_user)).context("--user")?;
    Ok((user, role, teams))
}

async fn serve(state: AppState, webhooks: Webhooks, addr: SocketAddr) -> anyhow::Result<()> {
    let renewals = webhooks.stores.renewals.clone();
    // Emails (reminders, disabled webhook endpoints) land in the in-memory outbox.
    let outbox = Arc::new(MemoryOutbox::new());
    // Relaying from the first commit on: the seed's events go nowhere (no
    // endpoint exists yet).
    // The webhook queues jobs in memory; the provisioner applies them in
    // this process (and the relay queues quantity syncs there).
    let jobs = Arc::new(MemoryJobQueue::new());
    webhooks.start(&state.seats, outbox.clone(), jobs.clone())?;
    demo::seed(&state.seats)
        .await
        .context("seeding the demo organisation")?;
    // Listening for signals before the port answers: a SIGTERM sent as soon
    // as it does still stops the server cleanly.
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let sign_in_key = secret::sign_in_key()?;
    let clock = seatflow_config::clock();
    let secret = Arc::new(seatflow_config::webhook_secret_checked(secret::webhook_secret()?)?);
    let webhook = seatflow_stripe_webhook::router(WebhookState {
        secret: secret.clone(),
        queue: jobs.clone(),
        clock: clock.clone(),
        on_refused_signature: seatflow_stripe_webhook::count_nothing,
    });
    let config = CheckoutConfig::new(
        &std::env::var("CHECKOUT_SUCCESS_URL")
            .unwrap_or_else(|_| format!("{base}/checkout/done?session={{CHECKOUT_SESSION_ID}}")),
        &std::env::var("CHECKOUT_CANCEL_URL").unwrap_or_else(|_| format!("{base}/checkout/cancelled")),
        seatflow_config::proration_behavior()?,
    )?;
    let mut app = seatflow_seats_api::router(state.clone()).merge(webhook.clone());
    // With a Stripe key, real Stripe (test mode); without, the offline provider and its page.
    let payments: Arc<dyn PaymentGateway> = if std::env::var("STRIPE_SECRET_KEY").is_ok_and(|k| !k.is_empty())
    {
        tracing::info!("payments: Stripe (STRIPE_SECRET_KEY is set)");
        seatflow_config::payment_gateway()?
    } else {
        let events = offline::EventSender::new(webhook, secret, clock.clone());
        let gateway = OfflinePaymentGateway::new(
            Arc::new(state.seats.catalog().clone()),
            clock.clone(),
            format!("{base}/checkout/"),
        )
        .on_change(events.announce_updates());
        let currency = state.seats.catalog().currency.as_str().to_owned();
        app = app
            .merge(offline::dev_router(offline::DevStripe {
                app: state.clone(),
                gateway: gateway.clone(),
                events: events.clone(),
            }))
            .merge(offline::router(gateway.clone(), events, currency));
        tracing::info!("payments: offline checkout at {base}/checkout/… (no STRIPE_SECRET_KEY)");
        Arc::new(gateway)
    };
    // Short enough to watch a burst of automatic purchases become one
    // quantity update.
    let sync_window = seatflow_config::quantity_sync_window(20)?;
    tokio::spawn(provision(
        jobs,
        Provisioner::new(state.seats.clone(), payments.clone())
            .with_quantity_sync(sync_window, seatflow_config::proration_behavior()?),
    ));
    // Reminders: the job runs daily and on demand.
    let reminder_config = match std::env::var("BILLING_URL") {
        Ok(_) => ReminderConfig::from_env()?,
        Err(_) => ReminderConfig::new(format!("{base}/v1/licenses"))?,
    };
    let renewals_for_reconciler = renewals.clone();
    let reminders = Arc::new(Reminders::new(
        Arc::new(state.seats.clone()),
        renewals,
        Arc::new(MemoryNoticeLedger::new()),
        outbox.clone(),
        reminder_config,
    ));
    tokio::spawn(remind_daily(reminders.clone()));
    // Reconciliation with the payment provider: daily, and on demand.
    let reconciler = Arc::new(Reconciler::new(
        Arc::new(state.seats.clone()),
        payments.clone(),
        renewals_for_reconciler,
        ReconcileConfig::from_vars(seatflow_config::env::var)?,
    ));
    tokio::spawn(reconcile::daily(reconciler.clone()));
    let app = app
        .merge(reconcile::router(reconcile::ReconcileState {
            app: state.clone(),
            reconciler,
        }))
        .merge(outbox::router(outbox::DevState {
            app: state.clone(),
            outbox,
            reminders,
        }))
        .merge(seatflow_portal::router(seatflow_portal::PortalState {
            app: state.clone(),
            payments: payments.clone(),
            secure_cookies: false,
            proration: config.proration,
            sign_in: seatflow_config::portal_sign_in_with(&seatflow_config::Secrets::plain_env(&[
                seatflow_config::PORTAL_OIDC_CLIENT_SECRET,
            ]))?,
        }))
        .merge(sign_in::router(sign_in::SignInState {
            app: state.clone(),
            key: sign_in_key.clone(),
        }))
        .merge(seatflow_checkout::router(CheckoutState {
            app: state.clone(),
            payments,
            config: Arc::new(config),
            idempotency: std::sync::Arc::new(seatflow_memory::MemoryIdempotencyStore::new()),
        }));

    #[allow(clippy::print_stdout)] // the greeting is the point
    {
        println!(
            "seatflow-local listening on {base} (demo organisation '{}')",
            demo::ORG
        );
        println!(
            "open the portal as the demo admin: {}",
            sign_in::link(&base, &sign_in_key, RoleArg::Admin, None)
        );
        println!(
            "  others: cargo run -q -p seatflow-local -- login-url --role team_manager|member [--user ID]"
        );
        println!("try the API:");
        println!("  TOKEN=$(cargo run -q -p seatflow-local -- token --role admin)");
        println!("  curl -s {base}/v1/licenses -H \"Authorization: Bearer $TOKEN\"");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
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
            match provisioner.apply(&job).await {
                // SQS's held-back message: the sync comes back when its
                // window ends.
                Err(seatflow_provisioner::ProvisionError::SyncNotDue { until, .. }) => {
                    let jobs = jobs.clone();
                    let wait = (until - provisioner.seats().clock().now())
                        .to_std()
                        .unwrap_or_default();
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        jobs.requeue(job);
                    });
                }
                Err(error) => {
                    tracing::error!(event = %job.event_id, error = %error, parked = parked.len() + 1, "job parked");
                    // What operators see at /v1/operator/jobs, as on AWS.
                    provisioner.remember_failure(&job, &error).await;
                    parked.push(job);
                }
                Ok(_) => {
                    if let Err(error) = provisioner
                        .seats()
                        .integrations()
                        .job_succeeded(&job.event_id)
                        .await
                    {
                        tracing::warn!(event = %job.event_id, %error, "a failure record was not cleared");
                    }
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The local stand-in for the daily EventBridge schedule.
async fn remind_daily(reminders: Arc<Reminders>) {
    let day = std::time::Duration::from_secs(24 * 3600);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + day, day);
    loop {
        ticks.tick().await;
        if let Err(error) = reminders.run().await {
            tracing::error!(error = %error, "reminder run failed");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when it is first awaited.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    async move {
        let interrupted = async {
            match interrupt.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let terminated = async {
            match terminate.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupted => {},
            () = terminated => {},
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
