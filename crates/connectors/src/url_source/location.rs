//! Where a CSV or JSON body is read from: a URL, or (for `run-task`) a local file.

use std::path::{Path, PathBuf};

use url::Url;

use crate::http::display_url;
use crate::source::ConfigError;

/// Where a URL source reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An `http` or `https` URL.
    Http(Url),
    /// A local file (only with [`SourceContext::local_files`](crate::SourceContext::local_files)).
    File(PathBuf),
}

impl Location {
    /// Reads a source `url`: an http(s) URL, or, where local files are allowed, `file:///abs`,
    /// `/abs` or `./relative` (to `base`).
    pub fn parse(url: &str, local_files: Option<&Path>) -> Result<Self, ConfigError> {
        let is_path = url.starts_with('/') || url.starts_with("./") || url.starts_with("../");
        if is_path || url.starts_with("file:") {
            let Some(base) = local_files else {
                return Err(ConfigError::new(
                    "input.url",
                    "local files are only readable by run-task; use an http or https URL",
                ));
            };
            let path = if is_path {
                base.join(url)
            } else {
                Url::parse(url)
                    .ok()
                    .and_then(|url| url.to_file_path().ok())
                    .ok_or_else(|| {
                        ConfigError::new(
                            "input.url",
                            format!("`{url}` is not a valid file URL (use file:///absolute/path)"),
                        )
                    })?
            };
            return Ok(Location::File(path));
        }
        let parsed = Url::parse(url)
            .map_err(|error| ConfigError::new("input.url", format!("not a valid URL: {error}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "input.url",
                format!(
                    "URL scheme `{}` is not supported (use http or https)",
                    parsed.scheme()
                ),
            ));
        }
        Ok(Location::Http(parsed))
    }

    /// Where the body is read from, without credentials (for logs and events).
    pub(crate) fn describe(&self) -> String {
        match self {
            Location::Http(url) => display_url(url),
            Location::File(path) => path.display().to_string(),
        }
    }
}
