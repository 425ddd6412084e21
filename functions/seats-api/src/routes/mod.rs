//! The routes. Each is registered with `utoipa-axum`, so the OpenAPI document
//! is generated from the same registrations as the router and cannot drift.

mod allocations;
mod api_keys;
mod assignments;
mod audit;
mod catalog;
mod directory_sync;
mod entitlements;
mod import;
mod license_management;
mod notifications;
mod operators;
mod portal_hand_offs;
mod teams;
mod usage;
mod users;
mod views;
mod webhook_deliveries;
mod webhook_endpoints;

use axum::Json;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse as _;
use axum::routing::get;
use seatflow_http::ApiError;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use seatflow_http::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "seatflow seats API", description = "Seat licenses, teams, users, allocations, assignments, usage and audit. Errors are application/problem+json with a stable `code`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(seatflow_http::Problem, seatflow_http::export::Format)),
    tags(
        (name = "licenses", description = "Seat pools per product"),
        (name = "teams", description = "Teams and their allocations"),
        (name = "users", description = "Users and their seats"),
        (name = "assignments", description = "Assigning, revoking and transferring seats"),
        (name = "usage", description = "Usage and exports"),
        (name = "audit", description = "The audit log"),
        (name = "api-keys", description = "Machine client keys"),
        (name = "notifications", description = "Who receives billing notices, and which"),
        (name = "webhooks", description = "Outbound webhook endpoints: signed events when seats, users, pools and subscriptions change"),
        (name = "portal", description = "Sending a person to the portal, signed in"),
        (name = "operators", description = "The vendor's support staff, across organisations, with an operator key"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A JWT (people), an `sfk_…` API key (machine clients), or on `/v1/operator` routes an `sfo_…` operator key (the vendor's staff)."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::get_catalog))
        .routes(routes!(catalog::list_licenses))
        .routes(routes!(catalog::list_subscriptions))
        .routes(routes!(catalog::list_add_ons))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(teams::get_team, teams::rename_team, teams::remove_team))
        .routes(routes!(allocations::set_allocation))
        .routes(routes!(allocations::list_allocations))
        .routes(routes!(allocations::move_allocation))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(import::import_users))
        .routes(routes!(users::get_user, users::update_user, users::remove_user))
        .routes(routes!(users::get_me))
        .routes(routes!(portal_hand_offs::create_hand_off))
        .routes(routes!(entitlements::get_entitlements))
        .routes(routes!(entitlements::get_entitlement_token))
        .routes(routes!(assignments::list_assignments, assignments::assign_seat))
        .routes(routes!(assignments::unassign_seat))
        .routes(routes!(assignments::transfer_seat))
        .routes(routes!(assignments::assign_add_on))
        .routes(routes!(assignments::unassign_add_on))
        .routes(routes!(usage::get_usage))
        .routes(routes!(usage::get_activity))
        .routes(routes!(audit::list_audit))
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        .routes(routes!(
            operators::find_organizations,
            operators::open_organization
        ))
        .routes(routes!(operators::get_organization))
        .routes(routes!(operators::grant_seats))
        .routes(routes!(operators::end_grant))
        .routes(routes!(operators::failed_jobs))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(
            notifications::get_notifications,
            notifications::set_notifications
        ))
        .routes(routes!(
            license_management::get_license_management,
            license_management::set_license_management
        ))
        .routes(routes!(
            directory_sync::get_directory_sync,
            directory_sync::set_directory_sync
        ))
        .routes(routes!(
            webhook_endpoints::list_webhook_endpoints,
            webhook_endpoints::create_webhook_endpoint
        ))
        .routes(routes!(
            webhook_endpoints::get_webhook_endpoint,
            webhook_endpoints::update_webhook_endpoint,
            webhook_endpoints::delete_webhook_endpoint
        ))
        .routes(routes!(webhook_endpoints::rotate_webhook_secret))
        .routes(routes!(webhook_deliveries::list_deliveries))
        .routes(routes!(webhook_deliveries::redeliver))
}

/// The OpenAPI 3.1 document of every `/v1` route, as served.
#[must_use]
pub fn openapi() -> serde_json::Value {
    seatflow_http::openapi::contract(&api().split_for_parts().1)
}

/// The seats API router (`/healthz`, `/v1/openapi.json` and every `/v1` route).
pub fn router(state: AppState) -> axum::Router {
    seatflow_http::openapi::with_document(api(), "/v1/openapi.json", state.seats.catalog())
        // Outside /v1 and its document: a standard location, public.
        .route("/.well-known/jwks.json", get(entitlements::jwks))
        // The identity provider's SCIM, with its own errors and media type.
        .merge(crate::scim::router())
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
        )
        .fallback(|uri: Uri| async move {
            if crate::scim::is_scim(&uri) {
                return crate::scim::ScimError::new(
                    StatusCode::NOT_FOUND,
                    None,
                    format!("no SCIM endpoint at {}", uri.path()),
                )
                .into_response();
            }
            ApiError::not_found(format!("no route for {}", uri.path())).into_response()
        })
        .method_not_allowed_fallback(|uri: Uri| async move {
            let detail = "this route does not take that method";
            if crate::scim::is_scim(&uri) {
                return crate::scim::ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, detail)
                    .into_response();
            }
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail).into_response()
        })
        .with_state(state)
}
