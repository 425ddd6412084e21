//! Offline entitlement tokens: how many a process signs per second (ES256
//! with the key set's first key, jsonwebtoken over the p256 crate), and how
//! many a vendor's application verifies per second against the published
//! JWK (jsonwebtoken's decoder, signature and expiry). One thread, a user
//! with three products. See BENCHMARKS.md.
//!
//! Run: `cargo bench -p seatflow-seats-api --bench tokens`

// Tests and benchmarks: a failed expectation is the failure being reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use seatflow_domain::{Clock as _, Entitlement, EntitlementTokenClaims, OrgId, SystemClock, UserId};
use seatflow_http::entitlement_tokens::{EntitlementTokens, KeySetDocument, TokenClaims};

const RUNS: usize = 5_000;

fn main() {
    let keys = serde_json::to_string(&KeySetDocument::generate()).unwrap();
    let tokens =
        EntitlementTokens::from_key_set(&keys, "seatflow", std::time::Duration::from_secs(3600)).unwrap();
    let now = SystemClock.now();
    let claims = EntitlementTokenClaims {
        org: OrgId::parse("org_bench").unwrap(),
        user: UserId::parse("usr_bench").unwrap(),
        products: ["professional", "sso", "analytics"]
            .into_iter()
            .map(|p| Entitlement {
                product: p.parse().unwrap(),
                until: Some(now + chrono::Duration::days(30)),
            })
            .collect(),
        issued_at: now,
        expires_at: now + chrono::Duration::hours(1),
    };

    let started = Instant::now();
    let mut token = String::new();
    for _ in 0..RUNS {
        token = tokens.sign(&claims).unwrap();
    }
    let signing = started.elapsed();

    let jwk = &tokens.jwks()["keys"][0];
    let key =
        jsonwebtoken::DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&["seatflow"]);
    let started = Instant::now();
    for _ in 0..RUNS {
        let verified = jsonwebtoken::decode::<TokenClaims>(&token, &key, &validation).unwrap();
        assert_eq!(verified.claims.sub, "usr_bench");
    }
    let verifying = started.elapsed();

    println!("token: {} bytes, {RUNS} runs each", token.len());
    for (what, took) in [("sign", signing), ("verify", verifying)] {
        let runs = u32::try_from(RUNS).unwrap();
        println!(
            "{what}: {:.0} per second ({:.1} µs each)",
            f64::from(runs) / took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / f64::from(runs)
        );
    }
}
