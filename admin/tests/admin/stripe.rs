//! `seatflow-admin stripe sync` and `stripe webhook`, run as a vendor runs
//! them, against a stateful stand-in of Stripe's API: the catalog's prices
//! arrive volume-tiered as the catalog says, a second run changes nothing, a
//! changed price replaces the old one under the same lookup key, and the
//! webhook endpoint is registered once with every event seatflow needs.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use seatflow_testkit::stripe_standin::StripeStandIn;

/// The shipped catalog's text.
fn catalog() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog.toml")).expect("catalog")
}

async fn admin(stripe: &StripeStandIn, args: &[&str], catalog_path: Option<&str>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_seatflow-admin"));
    command
        .args(args)
        .env("STRIPE_SECRET_KEY", "sk_test_standin")
        .env("STRIPE_API_BASE", stripe.base_url())
        .env_remove("SEATFLOW_CATALOG");
    if let Some(path) = catalog_path {
        command.env("SEATFLOW_CATALOG", path);
    }
    tokio::task::spawn_blocking(move || command.output().expect("runs"))
        .await
        .expect("joined")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_creates_the_catalog_once_and_a_second_run_changes_nothing() {
    let stripe = StripeStandIn::start().await;
    let first = admin(&stripe, &["stripe", "sync"], None).await;
    assert!(
        first.status.success(),
        "{}{}",
        stdout(&first),
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout(&first).contains("16 of 16 objects changed"),
        "{}",
        stdout(&first)
    );
    {
        let state = stripe.state();
        assert_eq!(state.products.len(), 5);
        assert_eq!(state.products["seatflow_professional"]["name"], "Professional");
        let pro = state.price("seatflow_professional_monthly").expect("price");
        assert_eq!(pro.object["tiers_mode"], "volume");
        assert_eq!(pro.object["recurring"]["interval"], "month");
        assert_eq!(pro.object["currency"], "usd");
        assert_eq!(pro.object["product"], "seatflow_professional");
        // The tiers Stripe holds charge what the catalog says.
        assert_eq!(
            (pro.amount_for(49), pro.amount_for(50), pro.amount_for(250)),
            (49 * 2900, 50 * 2755, 250 * 2610)
        );
        let annual = state.price("seatflow_sso_annual").expect("price");
        assert_eq!(annual.object["recurring"]["interval"], "year");
    }
    let writes = stripe.writes().await.len();
    let second = admin(&stripe, &["stripe", "sync"], None).await;
    assert!(second.status.success());
    assert!(
        stdout(&second).contains("0 of 16 objects changed"),
        "{}",
        stdout(&second)
    );
    assert_eq!(
        stripe.writes().await.len(),
        writes,
        "the second run wrote nothing"
    );

    // A changed price replaces the old one under the same lookup key.
    let changed = catalog().replace(
        "tiers = [{ up_to = 49, unit_amount = 2900 }",
        "tiers = [{ up_to = 49, unit_amount = 3100 }",
    );
    let path = std::env::temp_dir().join(format!("seatflow-admin-catalog-{}.toml", std::process::id()));
    std::fs::write(&path, changed).expect("written");
    let dry = admin(&stripe, &["stripe", "sync", "--dry-run"], path.to_str()).await;
    assert!(
        stdout(&dry).contains("seatflow_professional_monthly        would update"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(stripe.writes().await.len(), writes, "a dry run writes nothing");
    let third = admin(&stripe, &["stripe", "sync"], path.to_str()).await;
    assert!(
        stdout(&third).contains("1 of 16 objects changed"),
        "{}",
        stdout(&third)
    );
    let state = stripe.state();
    let new = state.price("seatflow_professional_monthly").expect("price");
    assert_eq!(new.amount_for(10), 31_000);
    let archived = state
        .prices
        .iter()
        .filter(|p| {
            p.object["product"] == "seatflow_professional" && p.object["recurring"]["interval"] == "month"
        })
        .filter(|p| !p.active)
        .count();
    assert_eq!(archived, 1, "the old price is archived");
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_registers_the_endpoint_once_with_every_needed_event() {
    let stripe = StripeStandIn::start().await;
    let url = "https://api.example.com/v1/stripe/webhook";
    let first = admin(&stripe, &["stripe", "webhook", "--url", url], None).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = stdout(&first);
    assert!(
        text.contains("its signing secret (Stripe shows it this once): whsec_standin_"),
        "{text}"
    );
    assert!(
        text.contains("aws secretsmanager put-secret-value --secret-id seatflow/stripe"),
        "{text}"
    );
    assert!(text.contains("SecretsTtlSeconds"), "{text}");
    {
        let state = stripe.state();
        assert_eq!(state.webhook_endpoints.len(), 1);
        let events = state.webhook_endpoints[0]["enabled_events"]
            .as_array()
            .expect("events")
            .clone();
        assert_eq!(events.len(), seatflow_stripe::event::NEEDED.len());
        for needed in seatflow_stripe::event::NEEDED {
            assert!(events.contains(&serde_json::json!(needed)), "{needed}");
        }
    }
    let again = admin(&stripe, &["stripe", "webhook", "--url", url], None).await;
    assert!(
        stdout(&again).contains("already registered"),
        "{}",
        stdout(&again)
    );
    assert_eq!(stripe.state().webhook_endpoints.len(), 1);

    let plain = admin(
        &stripe,
        &["stripe", "webhook", "--url", "http://insecure.example/hook"],
        None,
    )
    .await;
    assert!(!plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("https://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_it_says_what_is_missing() {
    let output = tokio::task::spawn_blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_seatflow-admin"))
            .args(["stripe", "sync"])
            .env_remove("STRIPE_SECRET_KEY")
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("STRIPE_SECRET_KEY is not set"));
}

/// `stripe sync` also makes the Customer Portal configuration seatflow's
/// billing-portal sessions open: billing details, invoices and payment
/// methods are the customer's to manage, seat quantities and plans are not
/// (seatflow changes those itself). A configuration changed in the
/// Dashboard is brought back; the gateway's sessions use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_makes_the_portal_configuration_the_billing_portal_sessions_open() {
    use seatflow_domain::PaymentGateway as _;

    let stripe = StripeStandIn::start().await;
    let first = admin(&stripe, &["stripe", "sync"], None).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout(&first).contains("portal  billing_portal_configuration         created"),
        "{}",
        stdout(&first)
    );
    let id = {
        let state = stripe.state();
        assert_eq!(state.portal_configurations.len(), 1);
        let configuration = &state.portal_configurations[0];
        let features = &configuration["features"];
        assert_eq!(
            features["subscription_update"]["enabled"], false,
            "{configuration}"
        );
        assert_eq!(features["invoice_history"]["enabled"], true);
        assert_eq!(features["payment_method_update"]["enabled"], true);
        assert_eq!(
            features["customer_update"]["allowed_updates"],
            serde_json::json!(["email", "address", "tax_id"])
        );
        assert_eq!(features["subscription_cancel"]["mode"], "at_period_end");
        assert_eq!(configuration["metadata"]["seatflow"], "billing_portal");
        configuration["id"].as_str().expect("id").to_owned()
    };

    // Someone lets customers change quantities in the Dashboard.
    stripe.state().portal_configurations[0]["features"]["subscription_update"]["enabled"] = true.into();
    let writes = stripe.writes().await.len();
    let dry = admin(&stripe, &["stripe", "sync", "--dry-run"], None).await;
    assert!(
        stdout(&dry).contains("billing_portal_configuration         would update"),
        "{}",
        stdout(&dry)
    );
    assert_eq!(stripe.writes().await.len(), writes, "a dry run writes nothing");
    let again = admin(&stripe, &["stripe", "sync"], None).await;
    assert!(
        stdout(&again).contains("1 of 16 objects changed"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        stripe.state().portal_configurations[0]["features"]["subscription_update"]["enabled"],
        false
    );
    assert_eq!(
        stripe.state().portal_configurations.len(),
        1,
        "updated, not a second one"
    );

    // The gateway's billing-portal sessions open it, looked up once.
    let lookups = || async {
        stripe
            .server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "GET" && r.url.path() == "/v1/billing_portal/configurations")
            .count()
    };
    let before = lookups().await;
    let gateway =
        seatflow_stripe::StripeGateway::new("sk_test_standin", Some(&stripe.base_url())).expect("gateway");
    for _ in 0..2 {
        gateway
            .billing_portal("cus_portal", "https://app.example/billing")
            .await
            .expect("session");
    }
    assert_eq!(lookups().await, before + 1, "the configuration is looked up once");
    let state = stripe.state();
    assert_eq!(state.portal_sessions.len(), 2);
    assert!(
        state
            .portal_sessions
            .iter()
            .all(|s| s.get("configuration") == Some(&id))
    );
}
