//! A purchase through the checkout function on the offline payment gateway,
//! provisioned by the provisioner: quotes and their errors, checkout
//! sessions, confirmations, seat increases, and the sample event through the
//! Lambda adapter. (The Stripe adapter's wire format is tested against a
//! stand-in in `seatflow-stripe`.)

mod auto_seats;
mod dry_runs;
mod idempotency;
mod money;
mod quotes;
mod sessions;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use seatflow_checkout::{CheckoutConfig, CheckoutState};
use seatflow_domain::{
    Actor, Catalog, Clock as _, ManualClock, Mode, OrgId, PaymentGateway as _, ProrationBehavior, Role,
    UserId,
};
use seatflow_http::AppState;
use seatflow_http::JwtConfig;
use seatflow_memory::{MemoryEntitlementStore, OfflinePaymentGateway};
use seatflow_provisioner::Provisioner;
use seatflow_stripe::wire;
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct App {
    router: axum::Router,
    token: String,
    catalog: Catalog,
    state: AppState,
    clock: Arc<ManualClock>,
    gateway: OfflinePaymentGateway,
    checkout: CheckoutState,
    /// The store under `state`, whose outbox the tests relay.
    memory: Arc<MemoryEntitlementStore>,
}

fn app() -> App {
    let catalog = Catalog::default_catalog().expect("catalog");
    let jwt = JwtConfig::new(SecretString::from("checkout-test-secret-at-least-32-bytes")).expect("secret");
    let clock = Arc::new(ManualClock::at(chrono_now()));
    let memory = Arc::new(MemoryEntitlementStore::new());
    let state = AppState::new(memory.clone(), clock.clone(), Arc::new(catalog.clone()), jwt);
    let token = mint(&state, "org_buyer", Role::Admin);
    let gateway = OfflinePaymentGateway::new(
        Arc::new(catalog.clone()),
        clock.clone(),
        "http://pay.local/checkout/",
    );
    let checkout = CheckoutState {
        app: state.clone(),
        payments: Arc::new(gateway.clone()),
        config: Arc::new(
            CheckoutConfig::new(
                "https://app.example/done?session={CHECKOUT_SESSION_ID}",
                "https://app.example/pricing",
                ProrationBehavior::AlwaysInvoice,
            )
            .expect("config"),
        ),
        idempotency: std::sync::Arc::new(seatflow_memory::MemoryIdempotencyStore::new()),
    };
    App {
        router: seatflow_checkout::router(checkout.clone()),
        checkout,
        token,
        catalog,
        state,
        clock,
        gateway,
        memory,
    }
}

/// A token in `org`: an admin's is `usr_buyer`'s and carries an email, so its
/// first use founds an organisation seatflow does not know, with them as its
/// first admin; anyone else's is `usr_member`'s. A token is honoured only for
/// a user the organisation has (see [`App::create_org`]).
fn mint(state: &AppState, org: &str, role: Role) -> String {
    let org = OrgId::parse(org).expect("id");
    match role {
        Role::Admin => state
            .auth
            .mint_founder(
                &UserId::parse("usr_buyer").expect("id"),
                &org,
                "buyer@buyer.example",
                None,
                600,
            )
            .expect("token"),
        _ => state
            .auth
            .mint(&UserId::parse("usr_member").expect("id"), &org, role, &[], 600)
            .expect("token"),
    }
}

/// The quantity of subscription `sub`'s first item at the provider.
async fn provider_quantity(app: &App, sub: &str) -> u32 {
    app.gateway
        .subscription(sub)
        .await
        .expect("read")
        .expect("exists")
        .items[0]
        .quantity
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("time")
}

impl App {
    /// The buyer, the organisation's first admin.
    fn admin(&self) -> Actor {
        Actor {
            org: OrgId::parse("org_buyer").expect("id"),
            principal: seatflow_domain::Principal::User(UserId::parse("usr_buyer").expect("id")),
            role: Role::Admin,
            teams: vec![],
            grants_admin: true,
        }
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("ok");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn quote(&self, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::POST, "/v1/checkout/quote", Some(body), token)
            .await
    }

    /// Creates organisation `org` with `usr_buyer` as its admin and
    /// `usr_member` as a member, a second before the test goes on (so that
    /// they are not among the users a purchase created).
    async fn create_org(&self, org: &str) {
        let system = Actor::system(OrgId::parse(org).expect("id"), "test");
        self.state
            .seats
            .organizations()
            .create_organization(&system, "Buyer", Mode::Apply)
            .await
            .expect("org");
        for (id, role) in [("usr_buyer", Role::Admin), ("usr_member", Role::Member)] {
            let person = seatflow_domain::NewUser {
                id: Some(UserId::parse(id).expect("id")),
                name: seatflow_domain::DisplayName::parse(id).expect("name"),
                email: Some(seatflow_domain::Email::parse(&format!("{id}@buyer.example")).expect("email")),
                directory: None,
                role,
                team: None,
            };
            self.state
                .seats
                .directory()
                .create_user(&system, person, None, Mode::Apply)
                .await
                .expect("person");
        }
        self.clock.advance(chrono::Duration::seconds(1));
    }

    /// Organisation `org_buyer` buys `quantity` seats of `plan` on `term`
    /// through a checkout session, paid and provisioned: the subscription.
    async fn subscribe(&self, plan: &str, term: &str, quantity: u32) -> String {
        self.create_org("org_buyer").await;
        let (_, created) = self
            .call(
                Method::POST,
                "/v1/checkout/sessions",
                Some(json!({"plan": plan, "term": term, "quantity": quantity})),
                Some(&self.token),
            )
            .await;
        self.pay_and_provision(created["id"].as_str().expect("id")).await
    }

    /// Pays session `id` offline and provisions the events Stripe would send.
    async fn pay_and_provision(&self, id: &str) -> String {
        let (session, sub) = self.gateway.pay(id, "cus_buyer").expect("paid");
        let provisioner = Provisioner::new(self.state.seats.clone(), Arc::new(self.gateway.clone()));
        let now = self.clock.now();
        let object = wire::checkout_session_object(&session, "cus_buyer");
        let job = seatflow_stripe::event::job_for(
            &format!("evt_{id}"),
            "checkout.session.completed",
            now,
            &object.to_string(),
        );
        provisioner.apply(&job).await.expect("provisioned");
        sub.id
    }
}
