//! Server-side sessions: a random 256-bit ID in the cookie, its SHA-256 digest as the key here
//! (a memory dump or a timing difference in the map does not give the cookie away), the
//! application it signed in as, a per-session CSRF token, and an idle expiry.
//!
//! The map is bounded: past [`MAX_SESSIONS`], expired sessions are dropped, then the least
//! recently used.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::Console;

/// The session cookie's name.
pub const COOKIE: &str = "ingestion_console";
/// The cookie of the sign-in form's token (login CSRF), before any session exists.
pub const SIGN_IN_COOKIE: &str = "ingestion_console_sign_in";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// Live sessions kept at most.
pub const MAX_SESSIONS: usize = 10_000;

/// A signed-in session, as handlers see it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The application signed in as.
    pub app: String,
    /// The token every state-changing form must carry.
    pub csrf: String,
}

struct Entry {
    app: String,
    csrf: String,
    last_seen: Instant,
}

/// The live sessions.
pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("idle", &self.idle)
            .finish()
    }
}

/// 256 random bits as 64 hex characters.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// No sessions yet; each ends after `idle` without a request.
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// A new session for `app`: returns its cookie value.
    pub fn create(&self, app: &str) -> String {
        let id = random_token();
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, e| now.saturating_duration_since(e.last_seen) < self.idle);
        }
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(key, _)| *key)
            else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(
            digest(&id),
            Entry {
                app: app.to_owned(),
                csrf: random_token(),
                last_seen: now,
            },
        );
        id
    }

    /// The live session of cookie value `id`, marked as seen now; an expired one is dropped.
    pub fn get(&self, id: &str) -> Option<SignedIn> {
        let key = digest(id);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = map.get_mut(&key)?;
        if now.saturating_duration_since(entry.last_seen) >= self.idle {
            map.remove(&key);
            return None;
        }
        entry.last_seen = now;
        Some(SignedIn {
            app: entry.app.clone(),
            csrf: entry.csrf.clone(),
        })
    }

    /// Ends the session of cookie value `id`.
    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest(id));
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the console's path.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    cookie
}

/// Whether the cookie should be `Secure`: configured so, or the request came over HTTPS
/// (through a proxy that says so).
pub fn secure(console: &Console, headers: &HeaderMap) -> bool {
    console.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Not signed in: back to the sign-in form, which returns here afterwards.
#[derive(Debug)]
pub struct SignInFirst {
    next: String,
}

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next: String = form_urlencoded::byte_serialize(self.next.as_bytes()).collect();
        Redirect::to(&format!("/console/sign-in?next={next}")).into_response()
    }
}

impl FromRequestParts<Console> for SignedIn {
    type Rejection = SignInFirst;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Self, Self::Rejection> {
        cookie(&parts.headers, COOKIE)
            .and_then(|id| console.sessions().get(id))
            .ok_or_else(|| SignInFirst {
                next: parts
                    .uri
                    .path_and_query()
                    .map_or("/console/", |p| p.as_str())
                    .to_owned(),
            })
    }
}

/// A submitted form of a signed-in session whose CSRF token matched.
#[derive(Debug)]
pub struct SignedForm {
    /// The session.
    pub session: SignedIn,
    /// The form's fields in order (`_csrf` left out).
    pub fields: Vec<(String, String)>,
}

impl SignedForm {
    /// The first value of field `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }

    /// Every value of field `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

/// Why a form was refused before its handler ran.
#[derive(Debug)]
pub enum FormRefused {
    /// Not signed in.
    SignIn(SignInFirst),
    /// The CSRF token is missing or wrong (403).
    Csrf,
    /// The body is too large or not a form (400/413).
    Body(StatusCode),
}

impl IntoResponse for FormRefused {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(redirect) => redirect.into_response(),
            Self::Csrf => crate::pages::error_page(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this console. Reload the page and submit it again.",
            ),
            Self::Body(status) => crate::pages::error_page(
                status,
                "The form could not be read: it is too large or not a form.",
            ),
        }
    }
}

/// Reads a form body of at most `limit` bytes.
pub async fn read_form(req: Request, limit: usize) -> Result<Vec<(String, String)>, StatusCode> {
    let body = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
    Ok(form_urlencoded::parse(&body).into_owned().collect())
}

impl FromRequest<Console> for SignedForm {
    type Rejection = FormRefused;

    async fn from_request(req: Request, console: &Console) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = SignedIn::from_request_parts(&mut parts, console)
            .await
            .map_err(FormRefused::SignIn)?;
        let req = Request::from_parts(parts, body);
        let mut fields = read_form(req, console.0.max_body_bytes)
            .await
            .map_err(FormRefused::Body)?;
        let token = fields
            .iter()
            .find(|(key, _)| key == CSRF_FIELD)
            .map(|(_, value)| value.clone());
        if !token.is_some_and(|t| same_token(&t, &session.csrf)) {
            return Err(FormRefused::Csrf);
        }
        fields.retain(|(key, _)| key != CSRF_FIELD);
        Ok(Self { session, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_end_on_sign_out() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let id = sessions.create("APP");
        assert_eq!(id.len(), 64);
        let signed = sessions.get(&id).unwrap();
        assert_eq!(signed.app, "APP");
        assert_eq!(signed.csrf.len(), 64);
        assert!(sessions.get("not-a-session").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&id).is_none(), "expired");
        let other = sessions.create("APP");
        sessions.remove(&other);
        assert!(sessions.get(&other).is_none());
        assert!(sessions.is_empty());
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; ingestion_console_sign_in=x; ingestion_console=abc"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SIGN_IN_COOKIE), Some("x"));
        assert_eq!(cookie(&headers, "b"), None);
        let set = set_cookie(COOKIE, "v", true, None);
        assert_eq!(
            set,
            "ingestion_console=v; Path=/console; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}
