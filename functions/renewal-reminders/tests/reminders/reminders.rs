//! The reminders job on the DynamoDB store and ledger and SES, all on moto,
//! with sent mail read back from moto: windows, opt-out and contacts,
//! idempotent re-runs (also concurrent), failure then retry, payment-failed
//! and over-limit notices, escaping.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use seatflow_domain::{
    Catalog, Clock as _, Email, Mode, NoticeKind, Role, Seats, SubscriptionId, SubscriptionSnapshot,
    SubscriptionStatus, Term,
};
use seatflow_dynamodb::{DynamoEntitlementStore, DynamoNoticeLedger};
use seatflow_renewal_reminders::{ReminderConfig, Reminders};
use seatflow_ses::SesMailer;
use seatflow_testkit::aws_calls::CallLog;
use seatflow_testkit::iam::{Evaluation, Stack, Template};
use seatflow_testkit::{Fixture, aws, moto, product};

const BILLING_URL: &str = "https://billing.example/seats?from=email&x=1";

/// One test's world: its own table, its own sender identity.
struct World {
    store: Arc<DynamoEntitlementStore>,
    sdk: aws_config::SdkConfig,
    table: String,
    sender: String,
    /// The job's AWS calls, as it makes them.
    calls: CallLog,
}

const FUNCTION: &str = "RenewalRemindersFunction";
/// Grants the windows test uses no call of, and why they stay.
const UNUSED_ON_PURPOSE: [&str; 1] = [
    // A notice claimed and then not sent is released: the failed-send test's path.
    "RenewalRemindersFunction/NoticeLedgerWritesOnly/dynamodb:DeleteItem",
];

impl World {
    async fn new() -> Self {
        let sdk = aws::sdk_config().await;
        let store = aws::fresh_table(&sdk).await;
        let table = store.table().to_owned();
        let sender = format!("reminders-{}@seatflow.example", uuid::Uuid::new_v4().simple());
        Self {
            store: Arc::new(store),
            sdk,
            table,
            sender,
            calls: CallLog::new(),
        }
    }

    /// Every AWS call the job made is allowed by its role in the template,
    /// deployed with this world's sender (moto enforces no IAM); the grants
    /// no call used.
    fn assert_permitted(&self) -> Vec<String> {
        let template = Template::transformed().with_parameter("SenderAddress", &self.sender);
        let stack = Stack::new(template).with_table(&self.table);
        let evaluation = Evaluation::of(&stack, &self.calls.calls());
        assert!(
            evaluation.denied.is_empty(),
            "{FUNCTION}'s role would deny:\n{}",
            evaluation
                .denied
                .iter()
                .map(|(_, r)| r.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
        evaluation.unused_grants(&stack)
    }

    async fn verify_sender(&self) {
        aws_sdk_sesv2::Client::new(&self.sdk)
            .create_email_identity()
            .email_identity(&self.sender)
            .send()
            .await
            .expect("identity");
    }

    /// The job, on `f`'s clock.
    fn reminders(&self, f: &Fixture) -> Reminders {
        let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
        let store = Arc::new(DynamoEntitlementStore::new(
            self.calls.dynamodb(&self.sdk, FUNCTION),
            &self.table,
        ));
        let seats = Seats::new(store.clone(), f.clock.clone(), catalog);
        Reminders::new(
            Arc::new(seats),
            store,
            Arc::new(DynamoNoticeLedger::new(
                self.calls.dynamodb(&self.sdk, FUNCTION),
                &self.table,
            )),
            Arc::new(SesMailer::new(
                self.calls.sesv2(&self.sdk, FUNCTION),
                &self.sender,
            )),
            ReminderConfig::new(BILLING_URL).expect("config"),
        )
    }

    async fn sent(&self) -> Vec<serde_json::Value> {
        moto::sent_mail(&self.sender).await
    }
}

fn subscription(
    f: &Fixture,
    id: &str,
    status: SubscriptionStatus,
    end: DateTime<Utc>,
) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        org: f.admin.org.clone(),
        id: SubscriptionId::parse(id).expect("id"),
        customer: "cus_reminders".into(),
        status,
        items: [(product("professional"), 25), (product("sso"), 10)].into(),
        term: Some(Term::Annual),
        current_period_start: Some(end - Duration::days(365)),
        current_period_end: Some(end),
        cancel_at_period_end: false,
    }
}

async fn apply(f: &Fixture, state: &SubscriptionSnapshot, event: &str) {
    let at = f.clock.now();
    f.seats
        .subscriptions()
        .apply_subscription(&f.admin, state, event, at, Mode::Apply)
        .await
        .expect("applied");
}

fn to(message: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(message["destinations"]["ToAddresses"].clone()).expect("addresses")
}

#[tokio::test]
async fn each_window_sends_once_and_a_rerun_sends_nothing() {
    let w = World::new().await;
    w.verify_sender().await;
    let f = Fixture::named(w.store.clone(), "org_windows", "Acme Windows").await;
    f.user_with_role("Ada Admin", None, Role::Admin).await;
    f.user("Mo Member", None).await;
    let end = f.clock.now() + Duration::days(40);
    apply(
        &f,
        &subscription(&f, "sub_windows", SubscriptionStatus::Active, end),
        "evt_1",
    )
    .await;
    // Another organisation's subscription set to cancel gets no reminder.
    let g = Fixture::named(w.store.clone(), "org_cancels", "Cancels Ltd").await;
    g.user_with_role("Gus Admin", None, Role::Admin).await;
    let mut cancelling = subscription(&g, "sub_cancelling", SubscriptionStatus::Active, end);
    cancelling.cancel_at_period_end = true;
    apply(&g, &cancelling, "evt_2").await;

    let job = w.reminders(&f);
    let nothing = job.run().await.expect("run");
    assert_eq!(
        (nothing.due, nothing.sent.len()),
        (0, 0),
        "40 days out: no window yet"
    );

    let mut expected = 0;
    for (days_before, window) in [(30, "30d"), (7, "7d"), (1, "1d")] {
        f.clock
            .set(end - Duration::days(days_before) + Duration::hours(1));
        let report = job.run().await.expect("run");
        assert_eq!(report.sent.len(), 1, "{window}: {report:?}");
        assert!(report.sent[0].ends_with(window), "{report:?}");
        expected += 1;
        // Later the same day: nothing twice.
        f.clock.advance(Duration::hours(6));
        let again = job.run().await.expect("rerun");
        assert_eq!((again.sent.len(), again.already_sent), (0, 1), "{again:?}");
        assert_eq!(w.sent().await.len(), expected);
    }
    let sent = w.sent().await;
    let subject = sent[0]["subject"].as_str().expect("subject");
    assert!(
        subject.starts_with("Acme Windows: your seatflow subscription renews on"),
        "{subject}"
    );
    assert_eq!(
        to(&sent[0]),
        ["ada.admin@example.com"],
        "admins, when no billing contact is set"
    );
    let html = sent[0]["body"].as_str().expect("html");
    for part in [
        "Plan: Professional × 25 seats",
        "Add-on: Single Sign-On × 10",
        "Amount due at renewal:",
        "billed annually",
        "https://billing.example/seats?from=email&amp;x=1",
    ] {
        assert!(html.contains(part), "{part:?} missing from {html}");
    }
    // The period ended and renewed: the next period's reminders are new notices.
    f.clock.set(end + Duration::days(1));
    assert_eq!(job.run().await.expect("run").due, 0);
    assert_eq!(w.assert_permitted(), UNUSED_ON_PURPOSE, "grants no call used");
}

#[tokio::test]
async fn billing_contacts_and_opt_outs_are_respected() {
    let w = World::new().await;
    w.verify_sender().await;
    let f = Fixture::named(w.store.clone(), "org_prefs", "Prefs Inc").await;
    f.user_with_role("Ann Admin", None, Role::Admin).await;
    let end = f.clock.now() + Duration::days(5);
    apply(
        &f,
        &subscription(&f, "sub_prefs", SubscriptionStatus::Active, end),
        "evt_prefs",
    )
    .await;
    let billing = Email::parse("billing@prefs.example").expect("email");
    f.seats
        .directory()
        .set_notification_preferences(
            &f.admin,
            vec![billing],
            [NoticeKind::OverLimit].into(),
            Mode::Apply,
        )
        .await
        .expect("preferences");
    // Over its limit too: 2 holders, 1 seat.
    f.buy("enterprise", 2).await;
    for name in ["Ent One", "Ent Two"] {
        let user = f.user(name, None).await;
        f.seats
            .allocations()
            .assign(&f.admin, &product("enterprise"), &user.id, Mode::Apply)
            .await
            .expect("assigned");
    }
    f.buy("enterprise", 1).await;

    let report = w.reminders(&f).run().await.expect("run");
    assert_eq!(
        report.sent.len(),
        1,
        "the renewal only, over-limit opted out: {report:?}"
    );
    let sent = w.sent().await;
    assert_eq!(to(&sent[0]), ["billing@prefs.example"]);

    // Opting out of renewals too, and back into over-limit notices: the
    // over-limit notice goes to the admins.
    f.seats
        .directory()
        .set_notification_preferences(&f.admin, vec![], [NoticeKind::Renewal].into(), Mode::Apply)
        .await
        .expect("preferences");
    let report = w.reminders(&f).run().await.expect("run");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert!(report.sent[0].contains("over_limit#enterprise#1"), "{report:?}");
    let sent = w.sent().await;
    assert_eq!(to(&sent[1]), ["ann.admin@example.com"]);
    let subject = sent[1]["subject"].as_str().expect("subject");
    assert_eq!(subject, "Prefs Inc: Enterprise has more users than seats");
    w.assert_permitted();
}

#[tokio::test]
async fn a_failed_send_is_retried_on_the_next_run_and_then_sent_once() {
    let w = World::new().await;
    let f = Fixture::named(w.store.clone(), "org_retry", "Retry GmbH").await;
    f.user_with_role("Rita Admin", None, Role::Admin).await;
    let end = f.clock.now() + Duration::days(3);
    apply(
        &f,
        &subscription(&f, "sub_retry", SubscriptionStatus::Active, end),
        "evt_retry",
    )
    .await;
    let job = w.reminders(&f);

    // The sender identity is not verified yet: SES refuses.
    let failed = job.run().await.expect("run");
    assert_eq!((failed.sent.len(), failed.failed.len()), (0, 1), "{failed:?}");
    assert!(w.sent().await.is_empty());

    w.verify_sender().await;
    let retried = job.run().await.expect("run");
    assert_eq!((retried.sent.len(), retried.failed.len()), (1, 0), "{retried:?}");
    assert_eq!(job.run().await.expect("run").already_sent, 1);
    assert_eq!(w.sent().await.len(), 1);
    w.assert_permitted();
}

#[tokio::test]
async fn concurrent_runs_send_each_notice_once() {
    let w = World::new().await;
    w.verify_sender().await;
    let f = Fixture::named(w.store.clone(), "org_concurrent", "Twice Corp").await;
    f.user_with_role("Cy Admin", None, Role::Admin).await;
    for i in 0..4 {
        let end = f.clock.now() + Duration::days(2 + i);
        apply(
            &f,
            &subscription(&f, &format!("sub_c{i}"), SubscriptionStatus::Active, end),
            &format!("evt_c{i}"),
        )
        .await;
    }
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let job = w.reminders(&f);
            tokio::spawn(async move { job.run().await.expect("run") })
        })
        .collect();
    let mut sent = 0;
    for run in runs {
        let report = run.await.expect("joined");
        assert!(report.failed.is_empty(), "{report:?}");
        sent += report.sent.len();
    }
    assert_eq!(sent, 4);
    assert_eq!(w.sent().await.len(), 4);
    w.assert_permitted();
}

#[tokio::test]
async fn a_failing_payment_is_noticed_once_during_grace_only() {
    let w = World::new().await;
    w.verify_sender().await;
    let f = Fixture::named(w.store.clone(), "org_dunning", "Dunning SA").await;
    f.user_with_role("Dee Admin", None, Role::Admin).await;
    let start = f.clock.now() - Duration::days(2);
    let mut failing = subscription(
        &f,
        "sub_dunning",
        SubscriptionStatus::PastDue,
        start + Duration::days(30),
    );
    failing.current_period_start = Some(start);
    failing.term = Some(Term::Monthly);
    apply(&f, &failing, "evt_dunning").await;
    let job = w.reminders(&f);
    let report = job.run().await.expect("run");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert!(
        report.sent[0].contains("payment_failed#sub_dunning"),
        "{report:?}"
    );
    let subject = w.sent().await[0]["subject"].as_str().expect("subject").to_owned();
    // Grace is 7 days from the period start.
    let until = (start + Duration::days(7)).format("%-d %B %Y").to_string();
    assert_eq!(
        subject,
        format!("Dunning SA: payment failed, seats usable until {until}")
    );
    assert_eq!(job.run().await.expect("run").already_sent, 1);
    // Past grace the seats are suspended: no notice promising a grace period.
    f.clock.set(start + Duration::days(8));
    assert_eq!(job.run().await.expect("run").due, 0);
    w.assert_permitted();
}

#[tokio::test]
async fn names_are_escaped_in_the_html_body() {
    let w = World::new().await;
    w.verify_sender().await;
    let f = Fixture::named(
        w.store.clone(),
        "org_escape",
        "<script>alert(\"x\")</script> & Co",
    )
    .await;
    f.user_with_role("Eve Admin", None, Role::Admin).await;
    let end = f.clock.now() + Duration::days(6);
    apply(
        &f,
        &subscription(&f, "sub_escape", SubscriptionStatus::Active, end),
        "evt_escape",
    )
    .await;
    w.reminders(&f).run().await.expect("run");
    let sent = w.sent().await;
    let html = sent[0]["body"].as_str().expect("html");
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; Co"),
        "{html}"
    );
    w.assert_permitted();
}

/// Seats bought automatically: one digest per product and day to the
/// billing contacts (nothing on a day with no new purchase), the admins told
/// as well once the period's limit is reached; `notify: false` or opting
/// out of the kind sends nothing.
#[tokio::test]
async fn seats_bought_automatically_are_told_in_one_digest_a_day() {
    let w = World::new().await;
    w.verify_sender().await;
    let f = Fixture::named(w.store.clone(), "org_auto_digest", "Auto Inc").await;
    f.user_with_role("Ann Admin", None, Role::Admin).await;
    let end = f.clock.now() + Duration::days(200);
    let mut state = subscription(&f, "sub_auto_digest", SubscriptionStatus::Active, end);
    state.items = [(product("professional"), 1)].into();
    apply(&f, &state, "evt_auto_digest").await;
    let billing = Email::parse("billing@auto.example").expect("email");
    f.seats
        .directory()
        .set_notification_preferences(&f.admin, vec![billing], [].into(), Mode::Apply)
        .await
        .expect("preferences");
    f.buy_automatically(Some(3), true).await;
    let mut people = Vec::new();
    for i in 0..5 {
        people.push(f.user(&format!("Person {i}"), None).await);
    }
    // The free seat, then two bought.
    for person in &people[..3] {
        f.assign(&product("professional"), &person.id).await;
    }
    let report = w.reminders(&f).run().await.expect("run");
    assert_eq!(
        report.sent,
        ["org_auto_digest/auto_purchases#professional#0#2"],
        "{report:?}"
    );
    let sent = w.sent().await;
    assert_eq!(to(&sent[0]), ["billing@auto.example"]);
    assert_eq!(
        sent[0]["subject"].as_str(),
        Some("Auto Inc: 2 Professional seats bought automatically this period")
    );
    assert!(
        sent[0]["body"]
            .as_str()
            .is_some_and(|t| t.contains("Your limit is 3 a period.")),
        "{}",
        sent[0]
    );
    // The next day, nothing new: nothing sent.
    f.clock.advance(Duration::days(1));
    assert!(w.reminders(&f).run().await.expect("run").sent.is_empty());
    // The limit reached: the admins are told too.
    f.assign(&product("professional"), &people[3].id).await;
    assert_eq!(
        f.refused_assign(&product("professional"), &people[4].id).await,
        "auto_seat_budget_exhausted"
    );
    f.clock.advance(Duration::days(1));
    let report = w.reminders(&f).run().await.expect("run");
    assert_eq!(
        report.sent,
        ["org_auto_digest/auto_purchases#professional#0#3"],
        "{report:?}"
    );
    let sent = w.sent().await;
    assert_eq!(to(&sent[1]), ["billing@auto.example", "ann.admin@example.com"]);
    assert!(
        sent[1]["body"]
            .as_str()
            .is_some_and(|t| t.contains("That is the limit of 3 a period")),
        "{}",
        sent[1]
    );
    // Not told: nothing sent, whatever is bought.
    f.buy_automatically(None, false).await;
    f.assign(&product("professional"), &people[4].id).await;
    f.clock.advance(Duration::days(1));
    assert!(w.reminders(&f).run().await.expect("run").sent.is_empty());
    w.assert_permitted();
}
