//! The headers of every console response: a `Content-Security-Policy` that allows only the
//! console's own stylesheet and script (no inline script or style, no other origin, no
//! framing), and the usual hardening headers; pages are never cached.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy: everything from this origin's `/console/assets/` only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Middleware: adds the security headers (assets set their own caching). A path with a NUL
/// character names nothing (no stored ID holds one): 404 before any handler.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut response = if req.uri().path().to_ascii_lowercase().contains("%00") {
        crate::pages::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "There is no page at this address.",
        )
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
