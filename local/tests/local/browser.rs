//! The portal in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `make test` installs when missing), driven over
//! WebDriver against the real `seatflow-local` binary: sign in through the
//! hand-off link, buy 5 monthly Professional seats with 2 SSO add-ons
//! (the breakdown following the choices live), pay on the offline checkout,
//! watch the confirmation turn from progress to summary, create two users
//! with seats from it and find them on Users, fill every free seat until
//! Users says none is left, add one more seat to the subscription, and give
//! it in place. Then the other roles: a team manager sees only their team,
//! a member reaches no admin page by link or by a forged POST, and a
//! cross-site form signs nobody in. axe-core (from `.tools/`, which `make
//! test` installs) checks every page for serious or critical violations, and
//! a screenshot of every page is saved under `target/portal-screenshots/`.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::common::{BIN, Process, free_port, start_local, wait_for};

fn found(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn screenshot(browser: &Client, name: &str) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/portal-screenshots");
    std::fs::create_dir_all(dir).expect("screenshot directory");
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(format!("{dir}/{name}.png"), png).expect("screenshot written");
}

/// The page's main landmark as text, once it is there (a page may still be
/// on its way after a click or a redirect); says where the browser is if not.
async fn text(browser: &Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A page replaced between finding its main and reading it (a
        // navigation, the confirmation's refresh) is read again.
        if let Ok(main) = browser.wait().for_element(Locator::Css("main")).await
            && let Ok(text) = main.text().await
        {
            return text;
        }
        if Instant::now() > deadline {
            let url = browser
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = browser.source().await.unwrap_or_default();
            panic!("no readable main landmark at {url}:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("cleared");
    field.send_keys(value).await.expect("typed");
}

/// axe-core's script, as `make test` installs it (scripts/browser.sh).
fn axe_source() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/node_modules/axe-core/axe.min.js"
    );
    std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!("{path} is missing: `make test` installs it (scripts/browser.sh), or run scripts/browser.sh")
    })
}

/// A screenshot of the page, and axe-core's check of it: no serious or
/// critical violation.
async fn check(browser: &Client, name: &str) {
    screenshot(browser, name).await;
    let title = browser.title().await.expect("a title");
    assert!(
        !title.is_empty() && title.len() < 80 && !title.contains('<'),
        "{name}: a short plain title, not {title:?}"
    );
    browser
        .execute(&axe_source(), vec![])
        .await
        .expect("axe-core loads");
    let violations = browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, {resultTypes: ['violations']})
                 .then(r => done(r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))),
                   e => done(['axe-core failed: ' + e]));"#,
            vec![],
        )
        .await
        .expect("axe-core runs");
    let violations: Vec<String> = serde_json::from_value(violations).expect("a list");
    assert!(violations.is_empty(), "{name}: {violations:#?}");
}

/// The main landmark's text once `wanted` holds of it (the script or a
/// navigation may still be changing the page); says what it saw if never.
async fn until(browser: &Client, wanted: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = text(browser).await;
        if wanted(&page) {
            return page;
        }
        assert!(Instant::now() < deadline, "never saw {what}:\n{page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Clicks the button, then waits until the page it was on is gone (a
/// navigation, or the script putting the answer in its place), so that
/// what is read next is the answer.
async fn click(browser: &Client, label: &str) {
    let main = browser.find(Locator::Css("main")).await.expect("a page");
    browser
        .find(Locator::XPath(&format!(
            "//main//button[normalize-space()='{label}']"
        )))
        .await
        .unwrap_or_else(|_| panic!("a button '{label}'"))
        .click()
        .await
        .expect("clicked");
    let deadline = Instant::now() + Duration::from_secs(30);
    while main.is_displayed().await.is_ok() {
        assert!(Instant::now() < deadline, "'{label}' changed nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn select(browser: &Client, css: &str, value: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .expect(css)
        .select_by_value(value)
        .await
        .unwrap_or_else(|_| panic!("{value} in {css}"));
}

/// ChromeDriver, and a headless Chromium session through it (both end with
/// the test).
async fn headless_chromium() -> (Process, Client) {
    let driver_port = free_port();
    let driver = Process(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    wait_for(
        format!("127.0.0.1:{driver_port}").parse().expect("addr"),
        "chromedriver",
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1000"]
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a WebDriver session");
    (driver, browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_buys_seats_and_adds_users_in_a_real_browser() {
    assert!(
        found("chromium") && found("chromedriver"),
        "the browser test needs chromium and chromedriver on PATH: `make test` installs them \
         (scripts/browser.sh), or run `sudo apt-get install -y chromium chromium-driver`"
    );
    let state = std::env::temp_dir().join(format!("seatflow-browser-{}", std::process::id()));
    let (_server, addr) = start_local(&state);
    let login = Command::new(BIN)
        .args(["login-url", "--addr", &addr.to_string()])
        .env("SEATFLOW_STATE_DIR", &state)
        .env_remove("SEATFLOW_JWT_SECRET")
        .output()
        .expect("login-url runs");
    let login = String::from_utf8(login.stdout).expect("utf-8").trim().to_owned();
    let login_as = |role: &str| {
        let out = Command::new(BIN)
            .args(["login-url", "--addr", &addr.to_string(), "--role", role])
            .env("SEATFLOW_STATE_DIR", &state)
            .env_remove("SEATFLOW_JWT_SECRET")
            .output()
            .expect("login-url runs");
        String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
    };

    let (_driver, browser) = headless_chromium().await;
    let base = format!("http://{addr}");

    // Signed in as the demo admin: Licenses.
    browser.goto(&login).await.expect("hand-off");
    assert!(text(&browser).await.contains("Licenses"));
    check(&browser, "licenses").await;

    // Buy seats: monthly Professional, 5 users, 2 SSO; the breakdown follows.
    browser.goto(&format!("{base}/purchase")).await.expect("purchase");
    let update = browser
        .find(Locator::XPath(
            "//button[normalize-space()='Update the breakdown']",
        ))
        .await
        .expect("the update button, for browsers without script");
    assert!(
        !update.is_displayed().await.expect("displayed?"),
        "the script prices the choices itself"
    );
    for css in [
        r#"input[name="term"][value="monthly"]"#,
        r#"input[name="plan"][value="professional"]"#,
    ] {
        browser
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("chosen");
    }
    fill(&browser, "#quantity", "5").await;
    fill(&browser, "#addon-sso", "2").await;
    let breakdown = until(&browser, |page| page.contains("153.00 USD"), "the live breakdown").await;
    assert!(breakdown.contains("Total due now, billed monthly"), "{breakdown}");
    // Add-ons stay within the seats.
    fill(&browser, "#addon-sso", "9").await;
    let kept = browser
        .find(Locator::Css("#addon-sso"))
        .await
        .expect("sso")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some("5"), "never more add-ons than seats");
    fill(&browser, "#addon-sso", "2").await;
    until(
        &browser,
        |page| page.contains("153.00 USD"),
        "the breakdown again",
    )
    .await;
    check(&browser, "purchase").await;
    // A breakdown the script asked for earlier may still replace the form
    // (and its button) between finding the button and clicking it.
    let mut attempts = 0;
    loop {
        let clicked = async {
            browser
                .find(Locator::XPath(
                    "//button[normalize-space()='Continue to payment']",
                ))
                .await?
                .click()
                .await
        }
        .await;
        match clicked {
            Ok(()) => break,
            Err(e) if attempts < 5 => {
                attempts += 1;
                eprintln!("continue to payment, again after: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("on to checkout: {e:?}"),
        }
    }

    // The offline checkout, then the confirmation: progress, then the
    // summary, without reloading (the script asks again).
    let pay = browser
        .wait()
        .for_element(Locator::XPath("//button[normalize-space()='Pay']"))
        .await
        .expect("the offline checkout page");
    check(&browser, "offline-checkout").await;
    pay.click().await.expect("paid");
    until(
        &browser,
        |page| page.contains("Your seats are ready"),
        "the summary",
    )
    .await;
    check(&browser, "confirmation").await;

    // Create two users, each with a seat, from the confirmation.
    for (name, email) in [
        ("Nia Newcomer", "nia@demo.example"),
        ("Omar Newcomer", "omar@demo.example"),
    ] {
        fill(&browser, "#name", name).await;
        fill(&browser, "#email", email).await;
        click(&browser, "Add user with a seat").await;
        let listed = format!("{name} ({email})");
        until(&browser, |page| page.contains(&listed), "the new user listed").await;
    }
    screenshot(&browser, "confirmation-with-users").await;
    browser
        .goto(&format!("{base}/users?q=newcomer"))
        .await
        .expect("users");
    let users = text(&browser).await;
    assert!(
        users.contains("Nia Newcomer") && users.contains("Omar Newcomer"),
        "{users}"
    );
    check(&browser, "users").await;

    // Fill every free seat: first those outside the teams' allocations (Users
    // then says the rest are set aside for teams), then Engineering's; Users
    // then says none is left, with a link to buy more.
    browser.goto(&format!("{base}/users")).await.expect("users");
    let mut added = 0;
    let mut saw_set_aside = false;
    loop {
        let page = text(&browser).await;
        if page.contains("Every Professional seat is in use (") {
            break;
        }
        let set_aside = page.contains("Every Professional seat outside the teams' allocations is in use");
        saw_set_aside |= set_aside;
        added += 1;
        assert!(added <= 60, "the demo has fewer free seats than this");
        fill(&browser, "#name", &format!("Filler {added}")).await;
        fill(&browser, "#email", &format!("filler{added}@demo.example")).await;
        select(&browser, "#seat", "professional").await;
        if set_aside {
            select(&browser, "#team", "team_engineering").await;
        }
        click(&browser, "Add user").await;
        let page = text(&browser).await;
        assert!(page.contains("The user was added."), "Filler {added}: {page}");
    }
    assert!(saw_set_aside, "Users said when only team seats were left");
    let buy = browser
        .find(Locator::XPath(
            "//main//p[contains(@class,'alert')]//a[normalize-space()='buy more seats']",
        ))
        .await
        .expect("the no-seats alert links to the purchase");
    assert!(
        buy.attr("href")
            .await
            .expect("href")
            .is_some_and(|h| h.ends_with("/purchase"))
    );
    check(&browser, "users-full").await;

    // One more seat on the subscription, from Licenses: the alert is gone,
    // and the seat is given in place.
    browser.goto(&base).await.expect("licenses");
    browser
        .find(Locator::LinkText("Add seats"))
        .await
        .expect("Add seats on the subscription")
        .click()
        .await
        .expect("add seats");
    assert!(text(&browser).await.contains("Add seats"));
    select(&browser, "#product", "professional").await;
    fill(&browser, "#add", "1").await;
    click(&browser, "See the price").await;
    until(&browser, |page| page.contains("What it costs"), "the price").await;
    check(&browser, "add-seats").await;
    click(&browser, "Add 1 seat").await;
    until(&browser, |page| page.contains("Seats added"), "back on Licenses").await;
    check(&browser, "licenses-seats-added").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        browser
            .goto(&format!("{base}/users?q=dave"))
            .await
            .expect("users");
        if !text(&browser).await.contains("Every Professional seat is in use") {
            break;
        }
        assert!(Instant::now() < deadline, "the added seat never arrived");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let before = browser.current_url().await.expect("url");
    click(&browser, "Assign").await;
    let page = until(
        &browser,
        |page| page.contains("The seat was assigned."),
        "the seat given",
    )
    .await;
    assert!(page.contains("Dave Designer"), "still searching for Dave: {page}");
    assert!(
        browser
            .find(Locator::XPath(
                "//button[normalize-space()='revoke' and contains(@aria-label,'Dave Designer')]"
            ))
            .await
            .is_ok(),
        "Dave holds a seat now: {page}"
    );
    let after = browser.current_url().await.expect("url");
    assert_eq!(after.path(), before.path(), "given in place");
    check(&browser, "users-assigned-in-place").await;

    for page in [
        "teams",
        "usage",
        "audit",
        "marketplace",
        "marketplace/sso",
        "settings",
        "users/usr_dave",
    ] {
        browser.goto(&format!("{base}/{page}")).await.expect(page);
        text(&browser).await;
        check(&browser, &page.replace('/', "-")).await;
    }

    // Webhooks: add an endpoint (its secret shown once), change a user, and
    // see the delivery waiting for its retry (nothing listens on port 9).
    browser
        .goto(&format!("{base}/settings/webhooks"))
        .await
        .expect("webhooks");
    fill(&browser, "#url", "http://127.0.0.1:9/seatflow").await;
    browser
        .find(Locator::Css("input[value='user.updated']"))
        .await
        .expect("the user.updated box")
        .click()
        .await
        .expect("ticked");
    click(&browser, "Add endpoint").await;
    let shown = until(
        &browser,
        |page| page.contains("shown this once"),
        "the new secret",
    )
    .await;
    assert!(shown.contains("A user changes"), "{shown}");
    check(&browser, "webhooks").await;
    browser
        .goto(&format!("{base}/users/usr_dave"))
        .await
        .expect("Dave");
    fill(&browser, "#name", "Dave Designer-Smith").await;
    click(&browser, "Save changes").await;
    browser
        .goto(&format!("{base}/settings/webhooks"))
        .await
        .expect("webhooks");
    browser
        .find(Locator::LinkText("http://127.0.0.1:9/seatflow"))
        .await
        .expect("the endpoint's link")
        .click()
        .await
        .expect("opened");
    let deliveries = browser.current_url().await.expect("the log's address");
    let mut log = text(&browser).await;
    for _ in 0..50 {
        if log.contains("next try") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        browser.goto(deliveries.as_str()).await.expect("the log again");
        log = text(&browser).await;
    }
    assert!(
        log.contains("A user changes")
            && log.contains("Waiting")
            && log.contains("next try")
            && log.contains("could not connect"),
        "{log}"
    );
    check(&browser, "webhook-deliveries").await;

    // A form on another site posting here: the browser sends no session
    // (SameSite=Strict), so nobody is signed in and nothing is created.
    let forged = format!(
        "data:text/html,<form method=post action='{base}/users'><input name=name value=Mallory>\
         <input name=email value=mallory%40evil.example><input name=role value=admin>\
         <button>Go</button></form>"
    );
    browser.goto(&forged).await.expect("another site");
    browser
        .find(Locator::Css("button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("posted");
    let refused = text(&browser).await;
    assert!(
        refused.contains("You are signed out") || refused.contains("This form has expired"),
        "{refused}"
    );
    browser
        .goto(&format!("{base}/users?q=mallory"))
        .await
        .expect("users");
    assert!(
        text(&browser).await.contains("No user matches"),
        "Mallory was not created"
    );

    // A team manager sees their team only.
    browser.goto(&login_as("team_manager")).await.expect("manager");
    browser.goto(&format!("{base}/teams")).await.expect("teams");
    let teams = text(&browser).await;
    assert!(
        teams.contains("Engineering") && !teams.contains("Design"),
        "{teams}"
    );
    check(&browser, "teams-as-manager").await;
    browser.goto(&format!("{base}/audit")).await.expect("audit");
    assert!(text(&browser).await.contains("Not available to you"));

    // A member reaches no admin page, by link or by a forged POST carrying
    // their own session and proof.
    browser.goto(&login_as("member")).await.expect("member");
    assert!(text(&browser).await.contains("My seats"));
    check(&browser, "my-seats").await;
    for page in ["users", "purchase", "settings", "audit"] {
        browser.goto(&format!("{base}/{page}")).await.expect(page);
        assert!(text(&browser).await.contains("Not available to you"), "{page}");
    }
    browser.goto(&base).await.expect("home");
    let status = browser
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const proof = document.querySelector('input[name=csrf]').value;
               fetch('/users', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                 body: 'csrf=' + encodeURIComponent(proof) + '&name=Eve&email=eve%40demo.example&role=admin&seat='})
                 .then(r => done(r.status), e => done(String(e)));"#,
            vec![],
        )
        .await
        .expect("a forged POST");
    assert_eq!(status, serde_json::json!(403), "a member may not add users");
    browser.close().await.expect("closed");
    let _ = std::fs::remove_dir_all(&state);
}

/// The provider's development login, then its consent, as a person fills
/// them in (scripts/oidc-provider.mjs).
async fn sign_in_at_the_provider(browser: &Client, login: &str) {
    let field = browser
        .wait()
        .for_element(Locator::Css(r#"input[name="login"]"#))
        .await
        .expect("the provider's login page");
    field.send_keys(login).await.expect("typed");
    fill(browser, r#"input[name="password"]"#, "any password").await;
    browser
        .find(Locator::Css(r#"button[type="submit"]"#))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("clicked");
    browser
        .wait()
        .for_element(Locator::XPath("//button[normalize-space()='Continue']"))
        .await
        .expect("the provider's consent page")
        .click()
        .await
        .expect("consented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_a_real_openid_provider_and_signing_out_ends_it() {
    assert!(
        found("chromium") && found("chromedriver") && found("node"),
        "the sign-in test needs chromium, chromedriver and node: `make test` installs them (scripts/browser.sh)"
    );
    let provider_port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let secret = "portal-client-secret-for-this-test-only";
    let client = serde_json::json!({
        "client_id": "seatflow-portal",
        "client_secret": secret,
        "redirect_uris": [format!("http://{addr}/portal/callback")],
    });
    // Alice is the demo organisation's admin; Mallory is known to the
    // provider, claims the same organisation, and is no user of it.
    let accounts = serde_json::json!({
        "usr_alice": {"org": "org_demo", "role": "admin", "email": "alice@demo.example"},
        "usr_mallory": {"org": "org_demo", "role": "admin", "email": "mallory@elsewhere.example"},
    });
    let _provider = Process(
        Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../scripts/oidc-provider.mjs"
            ))
            .env("OIDC_PORT", provider_port.to_string())
            .env("OIDC_CLIENT", client.to_string())
            .env("OIDC_ACCOUNTS", accounts.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the OpenID provider starts (node)"),
    );
    wait_for(
        format!("127.0.0.1:{provider_port}").parse().expect("addr"),
        "the OpenID provider (scripts/oidc-provider.mjs; `make test` installs oidc-provider)",
    );
    let state = std::env::temp_dir().join(format!("seatflow-oidc-{}", std::process::id()));
    let _server = crate::common::start_local_at(
        &state,
        addr,
        &[
            ("SEATFLOW_OIDC_ISSUER", &issuer),
            ("SEATFLOW_OIDC_AUDIENCE", "seatflow-api"),
            ("SEATFLOW_PORTAL_OIDC_CLIENT_ID", "seatflow-portal"),
            ("SEATFLOW_PORTAL_OIDC_CLIENT_SECRET", secret),
            ("SEATFLOW_PORTAL_OIDC_SCOPES", "openid email seatflow"),
        ],
    );
    let (_driver, browser) = headless_chromium().await;
    let base = format!("http://{addr}");

    // Signed out, the portal offers "Sign in"; it goes to the provider.
    browser.goto(&base).await.expect("the portal");
    assert!(text(&browser).await.contains("You are signed out"));
    check(&browser, "signed-out").await;
    browser
        .find(Locator::LinkText("Sign in"))
        .await
        .expect("a Sign in link")
        .click()
        .await
        .expect("clicked");
    let at = browser.current_url().await.expect("url").to_string();
    // The provider requires PKCE (scripts/oidc-provider.mjs): without a
    // challenge it would have refused rather than shown its login.
    assert!(at.starts_with(&issuer), "at the provider: {at}");
    sign_in_at_the_provider(&browser, "usr_alice").await;
    let home = until(&browser, |page| page.contains("Licenses"), "Licenses, signed in").await;
    assert!(home.contains("Professional"), "{home}");
    let current = browser.current_url().await.expect("url");
    assert_eq!(
        current.as_str(),
        format!("{base}/"),
        "back at the start, no code in the address"
    );
    check(&browser, "signed-in-by-provider").await;

    // Signing out ends the session: the portal's pages are closed again.
    browser
        .find(Locator::XPath("//header//button[normalize-space()='Sign out']"))
        .await
        .expect("Sign out")
        .click()
        .await
        .expect("clicked");
    until(
        &browser,
        |page| page.contains("You are signed out of seatflow"),
        "signed out",
    )
    .await;
    browser.goto(&format!("{base}/users")).await.expect("users");
    assert!(text(&browser).await.contains("You are signed out"));

    // Someone the provider knows but the organisation does not is told so,
    // and gets no session.
    browser
        .delete_all_cookies()
        .await
        .expect("a new browser, as it were");
    browser
        .goto(&format!("{base}/portal/sign-in"))
        .await
        .expect("sign in");
    sign_in_at_the_provider(&browser, "usr_mallory").await;
    let refused = until(
        &browser,
        |page| page.contains("You are not signed in"),
        "the refusal",
    )
    .await;
    assert!(refused.contains("not a user of your organisation"), "{refused}");
    check(&browser, "sign-in-refused").await;
    browser.goto(&base).await.expect("the portal");
    assert!(text(&browser).await.contains("You are signed out"));
    browser.close().await.expect("closed");
}
