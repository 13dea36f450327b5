//! How an HTTP attempt's outcome decides what happens next.
//!
//! One pure function, [`classify`], used by every HTTP client of the engine (sources and the
//! Algolia transport); the retry loops live with the clients. The rules are those of Algolia's
//! official clients, plus `429`: a 2xx succeeds; a 4xx other than 429 fails at once; a 429 waits
//! (its `Retry-After`, capped, or a backoff) and tries again; anything else (1xx, 3xx left over
//! after redirects, 5xx, timeouts, network errors) is retried, on the next host when there are
//! several.

use std::time::{Duration, SystemTime};

/// What an attempt ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A response with this status.
    Status(u16),
    /// No response in time.
    Timeout,
    /// The connection failed or broke.
    Network,
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Done: use the response.
    Success,
    /// Told to slow down (429): wait, then try again.
    Throttled,
    /// Transient: try again (on another host when there is one).
    Retry,
    /// Permanent: give up and report the response.
    Fail,
}

/// Classifies one attempt.
pub fn classify(attempt: Attempt) -> Verdict {
    match attempt {
        Attempt::Status(status) if (200..300).contains(&status) => Verdict::Success,
        Attempt::Status(429) => Verdict::Throttled,
        Attempt::Status(status) if (400..500).contains(&status) => Verdict::Fail,
        Attempt::Status(_) | Attempt::Timeout | Attempt::Network => Verdict::Retry,
    }
}

/// The longest a `Retry-After` is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Reads a `Retry-After` header value (delay-seconds or an HTTP date), capped at
/// [`MAX_RETRY_AFTER`]. `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let table = [
            (Attempt::Status(200), Verdict::Success),
            (Attempt::Status(201), Verdict::Success),
            (Attempt::Status(204), Verdict::Success),
            (Attempt::Status(100), Verdict::Retry),
            (Attempt::Status(304), Verdict::Retry),
            (Attempt::Status(400), Verdict::Fail),
            (Attempt::Status(401), Verdict::Fail),
            (Attempt::Status(403), Verdict::Fail),
            (Attempt::Status(404), Verdict::Fail),
            (Attempt::Status(413), Verdict::Fail),
            (Attempt::Status(429), Verdict::Throttled),
            (Attempt::Status(500), Verdict::Retry),
            (Attempt::Status(502), Verdict::Retry),
            (Attempt::Status(503), Verdict::Retry),
            (Attempt::Status(504), Verdict::Retry),
            (Attempt::Timeout, Verdict::Retry),
            (Attempt::Network, Verdict::Retry),
        ];
        for (attempt, verdict) in table {
            assert_eq!(classify(attempt), verdict, "{attempt:?}");
        }
    }

    #[test]
    fn retry_after_seconds_dates_and_cap() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("3600", now), Some(MAX_RETRY_AFTER));
        let in_ten = httpdate::fmt_http_date(now + Duration::from_secs(10));
        assert_eq!(
            parse_retry_after(&in_ten, now),
            Some(Duration::from_secs(10))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(10));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
