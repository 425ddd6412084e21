//! Automatic license management end to end: seats bought past a full pool
//! leave the outbox as quantity syncs (the relay), the provisioner brings
//! the provider's quantity up at most once per window, and every seat is
//! billed exactly once, a crash after the provider's change included.

use seatflow_domain::{JobSubject, LicenseManagement, LicenseMode, ProvisioningJob};
use seatflow_memory::MemoryJobQueue;
use seatflow_provisioner::ProvisionError;
use seatflow_testkit::{CountedPayments, HeldPayments};
use seatflow_webhooks::{LocalQueue, Relay};

use super::*;

const WINDOW: i64 = 60;

/// Creates `n` users (numbered from `from`) and assigns each a seat, by 16
/// concurrent tasks: past the pool's seats, each is bought automatically.
async fn add_past_the_pool(app: &App, from: usize, n: usize) {
    let seats = &app.state.seats;
    let admin = app.admin();
    let mut users = Vec::new();
    for i in from..from + n {
        let new = seatflow_domain::NewUser {
            id: None,
            name: seatflow_domain::DisplayName::parse(&format!("User {i}")).expect("name"),
            email: Some(seatflow_domain::Email::parse(&format!("user{i}@buyer.example")).expect("email")),
            directory: None,
            role: Role::Member,
            team: None,
        };
        users.push(
            seats
                .directory()
                .create_user(&admin, new, None, Mode::Apply)
                .await
                .expect("user")
                .value
                .user
                .id,
        );
    }
    let pro = seatflow_domain::ProductId::parse("professional").expect("id");
    let chunks: Vec<Vec<UserId>> = users.chunks(n.div_ceil(16)).map(<[UserId]>::to_vec).collect();
    let tasks = chunks.into_iter().map(|chunk| {
        let seats = seats.clone();
        let admin = admin.clone();
        let pro = pro.clone();
        tokio::spawn(async move {
            for user in chunk {
                seats
                    .allocations()
                    .assign(&admin, &pro, &user, Mode::Apply)
                    .await
                    .expect("bought and assigned");
            }
        })
    });
    for task in tasks.collect::<Vec<_>>() {
        task.await.expect("task");
    }
}

/// The outbox relayed: the quantity syncs it queued.
async fn relay(app: &App, jobs: &Arc<MemoryJobQueue>) -> Vec<ProvisioningJob> {
    let relay = Relay::new(
        app.memory.clone(),
        app.memory.clone(),
        Arc::new(LocalQueue::new()),
    )
    .with_quantity_syncs(jobs.clone());
    relay.relay(&app.memory.take_outbox()).await.expect("relayed");
    std::iter::from_fn(|| jobs.pop()).collect()
}

fn is_sync(job: &ProvisioningJob) -> bool {
    matches!(job.subject, JobSubject::QuantitySync { .. })
}

async fn automatic(app: &App) {
    app.state
        .seats
        .subscriptions()
        .set_license_management(
            &app.admin(),
            &LicenseManagement {
                mode: LicenseMode::Automatic,
                max_auto_seats_per_period: None,
                notify: true,
            },
            Mode::Apply,
        )
        .await
        .expect("automatic");
}

async fn pool(app: &App) -> seatflow_domain::SeatPool {
    use seatflow_testkit::StoreReads as _;
    let store: Arc<dyn seatflow_domain::EntitlementStore> = app.memory.clone();
    store
        .pool(
            &app.admin().org,
            &seatflow_domain::ProductId::parse("professional").expect("id"),
        )
        .await
        .expect("read")
        .expect("pool")
}

#[tokio::test]
async fn a_thousand_seats_bought_at_once_cost_one_provider_write_per_window_and_are_billed_once() {
    let app = app();
    let sub = app.subscribe("professional", "annual", 12).await;
    automatic(&app).await;
    let counted = Arc::new(CountedPayments::new(Arc::new(app.gateway.clone())));
    let provisioner = Provisioner::new(app.state.seats.clone(), counted.clone()).with_quantity_sync(
        chrono::Duration::seconds(WINDOW),
        ProrationBehavior::CreateProrations,
    );
    let jobs = Arc::new(MemoryJobQueue::new());
    let _seeded = app.memory.take_outbox();

    // 12 seats held, then 1,000 users more: each seat bought at once.
    add_past_the_pool(&app, 0, 12 + 600).await;
    let first = relay(&app, &jobs).await;
    assert!(
        first.iter().all(is_sync) && first.len() >= 600,
        "{} jobs",
        first.len()
    );
    assert!(
        first.iter().all(|j| j.group == format!("qsync:{sub}")),
        "one group per subscription"
    );
    for job in &first {
        let _ = provisioner.apply(job).await.expect("synced or nothing to do");
    }
    assert_eq!(counted.writes(), ["set_quantity"], "one write for 600 seats");
    assert_eq!(provider_quantity(&app, &sub).await, 612);
    assert!(
        pool(&app).await.owed.is_empty(),
        "paid off by the provider's answer"
    );

    // Within the window: the next burst waits for it, and writes nothing.
    app.clock.advance(chrono::Duration::seconds(5));
    add_past_the_pool(&app, 612, 400).await;
    let second = relay(&app, &jobs).await;
    assert_eq!(second.len(), 400, "one per change that bought");
    let mut held = Vec::new();
    for job in second {
        match provisioner.apply(&job).await {
            Err(ProvisionError::SyncNotDue { until, .. }) => {
                assert_eq!(until, app.clock.now() + chrono::Duration::seconds(WINDOW - 5));
                held.push(job);
            }
            other => panic!("within the window: {other:?}"),
        }
    }
    assert_eq!(counted.writes().len(), 1, "nothing written within the window");
    let owed = pool(&app).await;
    assert_eq!(
        (owed.purchased, owed.assigned),
        (1012, 1012),
        "the seats are usable at once"
    );
    assert_eq!(owed.owed.values().sum::<u32>(), 400);

    // After it: one write, for all 400; the held jobs after that one find
    // nothing owed.
    app.clock.advance(chrono::Duration::seconds(WINDOW));
    for job in &held {
        provisioner.apply(job).await.expect("synced or nothing to do");
    }
    assert_eq!(counted.writes(), ["set_quantity", "set_quantity"]);
    assert_eq!(provider_quantity(&app, &sub).await, 1012, "each seat billed once");
    let settled = pool(&app).await;
    assert!(settled.owed.is_empty());
    assert_eq!((settled.purchased, settled.assigned), (1012, 1012));

    // The provider's own event for the change finds it in place.
    let now_held = app
        .gateway
        .subscription(&sub)
        .await
        .expect("read")
        .expect("exists");
    let event = seatflow_stripe::event::job_for(
        "evt_after_sync",
        "customer.subscription.updated",
        app.clock.now(),
        &wire::subscription_object(&now_held, app.clock.now()).to_string(),
    );
    provisioner.apply(&event).await.expect("applied");
    assert_eq!(pool(&app).await.purchased, 1012, "nothing counted twice");
}

#[tokio::test]
async fn a_sync_that_died_after_the_provider_changed_bills_nothing_more() {
    let app = app();
    let sub = app.subscribe("professional", "monthly", 2).await;
    automatic(&app).await;
    let _seeded = app.memory.take_outbox();
    let jobs = Arc::new(MemoryJobQueue::new());
    add_past_the_pool(&app, 0, 5).await;
    let queued = relay(&app, &jobs).await;
    assert_eq!(queued.len(), 3, "one sync per purchase");

    // The provider applies the change; the provisioner never hears back.
    let dying = Provisioner::new(
        app.state.seats.clone(),
        Arc::new(HeldPayments::dies_after_change(Arc::new(app.gateway.clone()))),
    );
    let died = tokio::time::timeout(std::time::Duration::from_millis(300), dying.apply(&queued[0])).await;
    assert!(died.is_err(), "the sync died after the provider's change");
    assert_eq!(provider_quantity(&app, &sub).await, 5);
    assert_eq!(pool(&app).await.owed.values().sum::<u32>(), 3, "still owed here");

    // Its retries: within the window they wait; after it, the provider holds
    // the quantity already, and nothing more is billed.
    let counted = Arc::new(CountedPayments::new(Arc::new(app.gateway.clone())));
    let provisioner = Provisioner::new(app.state.seats.clone(), counted.clone());
    assert!(matches!(
        provisioner.apply(&queued[1]).await,
        Err(ProvisionError::SyncNotDue { .. })
    ));
    app.clock.advance(chrono::Duration::seconds(61));
    for job in &queued {
        provisioner.apply(job).await.expect("synced");
    }
    assert!(counted.writes().is_empty(), "{:?}", counted.writes());
    assert_eq!(provider_quantity(&app, &sub).await, 5, "billed once");
    let settled = pool(&app).await;
    assert!(settled.owed.is_empty(), "paid off by the provider's state");
    assert_eq!((settled.purchased, settled.assigned), (5, 5));
}
