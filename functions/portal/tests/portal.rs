//! The portal through its router, as a browser uses it: the sign-in
//! hand-off and its cookie, pages by role, forms with their CSRF proof,
//! refusals in words, and hostile names shown as text.

// Tests: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use seatflow_domain::{
    Actor, DisplayName, Email, EntitlementStore, Mode, NewUser, OrgId, Principal, Role, UserId,
};
use seatflow_http::auth::{ApiKeySecret, HAND_OFF_PREFIX};
use seatflow_http::{AppState, JwtConfig};
use seatflow_portal::PortalState;
use seatflow_testkit::{Fixture, product};
use secrecy::ExposeSecret as _;
use tower::ServiceExt as _;

struct Portal {
    router: axum::Router,
    state: AppState,
    fixture: Fixture,
    gateway: seatflow_memory::OfflinePaymentGateway,
    /// The store as itself (its outbox), and where redeliveries go.
    memory: Arc<seatflow_memory::MemoryEntitlementStore>,
    deliveries: Arc<seatflow_webhooks::LocalQueue>,
}

impl Portal {
    /// Organisation `org_portal` with 3 Professional and 2 SSO seats; Ada the
    /// admin, Max a member.
    async fn new() -> Self {
        let memory = Arc::new(seatflow_memory::MemoryEntitlementStore::new());
        let deliveries = Arc::new(seatflow_webhooks::LocalQueue::new());
        Self::on(
            memory.clone(),
            memory.clone(),
            memory.clone(),
            deliveries.clone(),
            memory,
            deliveries,
        )
        .await
    }

    /// The portal over other adapters: the fixture seeds through `seeding`;
    /// the portal's own service uses `store`, its delivery log `log` and its
    /// redelivery queue `queue` (the permission test's recorded DynamoDB).
    /// `memory` and `deliveries` are what tests that read them look at.
    async fn on(
        seeding: Arc<dyn EntitlementStore>,
        store: Arc<dyn EntitlementStore>,
        log: Arc<dyn seatflow_domain::DeliveryLog>,
        queue: Arc<dyn seatflow_domain::DeliveryQueue>,
        memory: Arc<seatflow_memory::MemoryEntitlementStore>,
        deliveries: Arc<seatflow_webhooks::LocalQueue>,
    ) -> Self {
        let fixture = Fixture::new(seeding, "org_portal").await;
        fixture.buy("professional", 3).await;
        fixture.buy("sso", 2).await;
        let seats = seatflow_domain::Seats::new(
            store,
            fixture.clock.clone(),
            Arc::new(fixture.seats.catalog().clone()),
        );
        let state = AppState::of(
            seats,
            JwtConfig::new(secrecy::SecretString::from("p".repeat(32))).expect("jwt"),
        )
        .with_outbound(seatflow_http::Outbound { log, queue });
        let gateway = seatflow_memory::OfflinePaymentGateway::new(
            Arc::new(fixture.seats.catalog().clone()),
            fixture.clock.clone(),
            "http://pay.local/checkout/",
        );
        let portal = Self {
            router: seatflow_portal::router(PortalState {
                app: state.clone(),
                payments: Arc::new(gateway.clone()),
                secure_cookies: true,
                proration: seatflow_domain::ProrationBehavior::default(),
                sign_in: None,
            }),
            state,
            fixture,
            gateway,
            memory,
            deliveries,
        };
        portal.person("usr_ada", "Ada Admin", Role::Admin).await;
        portal.person("usr_max", "Max Member", Role::Member).await;
        portal
    }

    async fn person(&self, id: &str, name: &str, role: Role) {
        let system = Actor::system(OrgId::parse("org_portal").expect("id"), "test");
        self.fixture
            .seats
            .directory()
            .create_user(
                &system,
                NewUser {
                    id: Some(UserId::parse(id).expect("id")),
                    name: DisplayName::parse(name).expect("name"),
                    email: Some(Email::parse(&format!("{id}@portal.example")).expect("email")),
                    directory: None,
                    role,
                    team: None,
                },
                None,
                Mode::Apply,
            )
            .await
            .expect("person");
    }

    /// A hand-off for `user`, as the API makes it for the vendor's
    /// application: the code the link carries.
    async fn hand_off(&self, user: &str) -> String {
        let code = ApiKeySecret::generate_with(HAND_OFF_PREFIX);
        let person = Actor {
            principal: Principal::User(UserId::parse(user).expect("id")),
            ..self.fixture.admin.clone()
        };
        self.fixture
            .seats
            .sign_ins()
            .hand_off(&person, &code.hash, Mode::Apply)
            .await
            .expect("handed off");
        code.secret.expose_secret().to_owned()
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Signs in through a hand-off; the session cookie.
    async fn sign_in(&self, user: &str) -> String {
        let uri = format!("/portal/session?code={}", self.hand_off(user).await);
        let (status, headers, _) = self.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let cookie = headers[header::SET_COOKIE].to_str().expect("cookie").to_owned();
        cookie.split(';').next().expect("pair").to_owned()
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let request = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    async fn post(
        &self,
        path: &str,
        cookie: &str,
        origin: Option<&str>,
        form: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        self.send(form_post(path, cookie, origin, form)).await
    }
}

/// A form as the browser posts it.
fn form_post(path: &str, cookie: &str, origin: Option<&str>, form: &str) -> Request<Body> {
    {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "portal.local")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        request.body(Body::from(form.to_owned())).unwrap()
    }
}

/// The CSRF proof a page carries.
fn csrf(page: &str) -> String {
    let at =
        page.find(r#"name="csrf" value=""#).expect("a form with a proof") + r#"name="csrf" value=""#.len();
    page[at..].split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn a_hand_off_signs_in_once_into_a_strict_http_only_session_that_sign_out_ends() {
    a_hand_off_signs_in_once_into_a_strict_http_only_session_that_sign_out_ends_on(&Portal::new().await)
        .await;
}

async fn a_hand_off_signs_in_once_into_a_strict_http_only_session_that_sign_out_ends_on(portal: &Portal) {
    let code = portal.hand_off("usr_ada").await;
    let uri = format!("/portal/session?code={code}");
    let (status, headers, body) = portal.send(Request::get(&uri).body(Body::empty()).unwrap()).await;
    // A page that moves on, not a redirect: a browser arriving from the
    // vendor's site sends a Strict cookie only on a navigation of its own.
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(r#"<meta http-equiv="refresh" content="0;url=/">"#),
        "{body}"
    );
    let cookie = headers[header::SET_COOKIE].to_str().expect("cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp")
            .contains("script-src 'self'")
    );
    let session = cookie.split(';').next().expect("pair").to_owned();
    let secret = session.trim_start_matches("seatflow_session=");
    assert!(secret.starts_with("sfs_") && !secret.contains(&code), "{session}");
    let (status, page) = portal.get("/", &session).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // The same link again, a made-up code, a token where a code belongs:
    // nobody is signed in, and the page says why.
    let token = portal
        .state
        .auth
        .mint(
            &UserId::parse("usr_ada").expect("id"),
            &OrgId::parse("org_portal").expect("id"),
            Role::Admin,
            &[],
            300,
        )
        .expect("token");
    for bad in [
        uri.clone(),
        "/portal/session".to_owned(),
        "/portal/session?code=sfh_garbage".to_owned(),
        format!("/portal/session?token={token}"),
        format!("/portal/session?code={token}"),
    ] {
        let (status, headers, body) = portal.send(Request::get(&bad).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert!(headers.get(header::SET_COOKIE).is_none(), "{bad}");
        assert!(body.contains("This sign-in link does not work"), "{body}");
    }
    // Neither the code nor the session is an API credential.
    for credential in [code.as_str(), secret] {
        let refused = portal
            .state
            .auth
            .authenticate(Some(&format!("Bearer {credential}")))
            .await;
        assert_eq!(refused.expect_err("refused").status(), StatusCode::UNAUTHORIZED);
    }
    // A late link opens nothing.
    let late = portal.hand_off("usr_ada").await;
    portal.fixture.clock.advance(chrono::Duration::seconds(61));
    let (status, _, _) = portal
        .send(
            Request::get(format!("/portal/session?code={late}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Signing out ends the session itself: the same cookie, sent again
    // (copied, or from a browser that kept it), signs nobody in.
    let (_, page) = portal.get("/", &session).await;
    let (status, headers, _) = portal
        .post(
            "/portal/sign-out",
            &session,
            None,
            &format!("csrf={}", csrf(&page)),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/portal/signed-out"))
    );
    let (status, body) = portal.get("/", &session).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body.contains("Open seatflow again from your application"),
        "{body}"
    );
    assert!(body.contains(r#"href="/portal/sign-in""#), "{body}");
    let (status, _) = portal.get("/", "seatflow_session=forged").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Without an identity provider, "Sign in" says where to sign in.
    let (status, body) = portal.get("/portal/sign-in", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("open it there, and you arrive signed in"), "{body}");
}

#[tokio::test]
async fn an_admin_sees_licenses_and_users_and_a_member_only_their_own_seats() {
    an_admin_sees_licenses_and_users_and_a_member_only_their_own_seats_on(&Portal::new().await).await;
}

async fn an_admin_sees_licenses_and_users_and_a_member_only_their_own_seats_on(portal: &Portal) {
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<h1>Licenses</h1>") && page.contains("Professional"),
        "{page}"
    );
    assert_eq!(
        page.matches("<script").count(),
        page.matches(r#"<script src="/assets/portal-"#).count(),
        "no inline script: {page}"
    );
    // The script under a name that changes with its content.
    let at = page.find(r#"<script src=""#).expect("a script") + r#"<script src=""#.len();
    let script = page[at..].split('"').next().expect("src").to_owned();
    let request = Request::get(&script).body(Body::empty()).unwrap();
    let (status, headers, body) = portal.send(request).await;
    assert_eq!(status, StatusCode::OK, "{script}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .expect("cache")
            .contains("immutable")
    );
    assert!(body.contains("data-in-place"), "the portal's own script");
    let (status, _) = portal.get("/assets/portal-000000000000.js", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, page) = portal.get("/users", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Max Member") && page.contains("usr_max@portal.example"));

    let member = portal.sign_in("usr_max").await;
    let (status, page) = portal.get("/", &member).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<h1>My seats</h1>") && !page.contains("Licenses</a>"),
        "{page}"
    );
    let (status, page) = portal.get("/users", &member).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Not available to you"));
    // A forged POST with the member's own proof is refused by the service.
    let (_, home) = portal.get("/", &member).await;
    let proof = csrf(&home);
    let (status, _, _) = portal
        .post(
            "/users",
            &member,
            None,
            &format!("csrf={proof}&name=Eve&email=eve%40x.example&role=admin"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        portal
            .fixture
            .seats
            .directory()
            .people(&portal.fixture.admin, Some("eve"), None, 10)
            .await
            .expect("people")
            .0
            .len(),
        0
    );
}

#[tokio::test]
async fn forms_without_the_proof_or_from_another_site_change_nothing() {
    let portal = Portal::new().await;
    let admin = portal.sign_in("usr_ada").await;
    let (_, page) = portal.get("/users", &admin).await;
    let proof = csrf(&page);
    let form = "name=Mallory&email=mallory%40evil.example&role=admin";
    for (origin, body) in [
        (None, form.to_owned()),
        (None, format!("csrf=wrong&{form}")),
        (Some("https://evil.example"), format!("csrf={proof}&{form}")),
    ] {
        let (status, _, page) = portal.post("/users", &admin, origin, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {body}");
        assert!(page.contains("This form has expired"));
    }
    let found = portal
        .fixture
        .seats
        .directory()
        .people(&portal.fixture.admin, Some("mallory"), None, 10)
        .await
        .expect("people");
    assert!(found.0.is_empty(), "nothing was created");
}

#[tokio::test]
async fn users_are_created_with_seats_given_and_taken_and_a_full_pool_says_so() {
    users_are_created_with_seats_given_and_taken_and_a_full_pool_says_so_on(&Portal::new().await).await;
}

async fn users_are_created_with_seats_given_and_taken_and_a_full_pool_says_so_on(portal: &Portal) {
    let admin = portal.sign_in("usr_ada").await;
    let (_, page) = portal.get("/users", &admin).await;
    let proof = csrf(&page);
    let same_site = Some("http://portal.local");

    // A hostile name is text, not markup.
    let hostile = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let (status, headers, _) = portal
        .post(
            "/users",
            &admin,
            same_site,
            &format!("csrf={proof}&name={hostile}&email=h%40portal.example&role=member&seat=professional"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/users?notice=created");
    let (_, page) = portal.get("/users?notice=created", &admin).await;
    assert!(page.contains("The user was added."));
    let at = page.find("alert(1)").expect("the name is shown");
    let shown = &page[at.saturating_sub(30)..at + 30];
    assert!(!page.contains("<script>alert"), "escaped: {shown}");
    assert!(
        shown.contains("&#60;script&#62;") || shown.contains("&lt;script&gt;"),
        "{shown}"
    );

    // A refusal is explained next to the field at fault, and the form keeps what was typed.
    let (status, _, page) = portal
        .post(
            "/users",
            &admin,
            same_site,
            &format!("csrf={proof}&name=Twin&email=h%40portal.example&role=member"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r#"id="email-error""#) && page.contains("already exists"),
        "{page}"
    );
    assert!(page.contains(r#"value="Twin""#));

    // Fill the remaining seats: the page says every seat is in use.
    for (n, id) in ["usr_ada", "usr_max"].iter().enumerate() {
        let (status, _, _) = portal
            .post(
                &format!("/users/{id}/seats"),
                &admin,
                same_site,
                &format!("csrf={proof}&product=professional"),
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "seat {n}");
    }
    let (_, page) = portal.get("/users", &admin).await;
    assert!(
        page.contains("Every Professional seat is in use (3 of 3)"),
        "{page}"
    );
    let (status, _, page) = portal
        .post(
            "/users",
            &admin,
            same_site,
            &format!("csrf={proof}&name=Late&email=late%40portal.example&role=member&seat=professional"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="seat-error""#), "{page}");

    // An add-on on top of a seat; revoking the seat frees room again.
    let (status, _, _) = portal
        .post(
            "/users/usr_max/seats",
            &admin,
            same_site,
            &format!("csrf={proof}&product=sso"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, headers, _) = portal
        .post(
            "/users/usr_max/seats/professional/revoke",
            &admin,
            same_site,
            &format!("csrf={proof}"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/users?notice=revoked"))
    );
    assert_eq!(portal.fixture.pool(&product("professional")).await.assigned, 2);
    assert_eq!(
        portal.fixture.pool(&product("sso")).await.assigned,
        0,
        "the add-on left with the seat"
    );
    let (_, page) = portal.get("/users", &admin).await;
    assert!(!page.contains("Every Professional seat is in use"));

    // A user the directory deactivated is shown so, with nothing to give.
    portal
        .fixture
        .seats
        .directory()
        .set_user_active(
            &portal.fixture.admin,
            &UserId::parse("usr_max").expect("id"),
            false,
            Mode::Apply,
        )
        .await
        .expect("deactivated");
    let (_, page) = portal.get("/users?q=max", &admin).await;
    assert!(
        page.contains(r#"<span class="badge bad">deactivated</span>"#),
        "{page}"
    );
    assert!(
        !page.contains(r#"id="assign-usr_max""#),
        "no seat for them: {page}"
    );
}

#[tokio::test]
async fn an_admin_buys_seats_sees_the_breakdown_pays_and_creates_users_from_the_confirmation() {
    an_admin_buys_seats_sees_the_breakdown_pays_and_creates_users_from_the_confirmation_on(
        &Portal::new().await,
    )
    .await;
}

async fn an_admin_buys_seats_sees_the_breakdown_pays_and_creates_users_from_the_confirmation_on(
    portal: &Portal,
) {
    use seatflow_domain::PaymentGateway as _;
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/purchase", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Essential") && page.contains("Enterprise") && page.contains("Billing breakdown"));

    let query = "term=monthly&plan=professional&quantity=5&addon_sso=2&addon_analytics=0";
    let (status, page) = portal.get(&format!("/purchase?{query}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    let quote = portal
        .fixture
        .seats
        .catalog()
        .quote(&seatflow_domain::QuoteRequest {
            plan: "professional".into(),
            term: seatflow_domain::Term::Monthly,
            quantity: 5,
            add_ons: vec![seatflow_domain::AddOnRequest {
                product: "sso".into(),
                quantity: 2,
            }],
        })
        .expect("quote");
    assert!(
        page.contains(&quote.total_due.to_string()),
        "the breakdown shows {}",
        quote.total_due
    );
    assert!(page.contains("Single Sign-On") && page.contains("billed monthly"));

    let (status, page) = portal
        .get(
            "/purchase?term=monthly&plan=professional&quantity=5&addon_sso=9",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("exceeds the 5 base seats"), "{page}");

    let (_, page) = portal.get(&format!("/purchase?{query}"), &admin).await;
    let proof = csrf(&page);
    let (status, headers, _) = portal
        .post(
            "/purchase",
            &admin,
            Some("https://portal.local"),
            &format!("csrf={proof}&{query}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let pay_url = headers[header::LOCATION].to_str().expect("location").to_owned();
    let session_id = pay_url.rsplit('/').next().expect("id").to_owned();
    assert!(pay_url.starts_with("http://pay.local/checkout/"), "{pay_url}");
    let opened = portal.gateway.open_checkout(&session_id).expect("open");
    assert!(
        opened
            .success_url
            .starts_with("https://portal.local/purchase/done?session="),
        "{}",
        opened.success_url
    );

    let done = format!("/purchase/done?session={session_id}");
    let (status, page) = portal.get(&done, &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Waiting for your payment") && page.contains(r#"http-equiv="refresh""#));

    // Paid; the provider's events provision the subscription.
    let (_, subscription) = portal.gateway.pay(&session_id, "cus_portal").expect("paid");
    let snapshot = subscription
        .snapshot(portal.fixture.seats.catalog())
        .expect("snapshot");
    portal
        .fixture
        .seats
        .subscriptions()
        .apply_subscription(
            &Actor::system(OrgId::parse("org_portal").expect("id"), "provisioner"),
            &snapshot,
            "evt_paid",
            seatflow_domain::Clock::now(&*portal.fixture.clock),
            Mode::Apply,
        )
        .await
        .expect("provisioned");
    assert!(
        portal
            .gateway
            .checkout_session(&session_id)
            .await
            .expect("ok")
            .is_some()
    );
    let (status, page) = portal.get(&done, &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Your seats are ready") && !page.contains("http-equiv"),
        "{page}"
    );

    // Create users now: back to the confirmation, which lists them.
    let proof = csrf(&page);
    let (status, headers, _) = portal
        .post(
            "/users",
            &admin,
            Some("https://portal.local"),
            &format!("csrf={proof}&back=%2Fpurchase%2Fdone%3Fsession%3D{session_id}&name=Nia+New&email=nia%40portal.example&role=member&seat=professional"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION].to_str().ok(), Some(done.as_str()));
    let (_, page) = portal.get(&done, &admin).await;
    assert!(page.contains("Nia New (nia@portal.example)"), "{page}");
    // A "back" elsewhere is not followed.
    let (_, headers, _) = portal
        .post(
            "/users",
            &admin,
            None,
            &format!(
                "csrf={proof}&back=https%3A%2F%2Fevil.example&name=Oz&email=oz%40portal.example&role=member"
            ),
        )
        .await;
    assert_eq!(
        headers[header::LOCATION].to_str().ok(),
        Some("/users?notice=created")
    );

    // Buying the same plan on the same term again goes to adding seats to
    // the subscription (prorated, same renewal), not to a second checkout;
    // with add-ons, the page says to add the seats first.
    let subscription_id = subscription.id.clone();
    let (_, page) = portal.get("/purchase", &admin).await;
    let proof = csrf(&page);
    let (status, headers, _) = portal
        .post(
            "/purchase",
            &admin,
            Some("https://portal.local"),
            &format!("csrf={proof}&term=monthly&plan=professional&quantity=3"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION].to_str().ok(),
        Some(format!("/subscriptions/{subscription_id}/seats?product=professional&add=3").as_str())
    );
    let (status, _, page) = portal
        .post(
            "/purchase",
            &admin,
            Some("https://portal.local"),
            &format!("csrf={proof}&{query}"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("you already subscribe to Professional"), "{page}");

    // Add seats to the subscription from Licenses: the price first, then
    // the change; the same form sent again is not billed again.
    let (_, page) = portal.get("/", &admin).await;
    let add_link = format!("/subscriptions/{subscription_id}/seats");
    assert!(page.contains(&format!(r#"href="{add_link}""#)), "{page}");
    let (status, page) = portal
        .get(&format!("{add_link}?product=professional&add=2"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("from 5 to 7 seats"), "{page}");
    let (status, page) = portal
        .get(&format!("{add_link}?product=professional&add=many"), &admin)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r#"id="add-error""#) && page.contains("not a number of seats"),
        "{page}"
    );
    let form = format!("csrf={}&product=professional&add=2&before=5", csrf(&page));
    let (status, headers, _) = portal
        .post(&add_link, &admin, Some("https://portal.local"), &form)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION].to_str().ok(),
        Some("/?notice=seats_added")
    );
    let at_provider = portal
        .gateway
        .subscription(&subscription_id)
        .await
        .expect("ok")
        .expect("there");
    let professional = |s: &seatflow_domain::ProviderSubscription| {
        s.items
            .iter()
            .find(|i| {
                i.lookup_key
                    .as_deref()
                    .is_some_and(|k| k.contains("professional"))
            })
            .map(|i| i.quantity)
    };
    assert_eq!(professional(&at_provider), Some(7));
    let (status, _, page) = portal
        .post(&add_link, &admin, Some("https://portal.local"), &form)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "priced at 5, now 7: {page}");
    assert!(page.contains("from 7 to 9 seats"), "{page}");
    let again = portal
        .gateway
        .subscription(&subscription_id)
        .await
        .expect("ok")
        .expect("there");
    assert_eq!(professional(&again), Some(7), "not billed twice");

    // A submit whose first attempt died after the provider applied it, sent
    // again (the API's retry strategy, through the same flow): added once.
    let dying = seatflow_portal::router(PortalState {
        app: portal.state.clone(),
        payments: Arc::new(seatflow_testkit::HeldPayments::dies_after_change(Arc::new(
            portal.gateway.clone(),
        ))),
        secure_cookies: true,
        proration: seatflow_domain::ProrationBehavior::default(),
        sign_in: None,
    });
    let (_, page) = portal
        .get(&format!("{add_link}?product=professional&add=2"), &admin)
        .await;
    let form = format!("csrf={}&product=professional&add=2&before=7", csrf(&page));
    let killed = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        dying.oneshot(form_post(&add_link, &admin, Some("https://portal.local"), &form)),
    )
    .await;
    assert!(killed.is_err(), "the first attempt never answered");
    let applied = portal
        .gateway
        .subscription(&subscription_id)
        .await
        .expect("ok")
        .expect("there");
    assert_eq!(professional(&applied), Some(9), "the provider applied it");
    let (status, _, page) = portal
        .post(&add_link, &admin, Some("https://portal.local"), &form)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "priced at 7, now 9: {page}");
    assert!(page.contains("from 9 to 11 seats"), "{page}");
    let after = portal
        .gateway
        .subscription(&subscription_id)
        .await
        .expect("ok")
        .expect("there");
    assert_eq!(professional(&after), Some(9), "added once");
    let (status, _) = portal.get("/subscriptions/sub_someone_else/seats", &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let member = portal.sign_in("usr_max").await;
    let (status, _) = portal.get("/purchase", &member).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = portal.get(&add_link, &member).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn teams_usage_and_the_audit_log_show_what_each_role_may_see() {
    teams_usage_and_the_audit_log_show_what_each_role_may_see_on(&Portal::new().await).await;
}

async fn teams_usage_and_the_audit_log_show_what_each_role_may_see_on(portal: &Portal) {
    let red = portal.fixture.team("Red").await;
    let blue = portal.fixture.team("Blue").await;
    let rita = portal.fixture.user("Rita Red", Some(&red)).await;
    portal.fixture.assign(&product("professional"), &rita.id).await;
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/teams", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Allocate seats to a team"));
    assert!(
        page.contains("<span>Ada Admin · admin</span>"),
        "the header names who is signed in"
    );
    let proof = csrf(&page);

    // A new allocation, then a change in place, then a refusal in words.
    let (status, headers, _) = portal
        .post(
            "/teams/allocations",
            &admin,
            None,
            &format!("csrf={proof}&team={blue}&product=professional&seats=1"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/teams?saved=1"))
    );
    let (status, _, _) = portal
        .post(
            &format!("/teams/{red}/allocations/professional"),
            &admin,
            None,
            &format!("csrf={proof}&seats=2"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = portal.get("/teams?saved=1", &admin).await;
    assert!(
        page.contains("The allocation was saved.") && page.contains("Red") && page.contains("Blue"),
        "{page}"
    );
    let (status, _, page) = portal
        .post(
            &format!("/teams/{red}/allocations/professional"),
            &admin,
            None,
            &format!("csrf={proof}&seats=lots"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("is not a number of seats"));
    let (status, _, page) = portal
        .post(
            &format!("/teams/{red}/allocations/professional"),
            &admin,
            None,
            &format!("csrf={proof}&seats=50"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains(&format!(r#"id="alloc-{red}-professional-error" role="alert""#)),
        "the refusal sits next to the row's field: {page}"
    );

    // Seats set aside move between teams; too many is refused at the form.
    let (status, headers, _) = portal
        .post(
            "/teams/allocations/move",
            &admin,
            None,
            &format!("csrf={proof}&product=professional&from={red}&to={blue}&seats=1"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/teams?saved=moved"))
    );
    let allocations = portal
        .fixture
        .seats
        .allocations()
        .list(&portal.fixture.admin)
        .await
        .expect("read");
    let allocated = |team: &seatflow_domain::TeamId| {
        allocations
            .iter()
            .find(|a| &a.team == team && a.product.as_str() == "professional")
            .and_then(|a| a.allocated)
    };
    assert_eq!((allocated(&red), allocated(&blue)), (Some(1), Some(2)));
    let (status, _, page) = portal
        .post(
            "/teams/allocations/move",
            &admin,
            None,
            &format!("csrf={proof}&product=professional&from={red}&to={blue}&seats=99"),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(page.contains(r#"id="move-error" role="alert""#), "{page}");

    // The exports, for a browser: hostile cells neutralised.
    let hostile = portal.fixture.team("@SUM(1+1)").await;
    let (status, _, _) = portal
        .post(
            &format!("/teams/{hostile}/allocations/professional"),
            &admin,
            None,
            &format!("csrf={proof}&seats=0"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let request = Request::get("/usage.csv")
        .header(header::COOKIE, &admin)
        .body(Body::empty())
        .unwrap();
    let (status, headers, csv) = portal.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    assert!(csv.contains(",'@SUM(1+1),") && !csv.contains(",@SUM"), "{csv}");
    let (status, csv) = portal.get("/assignments.csv", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.starts_with("user_id,name,email") && csv.contains("Rita Red"),
        "{csv}"
    );

    let (status, page) = portal.get("/usage", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Professional: 1 of 3 in use") && page.contains("<svg"),
        "{page}"
    );
    assert!(
        page.contains("Red, Professional: 1 in use of 1 allocated"),
        "{page}"
    );

    let (status, page) = portal.get("/audit?action=allocation_set", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<details>") && page.contains("allocation_set"),
        "{page}"
    );
    assert!(
        !page.contains("<strong>seat_assigned</strong>"),
        "filtered by action"
    );

    // A team manager sees their team only, and no audit log.
    portal.person("usr_tom", "Tom Manager", Role::TeamManager).await;
    let tom = portal
        .state
        .seats
        .directory()
        .signed_in(&portal.fixture.admin.org, &UserId::parse("usr_tom").expect("id"))
        .await;
    assert!(tom.expect("read").is_some());
    portal
        .fixture
        .seats
        .directory()
        .update_user(
            &portal.fixture.admin,
            &UserId::parse("usr_tom").expect("id"),
            &seatflow_domain::UserChanges {
                team: Some(Some(red.clone())),
                ..Default::default()
            },
            Mode::Apply,
        )
        .await
        .expect("tom joins Red");
    let manager = portal.sign_in("usr_tom").await;
    let (status, page) = portal.get("/teams", &manager).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Red") && !page.contains("Blue"), "{page}");
    assert!(!page.contains("Allocate seats to a team"));
    let (status, _) = portal.get("/audit", &manager).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, csv) = portal.get("/usage.csv", &manager).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("Red") && !csv.contains("Blue"), "{csv}");
    let (status, _) = portal.get("/assignments.csv", &manager).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn settings_keep_notification_choices_and_api_keys_show_their_secret_once() {
    settings_keep_notification_choices_and_api_keys_show_their_secret_once_on(&Portal::new().await).await;
}

async fn settings_keep_notification_choices_and_api_keys_show_their_secret_once_on(portal: &Portal) {
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/settings", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let proof = csrf(&page);

    let (status, headers, _) = portal
        .post(
            "/settings/notifications",
            &admin,
            None,
            &format!("csrf={proof}&contacts=billing%40portal.example&send=renewal"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/settings?saved=notifications"))
    );
    let preferences = portal
        .fixture
        .seats
        .directory()
        .notification_preferences(&portal.fixture.admin)
        .await
        .expect("read");
    assert_eq!(preferences.billing_contacts.len(), 1);
    assert!(
        preferences
            .opted_out
            .contains(&seatflow_domain::NoticeKind::OverLimit)
    );
    let (status, _, page) = portal
        .post(
            "/settings/notifications",
            &admin,
            None,
            &format!("csrf={proof}&contacts=not-an-email"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="contacts-error" role="alert""#), "{page}");

    let (status, _, page) = portal
        .post(
            "/settings/api-keys",
            &admin,
            None,
            &format!("csrf={proof}&name=Web+shop&scope=entitlements%3Aread&scope=seats%3Aread"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        page.contains("shown this once") && page.contains(r#"value="sfk_"#),
        "{page}"
    );
    assert!(page.contains("Check entitlements, Read seats and usage"));
    let keys = portal
        .fixture
        .seats
        .integrations()
        .api_keys(&portal.fixture.admin)
        .await
        .expect("keys");
    let key = keys
        .iter()
        .find(|k| k.name.as_str() == "Web shop")
        .expect("created");
    let (status, _, _) = portal
        .post(
            &format!("/settings/api-keys/{}/revoke", key.id),
            &admin,
            None,
            &format!("csrf={proof}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = portal.get("/settings?saved=revoked", &admin).await;
    assert!(page.contains("no longer works") && !page.contains("Web shop"));

    let member = portal.sign_in("usr_max").await;
    let (status, _) = portal.get("/settings", &member).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The directory's seat policy.
    let (status, headers, _) = portal
        .post(
            "/settings/directory-sync",
            &admin,
            None,
            &format!("csrf={proof}&product=professional"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/settings?saved=directory"))
    );
    let org = portal
        .fixture
        .seats
        .organizations()
        .organization(&portal.fixture.admin.org)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        org.directory_seat.map(|p| p.to_string()).as_deref(),
        Some("professional")
    );
    let (_, page) = portal.get("/settings", &admin).await;
    assert!(
        page.contains(r#"<option value="professional" selected>"#),
        "{page}"
    );
    let (status, _, page) = portal
        .post(
            "/settings/directory-sync",
            &admin,
            None,
            &format!("csrf={proof}&product=sso"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an add-on is no seat to start with"
    );
    assert!(page.contains(r#"id="directory-error" role="alert""#), "{page}");

    // Buying seats when a pool is full (automatic license management).
    let (_, page) = portal.get("/settings", &admin).await;
    assert!(
        page.contains(r#"<input type="radio" name="mode" value="manual" checked>"#),
        "manual by default: {page}"
    );
    let (status, headers, _) = portal
        .post(
            "/settings/license-management",
            &admin,
            None,
            &format!("csrf={proof}&mode=automatic&max=25"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/settings?saved=license-automatic"))
    );
    let settings = portal
        .fixture
        .seats
        .subscriptions()
        .license_management(&portal.fixture.admin)
        .await
        .expect("read");
    assert_eq!(
        (settings.mode, settings.max_auto_seats_per_period),
        (seatflow_domain::LicenseMode::Automatic, Some(25))
    );
    let (_, page) = portal.get("/settings?saved=license-automatic", &admin).await;
    assert!(
        page.contains("the next one is bought on your subscription")
            && page.contains(r#"value="automatic" checked"#)
            && page.contains(r#"value="25""#),
        "{page}"
    );
    for body in ["mode=automatic&max=lots", "mode=sometimes&max="] {
        let (status, _, page) = portal
            .post(
                "/settings/license-management",
                &admin,
                None,
                &format!("csrf={proof}&{body}"),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            page.contains(r#"id="auto-max-error" role="alert""#),
            "{body}: {page}"
        );
    }
    let (status, _, _) = portal
        .post(
            "/settings/license-management",
            &member,
            None,
            &format!("csrf={proof}&mode=automatic&max="),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members change no settings");
}

#[tokio::test]
async fn the_marketplace_shows_add_ons_and_billing_opens_once_something_was_bought() {
    the_marketplace_shows_add_ons_and_billing_opens_once_something_was_bought_on(&Portal::new().await).await;
}

async fn the_marketplace_shows_add_ons_and_billing_opens_once_something_was_bought_on(portal: &Portal) {
    use seatflow_domain::PaymentGateway as _;
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/marketplace", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Single sign-on through your identity provider")
            && page.contains("You hold 2; 2 free."),
        "{page}"
    );
    let (status, page) = portal.get("/marketplace/sso", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("/purchase?term=annual&#38;plan=professional&#38;quantity=3&#38;addon_sso=3"),
        "{page}"
    );
    let (status, _) = portal.get("/marketplace/professional", &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "plans are not add-ons");

    // Nothing bought through the provider yet: no billing to manage.
    let (_, page) = portal.get("/", &admin).await;
    assert!(!page.contains("Manage billing"));
    let proof = csrf(&page);
    let (status, _, _) = portal
        .post("/billing", &admin, None, &format!("csrf={proof}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let quote = portal
        .fixture
        .seats
        .catalog()
        .quote(&seatflow_domain::QuoteRequest {
            plan: "professional".into(),
            term: seatflow_domain::Term::Annual,
            quantity: 2,
            add_ons: vec![],
        })
        .expect("quote");
    let org = OrgId::parse("org_portal").expect("id");
    let session = portal
        .gateway
        .create_checkout(&seatflow_domain::NewCheckout::of_quote(
            org.clone(),
            &quote,
            "https://portal.local/purchase/done".into(),
            "https://portal.local/purchase".into(),
        ))
        .await
        .expect("checkout");
    let (_, subscription) = portal.gateway.pay(&session.id, "cus_portal").expect("paid");
    portal
        .fixture
        .seats
        .subscriptions()
        .apply_subscription(
            &Actor::system(org, "provisioner"),
            &subscription
                .snapshot(portal.fixture.seats.catalog())
                .expect("snapshot"),
            "evt_bought",
            seatflow_domain::Clock::now(&*portal.fixture.clock),
            Mode::Apply,
        )
        .await
        .expect("provisioned");
    // Subscribed now: the add-on goes onto that subscription for the seats
    // it holds, never with its seats bought again.
    let (_, page) = portal.get("/marketplace/sso", &admin).await;
    let add_to = format!("/subscriptions/{}/seats?product=sso&#38;add=2", subscription.id);
    assert!(
        page.contains(&add_to) && page.contains("to your subscription") && !page.contains("/purchase?"),
        "{page}"
    );
    let (status, preview) = portal.get(&add_to.replace("&#38;", "&"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview.contains("from 0 to 2"),
        "the page previews the add-on for the 2 seats: {preview}"
    );
    let (_, page) = portal.get("/", &admin).await;
    assert!(page.contains("Manage billing"));
    let (status, headers, _) = portal
        .post("/billing", &admin, None, &format!("csrf={proof}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers[header::LOCATION]
            .to_str()
            .expect("location")
            .contains("cus_portal"),
        "{headers:?}"
    );

    let member = portal.sign_in("usr_max").await;
    let (status, _) = portal.get("/marketplace", &member).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_edits_and_removes_a_user_and_may_not_remove_themselves() {
    an_admin_edits_and_removes_a_user_and_may_not_remove_themselves_on(&Portal::new().await).await;
}

async fn an_admin_edits_and_removes_a_user_and_may_not_remove_themselves_on(portal: &Portal) {
    let red = portal.fixture.team("Red").await;
    portal
        .fixture
        .assign(&product("professional"), &UserId::parse("usr_max").expect("id"))
        .await;
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/users/usr_max", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"value="Max Member""#) && page.contains("Seats: Professional"),
        "{page}"
    );
    let proof = csrf(&page);

    let (status, headers, _) = portal
        .post(
            "/users/usr_max",
            &admin,
            None,
            &format!("csrf={proof}&name=Max+Moved&email=usr_max%40portal.example&role=member&team={red}"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/users?notice=updated"))
    );
    let moved = portal
        .fixture
        .seats
        .directory()
        .user(&portal.fixture.admin, &UserId::parse("usr_max").expect("id"))
        .await
        .expect("user");
    assert_eq!(
        (moved.user.name.as_str(), moved.user.team.as_ref()),
        ("Max Moved", Some(&red))
    );
    assert_eq!(
        moved.seats[0].team.as_ref(),
        Some(&red),
        "the seat moved with them"
    );

    // Someone the directory made without an email is renamed with the
    // field left empty, and keeps no email.
    let system = Actor::system(OrgId::parse("org_portal").expect("id"), "test");
    portal
        .fixture
        .seats
        .directory()
        .create_user(
            &system,
            NewUser {
                id: Some(UserId::parse("usr_dir").expect("id")),
                name: DisplayName::parse("Dee Rectory").expect("name"),
                email: None,
                directory: None,
                role: Role::Member,
                team: None,
            },
            None,
            Mode::Apply,
        )
        .await
        .expect("a user without an email");
    let (_, page) = portal.get("/users/usr_dir", &admin).await;
    assert!(
        page.contains(r#"<input id="email" name="email" type="email" value="">"#),
        "no email asked for: {page}"
    );
    let (status, _, page) = portal
        .post(
            "/users/usr_dir",
            &admin,
            None,
            &format!("csrf={proof}&name=Dee+Renamed&email=&role=member&team="),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let renamed = portal
        .fixture
        .seats
        .directory()
        .user(&portal.fixture.admin, &UserId::parse("usr_dir").expect("id"))
        .await
        .expect("user");
    assert_eq!(
        (renamed.user.name.as_str(), renamed.user.email.as_ref()),
        ("Dee Renamed", None)
    );
    // Creating someone in the portal still needs an email.
    let (status, _, page) = portal
        .post(
            "/users",
            &admin,
            None,
            &format!("csrf={proof}&name=No+Mail&email=&role=member"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("is required"), "{page}");

    // Refusals in words, next to the field at fault.
    let (status, _, page) = portal
        .post(
            "/users/usr_max",
            &admin,
            None,
            &format!("csrf={proof}&name=Max&email=usr_ada%40portal.example&role=member&team="),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains(r#"id="email-error" role="alert""#), "{page}");
    let (status, _, page) = portal
        .post(
            "/users/usr_max/transfer",
            &admin,
            None,
            &format!("csrf={proof}&product=professional&to=usr_nobody"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
    assert!(page.contains(r#"id="to-error" role="alert""#), "{page}");

    let (status, _, page) = portal
        .post("/users/usr_max/remove", &admin, None, &format!("csrf={proof}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Tick the box"));
    let (status, _, page) = portal
        .post(
            "/users/usr_ada/remove",
            &admin,
            None,
            &format!("csrf={proof}&confirm=yes"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, headers, _) = portal
        .post(
            "/users/usr_max/remove",
            &admin,
            None,
            &format!("csrf={proof}&confirm=yes"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/users?notice=removed"))
    );
    assert_eq!(
        portal.fixture.pool(&product("professional")).await.assigned,
        0,
        "the seat came free"
    );
    let (status, _) = portal.get("/users/usr_max", &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_add_webhook_endpoints_see_deliveries_and_send_them_again() {
    let portal = Portal::new().await;
    let admin = portal.sign_in("usr_ada").await;
    let (status, page) = portal.get("/settings/webhooks", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No endpoint yet."), "{page}");
    let proof = csrf(&page);
    let (status, page) = portal.get("/settings", &admin).await;
    assert!(status == StatusCode::OK && page.contains(r#"href="/settings/webhooks""#));

    let (status, _, page) = portal
        .post(
            "/settings/webhooks",
            &admin,
            None,
            &format!("csrf={proof}&url=http%3A%2F%2Fhooks.example.com%2F&event=seat.assigned"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r#"id="new-error" role="alert""#) && page.contains("https://"),
        "{page}"
    );
    let (status, _, page) = portal
        .post(
            "/settings/webhooks",
            &admin,
            None,
            &format!("csrf={proof}&url=https%3A%2F%2Fhooks.example.com%2Fseatflow&event=seat.assigned&event=seat.revoked"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(
        page.contains("shown this once") && page.contains(r#"value="whsec_"#),
        "{page}"
    );
    assert!(page.contains("A seat is assigned, A seat is revoked"), "{page}");
    let endpoints = portal
        .fixture
        .seats
        .integrations()
        .webhook_endpoints(&portal.fixture.admin)
        .await
        .unwrap();
    let id = endpoints[0].id.to_string();

    // A seat change, relayed: the log shows it waiting; sent again on request.
    let _ = portal.memory.take_outbox();
    let max = UserId::parse("usr_max").unwrap();
    portal.fixture.assign(&product("professional"), &max).await;
    let relay = seatflow_webhooks::Relay::new(
        portal.memory.clone(),
        portal.memory.clone(),
        portal.deliveries.clone(),
    );
    assert_eq!(relay.relay(&portal.memory.take_outbox()).await.unwrap(), 1);
    let (status, page) = portal.get(&format!("/settings/webhooks/{id}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("A seat is assigned") && page.contains("Waiting"),
        "{page}"
    );
    let event = page
        .split("<code class=\"muted\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(event.starts_with("evt_"), "{event}");
    let queued = portal.deliveries.len();
    let (status, headers, _) = portal
        .post(
            &format!("/settings/webhooks/{id}/deliveries/{event}/redeliver"),
            &admin,
            None,
            &format!("csrf={proof}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        format!("/settings/webhooks/{id}?saved=redelivered").as_str()
    );
    assert_eq!(portal.deliveries.len(), queued + 1);

    let (status, headers, _) = portal
        .post(
            &format!("/settings/webhooks/{id}/enabled"),
            &admin,
            None,
            &format!("csrf={proof}&enabled=false"),
        )
        .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/settings/webhooks?saved=off"))
    );
    let (status, _, page) = portal
        .post(
            &format!("/settings/webhooks/{id}/deliveries/{event}/redeliver"),
            &admin,
            None,
            &format!("csrf={proof}"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("turn it on first"), "{page}");

    let (status, _, page) = portal
        .post(
            &format!("/settings/webhooks/{id}/secret"),
            &admin,
            None,
            &format!("csrf={proof}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"value="whsec_"#) && page.contains("Two, the old one until"),
        "{page}"
    );
    let (status, _, _) = portal
        .post(
            &format!("/settings/webhooks/{id}/remove"),
            &admin,
            None,
            &format!("csrf={proof}"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = portal.get("/settings/webhooks?saved=removed", &admin).await;
    assert!(
        page.contains("No endpoint yet.") && page.contains("The endpoint was removed."),
        "{page}"
    );

    let member = portal.sign_in("usr_max").await;
    let (status, page) = portal.get("/settings/webhooks", &member).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Not available to you"));
}

#[tokio::test]
async fn an_admin_creates_renames_and_deletes_a_team_after_a_preview() {
    an_admin_creates_renames_and_deletes_a_team_after_a_preview_on(&Portal::new().await).await;
}

async fn an_admin_creates_renames_and_deletes_a_team_after_a_preview_on(portal: &Portal) {
    let red = portal.fixture.team("Red").await;
    let rita = portal.fixture.user("Rita Red", Some(&red)).await;
    portal.fixture.assign(&product("professional"), &rita.id).await;
    portal
        .fixture
        .seats
        .allocations()
        .set_allocation(
            &portal.fixture.admin,
            &red,
            &product("professional"),
            Some(3),
            Mode::Apply,
        )
        .await
        .expect("allocated");
    let admin = portal.sign_in("usr_ada").await;
    let (_, page) = portal.get("/teams", &admin).await;
    assert!(
        page.contains("Create a team") && page.contains(r#"for="name-"#),
        "{page}"
    );
    let proof = csrf(&page);
    let post = |path: String, form: String| {
        let portal = &portal;
        let admin = &admin;
        async move {
            portal
                .post(&path, admin, Some("https://portal.local"), &form)
                .await
        }
    };

    let (status, headers, _) = post("/teams/new".into(), format!("csrf={proof}&name=Green")).await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/teams?saved=created"))
    );
    let (status, _, page) = post("/teams/new".into(), format!("csrf={proof}&name=+")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"id="create-error" role="alert""#), "{page}");

    let (status, headers, _) = post(format!("/teams/{red}/name"), format!("csrf={proof}&name=Crimson")).await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/teams?saved=renamed"))
    );
    let (_, page) = portal.get("/teams?saved=renamed", &admin).await;
    assert!(
        page.contains("The team was renamed.") && page.contains("Crimson"),
        "{page}"
    );

    // Delete: first what it would do, nothing done; then, confirmed, done.
    let (status, _, page) = post(format!("/teams/{red}/removal"), format!("csrf={proof}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Delete Crimson?")
            && page.contains("Its 1 member keeps every seat")
            && page.contains("3 seats of Professional"),
        "{page}"
    );
    assert!(
        portal
            .fixture
            .seats
            .directory()
            .team(&portal.fixture.admin, &red)
            .await
            .is_ok()
    );
    let (status, headers, _) = post(
        format!("/teams/{red}/removal"),
        format!("csrf={proof}&confirm=yes"),
    )
    .await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/teams?saved=removed"))
    );
    let rita = portal
        .fixture
        .seats
        .directory()
        .user(&portal.fixture.admin, &rita.id)
        .await
        .expect("Rita stays");
    assert_eq!((rita.user.team, rita.seats.len()), (None, 1));
    let (status, _, _) = post(
        format!("/teams/{red}/removal"),
        format!("csrf={proof}&confirm=yes"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Members and managers see no such forms, and may not use them.
    let member = portal.sign_in("usr_max").await;
    let (status, _, _) = portal
        .post(
            "/teams/new",
            &member,
            Some("https://portal.local"),
            &format!("csrf={proof}&name=Mine"),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
}

/// The portal function's AWS calls, recorded on the wire as it makes them on
/// moto, are every one allowed by its role in `infra/template.yaml` as SAM
/// deploys it (`seatflow_testkit::iam`; moto enforces no IAM). The calls are
/// those of the tests above that change things, each on its own table:
/// users created, edited and removed, seats bought, teams created, renamed
/// and deleted, settings and API keys.
#[tokio::test]
async fn every_aws_call_of_the_portal_is_allowed_by_its_role() {
    use seatflow_testkit::aws;
    use seatflow_testkit::aws_calls::CallLog;
    use seatflow_testkit::iam::{Evaluation, Stack, Template};

    const FUNCTION: &str = "PortalFunction";
    /// Grants no call of this test uses, and why they stay.
    const UNUSED_ON_PURPOSE: [(&str, &str); 0] = [];
    let config = aws::sdk_config().await;
    let calls = CallLog::new();
    let template = Template::transformed();
    let mut tables = Vec::new();
    for walk in 0..9 {
        let seeding = aws::fresh_table(&config).await;
        let table = seeding.table().to_owned();
        let store = Arc::new(seatflow_dynamodb::DynamoEntitlementStore::new(
            calls.dynamodb(&config, FUNCTION),
            &table,
        ));
        let queue_url = aws::fresh_fifo_queue(&config).await;
        let queue = Arc::new(seatflow_sqs::SqsDeliveryQueue::new(
            calls.sqs(&config, FUNCTION),
            &queue_url,
        ));
        let portal = Portal::on(
            Arc::new(seeding),
            store.clone(),
            store,
            queue,
            Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
            Arc::new(seatflow_webhooks::LocalQueue::new()),
        )
        .await;
        match walk {
            0 => users_are_created_with_seats_given_and_taken_and_a_full_pool_says_so_on(&portal).await,
            1 => {
                an_admin_buys_seats_sees_the_breakdown_pays_and_creates_users_from_the_confirmation_on(
                    &portal,
                )
                .await
            }
            2 => teams_usage_and_the_audit_log_show_what_each_role_may_see_on(&portal).await,
            3 => settings_keep_notification_choices_and_api_keys_show_their_secret_once_on(&portal).await,
            4 => the_marketplace_shows_add_ons_and_billing_opens_once_something_was_bought_on(&portal).await,
            5 => an_admin_edits_and_removes_a_user_and_may_not_remove_themselves_on(&portal).await,
            6 => an_admin_creates_renames_and_deletes_a_team_after_a_preview_on(&portal).await,
            7 => {
                a_hand_off_signs_in_once_into_a_strict_http_only_session_that_sign_out_ends_on(&portal).await
            }
            _ => an_admin_sees_licenses_and_users_and_a_member_only_their_own_seats_on(&portal).await,
        }
        tables.push((table, queue_url));
    }
    let stack = tables.iter().fold(Stack::new(template), |stack, (table, queue)| {
        stack.with_table(table).with_queue(queue, "WebhookDeliveryQueue")
    });
    let mut recorded = calls.calls();
    recorded.extend(stack.template().secret_reads(FUNCTION));
    let evaluation = Evaluation::of(&stack, &recorded);
    evaluation.assert_allowed();
    evaluation.assert_unused_are(&stack, &UNUSED_ON_PURPOSE);
}
