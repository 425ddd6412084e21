//! The portal in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `make test` installs when missing), driven over
//! WebDriver against the real `seatflow-local` binary: sign in through the
//! hand-off link, buy 5 monthly Professional seats with 2 SSO add-ons
//! (checking the breakdown), pay on the offline checkout, watch the
//! confirmation turn from progress to summary, create two users with seats
//! from it, and find them on Users. A screenshot of every page visited is
//! saved under `target/portal-screenshots/` for review.

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

const BIN: &str = env!("CARGO_BIN_EXE_seatflow-local");

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn wait_for(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_buys_seats_and_adds_users_in_a_real_browser() {
    assert!(
        found("chromium") && found("chromedriver"),
        "the browser test needs chromium and chromedriver on PATH: `make test` installs them \
         (scripts/browser.sh), or run `sudo apt-get install -y chromium chromium-driver`"
    );
    let state = std::env::temp_dir().join(format!("seatflow-browser-{}", std::process::id()));
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let _server = Process(
        Command::new(BIN)
            .args(["--addr", &addr.to_string()])
            .env("SEATFLOW_STATE_DIR", &state)
            .env_remove("SEATFLOW_JWT_SECRET")
            .env_remove("SEATFLOW_STORE")
            .env_remove("STRIPE_SECRET_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("seatflow-local starts"),
    );
    wait_for(addr, "seatflow-local");
    let driver_port = free_port();
    let _driver = Process(
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
    let login = Command::new(BIN)
        .args(["login-url", "--addr", &addr.to_string()])
        .env("SEATFLOW_STATE_DIR", &state)
        .env_remove("SEATFLOW_JWT_SECRET")
        .output()
        .expect("login-url runs");
    let login = String::from_utf8(login.stdout).expect("utf-8").trim().to_owned();

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
    let base = format!("http://{addr}");

    // Signed in as the demo admin: Licenses.
    browser.goto(&login).await.expect("hand-off");
    assert!(text(&browser).await.contains("Licenses"));
    screenshot(&browser, "licenses").await;

    // Buy seats: monthly Professional, 5 users, 2 SSO; the breakdown first.
    browser.goto(&format!("{base}/purchase")).await.expect("purchase");
    browser
        .find(Locator::Css(r#"input[name="term"][value="monthly"]"#))
        .await
        .expect("monthly")
        .click()
        .await
        .expect("chosen");
    browser
        .find(Locator::Css(r#"input[name="plan"][value="professional"]"#))
        .await
        .expect("plan")
        .click()
        .await
        .expect("chosen");
    fill(&browser, "#quantity", "5").await;
    fill(&browser, "#addon-sso", "2").await;
    browser
        .find(Locator::XPath(
            "//button[normalize-space()='Update the breakdown']",
        ))
        .await
        .expect("update")
        .click()
        .await
        .expect("updated");
    let breakdown = text(&browser).await;
    assert!(breakdown.contains("Total due now, billed monthly"), "{breakdown}");
    assert!(
        breakdown.contains("153.00 USD"),
        "5 × 29.00 + 2 × 4.00: {breakdown}"
    );
    screenshot(&browser, "purchase").await;
    browser
        .find(Locator::XPath(
            "//button[normalize-space()='Continue to payment']",
        ))
        .await
        .expect("continue")
        .click()
        .await
        .expect("on to checkout");
    tokio::time::sleep(Duration::from_millis(500)).await;
    screenshot(&browser, "offline-checkout").await;

    // The offline checkout, then the confirmation.
    browser
        .wait()
        .for_element(Locator::XPath("//button[normalize-space()='Pay']"))
        .await
        .expect("the offline checkout page")
        .click()
        .await
        .expect("paid");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = match browser.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            // Still on its way from the offline page.
            Err(_) => String::new(),
        };
        if page.contains("Your seats are ready") {
            break;
        }
        assert!(
            page.is_empty()
                || page.contains("Setting up your seats")
                || page.contains("Waiting for your payment"),
            "progress, then the summary: {page}"
        );
        assert!(Instant::now() < deadline, "the seats never arrived: {page}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.refresh().await.expect("refreshed");
    }
    screenshot(&browser, "confirmation").await;

    // Create two users, each with a seat, from the confirmation.
    for (name, email) in [
        ("Nia Newcomer", "nia@demo.example"),
        ("Omar Newcomer", "omar@demo.example"),
    ] {
        fill(&browser, "#name", name).await;
        fill(&browser, "#email", email).await;
        browser
            .find(Locator::XPath(
                "//button[normalize-space()='Add user with a seat']",
            ))
            .await
            .expect("add")
            .click()
            .await
            .expect("added");
        assert!(
            text(&browser).await.contains(&format!("{name} ({email})")),
            "{name} is listed"
        );
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
    screenshot(&browser, "users").await;
    for page in ["teams", "usage", "audit", "marketplace", "settings"] {
        browser.goto(&format!("{base}/{page}")).await.expect(page);
        screenshot(&browser, page).await;
    }
    browser.close().await.expect("closed");
    let _ = std::fs::remove_dir_all(&state);
}
