//! The portal's one stylesheet and one script, embedded in the binary and
//! served under names that change with their content, so browsers may cache
//! them for good.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// An embedded file and the name it is served under.
struct Asset {
    path: String,
    content_type: &'static str,
    body: String,
}

impl Asset {
    /// `body` at `/assets/{stem}-{hash}.{extension}`.
    fn new(stem: &str, extension: &str, content_type: &'static str, body: String) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Self {
            path: format!("/assets/{stem}-{hash}.{extension}"),
            content_type,
            body,
        }
    }
}

static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "portal",
        "css",
        "text/css; charset=utf-8",
        include_str!("../assets/portal.css").to_owned(),
    )
});

static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "portal",
        "js",
        "text/javascript; charset=utf-8",
        without_comment_lines(include_str!("../assets/portal.js")),
    )
});

/// The script as browsers get it: its comment lines are for its readers
/// (every page's bytes count against the portal's budget).
fn without_comment_lines(script: &str) -> String {
    script
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Where the current stylesheet is served: `/assets/portal-{hash}.css`.
pub fn stylesheet_path() -> &'static str {
    &STYLESHEET.path
}

/// Where the current script is served: `/assets/portal-{hash}.js`.
pub fn script_path() -> &'static str {
    &SCRIPT.path
}

/// `GET /assets/{name}`: each asset under its current name only.
pub async fn asset(Path(name): Path<String>) -> Response {
    let wanted = format!("/assets/{name}");
    let Some(asset) = [&*STYLESHEET, &*SCRIPT].into_iter().find(|a| a.path == wanted) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        asset.body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// Text follows the size the person set in their browser (WCAG 1.4.4):
    /// no font size in the stylesheet is in pixels.
    #[test]
    fn text_sizes_are_relative_to_the_browsers_setting() {
        let css = include_str!("../assets/portal.css");
        for declaration in css.split([';', '{', '}']) {
            let declaration = declaration.trim();
            if let Some(value) = declaration
                .strip_prefix("font-size:")
                .or_else(|| declaration.strip_prefix("font:"))
            {
                let size = value.split_whitespace().next().unwrap_or_default();
                assert!(
                    !size.split('/').next().unwrap_or_default().ends_with("px"),
                    "{declaration}"
                );
            }
        }
    }
}
