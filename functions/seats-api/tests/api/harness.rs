//! A fresh app per test: memory store, manual clock, seeded victim organisation.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use seatflow_domain::{
    Actor, ApiScope, Catalog, DeliveryLog, DeliveryQueue, DisplayName, Email, EntitlementStore, Mode,
    NewUser, OrgId, ProductId, Role, TeamId, UserId,
};
use seatflow_http::AppState;
use seatflow_http::{ApiKeySecret, Authenticator, JwtConfig, OperatorKeys};
use seatflow_memory::MemoryEntitlementStore;
use seatflow_testkit::Fixture;
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt as _;

const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";
/// The operator key of Olga, the vendor's support engineer: the documented
/// sample of `events/` (not a secret; it works only where configured).
pub const OPERATOR_KEY: &str = "sfo_sample_events_only_not_a_secret";

#[derive(Debug)]
pub struct TestApp {
    pub state: AppState,
    pub router: axum::Router,
    pub fixture: Fixture,
    /// The store, as itself (its outbox).
    pub memory: Arc<MemoryEntitlementStore>,
    /// Where redeliveries go (nothing delivers here).
    pub deliveries: Arc<seatflow_webhooks::LocalQueue>,
}

fn jwt(secret: &str) -> JwtConfig {
    JwtConfig::new(SecretString::from(secret.to_owned())).expect("valid secret")
}

impl TestApp {
    pub async fn new() -> Self {
        let memory = Arc::new(MemoryEntitlementStore::new());
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

    /// The app over other adapters: the fixture seeds through `seeding`,
    /// the API's own service uses `store`, its delivery log `log` and its
    /// redelivery queue `queue` (the permission test's recorded DynamoDB
    /// and SQS). `memory` and `deliveries` are what the tests that read
    /// them directly look at.
    pub async fn on(
        seeding: Arc<dyn EntitlementStore>,
        store: Arc<dyn EntitlementStore>,
        log: Arc<dyn DeliveryLog>,
        queue: Arc<dyn DeliveryQueue>,
        memory: Arc<MemoryEntitlementStore>,
        deliveries: Arc<seatflow_webhooks::LocalQueue>,
    ) -> Self {
        let fixture = Fixture::new(seeding, "org_victim").await;
        let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
        let seats = seatflow_domain::Seats::new(store, fixture.clock.clone(), catalog);
        let operators = OperatorKeys::default().with("ops-olga", &ApiKeySecret::hash(OPERATOR_KEY));
        let auth = Authenticator::new(jwt(SECRET), seats.clone()).with_operator_keys(operators);
        let keys = serde_json::to_string(&seatflow_http::entitlement_tokens::KeySetDocument::generate())
            .expect("a key set");
        let state = AppState::with_auth(seats, auth)
            .with_entitlement_tokens(
                seatflow_http::entitlement_tokens::EntitlementTokens::from_key_set(
                    &keys,
                    "seatflow",
                    seatflow_http::entitlement_tokens::DEFAULT_TOKEN_LIFETIME,
                )
                .expect("keys"),
            )
            .with_outbound(seatflow_http::Outbound { log, queue });
        let router = seatflow_seats_api::router(state.clone());
        let app = Self {
            state,
            router,
            fixture,
            memory,
            deliveries,
        };
        // The people the tests sign in as: a token is honoured only for a
        // user the organisation has.
        app.person("org_victim", "usr_admin", "Victim Admin", Role::Admin)
            .await;
        app.state
            .seats
            .organizations()
            .create_organization(
                &Actor::system(OrgId::parse("org_other").expect("id"), "test"),
                "Other",
                Mode::Apply,
            )
            .await
            .expect("organisation");
        app.person("org_other", "usr_eve", "Eve", Role::Admin).await;
        app
    }

    /// Adds a person (no team, no seat) to organisation `org`.
    pub async fn person(&self, org: &str, id: &str, name: &str, role: Role) {
        let new = NewUser {
            id: Some(UserId::parse(id).expect("id")),
            name: DisplayName::parse(name).expect("name"),
            email: Some(
                Email::parse(&format!("{}@{}.example", id.trim_start_matches("usr_"), org)).expect("email"),
            ),
            directory: None,
            role,
            team: None,
        };
        let system = Actor::system(OrgId::parse(org).expect("id"), "test");
        self.state
            .seats
            .directory()
            .create_user(&system, new, None, Mode::Apply)
            .await
            .expect("person");
    }

    pub fn token(&self, user: &str, org: &str, role: Role, teams: &[&str]) -> String {
        let teams: Vec<TeamId> = teams
            .iter()
            .map(|t| TeamId::parse(*t).expect("team id"))
            .collect();
        self.state
            .auth
            .mint(
                &UserId::parse(user).expect("id"),
                &OrgId::parse(org).expect("id"),
                role,
                &teams,
                3600,
            )
            .expect("signed")
    }

    /// A well-formed token signed with another secret.
    pub fn foreign_token(&self, user: &str, org: &str) -> String {
        let seats = self.state.seats.clone();
        Authenticator::new(jwt("another-secret-of-at-least-thirty-two-bytes"), seats)
            .mint(
                &UserId::parse(user).expect("id"),
                &OrgId::parse(org).expect("id"),
                Role::Admin,
                &[],
                3600,
            )
            .expect("signed")
    }

    /// A token that expired an hour ago (beyond the leeway).
    pub fn expired_token(&self, user: &str, org: &str) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = seatflow_http::Claims {
            sub: user.into(),
            org: org.into(),
            role: Role::Admin,
            teams: vec![],
            iss: "seatflow".into(),
            aud: "seatflow-api".into(),
            iat: now - 7200,
            exp: now - 3600,
            email: None,
            org_name: None,
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signed")
    }

    /// An API key of organisation `org` (created by its admin).
    pub async fn api_key_for(&self, org: &str) -> String {
        let secret = seatflow_http::auth::ApiKeySecret::generate();
        let plain = secrecy::ExposeSecret::expose_secret(&secret.secret).to_owned();
        self.seed_api_key(org, &plain).await;
        plain
    }

    /// Records `secret` as an API key of organisation `org`.
    pub async fn seed_api_key(&self, org: &str, secret: &str) {
        let hash = seatflow_http::auth::ApiKeySecret::hash(secret);
        let admin = Actor {
            org: OrgId::parse(org).expect("id"),
            principal: seatflow_domain::Principal::User(UserId::parse("usr_root").expect("id")),
            role: Role::Admin,
            teams: vec![],
            grants_admin: true,
        };
        self.state
            .seats
            .integrations()
            .create_api_key(
                &admin,
                "machine",
                &secret[..12],
                &hash,
                &ApiScope::ALL,
                Mode::Apply,
            )
            .await
            .expect("key created");
    }

    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.send(request).await
    }

    /// Sends a request built by the test.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let (status, headers, bytes) = self.call_raw(method, path, token, body).await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, headers, value)
    }

    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, HeaderMap, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .expect("request");
        let (status, headers, bytes) = self.send(request).await;
        (
            status,
            headers,
            serde_json::from_slice(&bytes).expect("JSON body"),
        )
    }
}

/// The organisation the other callers try to reach: teams Red (allocated 5
/// Professional) and Blue; Ann (Red, Professional + SSO), Ben (Blue,
/// Professional), Cat (no team, no seat); 10 Professional, 5 SSO, 5 Analytics;
/// one API key.
#[derive(Debug)]
pub struct Victim {
    pub key_id: String,
    pub key_prefix: String,
    pub endpoint_id: String,
    pub endpoint_secret: String,
    org: OrgId,
}

impl Victim {
    pub async fn seed(app: &TestApp) -> Self {
        let f = &app.fixture;
        let seats = &app.state.seats;
        let admin = &f.admin;
        f.buy("professional", 10).await;
        f.buy("sso", 5).await;
        f.buy("analytics", 5).await;
        for (id, name) in [("team_red", "Red"), ("team_blue", "Blue")] {
            seats
                .directory()
                .create_team(admin, Some(&TeamId::parse(id).expect("id")), name, Mode::Apply)
                .await
                .expect("team");
        }
        let pro = ProductId::parse("professional").expect("id");
        seats
            .allocations()
            .set_allocation(
                admin,
                &TeamId::parse("team_red").expect("id"),
                &pro,
                Some(5),
                Mode::Apply,
            )
            .await
            .expect("allocation");
        for (id, name, team, seat, role) in [
            ("usr_ann", "Ann", Some("team_red"), true, Role::Member),
            ("usr_ben", "Ben", Some("team_blue"), true, Role::TeamManager),
            ("usr_cat", "Cat", None, false, Role::Member),
        ] {
            let new = NewUser {
                id: Some(UserId::parse(id).expect("id")),
                name: DisplayName::parse(name).expect("name"),
                email: Some(Email::parse(&format!("{}@victim.example", name.to_lowercase())).expect("email")),
                directory: None,
                role,
                team: team.map(|t| TeamId::parse(t).expect("id")),
            };
            seats
                .directory()
                .create_user(admin, new, seat.then_some(&pro), Mode::Apply)
                .await
                .expect("user");
        }
        let sso = ProductId::parse("sso").expect("id");
        seats
            .allocations()
            .assign(admin, &sso, &UserId::parse("usr_ann").expect("id"), Mode::Apply)
            .await
            .expect("add-on");
        let secret = seatflow_http::auth::ApiKeySecret::generate();
        let key = seats
            .integrations()
            .create_api_key(
                admin,
                "victim shop",
                &secret.prefix,
                &secret.hash,
                &ApiScope::ALL,
                Mode::Apply,
            )
            .await
            .expect("key");
        let endpoint = seats
            .integrations()
            .create_webhook_endpoint(
                admin,
                &seatflow_domain::NewEndpoint {
                    url: "https://hooks.victim.example/seatflow".into(),
                    event_types: seatflow_domain::EventType::ALL.to_vec(),
                    allow_http: false,
                },
                Mode::Apply,
            )
            .await
            .expect("endpoint");
        Self {
            key_id: key.value.id.to_string(),
            key_prefix: secret.prefix,
            endpoint_id: endpoint.value.endpoint.id.to_string(),
            endpoint_secret: endpoint.value.secret,
            org: admin.org.clone(),
        }
    }

    /// Strings that must never reach a caller outside the victim's reach.
    pub fn secrets(&self) -> Vec<&str> {
        vec![
            "org_victim",
            "usr_ann",
            "usr_ben",
            "usr_cat",
            "ann@victim.example",
            "team_red",
            "team_blue",
            &self.key_prefix,
            &self.key_id,
            "hooks.victim.example",
            &self.endpoint_id,
            &self.endpoint_secret,
        ]
    }

    pub async fn audit_len(&self, app: &TestApp) -> usize {
        app.fixture
            .store
            .audit(&self.org, None, 10_000)
            .await
            .expect("audit")
            .len()
    }
}
