//! The checkout function. Today: `POST /v1/checkout/quote`, the breakdown a
//! buyer sees before paying (plan, term, price per seat, quantity, add-ons,
//! volume discount, total due, cadence), with no side effects. Creating Stripe
//! Checkout Sessions, confirmations and seat increments come with the purchase
//! pipeline.
//!
//! It shares the seats API's state (entitlement service and authenticator):
//! any authenticated caller may ask for a quote.

use axum::Json;
use axum::extract::State;
use seatflow_domain::{Quote, QuoteRequest};
use seatflow_http::{ApiError, ApiJson, Caller, Problem};
use seatflow_seats_api::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "seatflow checkout API",
        description = "Quotes before purchase. Errors are application/problem+json with a stable `code`."
    ),
    components(schemas(Problem))
)]
struct ApiDoc;

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

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).routes(routes!(quote))
}

/// The OpenAPI document of the checkout routes.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

/// The checkout router (its OpenAPI document at `/v1/checkout/openapi.json`).
pub fn router(state: AppState) -> axum::Router {
    seatflow_http::openapi::with_document(api(), "/v1/checkout/openapi.json").with_state(state)
}
