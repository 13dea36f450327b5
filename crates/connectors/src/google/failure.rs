//! What a refused Google request said.
//!
//! The shared source client ([`SourceHttpClient`](crate::http::SourceHttpClient)) retries 429,
//! 5xx and network errors itself and reports a final answer (a 4xx, or a 5xx that outlasted the
//! retries) as a [`SourceError`] carrying an [`HttpRefusal`](ingest_core::HttpRefusal): the
//! status and the first 4 KiB of the body. Google's APIs need more than "it failed": a 401 means
//! "renew the token", a 403 `rateLimitExceeded` means "wait and retry", and the JSON error body
//! holds the sentence the user should read. This module reads the `message`, `reason` (or the
//! OAuth `error` / `error_description`) fields of that body, even when it is cut short.

use ingest_core::SourceError;

/// A 4xx answer, read back from a source client error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The first bytes of the body, unescaped.
    pub body: String,
}

impl Refusal {
    /// The refusal described by `error`, when it is one (not a network failure or a policy
    /// refusal).
    pub fn of(error: &SourceError) -> Option<Self> {
        let refusal = error.refusal()?;
        Some(Self {
            status: refusal.status,
            body: refusal.body.clone(),
        })
    }

    /// Google's `error.message` (or the OAuth `error_description`), else the body's first
    /// line, else nothing.
    pub fn message(&self) -> Option<String> {
        field(&self.body, "message")
            .or_else(|| field(&self.body, "error_description"))
            .or_else(|| {
                let line = self.body.lines().next()?.trim();
                (!line.is_empty()).then(|| line.chars().take(160).collect())
            })
    }

    /// Google's `errors[0].reason` or the OAuth `error` code, when the excerpt reaches it.
    pub fn reason(&self) -> Option<String> {
        field(&self.body, "reason").or_else(|| field(&self.body, "error"))
    }

    /// Whether the body names `word` anywhere (a reason cut off before its key, say).
    pub fn mentions(&self, word: &str) -> bool {
        self.body.contains(word)
    }
}

/// The string value of the first `"key": "…"` in a (possibly truncated) JSON text.
fn field(json: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let mut from = 0;
    while let Some(found) = json[from..].find(&quoted) {
        let after = from + found + quoted.len();
        from = after;
        let rest = json[after..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let mut value = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push(' '),
                    Some('t') => value.push(' '),
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                        {
                            value.push(c);
                        }
                    }
                    Some(other) => value.push(other),
                    None => break,
                },
                other => value.push(other),
            }
        }
        let value = value.trim().to_owned();
        if !value.is_empty() {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use ingest_core::HttpRefusal;

    use super::*;

    fn refusal(status: &str, body: &str) -> Option<Refusal> {
        let message = format!("GET https://bigquery.googleapis.com/x answered {status}");
        let code = status[..3].parse().unwrap();
        Refusal::of(&SourceError::refused(
            message,
            HttpRefusal {
                status: code,
                body: body.to_owned(),
            },
        ))
    }

    #[test]
    fn reads_status_message_and_reason_of_a_google_error() {
        let body = r#"{
  "error": {
    "code": 400,
    "message": "Syntax error: Unexpected identifier \"SELEC\" at [1:1]",
    "errors": [{"message": "x", "domain": "global", "reason": "invalidQuery"}]
  }
}"#;
        let refusal = refusal("400 Bad Request", body).unwrap();
        assert_eq!(refusal.status, 400);
        assert_eq!(
            refusal.message().unwrap(),
            r#"Syntax error: Unexpected identifier "SELEC" at [1:1]"#
        );
        assert_eq!(refusal.reason().unwrap(), "invalidQuery");
    }

    #[test]
    fn a_truncated_excerpt_still_gives_its_message() {
        let refusal = refusal(
            "404 Not Found",
            r#"{"error":{"code":404,"message":"Not found: Table p:d.t was not found in location US","err"#,
        )
        .unwrap();
        assert_eq!(
            refusal.message().unwrap(),
            "Not found: Table p:d.t was not found in location US"
        );
        assert_eq!(refusal.reason(), None);
    }

    #[test]
    fn oauth_errors_and_html_bodies() {
        let oauth = refusal(
            "400 Bad Request",
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        )
        .unwrap();
        assert_eq!(oauth.message().unwrap(), "Invalid JWT Signature.");
        assert_eq!(oauth.reason().unwrap(), "invalid_grant");
        let html = refusal("403 Forbidden", "<html>\n<body>nope</body>").unwrap();
        assert_eq!(html.message().unwrap(), "<html>");
        let bare = refusal("401 Unauthorized", "").unwrap();
        assert_eq!(bare.status, 401);
        assert_eq!(bare.message(), None);
    }

    #[test]
    fn network_failures_are_not_refusals() {
        let error = SourceError::new("GET http://x/ failed after 6 attempts: connection refused");
        assert_eq!(Refusal::of(&error), None);
    }
}
