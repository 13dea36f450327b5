//! HTTP for sources: the shared client, the URL policy, gzip bodies, credentials, the `fetch`
//! event each body read reports, and the paging of JSON APIs. Shared by the connectors; it names
//! none of them.

mod body;
mod client;
mod fetch_events;
mod oauth;
pub(crate) mod paged;
mod resolver;
pub mod url_policy;

pub(crate) use body::read_capped;
pub use body::{ChunkStream, file_chunks, gunzip};
pub use client::{HttpAuth, HttpSettings, SourceHttpClient, display_url};
pub(crate) use fetch_events::report_fetch;
pub use oauth::OAuthTokens;
pub(crate) use oauth::{TOKEN_BODY_CAP, token_lifetime};
