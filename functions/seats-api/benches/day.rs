//! The capacity model's check (`docs/capacity.md`): a synthetic day's
//! activities replayed through the seats API's router, each sampled on one
//! organisation of 200 holders, with the DynamoDB store's capacity meter
//! counting what each costs (requests, and read and write units by the
//! billing rules); then each cost times the day's volume of that activity
//! (the model's assumptions, in [`DAY`]), for the table's counts.
//!
//! Without `AWS_ENDPOINT_URL` the in-memory store runs the same day and only
//! the answers are checked (it has no meter). Run on moto:
//! `scripts/with-moto.sh cargo bench -p seatflow-seats-api --bench day`.

// Benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use seatflow_domain::{Catalog, EntitlementStore, SystemClock};
use seatflow_dynamodb::{Capacity, CapacityMeter};
use seatflow_http::entitlement_tokens::{EntitlementTokens, KeySetDocument};
use seatflow_http::{AppState, JwtConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

mod common;

/// Holders of the sampled organisation.
const HOLDERS: usize = 200;
/// Samples of each activity.
const SAMPLES: usize = 40;

/// The day of `docs/capacity.md`: each activity sampled here, and how many
/// times a day 10,000 organisations with 1,000,000 seats do it.
const DAY: [(&str, u64); 6] = [
    ("entitlement check", 3_000_000),
    ("offline token", 1_000_000),
    ("seat change", 20_000),
    ("SCIM request", 370_000),
    ("imported row", 10_000),
    ("admin page (licenses + users)", 200_000),
];

/// One HTTP call through the router, which must succeed; the answer's body.
async fn ok(router: &Router, method: Method, uri: &str, auth: &str, body: Option<Value>) -> Value {
    common::send(router, method.as_str(), uri, auth, body).await.1
}

/// What the samples of an activity cost together.
struct Cost {
    activity: &'static str,
    samples: usize,
    used: Option<Capacity>,
}

/// The organisation with its seats and an admin: the admin's token, and the
/// secret of the vendor's API key.
async fn organisation(state: &AppState, router: &Router) -> (String, String) {
    let token =
        common::organisation_with_admin(state, "org_day", u32::try_from(HOLDERS * 2).expect("small")).await;
    let scopes = [
        "entitlements:read",
        "seats:read",
        "seats:write",
        "users:write",
        "scim",
    ];
    let key = ok(
        router,
        Method::POST,
        "/v1/api-keys",
        &token,
        Some(json!({"name": "vendor app", "scopes": scopes})),
    )
    .await;
    let secret = key["result"]["secret"].as_str().expect("secret").to_owned();
    (token, secret)
}

/// Replays the day on `store`; with a meter, what each activity cost.
async fn day(label: &str, store: Arc<dyn EntitlementStore>, meter: Option<Arc<CapacityMeter>>) {
    let catalog = Arc::new(Catalog::default_catalog().expect("catalog"));
    let jwt = JwtConfig::new(SecretString::from("day-bench-secret-of-at-least-32-bytes")).expect("jwt");
    let keys = serde_json::to_string(&KeySetDocument::generate()).expect("key set");
    let tokens = EntitlementTokens::from_key_set(&keys, "seatflow", std::time::Duration::from_secs(3600))
        .expect("signing keys");
    let state = AppState::new(store, Arc::new(SystemClock), catalog, jwt).with_entitlement_tokens(tokens);
    let router = seatflow_seats_api::router(state.clone());
    let (token, key) = organisation(&state, &router).await;
    let read = || meter.as_ref().map(|m| m.snapshot());
    let since = |before: Option<Capacity>| before.zip(read()).map(|(b, a)| a - b);
    let mut costs = Vec::new();

    // Imported rows: the holders arrive by the admin's import, each with a seat.
    let users: Vec<Value> = (0..HOLDERS)
        .map(|i| json!({"name": format!("Holder {i}"), "email": format!("holder{i}@day.example"), "seat": "professional", "id": format!("usr_h{i}")}))
        .collect();
    let before = read();
    let report = ok(
        &router,
        Method::POST,
        "/v1/users/import",
        &token,
        Some(json!({ "users": users })),
    )
    .await;
    assert_eq!(report["created"], HOLDERS, "{report}");
    costs.push(Cost {
        activity: "imported row",
        samples: HOLDERS,
        used: since(before),
    });

    let before = read();
    for i in 0..SAMPLES {
        let body = ok(
            &router,
            Method::GET,
            &format!("/v1/entitlements?user=usr_h{i}"),
            &key,
            None,
        )
        .await;
        assert_eq!(body["products"][0]["product"], "professional", "{body}");
    }
    costs.push(Cost {
        activity: "entitlement check",
        samples: SAMPLES,
        used: since(before),
    });

    let before = read();
    for i in 0..SAMPLES {
        ok(
            &router,
            Method::GET,
            &format!("/v1/entitlements/token?user=usr_h{i}"),
            &key,
            None,
        )
        .await;
    }
    costs.push(Cost {
        activity: "offline token",
        samples: SAMPLES,
        used: since(before),
    });

    // Seat changes: half give a seat back, half take it again.
    let before = read();
    for i in 0..SAMPLES / 2 {
        ok(
            &router,
            Method::DELETE,
            &format!("/v1/assignments/professional/usr_h{i}"),
            &key,
            None,
        )
        .await;
        ok(
            &router,
            Method::POST,
            "/v1/assignments",
            &key,
            Some(json!({"product": "professional", "user": format!("usr_h{i}")})),
        )
        .await;
    }
    costs.push(Cost {
        activity: "seat change",
        samples: SAMPLES,
        used: since(before),
    });

    // SCIM: what a sync cycle sends: a lookup by userName, a page of 100,
    // one user, and a create every other cycle (a seventh of the requests).
    let before = read();
    let mut sent = 0;
    for i in 0..SAMPLES / 4 {
        let body = ok(
            &router,
            Method::GET,
            &format!("/scim/v2/Users?filter=userName%20eq%20%22holder{i}@day.example%22"),
            &key,
            None,
        )
        .await;
        assert_eq!(body["totalResults"], 1, "{body}");
        ok(
            &router,
            Method::GET,
            "/scim/v2/Users?startIndex=1&count=100",
            &key,
            None,
        )
        .await;
        ok(
            &router,
            Method::GET,
            &format!("/scim/v2/Users/usr_h{i}"),
            &key,
            None,
        )
        .await;
        sent += 3;
        if i % 2 == 0 {
            ok(
                &router,
                Method::POST,
                "/scim/v2/Users",
                &key,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("synced{i}@day.example"),
                    "name": {"formatted": format!("Synced {i}")},
                    "active": true
                })),
            )
            .await;
            sent += 1;
        }
    }
    costs.push(Cost {
        activity: "SCIM request",
        samples: sent,
        used: since(before),
    });

    let before = read();
    for _ in 0..SAMPLES {
        ok(&router, Method::GET, "/v1/licenses", &token, None).await;
        ok(&router, Method::GET, "/v1/users?limit=50", &token, None).await;
    }
    costs.push(Cost {
        activity: "admin page (licenses + users)",
        samples: SAMPLES,
        used: since(before),
    });

    println!("{label}");
    if meter.is_none() {
        println!("(no meter: every activity answered as expected)");
        return;
    }
    println!(
        "| activity | per op: requests | RRU | WRU | per day | requests per day | RRU per day | WRU per day |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut totals = (0.0, 0.0, 0.0);
    for (activity, volume) in DAY {
        let cost = costs.iter().find(|c| c.activity == activity).expect("sampled");
        let used = cost.used.expect("metered");
        let n = cost.samples as f64;
        let (requests, rru, wru) = (
            used.requests as f64 / n,
            used.estimated_read / n,
            used.estimated_write / n,
        );
        let volume = volume as f64;
        let day = (requests * volume, rru * volume, wru * volume);
        totals = (totals.0 + day.0, totals.1 + day.1, totals.2 + day.2);
        println!(
            "| {activity} | {requests:.2} | {rru:.2} | {wru:.2} | {volume} | {:.0} | {:.0} | {:.0} |",
            day.0, day.1, day.2
        );
    }
    println!(
        "| **these activities** | | | | | **{:.0}** | **{:.0}** | **{:.0}** |",
        totals.0, totals.1, totals.2
    );
}

#[tokio::main]
async fn main() {
    day(
        "in-memory store",
        Arc::new(seatflow_memory::MemoryEntitlementStore::new()),
        None,
    )
    .await;
    if seatflow_testkit::moto::configured().await {
        let config = seatflow_testkit::aws::sdk_config().await;
        let meter = Arc::new(CapacityMeter::default());
        let store = seatflow_testkit::aws::fresh_table(&config)
            .await
            .with_meter(meter.clone());
        day(
            "DynamoDB store on moto (units by the billing rules)",
            Arc::new(store),
            Some(meter),
        )
        .await;
    }
}
