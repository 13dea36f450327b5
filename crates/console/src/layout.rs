//! The page shell (header, navigation, sign-out) and the small pieces every page uses: relative
//! times with the exact time on hover, status badges, numbers, pagers, POST buttons.

use ingest_model::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::assets::{CSS_URL, JS_URL};
use crate::session::{CSRF_FIELD, SignedIn};

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `/console/`.
    Overview,
    /// Tasks and their runs.
    Tasks,
    /// Runs.
    Runs,
    /// Sources.
    Sources,
    /// Destinations.
    Destinations,
    /// Authentications.
    Authentications,
    /// Transformations.
    Transformations,
    /// No section (sign-in, errors).
    None,
}

const NAV: [(Section, &str, &str); 7] = [
    (Section::Overview, "/console/", "Overview"),
    (Section::Tasks, "/console/tasks", "Tasks"),
    (Section::Runs, "/console/runs", "Runs"),
    (Section::Sources, "/console/sources", "Sources"),
    (
        Section::Destinations,
        "/console/destinations",
        "Destinations",
    ),
    (
        Section::Authentications,
        "/console/authentications",
        "Authentications",
    ),
    (
        Section::Transformations,
        "/console/transformations",
        "Transformations",
    ),
];

/// A whole page: `title`, the navigation with `section` current, and `body`.
pub fn page(title: &str, section: Section, session: Option<&SignedIn>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ingestion console" }
                link rel="stylesheet" href=(CSS_URL);
                script src=(JS_URL) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/" { "ingestion" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            ul {
                                @for (s, href, label) in NAV {
                                    li {
                                        @if s == section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            span { "Application " code { (session.app) } }
                            form method="post" action="/console/sign-out" {
                                (csrf(session))
                                button.small type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The hidden CSRF field of a form.
pub fn csrf(session: &SignedIn) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// A one-button POST form.
pub fn post_button(session: &SignedIn, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            (csrf(session))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// `<time>` showing how long ago (or how soon) `at` is, the exact UTC time on hover.
pub fn time(at: &str, now: Timestamp) -> Markup {
    let Ok(then) = Timestamp::parse(at) else {
        return html! { (at) };
    };
    let exact = exact(at);
    html! { time datetime=(at) title=(exact) { (relative(then, now)) } }
}

/// An optional time, or a dash.
pub fn time_or_dash(at: Option<&str>, now: Timestamp) -> Markup {
    match at {
        Some(at) => time(at, now),
        None => html! { "—" },
    }
}

/// `2026-12-04 07:10:03 UTC` from an RFC 3339 UTC timestamp.
pub fn exact(at: &str) -> String {
    let trimmed = at.trim_end_matches('Z');
    let without_fraction = trimmed.split('.').next().unwrap_or(trimmed);
    format!("{} UTC", without_fraction.replacen('T', " ", 1))
}

/// "3 min ago", "in 2 h", "just now".
pub fn relative(then: Timestamp, now: Timestamp) -> String {
    let delta = now.unix_seconds() - then.unix_seconds();
    let (past, seconds) = (delta >= 0, delta.unsigned_abs());
    let text = match seconds {
        0..=9 => return "just now".to_owned(),
        10..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min", seconds / 60),
        3600..=86_399 => format!("{} h", seconds / 3600),
        86_400..=172_799 => "1 day".to_owned(),
        _ => format!("{} days", seconds / 86_400),
    };
    if past {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

/// The first 8 characters of an ID (all of it when shorter), for tables.
pub fn short_id(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(end, _)| &id[..end])
}

/// `1,234,567`.
pub fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12.3 MB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 4 min`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000),
    }
}

/// Milliseconds between two RFC 3339 timestamps (0 when either does not parse or `to` is
/// earlier).
pub fn millis_between(from: &str, to: &str) -> u64 {
    let (Ok(a), Ok(b)) = (Timestamp::parse(from), Timestamp::parse(to)) else {
        return 0;
    };
    let ms = |t: Timestamp| t.unix_seconds() * 1000 + i64::from(t.nanos() / 1_000_000);
    u64::try_from(ms(b) - ms(a)).unwrap_or(0)
}

/// A badge: `kind` is `ok`, `bad`, `warn` or `neutral`.
pub fn badge(kind: &str, text: &str) -> Markup {
    html! { span class={ "badge " (kind) } { (text) } }
}

/// The pager of a list: previous and next links keeping the other query parameters.
pub fn pager(base: &str, query: &[(&str, String)], page: u64, pages: u64, items: u64) -> Markup {
    let link = |to: u64| {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (key, value) in query {
            if !value.is_empty() {
                serializer.append_pair(key, value);
            }
        }
        serializer.append_pair("page", &to.to_string());
        format!("{base}?{}", serializer.finish())
    };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Previous" } }
            span { "Page " (page) " of " (pages.max(1)) " · " (number(items)) " in all" }
            @if page < pages { a href=(link(page + 1)) rel="next" { "Next →" } }
        }
    }
}

/// A JSON value as compact, escaped text (objects and arrays as JSON, strings as they are).
pub fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

/// The API calls that read the same data, to copy (not links: the API wants the application's
/// credentials in headers, which a page never holds).
pub fn api_paths(calls: &[String]) -> Markup {
    html! {
        details.api {
            summary { "The same in the API" }
            p.sub { "With the headers " code { "X-Algolia-Application-Id" } " and " code { "X-Algolia-API-Key" } ":" }
            @for call in calls { pre { code { (call) } } }
        }
    }
}

/// Pre-escaped nothing: for `maud` branches that render no markup.
pub fn nothing() -> Markup {
    PreEscaped(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_like_sentences() {
        let now = Timestamp::from_unix(1_000_000, 0);
        let ago = |s: i64| relative(Timestamp::from_unix(1_000_000 - s, 0), now);
        assert_eq!(ago(3), "just now");
        assert_eq!(ago(42), "42 s ago");
        assert_eq!(ago(180), "3 min ago");
        assert_eq!(ago(7200), "2 h ago");
        assert_eq!(ago(90_000), "1 day ago");
        assert_eq!(ago(-600), "in 10 min");
        assert_eq!(exact("2026-12-04T07:10:03.123Z"), "2026-12-04 07:10:03 UTC");
    }

    #[test]
    fn numbers_bytes_and_durations() {
        assert_eq!(short_id("6c02aeb1-775e"), "6c02aeb1");
        assert_eq!(short_id("é-é-é-é-é-é"), "é-é-é-é-");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(number(0), "0");
        assert_eq!(number(1234567), "1,234,567");
        assert_eq!(number(100), "100");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_250_000), "1.2 MB");
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(4200), "4.2 s");
        assert_eq!(duration_ms(185_000), "3 min 5 s");
        assert_eq!(
            millis_between("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.500Z"),
            1500
        );
    }
}
