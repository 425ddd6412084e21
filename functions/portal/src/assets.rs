//! The portal's one stylesheet, embedded in the binary and served under a
//! name that changes with its content, so browsers may cache it for good.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const STYLESHEET: &str = include_str!("../assets/portal.css");

/// Where the current stylesheet is served: `/assets/portal-{hash}.css`.
pub static STYLESHEET_PATH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("/assets/portal-{hash}.css")
});

/// `GET /assets/{name}`: the stylesheet under its current name only.
pub async fn asset(Path(name): Path<String>) -> Response {
    if format!("/assets/{name}") != *STYLESHEET_PATH {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}
