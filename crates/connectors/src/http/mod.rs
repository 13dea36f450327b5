//! HTTP for sources: the shared client, the URL policy, gzip bodies, credentials.

mod body;
mod client;
mod oauth;
mod resolver;
pub mod url_policy;

pub use body::{ChunkStream, file_chunks, gunzip};
pub use client::{HttpAuth, HttpSettings, SourceHttpClient, display_url};
pub use oauth::OAuthTokens;
