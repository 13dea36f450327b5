//! Browser clients (`docs/api.md` D3): Algolia's browser builds send the credentials as the
//! `x-algolia-application-id` and `x-algolia-api-key` query parameters, and call from another
//! origin. Credentials found in the query are moved into the headers and removed from the URI
//! before anything else reads it (handlers, logs); CORS answers only the origins listed in
//! `[server] cors_origins` (none by default).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{API_KEY_HEADER, APP_ID_HEADER};

/// Moves query-string credentials into the headers (headers win when both are given) and
/// strips them from the URI.
pub async fn query_credentials(mut req: Request, next: Next) -> Response {
    if let Some((uri, found)) = without_credentials(req.uri()) {
        *req.uri_mut() = uri;
        for (name, value) in found {
            if req.headers().contains_key(name) {
                continue;
            }
            if let Ok(value) = HeaderValue::from_str(&value) {
                req.headers_mut().insert(name, value);
            }
        }
    }
    next.run(req).await
}

/// The URI without its credential parameters, and those parameters as headers; `None` when it
/// has none.
fn without_credentials(uri: &Uri) -> Option<(Uri, Vec<(&'static str, String)>)> {
    let query = uri.query()?;
    let mut found = Vec::new();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let header = if name.eq_ignore_ascii_case(APP_ID_HEADER) {
            APP_ID_HEADER
        } else if name.eq_ignore_ascii_case(API_KEY_HEADER) {
            API_KEY_HEADER
        } else {
            kept.append_pair(&name, &value);
            continue;
        };
        found.push((header, value.into_owned()));
    }
    if found.is_empty() {
        return None;
    }
    let kept = kept.finish();
    let path_and_query = if kept.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{kept}", uri.path())
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Some((Uri::from_parts(parts).ok()?, found))
}

/// The origins a browser may call from.
#[derive(Debug, Default)]
pub struct CorsOrigins(Vec<HeaderValue>);

impl CorsOrigins {
    /// Origins as configured (`https://shop.example.com`); an entry that cannot be a header
    /// value is skipped (settings validate them first).
    pub fn new(origins: &[String]) -> Self {
        Self(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
                .collect(),
        )
    }

    fn allowed(&self, origin: &HeaderValue) -> bool {
        self.0.iter().any(|allowed| allowed == origin)
    }
}

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS: &str =
    "content-type, x-algolia-application-id, x-algolia-api-key, x-algolia-agent";

/// CORS for the listed origins: a preflight from one is answered at once (no credentials are
/// needed for it), other requests from one get `Access-Control-Allow-Origin`; an unlisted
/// origin gets no CORS header at all (the browser then refuses the answer).
pub async fn cors(State(origins): State<Arc<CorsOrigins>>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(ORIGIN)
        .filter(|origin| origins.allowed(origin))
        .cloned();
    let Some(origin) = origin else {
        let mut response = next.run(req).await;
        if !origins.0.is_empty() {
            response
                .headers_mut()
                .append(VARY, HeaderValue::from_static("origin"));
        }
        return response;
    };
    let mut response = if req.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let headers = preflight.headers_mut();
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        preflight
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(VARY, HeaderValue::from_static("origin"));
    response
}
