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
//! Handlers parse, authorise, make one call to the billing flows
//! (`seatflow-app`), map.

mod cancellation;
mod plan_change;
mod renewal_seats;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use seatflow_app::{AddSeats, Billing, CreatedSession};
use seatflow_domain::{
    IdempotencyStore, PaymentGateway, PurchaseConfirmation, Quote, QuoteRequest, SeatIncrease,
};
use seatflow_http::AppState;
use seatflow_http::{
    ApiError, ApiJson, ApiPath, ApiQuery, Authenticator, Caller, DryRun, HasAuthenticator, Problem,
};
use serde::Serialize;
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

impl CheckoutState {
    /// The billing flows over this state's ports.
    #[must_use]
    pub fn billing(&self) -> Billing {
        Billing::new(
            self.app.seats.clone(),
            self.payments.clone(),
            self.config.proration,
        )
        .with_idempotency(self.idempotency.clone())
    }
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

/// Starts a checkout: the quote's plan and add-ons as a subscription, for the
/// caller's organisation. `?dry_run=true` answers the quote (200) and opens
/// nothing at Stripe.
#[utoipa::path(post, path = "/v1/checkout/sessions", tag = "checkout", request_body = QuoteRequest, params(DryRun),
    responses((status = 201, body = CreatedSession), (status = 200, body = CreatedSession, description = "a dry run"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "already_subscribed: the organisation subscribes to the plan on this term; add seats to that subscription"),
        (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn create_session(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiQuery(dry): ApiQuery<DryRun>,
    ApiJson(request): ApiJson<QuoteRequest>,
) -> Result<(StatusCode, Json<CreatedSession>), ApiError> {
    let config = &state.config;
    let session = state
        .billing()
        .start_checkout(
            &caller,
            &request,
            (&config.success_url, &config.cancel_url),
            dry.mode(),
        )
        .await?;
    let status = if session.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(session)))
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
    Ok(Json(state.billing().purchase_confirmation(&caller, &id).await?))
}

/// Adds seats (or add-on seats) to a subscription of the caller's
/// organisation, and returns the proration preview. Safe to retry: with
/// `quantity_before` (the quantity the client saw), a retry of a request
/// that was carried out is refused (409 `quantity_changed`) rather than
/// billed again; with an `Idempotency-Key` header, a retry answers as the
/// first attempt did, even when it died after Stripe applied the change (the
/// same key goes to Stripe, and a retry carries out the first attempt's plan).
/// `?dry_run=true` answers what adding would do and cost, and changes
/// nothing at Stripe.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/seats", tag = "checkout", request_body = AddSeats,
    params(("id" = String, Path, description = "Subscription id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 200 printable characters; the same key replays the first answer")),
    responses((status = 200, body = SeatIncrease), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "another request with this Idempotency-Key is under way, or the subscription no longer holds `quantity_before`"),
        (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)))]
pub async fn add_seats(
    Caller(caller): Caller,
    State(state): State<CheckoutState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(dry): ApiQuery<DryRun>,
    headers: axum::http::HeaderMap,
    ApiJson(request): ApiJson<AddSeats>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    caller.require_admin("change subscriptions")?;
    let key = seatflow_http::idempotency_key(&headers)?;
    let added = state
        .billing()
        .add_seats(&caller, &id, &request, key.as_ref(), dry.mode())
        .await?;
    let replayed = added.replayed;
    let mut response = Json(added.answer).into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
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
    let url = state
        .billing()
        .billing_portal(&caller, &state.config.cancel_url)
        .await?;
    Ok(Json(BillingPortal { url }))
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
    let catalog = state.app.seats.catalog().clone();
    seatflow_http::openapi::with_document(api(), "/v1/checkout/openapi.json", &catalog).with_state(state)
}
