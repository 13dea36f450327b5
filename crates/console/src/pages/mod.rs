//! The pages, one module per area, and what they share: error pages, the confirmation step of a
//! delete, reading the query string.

pub mod auths;
pub mod destinations;
pub mod overview;
pub mod resource;
pub mod runs;
pub mod sign_in;
pub mod sources;
pub mod task_form;
pub mod tasks;
pub mod transformations;

use axum::extract::State;
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ingest_store::StoreError;
use maud::{Markup, html};

use crate::Console;
use crate::api_call::ApiFailure;
use crate::layout::{Section, page};
use crate::session::{COOKIE, SignedIn, cookie};

/// A page with `status`.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, markup).into_response()
}

/// An error page saying `message` (a sentence), with a way back.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Refused",
        StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
        _ => "Something went wrong",
    };
    respond(
        status,
        page(
            title,
            Section::None,
            None,
            html! {
                h1 { (title) }
                p { (message) }
                p { a href="/console/" { "Back to the overview" } }
            },
        ),
    )
}

/// `GET /console/...` that is no page: 404.
pub async fn not_found(State(console): State<Console>, headers: HeaderMap) -> Response {
    let session = cookie(&headers, COOKIE).and_then(|id| console.sessions().get(id));
    respond(
        StatusCode::NOT_FOUND,
        page(
            "Not found",
            Section::None,
            session.as_ref(),
            html! {
                h1 { "Not found" }
                p { "There is no page at this address. It may have been deleted, or belong to another application." }
                p { a href="/console/" { "Back to the overview" } }
            },
        ),
    )
}

/// The page of a store error: a missing resource is a 404 (another application's too), an
/// unreachable store a 503; the cause is logged, never shown.
pub fn store_error(error: StoreError) -> Response {
    match error {
        StoreError::NotFound { resource, .. } => error_page(
            StatusCode::NOT_FOUND,
            &format!(
                "This {} does not exist: it may have been deleted, or belong to another application.",
                resource.as_str()
            ),
        ),
        StoreError::Unavailable(source) => {
            tracing::warn!(error = %source, "console: store unavailable");
            error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database cannot be reached. Try again in a moment.",
            )
        }
        other => {
            tracing::error!(error = %other, "console: store error");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be read. The error is in the server's log.",
            )
        }
    }
}

/// The page of a refused API read (404 stays 404).
pub fn api_error(failure: &ApiFailure) -> Response {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_REQUEST);
    let message = if status == StatusCode::NOT_FOUND {
        "This resource does not exist: it may have been deleted, or belong to another application."
            .to_owned()
    } else {
        failure.sentence()
    };
    error_page(status, &message)
}

/// Deletes through the API at `api_path`, then back to the `list` page with a "deleted" notice;
/// a refusal (in use, not found) is shown on an error page with the API's reason.
pub async fn delete_then_list(
    console: &Console,
    app: &str,
    api_path: &str,
    list: &str,
) -> Response {
    match console.api(app, Method::DELETE, api_path, None).await {
        Ok(_) => Redirect::to(&format!("{list}?done=deleted")).into_response(),
        Err(failure) => api_error(&failure),
    }
}

/// The confirmation step of a delete.
pub fn confirm_delete(
    session: &SignedIn,
    section: Section,
    what: &str,
    name: &str,
    action: &str,
    cancel: &str,
) -> Response {
    respond(
        StatusCode::OK,
        page(
            &format!("Delete {what}"),
            section,
            Some(session),
            html! {
                h1 { "Delete " (what) " " q { (name) } "?" }
                p { "This cannot be undone. Its runs and events stay in the history." }
                div.actions {
                    form method="post" action=(action) {
                        (crate::layout::csrf(session))
                        button.danger type="submit" { "Delete " (what) }
                    }
                    a.button.secondary href=(cancel) { "Cancel" }
                }
            },
        ),
    )
}

/// A path segment, percent-encoded.
pub fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// The value of `key` in a query string's pairs ("" when absent).
pub fn param<'a>(query: &'a [(String, String)], key: &str) -> &'a str {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// The query string's pairs; a value holding a NUL character (which no stored value holds,
/// and PostgreSQL refuses in a query) reads as empty.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .map(|(key, value)| {
            let value = if value.contains('\0') {
                String::new()
            } else {
                value
            };
            (key, value)
        })
        .collect()
}

/// The `page` parameter (1 when absent or not a positive number).
pub fn page_number(query: &[(String, String)]) -> u64 {
    param(query, "page")
        .parse::<u64>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}
