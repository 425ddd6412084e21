//! The checkout function: buying seats.
//! - `POST /v1/checkout/quote`: the breakdown a buyer sees before paying; no
//!   side effects; any authenticated caller.
//! - `POST /v1/checkout/sessions`: a payment-provider checkout session for
//!   that quote (admins); the browser is sent to its URL.
//! - `GET /v1/checkout/sessions/{id}/confirmation`: pending until the payment
//!   events have provisioned the seats, then what was bought (admins).
//! - `POST /v1/subscriptions/{id}/seats`: more seats or add-ons on a running
//!   subscription, prorated (admins). The pools grow when the provider's
//!   `customer.subscription.updated` event is provisioned, like any change.
//! - `POST` / `DELETE /v1/subscriptions/{id}/cancellation`: end at the
//!   period's end, or renew again (admins), with a dry-run preview.
//! - `PUT /v1/subscriptions/{id}/renewal-seats`: fewer seats from the next
//!   renewal on, the paid ones kept until then (admins), with a preview.
//! - `PUT /v1/subscriptions/{id}/plan`: another plan or term, prorated; the
//!   old plan's holders move to the new one (admins), with a preview.
//! - `POST /v1/billing/portal`: the provider's billing portal (admins).
//!
//! Handlers parse, authorise, call the domain and the payment gateway, map.

mod cancellation;
mod current;
mod plan_change;
mod renewal_seats;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use seatflow_domain::{
    IdempotencyStore, ItemQuantity, NewCheckout, PaymentError, PaymentGateway, ProrationBehavior,
    PurchaseConfirmation, Quote, QuoteRequest, SeatIncrease, Started,
};
use seatflow_http::AppState;
use seatflow_http::{ApiError, ApiJson, ApiPath, Authenticator, Caller, HasAuthenticator, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use seatflow_config::CheckoutConfig;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "seatflow checkout API",
        description = "Quotes, checkout sessions, purchase confirmations and seat increases. Errors are application/problem+json with a stable `code`."
    ),
    components(schemas(Problem))
)]
struct ApiDoc;

/// Handler state: the shared HTTP state, the payment gateway, configuration.
#[derive(Debug, Clone)]
pub struct CheckoutState {
    /// Entitlements and authentication.
    pub app: AppState,
    /// The payment provider.
    pub payments: Arc<dyn PaymentGateway>,
    /// URLs and proration.
    pub config: Arc<CheckoutConfig>,
    /// What money-moving requests decided and answered, by `Idempotency-Key`.
    pub idempotency: Arc<dyn IdempotencyStore>,
}

impl FromRef<CheckoutState> for AppState {
    fn from_ref(state: &CheckoutState) -> Self {
        state.app.clone()
    }
}

impl HasAuthenticator for CheckoutState {
    fn authenticator(&self) -> &Authenticator {
        &self.app.auth
    }
}

/// Prices a purchase: plan, term, quantity and add-ons.
#[utoipa::path(post, path = "/v1/checkout/quote", tag = "checkout", request_body = QuoteRequest,
    responses((status = 200, body = Quote), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn quote(
    Caller(_caller): Caller,
    State(app): State<AppState>,
    ApiJson(request): ApiJson<QuoteRequest>,
) -> Result<Json<Quote>, ApiError> {
    Ok(Json(app.seats.catalog().quote(&request)?))
}

/// A checkout session created for a quote.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSession {
    /// The provider's session id.
    pub id: String,
    /// Where to send the buyer's browser.
    pub url: Option<String>,
    /// What the buyer will pay.
    pub quote: Quote,
}

/// Starts a checkout: the quote's plan and add-ons as a subscription, for the
/// caller's organisation.
#[utoipa::path(post, path = "/v1/checkout/sessions", tag = "checkout", request_body = QuoteRequest,
    responses((status = 201, body = CreatedSession), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn create_session(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiJson(request): ApiJson<QuoteRequest>,
) -> Result<(StatusCode, Json<CreatedSession>), ApiError> {
    caller.require_admin("buy seats")?;
    let quote = state.app.seats.catalog().quote(&request)?;
    let checkout = NewCheckout::of_quote(
        caller.org.clone(),
        &quote,
        state.config.success_url.clone(),
        state.config.cancel_url.clone(),
    );
    let session = state.payments.create_checkout(&checkout).await?;
    tracing::info!(org = %caller.org, session = %session.id, "checkout session created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedSession {
            id: session.id,
            url: session.url,
            quote,
        }),
    ))
}

/// The confirmation of a checkout: pending until provisioned, then licenses,
/// users created since, billing summary.
#[utoipa::path(get, path = "/v1/checkout/sessions/{id}/confirmation", tag = "checkout",
    params(("id" = String, Path, description = "Checkout session id")),
    responses((status = 200, body = PurchaseConfirmation), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn confirmation(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PurchaseConfirmation>, ApiError> {
    caller.require_admin("see purchases")?;
    let not_found = || ApiError::not_found(format!("checkout session '{id}' not found"));
    if !is_provider_id(&id) {
        return Err(not_found());
    }
    let session = state
        .payments
        .checkout_session(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(
        state.app.seats.purchase_confirmation(&caller, &session).await?,
    ))
}

/// Seats or add-on seats to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSeats {
    /// The subscription's plan, or an add-on.
    pub product: String,
    /// Seats to add (1 or more).
    pub quantity: i64,
    /// How the provider bills the change; the configured default if absent.
    #[serde(default)]
    pub proration_behavior: Option<ProrationBehavior>,
}

/// How long an attempt holds its `Idempotency-Key` before a retry may take
/// it over (longer than the Stripe client's retries of one request).
const IDEMPOTENCY_LEASE_SECONDS: i64 = 60;

/// A seat change as decided: the provider's change and the answer, kept
/// under the request's `Idempotency-Key` so that a retry carries out the
/// same change.
#[derive(Debug, Serialize, Deserialize)]
struct SeatPlan {
    item: Option<String>,
    lookup_key: String,
    quantity: u32,
    response: serde_json::Value,
}

/// Adds seats (or add-on seats) to a subscription of the caller's
/// organisation, and returns the proration preview. With an
/// `Idempotency-Key` header (recommended), a retry of the same request
/// answers as the first one did and never adds the seats twice, even when
/// the first attempt died after Stripe applied the change: the same key goes
/// to Stripe, and a retry carries out the first attempt's plan.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/seats", tag = "checkout", request_body = AddSeats,
    params(("id" = String, Path, description = "Subscription id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 printable characters; the same key replays the first answer")),
    responses((status = 200, body = SeatIncrease), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "another request with this Idempotency-Key is under way"),
        (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn add_seats(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiPath(id): ApiPath<String>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<AddSeats>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    caller.require_admin("change subscriptions")?;
    let key = seatflow_http::idempotency_key(&headers)?;
    let seats = &state.app.seats;
    let behavior = request.proration_behavior.unwrap_or(state.config.proration);
    let increase = seatflow_http::billing::plan_seat_increase(
        seats,
        state.payments.as_ref(),
        &caller,
        &id,
        &request.product,
        request.quantity,
        behavior,
    )
    .await?;
    let Some(key) = key else {
        if let Some(change) = increase.change() {
            state.payments.set_quantity(&id, change, behavior, None).await?;
        }
        tracing::info!(org = %caller.org, subscription = %id, product = %increase.product,
            from = increase.quantity_before, to = increase.quantity_after, "seats added");
        return Ok(Json(increase).into_response());
    };
    let fingerprint = format!(
        "POST /v1/subscriptions/{id}/seats {}:{}:{:?}",
        request.product, request.quantity, request.proration_behavior
    );
    let mut plan = SeatPlan {
        item: increase.change().and_then(|c| c.item.clone()),
        lookup_key: increase
            .change()
            .map_or_else(String::new, |c| c.lookup_key.clone()),
        quantity: increase.change().map_or(0, |c| c.quantity),
        response: serde_json::to_value(&increase).map_err(|e| ApiError::upstream("store_unavailable", &e))?,
    };
    let now = seats.clock().now();
    let planned = serde_json::to_string(&plan).map_err(|e| ApiError::upstream("store_unavailable", &e))?;
    let lease = now + chrono::Duration::seconds(IDEMPOTENCY_LEASE_SECONDS);
    match state
        .idempotency
        .start(&caller.org, &key, &fingerprint, &planned, now, lease)
        .await?
    {
        Started::New => {}
        Started::Resumed { plan: first } => {
            plan = serde_json::from_str(&first).map_err(|e| ApiError::upstream("store_unavailable", &e))?;
        }
        Started::Replay { response } => {
            let body: serde_json::Value =
                serde_json::from_str(&response).map_err(|e| ApiError::upstream("store_unavailable", &e))?;
            let mut replayed = Json(body).into_response();
            replayed.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            return Ok(replayed);
        }
        Started::InProgress => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is under way; retry shortly",
            ));
        }
        Started::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request",
            ));
        }
    }
    if !plan.lookup_key.is_empty() {
        let change = ItemQuantity {
            item: plan.item.clone(),
            lookup_key: plan.lookup_key.clone(),
            quantity: plan.quantity,
        };
        let provider_key = key.provider_key(&caller.org, "seats");
        if let Err(error) = state
            .payments
            .set_quantity(&id, &change, behavior, Some(&provider_key))
            .await
        {
            // Refused: nothing changed, so the key is free for a corrected
            // retry. Unreachable or silent: it may have changed, so the key
            // stays with its plan, and a retry after the lease finishes it.
            if matches!(
                error,
                PaymentError::Rejected { .. } | PaymentError::MissingPrice(_)
            ) {
                state.idempotency.abandon(&caller.org, &key).await?;
            }
            return Err(error.into());
        }
    }
    state
        .idempotency
        .finish(&caller.org, &key, &plan.response.to_string())
        .await?;
    tracing::info!(org = %caller.org, subscription = %id, key = %key, "seats added");
    Ok(Json(plan.response).into_response())
}

/// A billing portal session.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingPortal {
    /// Where to send the admin: the provider's billing portal (invoices,
    /// payment methods, billing details, cancellation); offline, a local
    /// page of the offline invoices.
    pub url: String,
}

/// Opens the payment provider's billing portal for the organisation's
/// customer; the admin comes back to the checkout cancel URL (the app).
/// Admins only.
#[utoipa::path(post, path = "/v1/billing/portal", tag = "checkout",
    responses((status = 200, body = BillingPortal), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "the organisation has bought nothing yet"),
        (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn billing_portal(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
) -> Result<Json<BillingPortal>, ApiError> {
    let customer = state.app.seats.billing_customer(&caller).await?;
    let url = state
        .payments
        .billing_portal(&customer, &state.config.cancel_url)
        .await?;
    Ok(Json(BillingPortal { url }))
}

/// Ids the provider issues: letters, digits and `_` only, bounded.
fn is_provider_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn api() -> OpenApiRouter<CheckoutState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(quote))
        .routes(routes!(create_session))
        .routes(routes!(confirmation))
        .routes(routes!(add_seats))
        .routes(routes!(billing_portal))
        .routes(routes!(
            cancellation::cancel_at_period_end,
            cancellation::undo_cancellation
        ))
        .routes(routes!(renewal_seats::set_renewal_seats))
        .routes(routes!(plan_change::change_plan))
}

/// The OpenAPI document of the checkout routes.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The checkout router (its OpenAPI document at `/v1/checkout/openapi.json`).
pub fn router(state: CheckoutState) -> axum::Router {
    seatflow_http::openapi::with_document(api(), "/v1/checkout/openapi.json").with_state(state)
}
