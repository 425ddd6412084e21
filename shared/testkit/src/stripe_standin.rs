//! A stand-in of the parts of Stripe's API that set an account up and sell
//! seats, holding state as Stripe does: products, prices (with their lookup
//! keys and volume tiers, read back from the form parameters sent), webhook
//! endpoints and checkout sessions. Served over HTTP by wiremock, so the
//! real Stripe client is what talks to it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A price as the stand-in holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandInPrice {
    /// Its id.
    pub id: String,
    /// Its lookup key.
    pub lookup_key: Option<String>,
    /// Whether it is active.
    pub active: bool,
    /// Its Stripe object.
    pub object: Value,
}

impl StandInPrice {
    /// What `quantity` units cost for one period, as Stripe computes it from
    /// the price's own parameters: flat, or volume tiers (every unit at the
    /// tier the quantity falls in).
    ///
    /// # Panics
    /// On a price shape the stand-in does not model (graduated tiers).
    #[must_use]
    pub fn amount_for(&self, quantity: u64) -> i64 {
        let quantity_i64 = i64::try_from(quantity).expect("quantity");
        if self.object["billing_scheme"] == "per_unit" {
            return self.object["unit_amount"].as_i64().expect("unit amount") * quantity_i64;
        }
        assert_eq!(
            self.object["tiers_mode"], "volume",
            "only volume tiers are modelled"
        );
        let tiers = self.object["tiers"].as_array().expect("tiers");
        let tier = tiers
            .iter()
            .find(|t| t["up_to"].as_u64().is_none_or(|up_to| quantity <= up_to))
            .expect("a tier for every quantity");
        tier["unit_amount"].as_i64().expect("unit amount") * quantity_i64
    }
}

/// The stand-in's state.
#[derive(Debug, Default)]
pub struct StandInState {
    /// Products by id.
    pub products: BTreeMap<String, Value>,
    /// Prices in creation order.
    pub prices: Vec<StandInPrice>,
    /// Webhook endpoints in creation order.
    pub webhook_endpoints: Vec<Value>,
    /// Checkout sessions created, with the form they were created from.
    pub sessions: Vec<BTreeMap<String, String>>,
    /// Customer Portal configurations in creation order.
    pub portal_configurations: Vec<Value>,
    /// Billing-portal sessions created, with the form they were created from.
    pub portal_sessions: Vec<BTreeMap<String, String>>,
    next_id: usize,
}

impl StandInState {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_standin{:06}", self.next_id)
    }

    /// The active price with `lookup_key`.
    #[must_use]
    pub fn price(&self, lookup_key: &str) -> Option<&StandInPrice> {
        self.prices
            .iter()
            .find(|p| p.active && p.lookup_key.as_deref() == Some(lookup_key))
    }

    /// A price by id.
    #[must_use]
    pub fn price_by_id(&self, id: &str) -> Option<&StandInPrice> {
        self.prices.iter().find(|p| p.id == id)
    }
}

/// The running stand-in.
#[derive(Debug, Clone)]
pub struct StripeStandIn {
    /// The HTTP server (its requests are recorded).
    pub server: Arc<MockServer>,
    /// Its state.
    pub state: Arc<Mutex<StandInState>>,
}

impl StripeStandIn {
    /// Starts a stand-in with no products, prices or endpoints.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(StandInState::default()));
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    /// The base URL for a Stripe client (`http://…/`).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("{}/", self.server.uri())
    }

    /// The state, locked.
    pub fn state(&self) -> std::sync::MutexGuard<'_, StandInState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writes received so far (method and path of every POST).
    pub async fn writes(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .map(|r| format!("POST {}", r.url.path()))
            .collect()
    }
}

/// The decoded form body of a request, key → value.
#[must_use]
pub fn form(request: &Request) -> BTreeMap<String, String> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

struct Responder(Arc<Mutex<StandInState>>);

fn not_found(what: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"error": {
        "type": "invalid_request_error", "code": "resource_missing", "message": format!("No such {what}")
    }}))
}

fn list(data: Vec<Value>, url: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"object": "list", "url": url, "has_more": false, "data": data}))
}

/// A form's bracketed keys (`features[invoice_history][enabled]=true`,
/// `allowed_updates[0]=email`) as the JSON object Stripe would hold: numeric
/// keys make arrays, `true`/`false` booleans.
fn nested(form: &BTreeMap<String, String>) -> Value {
    let mut root = json!({});
    for (key, value) in form {
        let mut path: Vec<&str> = Vec::new();
        let (head, rest) = key.split_once('[').map_or((key.as_str(), ""), |(h, r)| (h, r));
        path.push(head);
        path.extend(
            rest.split('[')
                .map(|p| p.trim_end_matches(']'))
                .filter(|p| !p.is_empty()),
        );
        let leaf = match value.as_str() {
            "true" => json!(true),
            "false" => json!(false),
            other => json!(other),
        };
        let mut at = &mut root;
        for (i, part) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next_is_index = path.get(i + 1).is_some_and(|p| p.parse::<usize>().is_ok());
            at = if let Ok(index) = part.parse::<usize>() {
                let list = at.as_array_mut().expect("an array");
                while list.len() <= index {
                    list.push(Value::Null);
                }
                &mut list[index]
            } else {
                let object = at.as_object_mut().expect("an object");
                object.entry(*part).or_insert(Value::Null)
            };
            if last {
                *at = leaf.clone();
            } else if at.is_null() {
                *at = if next_is_index { json!([]) } else { json!({}) };
            }
        }
    }
    root
}

/// `update` merged into `object`, as Stripe applies an update's fields.
fn merge(object: &mut Value, update: Value) {
    match (object, update) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                merge(into.entry(key).or_insert(Value::Null), value);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Form keys `prefix[0]…`, `prefix[1]…`, in index order, as values.
fn indexed(form: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    let mut found: Vec<(usize, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(prefix)?.strip_prefix('[')?;
            let (index, tail) = rest.split_once(']')?;
            if !tail.is_empty() {
                return None;
            }
            Some((index.parse().ok()?, v.clone()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, v)| v).collect()
}

fn price_object(id: &str, form: &BTreeMap<String, String>) -> Value {
    let number = |key: &str| form.get(key).and_then(|v| v.parse::<i64>().ok());
    let mut tiers = Vec::new();
    for i in 0.. {
        let Some(unit_amount) = number(&format!("tiers[{i}][unit_amount]")) else {
            break;
        };
        let up_to = form.get(&format!("tiers[{i}][up_to]")).map(String::as_str);
        tiers.push(json!({
            "up_to": up_to.filter(|u| *u != "inf").and_then(|u| u.parse::<u64>().ok()),
            "unit_amount": unit_amount,
            "flat_amount": null,
        }));
    }
    json!({
        "id": id, "object": "price", "active": true,
        "product": form.get("product"), "currency": form.get("currency"),
        "lookup_key": form.get("lookup_key"), "nickname": form.get("nickname"),
        "billing_scheme": form.get("billing_scheme").map_or("per_unit", String::as_str),
        "tiers_mode": form.get("tiers_mode"),
        "unit_amount": number("unit_amount"),
        "recurring": {"interval": form.get("recurring[interval]"), "interval_count": 1},
        "tiers": tiers,
    })
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let path = request.url.path().trim_start_matches("/v1");
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let form = form(request);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["products", id]) => match state.products.get(*id) {
                Some(product) => ResponseTemplate::new(200).set_body_json(product),
                None => not_found("product"),
            },
            ("POST", ["products"]) => {
                let id = form.get("id").cloned().unwrap_or_else(|| state.id("prod"));
                let product =
                    json!({"id": id, "object": "product", "name": form.get("name"), "active": true});
                state.products.insert(id, product.clone());
                ResponseTemplate::new(200).set_body_json(product)
            }
            ("POST", ["products", id]) => match state.products.get_mut(*id) {
                Some(product) => {
                    if let Some(name) = form.get("name") {
                        product["name"] = json!(name);
                    }
                    if let Some(active) = form.get("active") {
                        product["active"] = json!(active == "true");
                    }
                    ResponseTemplate::new(200).set_body_json(product.clone())
                }
                None => not_found("product"),
            },
            ("GET", ["prices"]) => {
                let keys = indexed(&query, "lookup_keys");
                let active_only = query.get("active").is_some_and(|a| a == "true");
                let expand_tiers = indexed(&query, "expand").iter().any(|e| e == "data.tiers");
                let found = state
                    .prices
                    .iter()
                    .filter(|p| !active_only || p.active)
                    .filter(|p| keys.is_empty() || p.lookup_key.as_ref().is_some_and(|k| keys.contains(k)))
                    .map(|p| {
                        let mut object = p.object.clone();
                        if !expand_tiers {
                            // Stripe includes tiers only when asked to.
                            object.as_object_mut().map(|o| o.remove("tiers"));
                        }
                        object
                    })
                    .collect();
                list(found, "/v1/prices")
            }
            ("POST", ["prices"]) => {
                let id = state.id("price");
                let object = price_object(&id, &form);
                let lookup_key = form.get("lookup_key").cloned();
                if let Some(key) = &lookup_key {
                    let taken = state.prices.iter().any(|p| p.lookup_key.as_ref() == Some(key));
                    if taken && form.get("transfer_lookup_key").is_none_or(|t| t != "true") {
                        return ResponseTemplate::new(400).set_body_json(json!({"error": {
                            "type": "invalid_request_error", "code": "lookup_key_in_use",
                            "message": "A price with this lookup key exists; pass transfer_lookup_key"
                        }}));
                    }
                    for price in &mut state.prices {
                        if price.lookup_key.as_ref() == Some(key) {
                            price.lookup_key = None;
                            price.object["lookup_key"] = Value::Null;
                        }
                    }
                }
                state.prices.push(StandInPrice {
                    id,
                    lookup_key,
                    active: true,
                    object: object.clone(),
                });
                ResponseTemplate::new(200).set_body_json(object)
            }
            ("POST", ["prices", id]) => match state.prices.iter_mut().find(|p| p.id == *id) {
                Some(price) => {
                    if let Some(active) = form.get("active") {
                        price.active = active == "true";
                        price.object["active"] = json!(price.active);
                    }
                    ResponseTemplate::new(200).set_body_json(price.object.clone())
                }
                None => not_found("price"),
            },
            ("GET", ["webhook_endpoints"]) => list(state.webhook_endpoints.clone(), "/v1/webhook_endpoints"),
            ("POST", ["webhook_endpoints"]) => {
                let id = state.id("we");
                let secret = format!("whsec_standin_{id}");
                let endpoint = json!({
                    "id": id, "object": "webhook_endpoint", "url": form.get("url"), "status": "enabled",
                    "enabled_events": indexed(&form, "enabled_events"), "description": form.get("description"),
                });
                state.webhook_endpoints.push(endpoint.clone());
                let mut created = endpoint;
                created["secret"] = json!(secret);
                ResponseTemplate::new(200).set_body_json(created)
            }
            ("POST", ["webhook_endpoints", id]) => {
                match state.webhook_endpoints.iter_mut().find(|e| e["id"] == *id) {
                    Some(endpoint) => {
                        let events = indexed(&form, "enabled_events");
                        if !events.is_empty() {
                            endpoint["enabled_events"] = json!(events);
                        }
                        if form.get("disabled").is_some_and(|d| d == "false") {
                            endpoint["status"] = json!("enabled");
                        }
                        ResponseTemplate::new(200).set_body_json(endpoint.clone())
                    }
                    None => not_found("webhook endpoint"),
                }
            }
            ("GET", ["billing_portal", "configurations"]) => {
                let active_only = query.get("active").is_some_and(|a| a == "true");
                let found = state
                    .portal_configurations
                    .iter()
                    .filter(|c| !active_only || c["active"] == true)
                    .cloned()
                    .collect();
                list(found, "/v1/billing_portal/configurations")
            }
            ("POST", ["billing_portal", "configurations"]) => {
                let id = state.id("bpc");
                let mut configuration = nested(&form);
                configuration["id"] = json!(id);
                configuration["object"] = json!("billing_portal.configuration");
                configuration["active"] = json!(true);
                configuration["is_default"] = json!(false);
                state.portal_configurations.push(configuration.clone());
                ResponseTemplate::new(200).set_body_json(configuration)
            }
            ("POST", ["billing_portal", "configurations", id]) => {
                match state.portal_configurations.iter_mut().find(|c| c["id"] == *id) {
                    Some(configuration) => {
                        merge(configuration, nested(&form));
                        ResponseTemplate::new(200).set_body_json(configuration.clone())
                    }
                    None => not_found("configuration"),
                }
            }
            ("POST", ["billing_portal", "sessions"]) => {
                let id = state.id("bps");
                state.portal_sessions.push(form.clone());
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": id, "object": "billing_portal.session", "customer": form.get("customer"),
                    "configuration": form.get("configuration"), "return_url": form.get("return_url"),
                    "url": format!("https://billing.stripe.com/p/session/{id}"),
                }))
            }
            ("POST", ["checkout", "sessions"]) => {
                let id = state.id("cs");
                state.sessions.push(form.clone());
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": id, "object": "checkout.session", "mode": "subscription", "status": "open",
                    "url": format!("https://checkout.stripe.com/c/pay/{id}"),
                    "client_reference_id": form.get("client_reference_id"),
                    "metadata": {"org": form.get("metadata[org]")},
                    "subscription": null, "created": 1_790_000_000,
                }))
            }
            _ => not_found(path),
        }
    }
}
