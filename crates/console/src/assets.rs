//! The console's stylesheet and script, embedded in the binary and served with a long cache
//! lifetime (their URLs carry the crate version, so a new build is a new URL).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The stylesheet.
pub const CSS: &str = include_str!("../assets/console.css");
/// The live-progress script.
pub const JS: &str = include_str!("../assets/console.js");

/// The stylesheet's URL.
pub const CSS_URL: &str = concat!(
    "/console/assets/console-",
    env!("CARGO_PKG_VERSION"),
    ".css"
);
/// The script's URL.
pub const JS_URL: &str = concat!("/console/assets/console-", env!("CARGO_PKG_VERSION"), ".js");

/// `GET /console/assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let (body, content_type) = if name == format!("console-{version}.css") {
        (CSS, "text/css; charset=utf-8")
    } else if name == format!("console-{version}.js") {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
