//! Sign-in with an application ID and its API key (checked like the API checks them, attempts
//! rate-limited per client IP), and sign-out.
//!
//! The sign-in form carries a token that must match a cookie set with the form (login CSRF: a
//! page elsewhere cannot sign a browser in to an application of its choosing).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use crate::Console;
use crate::layout::{Section, page};
use crate::pages::{error_page, pairs, param, respond};
use crate::session::{
    COOKIE, CSRF_FIELD, SIGN_IN_COOKIE, SignedForm, cookie, random_token, read_form, same_token,
    secure, set_cookie,
};

/// Where to go after signing in: a console path only (never another site).
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/console/")
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if ok { next } else { "/console/" }
}

fn form_page(
    console: &Console,
    headers: &HeaderMap,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let markup = page(
        "Sign in",
        Section::None,
        None,
        html! {
            div.sign-in.card {
                h1 { "Sign in" }
                p.sub { "With an application ID and its admin API key (see " code { "data/credentials.json" } " on the server)." }
                @if let Some(error) = error {
                    div.alert role="alert" #sign-in-error { (error) }
                }
                form.stacked method="post" action="/console/sign-in" {
                    input type="hidden" name=(CSRF_FIELD) value=(token);
                    input type="hidden" name="next" value=(safe_next(next));
                    div.field {
                        label for="app-id" { "Application ID" }
                        input #app-id type="text" name="appId" autocomplete="username" required autofocus;
                    }
                    div.field {
                        label for="api-key" { "API key" }
                        input #api-key type="password" name="apiKey" autocomplete="current-password" required;
                    }
                    button type="submit" { "Sign in" }
                }
            }
        },
    );
    let mut response = respond(status, markup);
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        SIGN_IN_COOKIE,
        &token,
        secure(console, headers),
        Some(3600),
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /console/sign-in`.
pub async fn form(
    State(console): State<Console>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = pairs(uri.query());
    form_page(
        &console,
        &headers,
        param(&query, "next"),
        None,
        StatusCode::OK,
    )
}

/// `POST /console/sign-in`.
pub async fn submit(State(console): State<Console>, req: Request) -> Response {
    let headers = req.headers().clone();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = peer.map(|ip| console.0.limits.client_ip(ip, &headers));
    if let Some(ip) = client {
        let decision = console.0.sign_ins.check(ip, Instant::now());
        if !decision.allowed {
            let mut response = error_page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many sign-in attempts from this address. Try again in {} s.",
                    decision.reset_after
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(decision.reset_after));
            return response;
        }
    }
    let fields = match read_form(req, 64 * 1024).await {
        Ok(fields) => fields,
        Err(status) => return error_page(status, "The form could not be read."),
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let next = safe_next(get("next")).to_owned();
    let token_ok = cookie(&headers, SIGN_IN_COOKIE).is_some_and(|c| same_token(c, get(CSRF_FIELD)));
    if !token_ok {
        return form_page(
            &console,
            &headers,
            &next,
            Some("This form has expired. Sign in again."),
            StatusCode::FORBIDDEN,
        );
    }
    let Some(app) = console.0.keys.verify(
        get("appId").trim().as_bytes(),
        get("apiKey").trim().as_bytes(),
    ) else {
        tracing::info!(client = ?client, "console: sign-in refused");
        return form_page(
            &console,
            &headers,
            &next,
            Some("The application ID or the API key is wrong."),
            StatusCode::UNAUTHORIZED,
        );
    };
    let id = console.sessions().create(&app.0);
    let mut response = Redirect::to(&next).into_response();
    let secure = secure(&console, &headers);
    for cookie in [
        set_cookie(COOKIE, &id, secure, None),
        set_cookie(SIGN_IN_COOKIE, "", secure, Some(0)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `POST /console/sign-out`: ends the session.
pub async fn sign_out(
    State(console): State<Console>,
    headers: HeaderMap,
    form: SignedForm,
) -> Response {
    drop(form);
    if let Some(id) = cookie(&headers, COOKIE) {
        console.sessions().remove(id);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    if let Ok(value) =
        HeaderValue::from_str(&set_cookie(COOKIE, "", secure(&console, &headers), Some(0)))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
