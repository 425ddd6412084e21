//! A stand-in of Stripe's subscription list (`GET /v1/subscriptions`), paged
//! by `starting_after` and `limit` as Stripe pages it: for the tests and the
//! benchmark.

use std::collections::BTreeMap;

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

/// `total` subscriptions, numbered from 0, the n-th of organisation
/// `orgs[n % orgs.len()]`, each with 2 annual SSO seats.
pub struct SubscriptionPages {
    pub total: usize,
    pub orgs: Vec<String>,
}

impl SubscriptionPages {
    fn subscription(&self, n: usize) -> serde_json::Value {
        let org = &self.orgs[n % self.orgs.len()];
        json!({
            "id": format!("sub_{n:05}"), "object": "subscription", "customer": format!("cus_{org}"),
            "status": "active", "metadata": {"org": org}, "cancel_at_period_end": false,
            "items": {"object": "list", "data": [{
                "id": format!("si_{n}"), "quantity": 2,
                "price": {"id": "price_sso", "lookup_key": "seatflow_sso_annual"},
                "current_period_start": 1_790_000_000, "current_period_end": 1_821_536_000,
            }]},
        })
    }
}

impl wiremock::Respond for SubscriptionPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let start = query
            .get("starting_after")
            .and_then(|id| id.trim_start_matches("sub_").parse::<usize>().ok())
            .map_or(0, |n| n + 1);
        let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
        let end = (start + limit).min(self.total);
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "url": "/v1/subscriptions", "has_more": end < self.total,
            "data": (start..end).map(|n| self.subscription(n)).collect::<Vec<_>>(),
        }))
    }
}
