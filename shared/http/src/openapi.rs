//! Serving a router's generated OpenAPI document next to its routes.

use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

/// The routes of `api`, plus its OpenAPI document served as JSON at `path`.
pub fn with_document<S>(api: OpenApiRouter<S>, path: &str) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (router, doc) = api.split_for_parts();
    let doc = Arc::new(doc);
    router.route(path, get(move || async move { Json(doc.as_ref().clone()) }))
}
